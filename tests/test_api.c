/*
 * test_api.c - the basic operations: set, get, del, foreach, stats, reset,
 * and the error list.
 */
#include <string.h>

#include "ctl.h"
#include "testutil.h"

START_TEST(set_then_get_returns_the_bytes)
{
    char buf[64];
    uint32_t len = 0;
    uint64_t ver = 0;
    ck_assert_code(shared_set("api.k", "hello", 5), SHARED_OK);
    ck_assert_code(shared_get("api.k", buf, sizeof buf, &len, &ver), SHARED_OK);
    ck_assert_uint_eq(len, 5);
    ck_assert_mem_eq(buf, "hello", 5);
    ck_assert_uint_gt(ver, 0);
}
END_TEST

START_TEST(set_replaces_the_value)
{
    char buf[64];
    uint32_t len = 0;
    ck_assert_code(shared_set("api.k", "a long first value", 18), SHARED_OK);
    ck_assert_code(shared_set("api.k", "xy", 2), SHARED_OK);
    ck_assert_code(shared_get("api.k", buf, sizeof buf, &len, NULL), SHARED_OK);
    ck_assert_uint_eq(len, 2);
    ck_assert_mem_eq(buf, "xy", 2);
}
END_TEST

START_TEST(empty_value_is_a_value)
{
    uint32_t len = 99;
    ck_assert_code(shared_set("api.empty", NULL, 0), SHARED_OK);
    ck_assert_code(shared_get("api.empty", NULL, 0, &len, NULL), SHARED_OK);
    ck_assert_uint_eq(len, 0);
}
END_TEST

START_TEST(max_sizes_round_trip)
{
    static unsigned char in[SHARED_VALUE_MAX], out[SHARED_VALUE_MAX];
    char key[SHARED_KEY_MAX + 1];
    uint32_t len = 0;
    memset(key, 'k', SHARED_KEY_MAX);
    key[SHARED_KEY_MAX] = '\0';
    for (uint32_t i = 0; i < SHARED_VALUE_MAX; i++)
        in[i] = (unsigned char)(i * 7u + 1u);
    ck_assert_code(shared_set(key, in, SHARED_VALUE_MAX), SHARED_OK);
    ck_assert_code(shared_get(key, out, sizeof out, &len, NULL), SHARED_OK);
    ck_assert_uint_eq(len, SHARED_VALUE_MAX);
    ck_assert_mem_eq(in, out, SHARED_VALUE_MAX);
}
END_TEST

START_TEST(small_buffer_reports_needed_length)
{
    char buf[4] = {'.', '.', '.', '.'};
    uint32_t len = 0;
    ck_assert_code(shared_set("api.big", "0123456789", 10), SHARED_OK);
    ck_assert_code(shared_get("api.big", buf, sizeof buf, &len, NULL),
                   SHARED_ETOOBIG);
    ck_assert_uint_eq(len, 10);
    ck_assert_mem_eq(buf, "....", 4); /* nothing copied */
    ck_assert_code(shared_get("api.big", NULL, 0, &len, NULL), SHARED_ETOOBIG);
    ck_assert_uint_eq(len, 10);
}
END_TEST

START_TEST(missing_key_is_not_found)
{
    char buf[8];
    uint32_t len = 0;
    ck_assert_code(shared_get("api.none", buf, sizeof buf, &len, NULL),
                   SHARED_ENOTFOUND);
    ck_assert_code(shared_del("api.none"), SHARED_ENOTFOUND);
}
END_TEST

START_TEST(del_removes_the_key)
{
    char buf[8];
    uint32_t len = 0;
    ck_assert_code(shared_set("api.d", "x", 1), SHARED_OK);
    ck_assert_code(shared_del("api.d"), SHARED_OK);
    ck_assert_code(shared_get("api.d", buf, sizeof buf, &len, NULL),
                   SHARED_ENOTFOUND);
    ck_assert_code(shared_del("api.d"), SHARED_ENOTFOUND);
}
END_TEST

