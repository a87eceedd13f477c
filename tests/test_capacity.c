/*
 * test_capacity.c - a full table is SHARED_EFULL: nothing grows, nothing is
 * evicted, and existing keys keep working.
 */
#include <stdio.h>
#include <string.h>

#include "testutil.h"

static void fill(void)
{
    char key[32];
    for (uint32_t i = 0; i < SHARED_MAX_KEYS; i++) {
        snprintf(key, sizeof key, "cap.%u", (unsigned)i);
        ck_assert_code(shared_set(key, &i, sizeof i), SHARED_OK);
    }
}

START_TEST(full_table_refuses_new_keys)
{
    shared_statistics st = {.size = sizeof st};
    int64_t r;
    fill();
    ck_assert_code(shared_set("cap.one-too-many", "x", 1), SHARED_EFULL);
    ck_assert_code(shared_cas("cap.one-too-many", 0, "x", 1, NULL),
                   SHARED_EFULL);
    ck_assert_code(shared_add("cap.counter", 1, &r), SHARED_EFULL);
    ck_assert_code(shared_stats(&st), SHARED_OK);
    ck_assert_uint_eq(st.keys_used, SHARED_MAX_KEYS);
}
END_TEST

START_TEST(full_table_keeps_every_key)
{
    char key[32];
    uint32_t v, len;
    fill();
    ck_assert_code(shared_set("cap.one-too-many", "x", 1), SHARED_EFULL);
    for (uint32_t i = 0; i < SHARED_MAX_KEYS; i++) {
        snprintf(key, sizeof key, "cap.%u", (unsigned)i);
        ck_assert_code(shared_get(key, &v, sizeof v, &len, NULL), SHARED_OK);
        ck_assert_uint_eq(v, i);
    }
}
END_TEST

START_TEST(full_table_still_updates_and_deletes)
{
    char buf[8];
    uint32_t len;
    fill();
    ck_assert_code(shared_set("cap.0", "new", 3), SHARED_OK);
    ck_assert_code(shared_get("cap.0", buf, sizeof buf, &len, NULL), SHARED_OK);
    ck_assert_mem_eq(buf, "new", 3);
    ck_assert_code(shared_del("cap.1"), SHARED_OK);
    ck_assert_code(shared_set("cap.late", "x", 1), SHARED_OK);
    ck_assert_code(shared_set("cap.later", "x", 1), SHARED_EFULL);
}
END_TEST

Suite *capacity_suite(void)
{
    Suite *s = suite_create("capacity");
    TCase *tc = tcase_with_fixture("capacity");
    tcase_add_test(tc, full_table_refuses_new_keys);
    tcase_add_test(tc, full_table_keeps_every_key);
    tcase_add_test(tc, full_table_still_updates_and_deletes);
    suite_add_tcase(s, tc);
    return s;
}
