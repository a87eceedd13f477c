/*
 * test_stack.c - the library's stack use is small and bounded whatever the
 * build's limits: every operation, the recovery of a dead writer's change
 * included, runs on a thread whose stack is STACK_BYTES. The
 * linux-maxlimits preset runs this suite with the largest values the build
 * allows (SHARED_VALUE_MAX 1 MiB, SHARED_MSG_MAX 64 KiB), where a copy of a
 * slot or a message on the stack would not fit.
 */
#include <stdio.h>
#include <string.h>

#include "roles.h"
#include "testutil.h"

#define STACK_BYTES (64u * 1024u)

/* What the thread did: the first failed step, or none. */
typedef struct outcome {
    char why[160];
} outcome;

typedef struct job {
    void (*fn)(outcome *);
    outcome out;
} job;

static void trampoline(void *p)
{
    job *j = p;
    j->fn(&j->out);
}

/* Runs fn on a thread with a STACK_BYTES stack; Check's assertions stay on
 * this thread. */
static void on_small_stack(void (*fn)(outcome *))
{
    static job j;
    memset(&j, 0, sizeof j);
    j.fn = fn;
    ck_assert_int_eq(run_on_stack(STACK_BYTES, trampoline, &j), 0);
    ck_assert_msg(j.out.why[0] == '\0', "%s", j.out.why);
}

/* Records the first failed step. */
#define STEP(out, expr, want)                                                  \
  do {                                                                         \
    int got_ = (expr);                                                         \
    if (got_ != (want) && (out)->why[0] == '\0')                               \
      snprintf((out)->why, sizeof(out)->why, "%s: %s, expected %s", #expr,     \
               shared_errname(got_), shared_errname(want));                    \
  } while (0)

static unsigned char g_in[SHARED_VALUE_MAX], g_out[SHARED_VALUE_MAX];
static unsigned char g_msg[SHARED_MSG_MAX], g_got[SHARED_MSG_MAX];

static void fill(unsigned char *b, uint32_t n, unsigned seed)
{
    for (uint32_t i = 0; i < n; i++)
        b[i] = (unsigned char)(i * 131u + seed);
}

static int visit_key(const shared_entry *e, void *ctx)
{
    ++*(int *)ctx;
    return e->value_len > SHARED_VALUE_MAX;
}

static int visit_slot(const shared_slot_info *s, void *ctx)
{
    (void)s;
    ++*(int *)ctx;
    return 0;
}

static int visit_peer(const shared_peer_info *p, void *ctx)
{
    (void)p;
    ++*(int *)ctx;
    return 0;
}

static int visit_channel(const shared_channel_info *c, void *ctx)
{
    (void)c;
    ++*(int *)ctx;
    return 0;
}

/* Every operation, with the largest value and message. */
static void every_operation(outcome *o)
{
    uint32_t len = 0;
    uint64_t v = 0, v2 = 0;
    int64_t n = 0;
    int count = 0;
    shared_statistics st = {.size = sizeof st};
    fill(g_in, SHARED_VALUE_MAX, 1);
    STEP(o, shared_set("st.big", g_in, SHARED_VALUE_MAX), SHARED_OK);
    STEP(o, shared_get("st.big", g_out, SHARED_VALUE_MAX, &len, &v), SHARED_OK);
    if (len != SHARED_VALUE_MAX || memcmp(g_in, g_out, len) != 0)
        snprintf(o->why, sizeof o->why, "st.big read back wrong");
    STEP(o, shared_get("st.big", g_out, 1, &len, NULL), SHARED_ETOOBIG);
    STEP(o, shared_cas("st.big", v, g_in, SHARED_VALUE_MAX - 1, &v2),
         SHARED_OK);
    STEP(o, shared_cas("st.big", v, g_in, 1, NULL), SHARED_ECONFLICT);
    STEP(o, shared_add("st.n", 5, &n), SHARED_OK);
    STEP(o, shared_wait("st.big", v2, 0, &v), SHARED_ETIMEDOUT);
    STEP(o, shared_foreach(visit_key, &count), 2);
    STEP(o, shared_inspect(visit_slot, &count), SHARED_MAX_KEYS);
    STEP(o, shared_lock(1000), SHARED_OK);
    STEP(o, shared_set("st.big", g_in, SHARED_VALUE_MAX), SHARED_OK);
    STEP(o, shared_set("st.tx", g_in, SHARED_VALUE_MAX), SHARED_OK);
    STEP(o, shared_get("st.tx", g_out, SHARED_VALUE_MAX, &len, NULL),
         SHARED_OK);
    STEP(o, shared_rollback(), SHARED_OK);
    STEP(o, shared_get("st.tx", NULL, 0, &len, NULL), SHARED_ENOTFOUND);
    STEP(o, shared_get("st.big", g_out, SHARED_VALUE_MAX, &len, NULL),
         SHARED_OK);
    if (len != SHARED_VALUE_MAX - 1)
        snprintf(o->why, sizeof o->why, "rollback left %u bytes", len);
    fill(g_msg, SHARED_MSG_MAX, 2);
    STEP(o, shared_send("st.ch", g_msg, SHARED_MSG_MAX, 0), SHARED_OK);
    STEP(o, shared_recv("st.ch", g_got, SHARED_MSG_MAX, &len, 0), SHARED_OK);
    if (len != SHARED_MSG_MAX || memcmp(g_msg, g_got, len) != 0)
        snprintf(o->why, sizeof o->why, "message read back wrong");
    STEP(o, shared_channels(visit_channel, &count), 1);
    STEP(o, shared_peers(visit_peer, &count) >= 1, 1);
    STEP(o, shared_stats(&st), SHARED_OK);
    STEP(o, shared_del("st.big"), SHARED_OK);
    STEP(o, shared_reset(), SHARED_OK);
}