typedef struct walk {
    int count;
    int saw_a, saw_b, saw_c;
    int stop_after;
} walk;

static int visit(const shared_entry *e, void *ctx)
{
    walk *w = ctx;
    w->count++;
    if (strcmp(e->key, "walk.a") == 0)
        w->saw_a = e->value_len == 1 && memcmp(e->value, "1", 1) == 0 &&
                   e->type == SHARED_TYPE_BYTES && e->version > 0;
    if (strcmp(e->key, "walk.b") == 0)
        w->saw_b = e->value_len == 2 && memcmp(e->value, "22", 2) == 0;
    if (strcmp(e->key, "walk.c") == 0) {
        int64_t v = 0;
        memcpy(&v, e->value, sizeof v);
        w->saw_c = e->type == SHARED_TYPE_COUNTER && v == 3 && e->key_len == 6;
    }
    return w->stop_after && w->count >= w->stop_after;
}

START_TEST(foreach_visits_every_key_once)
{
    walk w = {0};
    ck_assert_code(shared_set("walk.a", "1", 1), SHARED_OK);
    ck_assert_code(shared_set("walk.b", "22", 2), SHARED_OK);
    ck_assert_code(shared_add("walk.c", 3, NULL), SHARED_OK);
    ck_assert_int_eq(shared_foreach(visit, &w), 3);
    ck_assert_int_eq(w.count, 3);
    ck_assert(w.saw_a && w.saw_b && w.saw_c);
}
END_TEST

START_TEST(foreach_stops_when_asked)
{
    walk w = {0};
    w.stop_after = 2;
    ck_assert_code(shared_set("walk.a", "1", 1), SHARED_OK);
    ck_assert_code(shared_set("walk.b", "22", 2), SHARED_OK);
    ck_assert_code(shared_add("walk.c", 3, NULL), SHARED_OK);
    ck_assert_int_eq(shared_foreach(visit, &w), 2);
    ck_assert_int_eq(w.count, 2);
}
END_TEST

static int delete_visited(const shared_entry *e, void *ctx)
{
    (void)ctx;
    return shared_del(e->key) != SHARED_OK;
}

START_TEST(foreach_callback_may_call_the_api)
{
    ck_assert_code(shared_set("walk.a", "1", 1), SHARED_OK);
    ck_assert_code(shared_set("walk.b", "22", 2), SHARED_OK);
    ck_assert_int_eq(shared_foreach(delete_visited, NULL), 2);
    walk w = {0};
    ck_assert_int_eq(shared_foreach(visit, &w), 0);
}
END_TEST

START_TEST(stats_describe_the_section)
{
    shared_statistics st;
    memset(&st, 0xff, sizeof st);
    st.size = sizeof st;
    ck_assert_code(shared_set("st.a", "abc", 3), SHARED_OK);
    ck_assert_code(shared_set("st.bb", "de", 2), SHARED_OK);
    ck_assert_code(shared_stats(&st), SHARED_OK);
    ck_assert_uint_eq(st.size, sizeof st);
    ck_assert_uint_eq(st.max_keys, SHARED_MAX_KEYS);
    ck_assert_uint_eq(st.value_max, SHARED_VALUE_MAX);
    ck_assert_uint_eq(st.journal_max, SHARED_JOURNAL_MAX);
    ck_assert_uint_eq(st.keys_used, 2);
    ck_assert_uint_eq(st.bytes_used, 4 + 3 + 5 + 2);
    ck_assert_uint_eq(st.section_size, sizeof(shared__region));
    ck_assert_uint_eq(st.build_id, SHARED_BUILD_ID);
    ck_assert_uint_gt(st.lock_acquisitions, 0);
    ck_assert(strcmp(st.backend, "win32") == 0 ||
              strcmp(st.backend, "posix") == 0);
    /* The default home (shared-...) or, as under the tests' own
     * SHARED_INSTANCE, a named instance (shared.<name>). */
    ck_assert(strstr(st.object_name, "shared-") ||
              strstr(st.object_name, "shared."));
}
END_TEST

