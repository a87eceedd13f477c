/*
 * test_counters.c - 64-bit counters and type errors.
 */
#include <string.h>

#include "testutil.h"

START_TEST(add_creates_a_missing_counter)
{
    int64_t r = 0;
    ck_assert_code(shared_add("c.new", 7, &r), SHARED_OK);
    ck_assert_int_eq(r, 7);
}
END_TEST

START_TEST(add_accumulates_and_goes_negative)
{
    int64_t r = 0;
    ck_assert_code(shared_add("c.acc", 5, &r), SHARED_OK);
    ck_assert_code(shared_add("c.acc", -8, &r), SHARED_OK);
    ck_assert_int_eq(r, -3);
    ck_assert_code(shared_add("c.acc", 0, &r), SHARED_OK);
    ck_assert_int_eq(r, -3);
    ck_assert_code(shared_add("c.acc", 1, NULL), SHARED_OK);
    ck_assert_code(shared_add("c.acc", 0, &r), SHARED_OK);
    ck_assert_int_eq(r, -2);
}
END_TEST

START_TEST(counter_reads_as_an_int64)
{
    int64_t v = 0;
    uint32_t len = 0;
    ck_assert_code(shared_add("c.read", 1234567890123ll, NULL), SHARED_OK);
    ck_assert_code(shared_get("c.read", &v, sizeof v, &len, NULL), SHARED_OK);
    ck_assert_uint_eq(len, 8);
    ck_assert_int_eq(v, 1234567890123ll);
}
END_TEST

START_TEST(add_to_bytes_is_a_type_error)
{
    char buf[16];
    uint32_t len = 0;
    uint64_t v1 = 0, v2 = 0;
    int64_t r = 99;
    /* Eight bytes that would make a plausible int64: still not a counter. */
    ck_assert_code(shared_set("c.bytes", "12345678", 8), SHARED_OK);
    ck_assert_code(shared_get("c.bytes", buf, sizeof buf, &len, &v1),
                   SHARED_OK);
    ck_assert_code(shared_add("c.bytes", 1, &r), SHARED_ETYPE);
    ck_assert_int_eq(r, 99);
    ck_assert_code(shared_get("c.bytes", buf, sizeof buf, &len, &v2),
                   SHARED_OK);
    ck_assert_uint_eq(v1, v2);
    ck_assert_uint_eq(len, 8);
    ck_assert_mem_eq(buf, "12345678", 8);
}
END_TEST

START_TEST(set_turns_a_counter_into_bytes)
{
    ck_assert_code(shared_add("c.turn", 1, NULL), SHARED_OK);
    ck_assert_code(shared_set("c.turn", "ab", 2), SHARED_OK);
    ck_assert_code(shared_add("c.turn", 1, NULL), SHARED_ETYPE);
    ck_assert_code(shared_del("c.turn"), SHARED_OK);
    ck_assert_code(shared_add("c.turn", 1, NULL), SHARED_OK);
}
END_TEST

START_TEST(overflow_is_refused_and_changes_nothing)
{
    int64_t r = 0;
    ck_assert_code(shared_add("c.max", INT64_MAX - 1, NULL), SHARED_OK);
    ck_assert_code(shared_add("c.max", 1, &r), SHARED_OK);
    ck_assert_int_eq(r, INT64_MAX);
    ck_assert_code(shared_add("c.max", 1, &r), SHARED_EOVERFLOW);
    ck_assert_code(shared_add("c.max", 0, &r), SHARED_OK);
    ck_assert_int_eq(r, INT64_MAX);
    ck_assert_code(shared_add("c.min", INT64_MIN, NULL), SHARED_OK);
    ck_assert_code(shared_add("c.min", -1, &r), SHARED_EOVERFLOW);
    ck_assert_code(shared_add("c.min", 0, &r), SHARED_OK);
    ck_assert_int_eq(r, INT64_MIN);
}
END_TEST

Suite *counters_suite(void)
{
    Suite *s = suite_create("counters");
    TCase *tc = tcase_with_fixture("counters");
    tcase_add_test(tc, add_creates_a_missing_counter);
    tcase_add_test(tc, add_accumulates_and_goes_negative);
    tcase_add_test(tc, counter_reads_as_an_int64);
    tcase_add_test(tc, add_to_bytes_is_a_type_error);
    tcase_add_test(tc, set_turns_a_counter_into_bytes);
    tcase_add_test(tc, overflow_is_refused_and_changes_nothing);
    suite_add_tcase(s, tc);
    return s;
}
