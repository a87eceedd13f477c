/*
 * test_badinput.c - every kind of bad argument gets its own error code and
 * changes nothing in the section.
 */
#include <string.h>

#include "testutil.h"

static char long_key[SHARED_KEY_MAX + 2];
static unsigned char big[SHARED_VALUE_MAX + 1];
static shared_statistics before;

/* Fixture: one known key, and the section's state to compare against. */
static void bad_setup(void)
{
    fixture_setup();
    memset(long_key, 'k', SHARED_KEY_MAX + 1);
    long_key[SHARED_KEY_MAX + 1] = '\0';
    ck_assert_code(shared_set("bad.keep", "kept", 4), SHARED_OK);
    memset(&before, 0, sizeof before);
    before.size = sizeof before;
    ck_assert_code(shared_stats(&before), SHARED_OK);
}

/* Nothing changed: same keys, same version counter, value intact. */
static void assert_unchanged(void)
{
    shared_statistics now = {.size = sizeof now};
    char buf[8];
    uint32_t len = 0;
    ck_assert_code(shared_stats(&now), SHARED_OK);
    ck_assert_uint_eq(now.keys_used, before.keys_used);
    ck_assert_uint_eq(now.bytes_used, before.bytes_used);
    ck_assert_uint_eq(now.next_version, before.next_version);
    ck_assert_code(shared_get("bad.keep", buf, sizeof buf, &len, NULL),
                   SHARED_OK);
    ck_assert_mem_eq(buf, "kept", 4);
}

START_TEST(null_key)
{
    uint32_t len;
    ck_assert_code(shared_set(NULL, "x", 1), SHARED_ENULL);
    ck_assert_code(shared_get(NULL, NULL, 0, &len, NULL), SHARED_ENULL);
    ck_assert_code(shared_del(NULL), SHARED_ENULL);
    ck_assert_code(shared_cas(NULL, 0, "x", 1, NULL), SHARED_ENULL);
    ck_assert_code(shared_add(NULL, 1, NULL), SHARED_ENULL);
    assert_unchanged();
}
END_TEST

START_TEST(empty_key)
{
    uint32_t len;
    ck_assert_code(shared_set("", "x", 1), SHARED_EKEYEMPTY);
    ck_assert_code(shared_get("", NULL, 0, &len, NULL), SHARED_EKEYEMPTY);
    ck_assert_code(shared_del(""), SHARED_EKEYEMPTY);
    ck_assert_code(shared_cas("", 0, "x", 1, NULL), SHARED_EKEYEMPTY);
    ck_assert_code(shared_add("", 1, NULL), SHARED_EKEYEMPTY);
    assert_unchanged();
}
END_TEST

START_TEST(oversize_key)
{
    uint32_t len;
    ck_assert_code(shared_set(long_key, "x", 1), SHARED_EKEYTOOLONG);
    ck_assert_code(shared_get(long_key, NULL, 0, &len, NULL),
                   SHARED_EKEYTOOLONG);
    ck_assert_code(shared_del(long_key), SHARED_EKEYTOOLONG);
    ck_assert_code(shared_cas(long_key, 0, "x", 1, NULL), SHARED_EKEYTOOLONG);
    ck_assert_code(shared_add(long_key, 1, NULL), SHARED_EKEYTOOLONG);
    assert_unchanged();
}
END_TEST

START_TEST(oversize_value)
{
    ck_assert_code(shared_set("bad.keep", big, SHARED_VALUE_MAX + 1),
                   SHARED_EVALTOOLONG);
    ck_assert_code(shared_set("bad.new", big, UINT32_MAX), SHARED_EVALTOOLONG);
    ck_assert_code(shared_cas("bad.new", 0, big, SHARED_VALUE_MAX + 1, NULL),
                   SHARED_EVALTOOLONG);
    assert_unchanged();
}
END_TEST

START_TEST(null_value_with_length)
{
    ck_assert_code(shared_set("bad.keep", NULL, 3), SHARED_ENULL);
    ck_assert_code(shared_cas("bad.new", 0, NULL, 3, NULL), SHARED_ENULL);
    assert_unchanged();
}
END_TEST

START_TEST(get_without_length_or_buffer)
{
    char buf[8];
    uint32_t len;
    ck_assert_code(shared_get("bad.keep", buf, sizeof buf, NULL, NULL),
                   SHARED_ENULL);
    ck_assert_code(shared_get("bad.keep", NULL, 8, &len, NULL), SHARED_ENULL);
    assert_unchanged();
}
END_TEST

START_TEST(null_callback_and_stats)
{
    shared_statistics small = {.size = 4};
    ck_assert_code(shared_foreach(NULL, NULL), SHARED_ENULL);
    ck_assert_code(shared_stats(NULL), SHARED_ENULL);
    ck_assert_code(shared_stats(&small), SHARED_EINVAL);
    assert_unchanged();
}
END_TEST

START_TEST(cas_with_impossible_version)
{
    ck_assert_code(shared_cas("bad.keep", UINT64_MAX, "x", 1, NULL),
                   SHARED_ECONFLICT);
    assert_unchanged();
}
END_TEST

START_TEST(transaction_misuse)
{
    ck_assert_code(shared_unlock(), SHARED_ENOTLOCKED);
    ck_assert_code(shared_rollback(), SHARED_ENOTLOCKED);
    ck_assert_code(shared_lock(1000), SHARED_OK);
    ck_assert_code(shared_lock(1000), SHARED_EINTX);
    ck_assert_code(shared_reset(), SHARED_EINTX);
    ck_assert_code(shared_unlock(), SHARED_OK);
    ck_assert_code(shared_unlock(), SHARED_ENOTLOCKED);
    assert_unchanged();
}
END_TEST

START_TEST(key_with_odd_bytes_is_fine)
{
    /* Any byte but NUL is part of a key. */
    char buf[4];
    uint32_t len;
    ck_assert_code(shared_set("sp ace\t\xff/\\", "1", 1), SHARED_OK);
    ck_assert_code(shared_get("sp ace\t\xff/\\", buf, sizeof buf, &len, NULL),
                   SHARED_OK);
    ck_assert_code(shared_get("sp ace", buf, sizeof buf, &len, NULL),
                   SHARED_ENOTFOUND);
}
END_TEST

Suite *badinput_suite(void)
{
    Suite *s = suite_create("badinput");
    TCase *tc = tcase_create("badinput");
    tcase_add_checked_fixture(tc, bad_setup, fixture_teardown);
    tcase_add_test(tc, null_key);
    tcase_add_test(tc, empty_key);
    tcase_add_test(tc, oversize_key);
    tcase_add_test(tc, oversize_value);
    tcase_add_test(tc, null_value_with_length);
    tcase_add_test(tc, get_without_length_or_buffer);
    tcase_add_test(tc, null_callback_and_stats);
    tcase_add_test(tc, cas_with_impossible_version);
    tcase_add_test(tc, transaction_misuse);
    tcase_add_test(tc, key_with_odd_bytes_is_fine);
    suite_add_tcase(s, tc);
    return s;
}
