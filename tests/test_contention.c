/*
 * test_contention.c - many processes at once: values and versions agree
 * across processes, P x K increments (shared_add, and CAS with retry) end
 * at exactly P x K, and two keys changed together in a transaction are
 * never seen apart by a reader holding the lock.
 */
#include <stdio.h>
#include <string.h>

#include "roles.h"
#include "testutil.h"

#define PROCS 4
#ifdef SHARED_TEST_WIN
#  define K_ADDS 300 /* a lock round trip costs ~80 us under Wine */
#  define PAIRS 200
#else
#  define K_ADDS 2000
#  define PAIRS 2000
#endif

int role_version(const char *arg)
{
    char key[SHARED_KEY_MAX + 1];
    int64_t want;
    uint64_t v = 0;
    uint32_t len;
    if (role_arg(arg, key, &want, NULL, 0))
        return 2;
    int rc = shared_get(key, NULL, 0, &len, &v);
    if (rc && rc != SHARED_ETOOBIG)
        return ROLE_FAIL(rc);
    return v == (uint64_t)want ? 0 : 1;
}

int role_adder(const char *arg)
{
    char key[SHARED_KEY_MAX + 1];
    int64_t k;
    if (role_arg(arg, key, &k, NULL, 0))
        return 2;
    for (int64_t i = 0; i < k; i++) {
        int rc = shared_add(key, 1, NULL);
        if (rc)
            return ROLE_FAIL(rc);
    }
    return 0;
}

int role_cas_inc(const char *arg)
{
    char key[SHARED_KEY_MAX + 1];
    int64_t k;
    if (role_arg(arg, key, &k, NULL, 0))
        return 2;
    for (int64_t done = 0; done < k;) {
        uint64_t n = 0, v = 0;
        uint32_t len = 0;
        int rc = shared_get(key, &n, sizeof n, &len, &v);
        if (rc == SHARED_ENOTFOUND)
            n = v = 0;
        else if (rc)
            return ROLE_FAIL(rc);
        n++;
        rc = shared_cas(key, v, &n, sizeof n, NULL);
        if (rc == 0)
            done++;
        else if (rc != SHARED_ECONFLICT)
            return ROLE_FAIL(rc);
    }
    return 0;
}

int role_pair_writer(const char *arg)
{
    char key[SHARED_KEY_MAX + 1], a[SHARED_KEY_MAX + 1], b[SHARED_KEY_MAX + 1];
    int64_t n;
    if (role_arg(arg, key, &n, NULL, 0))
        return 2;
    if (role_pair_keys(key, a, b))
        return 2;
    for (int64_t i = 1; i <= n; i++) {
        int rc = shared_lock(10000);
        if (rc)
            return ROLE_FAIL(rc);
        rc = shared_set(a, &i, sizeof i);
        if (rc == 0)
            rc = shared_set(b, &i, sizeof i);
        int rc2 = shared_unlock();
        if (rc || rc2)
            return ROLE_FAIL(rc ? rc : rc2);
    }
    return 0;
}

int role_pair_reader(const char *arg)
{
    char key[SHARED_KEY_MAX + 1], a[SHARED_KEY_MAX + 1], b[SHARED_KEY_MAX + 1];
    int64_t n;
    if (role_arg(arg, key, &n, NULL, 0))
        return 2;
    if (role_pair_keys(key, a, b))
        return 2;
    for (int64_t i = 0; i < n; i++) {
        int64_t va = -1, vb = -1;
        uint32_t la, lb;
        int rc = shared_lock(10000);
        if (rc)
            return ROLE_FAIL(rc);
        int ra = shared_get(a, &va, sizeof va, &la, NULL);
        int rb = shared_get(b, &vb, sizeof vb, &lb, NULL);
        shared_unlock();
        if (ra != rb || (ra == 0 && va != vb)) {
            fprintf(stderr, "pair apart: a=%lld (%d) b=%lld (%d)\n",
                    (long long)va, ra, (long long)vb, rb);
            return 1;
        }
    }
    return 0;
}

/* Starts `n` children in `role` with `arg`, and expects each to exit 0. */
static void run_all(int n, const char *const *roles, const char *const *args)
{
    int h[16];
    for (int i = 0; i < n; i++) {
        h[i] = role_start(roles[i], args[i]);
        ck_assert_int_ge(h[i], 0);
    }
    for (int i = 0; i < n; i++) {
        int code = proc_wait(h[i], 120000);
        ck_assert_msg(code == 0, "%s %s exited with %d", roles[i], args[i],
                      code);
    }
}

START_TEST(value_and_version_agree_across_processes)
{
    char arg[64];
    uint64_t v = 0;
    ck_assert_code(shared_cas("mp.v", 0, "x", 1, &v), SHARED_OK);
    snprintf(arg, sizeof arg, "mp.v:%llu", (unsigned long long)v);
    const char *roles[] = {"version", "expect"};
    const char *args[] = {arg, "mp.v=x"};
    run_all(2, roles, args);
    int h = role_start("set", "mp.v=y");
    ck_assert_int_eq(proc_wait(h, 30000), 0);
    snprintf(arg, sizeof arg, "mp.v:%llu", (unsigned long long)v);
    h = role_start("version", arg); /* the version moved on */
    ck_assert_int_eq(proc_wait(h, 30000), 1);
}
END_TEST

static void contend(const char *role, const char *key)
{
    char arg[64];
    const char *roles[PROCS], *args[PROCS];
    snprintf(arg, sizeof arg, "%s:%d", key, K_ADDS);
    for (int i = 0; i < PROCS; i++) {
        roles[i] = role;
        args[i] = arg;
    }
    run_all(PROCS, roles, args);
}

START_TEST(concurrent_adds_lose_nothing)
{
    int64_t total = 0;
    contend("adder", "mp.add");
    ck_assert_code(shared_add("mp.add", 0, &total), SHARED_OK);
    ck_assert_int_eq(total, PROCS * K_ADDS);
}
END_TEST

START_TEST(concurrent_cas_increments_lose_nothing)
{
    uint64_t total = 0;
    uint32_t len = 0;
    contend("cas-inc", "mp.cas");
    ck_assert_code(shared_get("mp.cas", &total, sizeof total, &len, NULL),
                   SHARED_OK);
    ck_assert_uint_eq(total, PROCS * K_ADDS);
}
END_TEST

START_TEST(transaction_pairs_are_never_seen_apart)
{
    char arg[64];
    snprintf(arg, sizeof arg, "mp.pair:%d", PAIRS);
    const char *roles[] = {"pair-writer", "pair-reader", "pair-reader"};
    const char *args[] = {arg, arg, arg};
    run_all(3, roles, args);
}
END_TEST

Suite *contention_suite(void)
{
    Suite *s = suite_create("contention");
    TCase *tc = tcase_with_fixture("contention");
    tcase_add_test(tc, value_and_version_agree_across_processes);
    tcase_add_test(tc, concurrent_adds_lose_nothing);
    tcase_add_test(tc, concurrent_cas_increments_lose_nothing);
    tcase_add_test(tc, transaction_pairs_are_never_seen_apart);
    suite_add_tcase(s, tc);
    return s;
}