START_TEST(another_process_finds_the_state_this_one_holds)
{
    shared_statistics st = {.size = sizeof st};
    ck_assert_code(shared_stats(&st), SHARED_OK);
    ck_assert_uint_ne(st.creator_pid, 0);
    ck_assert_uint_eq(st.tx_open, 0);
    ck_assert_uint_eq(st.journal_entries, 0);
    int h = role_start("attach", "");
    ck_assert_int_ge(h, 0);
    ck_assert_int_eq(proc_wait(h, 30000), 0); /* found, not created */
}
END_TEST

typedef struct census {
    uint32_t visited, used, next_index;
    uint64_t version_a;
} census;

static int count_slots(const shared_slot_info *s, void *ctx)
{
    census *c = ctx;
    ck_assert_uint_eq(s->index, c->next_index++);
    c->visited++;
    if (s->state == SHARED_SLOT_USED) {
        c->used++;
        ck_assert_uint_ne(s->hint, 0);
        ck_assert_uint_eq(s->seq % 2, 0);
        if (strcmp(s->key, "in.a") == 0) {
            c->version_a = s->version;
            ck_assert_uint_eq(s->value_len, 3);
            ck_assert_uint_eq(s->key_len, 4);
            ck_assert_uint_eq(s->type, SHARED_TYPE_BYTES);
        }
    } else {
        ck_assert_uint_eq(s->state, SHARED_SLOT_FREE);
        ck_assert_str_eq(s->key, "");
    }
    return 0;
}

START_TEST(inspect_describes_every_slot)
{
    census c = {0};
    uint64_t v = 0;
    uint32_t len;
    ck_assert_code(shared_set("in.a", "abc", 3), SHARED_OK);
    ck_assert_code(shared_add("in.n", 1, NULL), SHARED_OK);
    ck_assert_code(shared_get("in.a", NULL, 0, &len, &v), SHARED_ETOOBIG);
    ck_assert_int_eq(shared_inspect(count_slots, &c), SHARED_MAX_KEYS);
    ck_assert_uint_eq(c.visited, SHARED_MAX_KEYS);
    ck_assert_uint_eq(c.used, 2);
    ck_assert_uint_eq(c.version_a, v);
    ck_assert_code(shared_inspect(NULL, NULL), SHARED_ENULL);
}
END_TEST

START_TEST(stats_fill_no_more_than_size)
{
    unsigned char raw[sizeof(shared_statistics) + 16];
    shared_statistics *st = (shared_statistics *)(void *)raw;
    memset(raw, 0xab, sizeof raw);
    st->size = 16; /* an old caller knowing only the first four fields */
    ck_assert_code(shared_stats(st), SHARED_OK);
    ck_assert_uint_eq(st->size, 16);
    ck_assert_uint_eq(st->max_keys, SHARED_MAX_KEYS);
    for (size_t i = 16; i < sizeof raw; i++)
        ck_assert_uint_eq(raw[i], 0xab);
}
END_TEST

START_TEST(reset_wipes_keys_but_not_versions)
{
    uint64_t v1 = 0, v2 = 0;
    uint32_t len;
    shared_statistics st = {.size = sizeof st};
    ck_assert_code(shared_cas("rs.a", 0, "1", 1, &v1), SHARED_OK);
    ck_assert_code(shared_reset(), SHARED_OK);
    ck_assert_code(shared_get("rs.a", NULL, 0, &len, NULL), SHARED_ENOTFOUND);
    ck_assert_code(shared_stats(&st), SHARED_OK);
    ck_assert_uint_eq(st.keys_used, 0);
    ck_assert_uint_eq(st.bytes_used, 0);
    ck_assert_code(shared_cas("rs.a", 0, "1", 1, &v2), SHARED_OK);
    ck_assert_uint_gt(v2, v1);
}
END_TEST

