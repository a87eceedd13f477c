/*
 * test_process.c - state crosses process boundaries, and a writer killed at
 * a random moment never leaves a torn value behind.
 */
#include <stdlib.h>
#include <string.h>

#include "roles.h"
#include "testutil.h"

#ifdef SHARED_TEST_WIN
#  define KILL_ROUNDS 6 /* a process start costs ~0.2 s under Wine */
#else
#  define KILL_ROUNDS 25
#endif

START_TEST(child_writes_parent_reads)
{
    char buf[32];
    uint32_t len = 0;
    uint64_t v = 0;
    int h = role_start("set", "p.k=from-child");
    ck_assert_int_ge(h, 0);
    ck_assert_int_eq(proc_wait(h, 30000), 0);
    ck_assert_code(shared_get("p.k", buf, sizeof buf, &len, &v), SHARED_OK);
    ck_assert_uint_eq(len, 10);
    ck_assert_mem_eq(buf, "from-child", 10);
    ck_assert_uint_gt(v, 0);
}
END_TEST

START_TEST(parent_writes_child_reads)
{
    ck_assert_code(shared_set("p.k", "from-parent", 11), SHARED_OK);
    int h = role_start("expect", "p.k=from-parent");
    ck_assert_int_ge(h, 0);
    ck_assert_int_eq(proc_wait(h, 30000), 0);
    h = role_start("expect", "p.k=something-else");
    ck_assert_int_ge(h, 0);
    ck_assert_int_eq(proc_wait(h, 30000), 1);
}
END_TEST

/* What a killed churn writer left: whole values only, and its two
 * transactional keys equal (read together under the lock). */
static void check_churn_leftovers(void)
{
    static unsigned char buf[SHARED_VALUE_MAX];
    uint32_t len = 0, la = 0, lb = 0;
    uint64_t i = 0, a = 0, b = 0;
    int rc = shared_get("p.churn", buf, sizeof buf, &len, NULL);
    if (rc != SHARED_ENOTFOUND) {
        ck_assert_code(rc, SHARED_OK);
        ck_assert_msg(churn_check(buf, len, &i), "torn value (len %u)", len);
    }
    ck_assert_code(shared_lock(10000), SHARED_OK);
    int ra = shared_get("p.churn.a", &a, sizeof a, &la, NULL);
    int rb = shared_get("p.churn.b", &b, sizeof b, &lb, NULL);
    ck_assert_code(shared_unlock(), SHARED_OK);
    ck_assert_int_eq(ra, rb);
    if (ra == SHARED_OK)
        ck_assert_uint_eq(a, b);
    /* a and b are committed after the value numbered the same. */
    if (ra == SHARED_OK && rc == SHARED_OK)
        ck_assert_uint_ge(i, a);
}

START_TEST(writer_killed_at_random_never_tears_a_value)
{
    srand(12345);
    for (int round = 0; round < KILL_ROUNDS; round++) {
        int h = role_start("churn", "p.churn");
        ck_assert_int_ge(h, 0);
        proc_sleep_ms(20u + (uint32_t)(rand() % 80));
        proc_kill(h);
        check_churn_leftovers();
    }
}
END_TEST

Suite *process_suite(void)
{
    Suite *s = suite_create("process");
    TCase *tc = tcase_with_fixture("process");
    tcase_add_test(tc, child_writes_parent_reads);
    tcase_add_test(tc, parent_writes_child_reads);
    tcase_add_test(tc, writer_killed_at_random_never_tears_a_value);
    suite_add_tcase(s, tc);
    return s;
}
