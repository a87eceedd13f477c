/*
 * test_torture.c - kill torture: a writer that keeps changing a value and,
 * in transactions, a pair of keys is killed at a random moment, again and
 * again. After every kill a fresh process must find every key whole (old or
 * new, never a mix), the pair equal, every write the writer acknowledged
 * present, and the lock obtainable within the timeout.
 *
 * `shared_tests --kills N` runs the same loop N times outside Check (soak).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "roles.h"
#include "testutil.h"

#ifdef SHARED_TEST_WIN
#  define KILLS 30 /* a process start costs ~0.1-0.2 s under Wine */
#  define DELAY_MIN_MS 40
#  define DELAY_SPAN_MS 300
#else
#  define KILLS 200
#  define DELAY_MIN_MS 0
#  define DELAY_SPAN_MS 15
#endif
#define LOCK_TIMEOUT_MS 10000

uint32_t churn_value(unsigned char *buf, uint64_t i)
{
    uint32_t len = (uint32_t)(16u + (i * 37u) % (SHARED_VALUE_MAX - 15u));
    memcpy(buf, &i, sizeof i);
    memcpy(buf + 8, &len, sizeof len);
    memset(buf + 12, (int)(i & 0xffu), len - 12u);
    return len;
}

int churn_check(const unsigned char *buf, uint32_t len, uint64_t *i)
{
    uint32_t stored;
    if (len < 16 || len > SHARED_VALUE_MAX)
        return 0;
    memcpy(i, buf, sizeof *i);
    memcpy(&stored, buf + 8, sizeof stored);
    if (stored != len)
        return 0;
    for (uint32_t k = 12; k < len; k++) {
        if (buf[k] != (unsigned char)(*i & 0xffu))
            return 0;
    }
    return 1;
}

/* KEY:0:ACKFILE - writes KEY, then KEY.a and KEY.b in a transaction, then
 * appends the number to ACKFILE (acknowledged), until killed. */
int role_churn(const char *arg)
{
    char key[SHARED_KEY_MAX + 1], a[SHARED_KEY_MAX + 1], b[SHARED_KEY_MAX + 1];
    char ack[256];
    static unsigned char buf[SHARED_VALUE_MAX];
    int64_t unused;
    if (role_arg(arg, key, &unused, ack, sizeof ack))
        return 2;
    if (role_pair_keys(key, a, b))
        return 2;
    FILE *f = fopen(ack, "wb");
    if (!f)
        return 2;
    for (uint64_t i = 1; i < 100000000u; i++) {
        uint32_t len = churn_value(buf, i);
        int rc = shared_set(key, buf, len);
        if (rc == 0)
            rc = shared_lock(LOCK_TIMEOUT_MS);
        if (rc == 0) {
            rc = shared_set(a, &i, sizeof i);
            if (rc == 0)
                rc = shared_set(b, &i, sizeof i);
            int rc2 = shared_unlock();
            rc = rc ? rc : rc2;
        }
        if (rc)
            return ROLE_FAIL(rc);
        fwrite(&i, sizeof i, 1, f);
        fflush(f);
    }
    return 3;
}

/* Reads KEY.a and KEY.b together under the lock. */
static int read_pair(const char *key, int *ra, uint64_t *a, int *rb,
                     uint64_t *b)
{
    char ka[SHARED_KEY_MAX + 1], kb[SHARED_KEY_MAX + 1];
    uint32_t la, lb;
    if (role_pair_keys(key, ka, kb))
        return 2;
    int rc = shared_lock(LOCK_TIMEOUT_MS);
    if (rc)
        return rc;
    *ra = shared_get(ka, a, sizeof *a, &la, NULL);
    *rb = shared_get(kb, b, sizeof *b, &lb, NULL);
    return shared_unlock();
}

/* KEY:0:ACKFILE - checks what a killed churn writer left behind. */
int role_verify_churn(const char *arg)
{
    char key[SHARED_KEY_MAX + 1], ack[256];
    static unsigned char buf[SHARED_VALUE_MAX];
    int64_t unused;
    uint32_t len = 0;
    uint64_t n = 0, a = 0, b = 0;
    int ra, rb;
    if (role_arg(arg, key, &unused, ack, sizeof ack))
        return 2;
    uint64_t acked = role_last_ack(ack);
    int rc = read_pair(key, &ra, &a, &rb, &b); /* the lock comes back */
    if (rc)
        return ROLE_FAIL(rc);
    if (ra != rb || (ra == 0 && a != b)) {
        fprintf(stderr, "pair apart: a=%llu b=%llu\n", (unsigned long long)a,
                (unsigned long long)b);
        return 1;
    }
    rc = shared_get(key, buf, sizeof buf, &len, NULL);
    if (rc != 0 && !(rc == SHARED_ENOTFOUND && acked == 0))
        return ROLE_FAIL(rc);
    if (rc == 0 && !churn_check(buf, len, &n)) {
        fprintf(stderr, "torn value (length %u)\n", len);
        return 1;
    }
    if (n < acked || (acked && a < acked)) {
        fprintf(stderr, "acknowledged %llu lost: value %llu, pair %llu\n",
                (unsigned long long)acked, (unsigned long long)n,
                (unsigned long long)a);
        return 4;
    }
    return 0;
}

/* Runs `kills` rounds; prints a summary to `out`; returns failed rounds. */
static int torture(int kills, FILE *out)
{
    char ack[64], arg[128];
    shared_statistics s0 = {.size = sizeof s0}, s1 = {.size = sizeof s1};
    uint32_t seed = 0x5eed1234u;
    int failed = 0;
    unique_name(ack, sizeof ack, "ack");
    snprintf(arg, sizeof arg, "tt.churn:0:%s", ack);
    shared_stats(&s0);
    uint64_t t0 = proc_now_ms();
    for (int round = 0; round < kills; round++) {
        remove(ack);
        int h = role_start("churn", arg);
        if (h < 0)
            return kills;
        seed = seed * 1103515245u + 12345u;
        proc_sleep_ms(DELAY_MIN_MS + (seed >> 8) % (DELAY_SPAN_MS + 1));
        proc_kill(h);
        int v = role_start("verify-churn", arg);
        int code = v < 0 ? -3 : proc_wait(v, 60000);
        if (code != 0) {
            fprintf(out, "round %d: verifier exited with %d\n", round, code);
            failed++;
        }
    }
    remove(ack);
    shared_stats(&s1);
    fprintf(out,
            "kill torture: %d kills, %d failed, %llu owner-died recoveries, "
            "%.1f s\n",
            kills, failed,
            (unsigned long long)(s1.owner_died_recoveries -
                                 s0.owner_died_recoveries),
            (double)(proc_now_ms() - t0) / 1000.0);
    return failed;
}

int torture_main(int kills)
{
    shared_set_timeout(LOCK_TIMEOUT_MS);
    return torture(kills, stdout) ? 1 : 0;
}

START_TEST(writer_killed_at_random_never_tears_or_loses)
{
    /* SHARED_TORTURE_KILLS lowers the count for slow instrumented builds
     * (the linux-asan preset: a process start costs ~1 s under ASan). */
    const char *env = getenv("SHARED_TORTURE_KILLS");
    int kills = env && atoi(env) > 0 ? atoi(env) : KILLS;
    ck_assert_int_eq(torture(kills, stderr), 0);
}
END_TEST

Suite *torture_suite(void)
{
    Suite *s = suite_create("torture");
    TCase *tc = tcase_with_fixture("torture");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, writer_killed_at_random_never_tears_or_loses);
    suite_add_tcase(s, tc);
    return s;
}