START_TEST(every_operation_runs_on_a_small_stack)
{
    on_small_stack(every_operation);
}
END_TEST

/* tx-big MARKER: in a transaction, overwrite st.big (SHARED_VALUE_MAX
 * bytes, so its journal entry is that big) and st.n, then wait to be
 * killed. */
int role_tx_big(const char *marker)
{
    fill(g_in, SHARED_VALUE_MAX, 3);
    int rc = shared_lock(10000);
    if (rc == 0)
        rc = shared_set("st.big", g_in, SHARED_VALUE_MAX);
    if (rc == 0)
        rc = shared_add("st.n", 1000, NULL);
    if (rc)
        return ROLE_FAIL(rc);
    return role_park(marker);
}

/* After the tx-big writer died: the first call recovers its change. */
static void recover_and_read(outcome *o)
{
    uint32_t len = 0;
    int64_t n = 0;
    STEP(o, shared_get("st.big", g_out, SHARED_VALUE_MAX, &len, NULL),
         SHARED_OK);
    fill(g_in, SHARED_VALUE_MAX, 1);
    if (len != SHARED_VALUE_MAX || memcmp(g_in, g_out, len) != 0)
        snprintf(o->why, sizeof o->why, "st.big not restored (%u bytes)", len);
    STEP(o, shared_add("st.n", 0, &n), SHARED_OK);
    if (n != 5)
        snprintf(o->why, sizeof o->why, "st.n is %lld, not 5", (long long)n);
}

START_TEST(recovery_runs_on_a_small_stack)
{
    char marker[64];
    shared_statistics st0 = {.size = sizeof st0}, st1 = {.size = sizeof st1};
    fill(g_in, SHARED_VALUE_MAX, 1);
    ck_assert_code(shared_set("st.big", g_in, SHARED_VALUE_MAX), SHARED_OK);
    ck_assert_code(shared_add("st.n", 5, NULL), SHARED_OK);
    ck_assert_code(shared_stats(&st0), SHARED_OK);
    unique_name(marker, sizeof marker, "txbig");
    remove(marker);
    int h = role_start("tx-big", marker);
    ck_assert_int_ge(h, 0);
    ck_assert_msg(file_wait(marker, 30000), "child never wrote");
    proc_kill(h);
    remove(marker);
    on_small_stack(recover_and_read);
    ck_assert_code(shared_stats(&st1), SHARED_OK);
    ck_assert_uint_eq(st1.owner_died_recoveries, st0.owner_died_recoveries + 1);
}
END_TEST

Suite *stack_suite(void)
{
    Suite *s = suite_create("stack");
    TCase *tc = tcase_with_fixture("stack");
    tcase_add_test(tc, every_operation_runs_on_a_small_stack);
    tcase_add_test(tc, recovery_runs_on_a_small_stack);
    suite_add_tcase(s, tc);
    return s;
}
