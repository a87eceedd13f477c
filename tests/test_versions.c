/*
 * test_versions.c - 64-bit versions and compare-and-swap.
 */
#include <string.h>

#include "testutil.h"

static uint64_t version_of(const char *key)
{
    uint32_t len;
    uint64_t v = 0;
    char buf[SHARED_VALUE_MAX];
    ck_assert_code(shared_get(key, buf, sizeof buf, &len, &v), SHARED_OK);
    return v;
}

START_TEST(every_change_gets_a_larger_version)
{
    ck_assert_code(shared_set("v.a", "1", 1), SHARED_OK);
    uint64_t v1 = version_of("v.a");
    ck_assert_code(shared_set("v.a", "2", 1), SHARED_OK);
    uint64_t v2 = version_of("v.a");
    ck_assert_code(shared_set("v.b", "x", 1), SHARED_OK);
    uint64_t vb = version_of("v.b");
    ck_assert_code(shared_add("v.c", 1, NULL), SHARED_OK);
    uint64_t vc = version_of("v.c");
    ck_assert_uint_gt(v2, v1);
    ck_assert_uint_gt(vb, v2);
    ck_assert_uint_gt(vc, vb);
}
END_TEST

START_TEST(versions_never_repeat_across_delete)
{
    uint64_t seen[40];
    for (int i = 0; i < 40; i++) {
        ck_assert_code(shared_set("v.re", "x", 1), SHARED_OK);
        seen[i] = version_of("v.re");
        ck_assert_code(shared_del("v.re"), SHARED_OK);
        for (int j = 0; j < i; j++)
            ck_assert_uint_ne(seen[i], seen[j]);
        if (i)
            ck_assert_uint_gt(seen[i], seen[i - 1]);
    }
}
END_TEST

START_TEST(cas_zero_creates_only_a_missing_key)
{
    uint64_t v = 0, cur = 0;
    ck_assert_code(shared_cas("v.cas", 0, "one", 3, &v), SHARED_OK);
    ck_assert_uint_eq(v, version_of("v.cas"));
    ck_assert_code(shared_cas("v.cas", 0, "two", 3, &cur), SHARED_ECONFLICT);
    ck_assert_uint_eq(cur, v); /* the current version is reported */
    char buf[8];
    uint32_t len;
    ck_assert_code(shared_get("v.cas", buf, sizeof buf, &len, NULL), SHARED_OK);
    ck_assert_mem_eq(buf, "one", 3);
}
END_TEST

START_TEST(cas_with_current_version_succeeds_once)
{
    uint64_t v0 = 0, v1 = 0, cur = 0;
    ck_assert_code(shared_cas("v.cas", 0, "a", 1, &v0), SHARED_OK);
    ck_assert_code(shared_cas("v.cas", v0, "b", 1, &v1), SHARED_OK);
    ck_assert_uint_gt(v1, v0);
    ck_assert_code(shared_cas("v.cas", v0, "c", 1, &cur), SHARED_ECONFLICT);
    ck_assert_uint_eq(cur, v1);
    char buf[8];
    uint32_t len;
    ck_assert_code(shared_get("v.cas", buf, sizeof buf, &len, NULL), SHARED_OK);
    ck_assert_mem_eq(buf, "b", 1);
}
END_TEST

START_TEST(cas_on_missing_key_reports_version_zero)
{
    uint64_t cur = 77;
    uint32_t len;
    ck_assert_code(shared_cas("v.none", 5, "a", 1, &cur), SHARED_ECONFLICT);
    ck_assert_uint_eq(cur, 0);
    ck_assert_code(shared_get("v.none", NULL, 0, &len, NULL), SHARED_ENOTFOUND);
}
END_TEST

START_TEST(cas_after_delete_needs_zero)
{
    uint64_t v = 0, cur = 1;
    ck_assert_code(shared_cas("v.d", 0, "a", 1, &v), SHARED_OK);
    ck_assert_code(shared_del("v.d"), SHARED_OK);
    ck_assert_code(shared_cas("v.d", v, "b", 1, &cur), SHARED_ECONFLICT);
    ck_assert_uint_eq(cur, 0);
    ck_assert_code(shared_cas("v.d", 0, "b", 1, &cur), SHARED_OK);
    ck_assert_uint_gt(cur, v);
}
END_TEST

START_TEST(cas_loop_counts_exactly)
{
    /* The retry pattern users write: read, compute, CAS, retry on conflict. */
    for (int i = 0; i < 50; i++) {
        uint64_t n = 0, v = 0;
        uint32_t len = 0;
        int rc = shared_get("v.loop", &n, sizeof n, &len, &v);
        if (rc == SHARED_ENOTFOUND)
            v = 0;
        else
            ck_assert_code(rc, SHARED_OK);
        n++;
        ck_assert_code(shared_cas("v.loop", v, &n, sizeof n, NULL), SHARED_OK);
    }
    uint64_t n = 0;
    uint32_t len = 0;
    ck_assert_code(shared_get("v.loop", &n, sizeof n, &len, NULL), SHARED_OK);
    ck_assert_uint_eq(n, 50);
}
END_TEST

Suite *versions_suite(void)
{
    Suite *s = suite_create("versions");
    TCase *tc = tcase_with_fixture("versions");
    tcase_add_test(tc, every_change_gets_a_larger_version);
    tcase_add_test(tc, versions_never_repeat_across_delete);
    tcase_add_test(tc, cas_zero_creates_only_a_missing_key);
    tcase_add_test(tc, cas_with_current_version_succeeds_once);
    tcase_add_test(tc, cas_on_missing_key_reports_version_zero);
    tcase_add_test(tc, cas_after_delete_needs_zero);
    tcase_add_test(tc, cas_loop_counts_exactly);
    suite_add_tcase(s, tc);
    return s;
}