START_TEST(every_error_has_a_name_and_a_message)
{
    ck_assert_str_eq(shared_errname(SHARED_OK), "SHARED_OK");
    ck_assert_str_eq(shared_strerror(SHARED_OK), "success");
    ck_assert_str_eq(shared_errname(SHARED_ETIMEDOUT), "SHARED_ETIMEDOUT");
    ck_assert_str_eq(shared_errname(SHARED_ENOMEM), "SHARED_ENOMEM");
    int last = 0;
#define XX(name, value, msg) last = (value) < last ? (value) : last;
    SHARED_ERRNO_MAP(XX)
#undef XX
    for (int e = -1; e >= last; e--) {
        ck_assert_ptr_nonnull(strstr(shared_errname(e), "SHARED_E"));
        ck_assert_str_ne(shared_strerror(e), "unknown error");
        for (int f = e + 1; f <= -1; f++)
            ck_assert_str_ne(shared_errname(e), shared_errname(f));
    }
    ck_assert_str_eq(shared_strerror(-999), "unknown error");
    ck_assert_str_eq(shared_errname(42), "SHARED_EUNKNOWN");
}
END_TEST

/* sharectl maps every library error to one of its documented exit codes
 * (host/ctl_exit.c); CTL_FAILED (1) is for failures of its own only. */
START_TEST(every_error_has_a_sharectl_exit_code)
{
    ck_assert_int_eq(ctl_exit_code(SHARED_OK), CTL_OK);
#define XX(name, value, msg)                                                   \
  ck_assert_msg(ctl_exit_code(value) >= CTL_USAGE &&                           \
                    ctl_exit_code(value) <= CTL_TYPE,                          \
                "SHARED_" #name " exits %d", ctl_exit_code(value));
    SHARED_ERRNO_MAP(XX)
#undef XX
    ck_assert_int_eq(ctl_exit_code(SHARED_ECHANNELS), CTL_FULL);
    ck_assert_int_eq(ctl_exit_code(SHARED_EFULL), CTL_FULL);
    ck_assert_int_eq(ctl_exit_code(SHARED_ENOTFOUND), CTL_NOTFOUND);
    ck_assert_int_eq(ctl_exit_code(-999), CTL_FAILED);
}
END_TEST

START_TEST(timeout_setting_returns_the_previous_one)
{
    ck_assert_uint_eq(shared_set_timeout(1234), SHARED_DEFAULT_TIMEOUT_MS);
    ck_assert_uint_eq(shared_set_timeout(SHARED_DEFAULT_TIMEOUT_MS), 1234);
}
END_TEST

Suite *api_suite(void)
{
    Suite *s = suite_create("api");
    TCase *tc = tcase_with_fixture("api");
    tcase_add_test(tc, set_then_get_returns_the_bytes);
    tcase_add_test(tc, set_replaces_the_value);
    tcase_add_test(tc, empty_value_is_a_value);
    tcase_add_test(tc, max_sizes_round_trip);
    tcase_add_test(tc, small_buffer_reports_needed_length);
    tcase_add_test(tc, missing_key_is_not_found);
    tcase_add_test(tc, del_removes_the_key);
    tcase_add_test(tc, foreach_visits_every_key_once);
    tcase_add_test(tc, foreach_stops_when_asked);
    tcase_add_test(tc, foreach_callback_may_call_the_api);
    tcase_add_test(tc, stats_describe_the_section);
    tcase_add_test(tc, stats_fill_no_more_than_size);
    tcase_add_test(tc, another_process_finds_the_state_this_one_holds);
    tcase_add_test(tc, inspect_describes_every_slot);
    tcase_add_test(tc, reset_wipes_keys_but_not_versions);
    tcase_add_test(tc, every_error_has_a_name_and_a_message);
    tcase_add_test(tc, every_error_has_a_sharectl_exit_code);
    tcase_add_test(tc, timeout_setting_returns_the_previous_one);
    suite_add_tcase(s, tc);
    return s;
}
