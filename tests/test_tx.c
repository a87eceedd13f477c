/*
 * test_tx.c - transactions: commit, rollback, the journal's bound, and a
 * process that dies inside a transaction leaving none of its changes.
 */
#include <stdio.h>
#include <string.h>

#include "testutil.h"

static int has(const char *key, const char *want)
{
    char buf[64];
    uint32_t len = 0;
    int rc = shared_get(key, buf, sizeof buf, &len, NULL);
    if (!want)
        return rc == SHARED_ENOTFOUND;
    return rc == SHARED_OK && len == strlen(want) &&
           memcmp(buf, want, len) == 0;
}

static int64_t counter(const char *key)
{
    int64_t v = 0;
    ck_assert_code(shared_add(key, 0, &v), SHARED_OK);
    return v;
}

START_TEST(commit_keeps_every_change)
{
    ck_assert_code(shared_set("t.a", "old", 3), SHARED_OK);
    ck_assert_code(shared_lock(1000), SHARED_OK);
    ck_assert_code(shared_set("t.a", "new", 3), SHARED_OK);
    ck_assert_code(shared_set("t.b", "b", 1), SHARED_OK);
    ck_assert_code(shared_add("t.n", 2, NULL), SHARED_OK);
    ck_assert(has("t.a", "new")); /* the transaction sees its own writes */
    ck_assert_code(shared_unlock(), SHARED_OK);
    ck_assert(has("t.a", "new"));
    ck_assert(has("t.b", "b"));
    ck_assert_int_eq(counter("t.n"), 2);
}
END_TEST

START_TEST(rollback_undoes_every_change)
{
    shared_statistics st0 = {.size = sizeof st0}, st1 = {.size = sizeof st1};
    uint64_t va0 = 0, va1 = 0, vnew = 0;
    uint32_t len;
    char buf[8];
    ck_assert_code(shared_set("t.a", "old", 3), SHARED_OK);
    ck_assert_code(shared_set("t.gone", "g", 1), SHARED_OK);
    ck_assert_code(shared_add("t.n", 10, NULL), SHARED_OK);
    ck_assert_code(shared_get("t.a", buf, sizeof buf, &len, &va0), SHARED_OK);
    ck_assert_code(shared_stats(&st0), SHARED_OK);

    ck_assert_code(shared_lock(1000), SHARED_OK);
    ck_assert_code(shared_set("t.a", "new", 3), SHARED_OK);
    ck_assert_code(shared_set("t.a", "newer", 5), SHARED_OK);
    ck_assert_code(shared_del("t.gone"), SHARED_OK);
    ck_assert_code(shared_add("t.n", 5, NULL), SHARED_OK);
    ck_assert_code(shared_set("t.created", "c", 1), SHARED_OK);
    ck_assert_code(shared_rollback(), SHARED_OK);

    ck_assert(has("t.a", "old"));
    ck_assert(has("t.gone", "g"));
    ck_assert(has("t.created", NULL));
    ck_assert_int_eq(counter("t.n"), 10);
    ck_assert_code(shared_get("t.a", buf, sizeof buf, &len, &va1), SHARED_OK);
    ck_assert_uint_eq(va1, va0);
    ck_assert_code(shared_stats(&st1), SHARED_OK);
    ck_assert_uint_eq(st1.keys_used, st0.keys_used);
    ck_assert_uint_eq(st1.bytes_used, st0.bytes_used);
    /* Versions drawn inside the rolled-back transaction are not reused. */
    ck_assert_code(shared_cas("t.fresh", 0, "f", 1, &vnew), SHARED_OK);
    ck_assert_uint_gt(vnew, st0.next_version + 4);
}
END_TEST

START_TEST(journal_bound_is_a_clear_error)
{
    char key[32];
    ck_assert_code(shared_lock(1000), SHARED_OK);
    for (uint32_t i = 0; i < SHARED_JOURNAL_MAX; i++) {
        snprintf(key, sizeof key, "t.j%u", (unsigned)i);
        ck_assert_code(shared_set(key, "x", 1), SHARED_OK);
    }
    ck_assert_code(shared_set("t.over", "x", 1), SHARED_ETXFULL);
    ck_assert_code(shared_add("t.overn", 1, NULL), SHARED_ETXFULL);
    /* Slots already in the journal may change again. */
    ck_assert_code(shared_set("t.j0", "again", 5), SHARED_OK);
    ck_assert_code(shared_unlock(), SHARED_OK);
    ck_assert(has("t.j0", "again"));
    snprintf(key, sizeof key, "t.j%u", (unsigned)(SHARED_JOURNAL_MAX - 1));
    ck_assert(has(key, "x"));
    ck_assert(has("t.over", NULL));
}
END_TEST

START_TEST(process_dying_in_a_transaction_leaves_nothing)
{
    char marker[64];
    uint32_t len;
    shared_statistics st0 = {.size = sizeof st0}, st1 = {.size = sizeof st1};
    ck_assert_code(shared_set("tx.a", "old-a", 5), SHARED_OK);
    ck_assert_code(shared_set("tx.b", "old-b", 5), SHARED_OK);
    ck_assert_code(shared_set("tx.c", "old-c", 5), SHARED_OK);
    ck_assert_code(shared_add("tx.n", 1, NULL), SHARED_OK);
    ck_assert_code(shared_stats(&st0), SHARED_OK);

    unique_name(marker, sizeof marker, "txdie");
    remove(marker);
    int h = role_start("tx-die", marker);
    ck_assert_int_ge(h, 0);
    ck_assert_msg(file_wait(marker, 30000), "child never reached its marker");
    /* Uncommitted changes are never visible: a reader waits instead. */
    shared_set_timeout(200);
    ck_assert_code(shared_get("tx.a", NULL, 0, &len, NULL), SHARED_ETIMEDOUT);
    shared_set_timeout(SHARED_DEFAULT_TIMEOUT_MS);
    proc_kill(h);
    remove(marker);

    ck_assert(has("tx.a", "old-a"));
    ck_assert(has("tx.b", "old-b"));
    ck_assert(has("tx.c", "old-c"));
    ck_assert(has("tx.new", NULL));
    ck_assert_int_eq(counter("tx.n"), 1);
    ck_assert_code(shared_stats(&st1), SHARED_OK);
    ck_assert_uint_eq(st1.owner_died_recoveries, st0.owner_died_recoveries + 1);
    ck_assert_uint_eq(st1.keys_used, st0.keys_used);
}
END_TEST

Suite *tx_suite(void)
{
    Suite *s = suite_create("tx");
    TCase *tc = tcase_with_fixture("tx");
    tcase_add_test(tc, commit_keeps_every_change);
    tcase_add_test(tc, rollback_undoes_every_change);
    tcase_add_test(tc, journal_bound_is_a_clear_error);
    tcase_add_test(tc, process_dying_in_a_transaction_leaves_nothing);
    suite_add_tcase(s, tc);
    return s;
}
