/*
 * test_process.c - state crosses process boundaries.
 */
#include <string.h>

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

Suite *process_suite(void)
{
    Suite *s = suite_create("process");
    TCase *tc = tcase_with_fixture("process");
    tcase_add_test(tc, child_writes_parent_reads);
    tcase_add_test(tc, parent_writes_child_reads);
    suite_add_tcase(s, tc);
    return s;
}
