/*
 * test_wait.c - shared_wait: returns on a change (from any process, deletion
 * included), honours its timeout, never misses a wake-up in a long run of
 * quick round trips, wakes every waiter, and survives a waiter that dies.
 */
#include <stdio.h>
#include <string.h>

#include "roles.h"
#include "testutil.h"

#ifndef SHARED_TEST_WIN
#  include <fcntl.h>
#  include <sys/mman.h>
#  include <unistd.h>

#  include "core.h"
#endif

#ifdef SHARED_TEST_WIN
#  define ROUND_TRIPS 100 /* every step is a few wineserver calls */
#  define WAITERS 4
#else
#  define ROUND_TRIPS 1000
#  define WAITERS 8
#endif
#define WAIT_MS 10000
#define OTHER_CHANGES 20

static uint64_t version_of(const char *key)
{
    uint32_t len;
    uint64_t v = 0;
    int rc = shared_get(key, NULL, 0, &len, &v);
    ck_assert(rc == SHARED_ETOOBIG || rc == SHARED_OK ||
              rc == SHARED_ENOTFOUND);
    return v;
}

/* later KEY:MS:VALUE - after MS ms sets KEY to VALUE ("-": deletes it). */
int role_later(const char *arg)
{
    char key[SHARED_KEY_MAX + 1], value[128];
    int64_t ms;
    if (role_arg(arg, key, &ms, value, sizeof value))
        return 2;
    proc_sleep_ms((uint32_t)ms);
    int rc = strcmp(value, "-") == 0
                 ? shared_del(key)
                 : shared_set(key, value, (uint32_t)strlen(value));
    return rc ? ROLE_FAIL(rc) : 0;
}

/* waiter KEY:SEEN - waits for KEY to move from version SEEN. */
int role_waiter(const char *arg)
{
    char key[SHARED_KEY_MAX + 1];
    int64_t seen;
    uint64_t now = 0;
    if (role_arg(arg, key, &seen, NULL, 0))
        return 2;
    int rc = shared_wait(key, (uint64_t)seen, 30000, &now);
    return rc ? ROLE_FAIL(rc) : (now != (uint64_t)seen ? 0 : 1);
}

/* ponger KEY:N - N times: wait for KEY.a to change, then set KEY.b to it. */
int role_ponger(const char *arg)
{
    char key[SHARED_KEY_MAX + 1], a[SHARED_KEY_MAX + 1], b[SHARED_KEY_MAX + 1];
    int64_t n;
    uint64_t seen = 0;
    if (role_arg(arg, key, &n, NULL, 0) || role_pair_keys(key, a, b))
        return 2;
    for (int64_t i = 0; i < n; i++) {
        int64_t v = 0;
        uint32_t len;
        int rc = shared_wait(a, seen, WAIT_MS, &seen);
        if (rc == 0)
            rc = shared_get(a, &v, sizeof v, &len, &seen);
        if (rc == 0)
            rc = shared_set(b, &v, sizeof v);
        if (rc)
            return ROLE_FAIL(rc);
    }
    return 0;
}

START_TEST(returns_at_once_when_the_version_differs)
{
    uint64_t now = 0;
    ck_assert_code(shared_set("w.k", "1", 1), SHARED_OK);
    ck_assert_code(shared_wait("w.k", 0, WAIT_MS, &now), SHARED_OK);
    ck_assert_uint_eq(now, version_of("w.k"));
}
END_TEST

START_TEST(timeout_is_honoured)
{
    uint64_t v, now = 99;
    ck_assert_code(shared_set("w.k", "1", 1), SHARED_OK);
    v = version_of("w.k");
    ck_assert_code(shared_wait("w.k", v, 100, &now), SHARED_ETIMEDOUT);
    ck_assert_uint_eq(now, v);
    ck_assert_code(shared_wait("w.none", 0, 50, &now), SHARED_ETIMEDOUT);
    ck_assert_uint_eq(now, 0);
    ck_assert_code(shared_wait("w.k", v, 0, NULL), SHARED_ETIMEDOUT);
}
END_TEST

START_TEST(bad_arguments)
{
    ck_assert_code(shared_wait("", 0, 10, NULL), SHARED_EKEYEMPTY);
    ck_assert_code(shared_lock(1000), SHARED_OK);
    ck_assert_code(shared_wait("w.k", 0, 10, NULL), SHARED_EINTX);
    ck_assert_code(shared_unlock(), SHARED_OK);
}
END_TEST

START_TEST(another_process_wakes_it)
{
    uint64_t now = 0;
    int h = role_start("later", "w.k:200:hello");
    ck_assert_int_ge(h, 0);
    ck_assert_code(shared_wait("w.k", 0, WAIT_MS, &now), SHARED_OK);
    ck_assert_uint_eq(now, version_of("w.k"));
    ck_assert_int_eq(proc_wait(h, WAIT_MS), 0);
}
END_TEST

START_TEST(deletion_ends_a_wait)
{
    uint64_t v, now = 1;
    ck_assert_code(shared_set("w.k", "1", 1), SHARED_OK);
    v = version_of("w.k");
    int h = role_start("later", "w.k:200:-");
    ck_assert_int_ge(h, 0);
    ck_assert_code(shared_wait("w.k", v, WAIT_MS, &now), SHARED_OK);
    ck_assert_uint_eq(now, 0);
    ck_assert_int_eq(proc_wait(h, WAIT_MS), 0);
}
END_TEST

START_TEST(null_key_waits_for_any_change)
{
    shared_statistics st = {.size = sizeof st};
    uint64_t now = 0;
    ck_assert_code(shared_stats(&st), SHARED_OK);
    ck_assert_code(shared_wait(NULL, st.changes, 50, &now), SHARED_ETIMEDOUT);
    ck_assert_uint_eq(now, st.changes);
    int h = role_start("later", "w.other:200:x");
    ck_assert_int_ge(h, 0);
    ck_assert_code(shared_wait(NULL, st.changes, WAIT_MS, &now), SHARED_OK);
    ck_assert_uint_gt(now, st.changes);
    ck_assert_int_eq(proc_wait(h, WAIT_MS), 0);
}
END_TEST

START_TEST(no_wake_up_is_lost_in_quick_round_trips)
{
    char arg[64];
    uint64_t seen = 0;
    snprintf(arg, sizeof arg, "w.pp:%d", ROUND_TRIPS);
    int h = role_start("ponger", arg);
    ck_assert_int_ge(h, 0);
    for (int64_t i = 1; i <= ROUND_TRIPS; i++) {
        int64_t v = 0;
        uint32_t len;
        ck_assert_code(shared_set("w.pp.a", &i, sizeof i), SHARED_OK);
        /* A lost wake-up on either side stalls here until the timeout. */
        ck_assert_code(shared_wait("w.pp.b", seen, WAIT_MS, &seen), SHARED_OK);
        ck_assert_code(shared_get("w.pp.b", &v, sizeof v, &len, &seen),
                       SHARED_OK);
        ck_assert_int_eq(v, i);
    }
    ck_assert_int_eq(proc_wait(h, WAIT_MS), 0);
}
END_TEST

/* Waits until at least n threads are blocked in a wait. */
static void await_waiters(uint32_t n)
{
    shared_statistics st = {.size = sizeof st};
    for (int i = 0; i < 3000; i++) {
        ck_assert_code(shared_stats(&st), SHARED_OK);
        if (st.waiters >= n)
            return;
        proc_sleep_ms(10);
    }
    ck_abort_msg("only %u of %u waiters blocked", st.waiters, n);
}

static uint64_t wakeups(void)
{
    shared_statistics st = {.size = sizeof st};
    ck_assert_code(shared_stats(&st), SHARED_OK);
    return st.wakeups;
}

/* A waiter on one key sleeps through changes of other keys and channels,
 * and wakes on its own key's change. */
START_TEST(a_waiter_sleeps_through_other_keys)
{
    char arg[64], buf[8];
    uint32_t len;
    ck_assert_code(shared_set("w.mine", "0", 1), SHARED_OK);
    snprintf(arg, sizeof arg, "w.mine:%llu",
             (unsigned long long)version_of("w.mine"));
    int h = role_start("waiter", arg);
    ck_assert_int_ge(h, 0);
    await_waiters(1);
    uint64_t before = wakeups();
    for (int64_t i = 0; i < OTHER_CHANGES; i++) {
        ck_assert_code(shared_set("w.other", &i, sizeof i), SHARED_OK);
        ck_assert_code(shared_send("w.chan", &i, sizeof i, 0), SHARED_OK);
        ck_assert_code(shared_recv("w.chan", buf, sizeof buf, &len, 0),
                       SHARED_OK);
        proc_sleep_ms(5); /* time for a wrongly woken waiter to count */
    }
    await_waiters(1);
    uint64_t after = wakeups();
    int running = proc_wait(h, 0) == PROC_RUNNING;
    /* Woken (and gone) before the checks, so no waiter outlives them. */
    ck_assert_code(shared_set("w.mine", "1", 1), SHARED_OK);
    ck_assert_int_eq(proc_wait(h, WAIT_MS), 0);
    ck_assert(running);
    ck_assert_msg(after == before,
                  "the waiter on w.mine woke %llu times for %d changes of "
                  "other keys and channels",
                  (unsigned long long)(after - before), 3 * OTHER_CHANGES);
    ck_assert_uint_gt(wakeups(), after);
}
END_TEST

/* A transaction wakes the waiters of every key it changed. */
START_TEST(a_transaction_wakes_each_changed_keys_waiters)
{
    static const char *const keys[] = {"w.tx.a", "w.tx.b", "w.tx.c"};
    char arg[64];
    int h[3];
    for (int i = 0; i < 3; i++) {
        ck_assert_code(shared_set(keys[i], "0", 1), SHARED_OK);
        snprintf(arg, sizeof arg, "%s:%llu", keys[i],
                 (unsigned long long)version_of(keys[i]));
        h[i] = role_start("waiter", arg);
        ck_assert_int_ge(h[i], 0);
    }
    await_waiters(3);
    ck_assert_code(shared_lock(WAIT_MS), SHARED_OK);
    ck_assert_code(shared_set("w.tx.a", "1", 1), SHARED_OK);
    ck_assert_code(shared_add("w.tx.n", 1, NULL), SHARED_OK);
    ck_assert_code(shared_del("w.tx.c"), SHARED_OK);
    ck_assert_code(shared_set("w.tx.b", "1", 1), SHARED_OK);
    ck_assert_code(shared_unlock(), SHARED_OK);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(proc_wait(h[i], WAIT_MS), 0);
}
END_TEST

START_TEST(every_waiter_wakes)
{
    char arg[64];
    int h[WAITERS];
    ck_assert_code(shared_set("w.many", "0", 1), SHARED_OK);
    snprintf(arg, sizeof arg, "w.many:%llu",
             (unsigned long long)version_of("w.many"));
    for (int i = 0; i < WAITERS; i++) {
        h[i] = role_start("waiter", arg);
        ck_assert_int_ge(h[i], 0);
    }
    await_waiters(WAITERS);
    ck_assert_code(shared_set("w.many", "1", 1), SHARED_OK);
    for (int i = 0; i < WAITERS; i++)
        ck_assert_int_eq(proc_wait(h[i], WAIT_MS), 0);
}
END_TEST

static int count_peer(const shared_peer_info *p, void *ctx)
{
    (void)p;
    ++*(int *)ctx;
    return 0;
}

/* After a waiter was killed: reaps (shared_peers), then keeps changing
 * KEY (to VALUE) until no waiter is registered, within 5 s. */
static void reap_until_no_waiter(const char *key, const void *value,
                                 uint32_t len)
{
    shared_statistics st = {.size = sizeof st};
    int peers = 0;
    ck_assert_int_ge(shared_peers(count_peer, &peers), 1); /* reaps */
    for (int i = 0; i < 500; i++) {
        ck_assert_code(shared_set(key, value, len), SHARED_OK);
        ck_assert_code(shared_stats(&st), SHARED_OK);
        if (st.waiters == 0)
            break;
        proc_sleep_ms(10);
    }
    ck_assert_uint_eq(st.waiters, 0);
}

START_TEST(a_dead_waiter_leaves_nothing_stuck)
{
    char arg[64];
    ck_assert_code(shared_set("w.dead", "0", 1), SHARED_OK);
    snprintf(arg, sizeof arg, "w.dead:%llu",
             (unsigned long long)version_of("w.dead"));
    int h = role_start("waiter", arg);
    ck_assert_int_ge(h, 0);
    await_waiters(1);
    proc_kill(h);
    ck_assert_code(shared_set("w.dead", "1", 1), SHARED_OK);
    snprintf(arg, sizeof arg, "w.dead:%llu",
             (unsigned long long)version_of("w.dead"));
    h = role_start("waiter", arg);
    ck_assert_int_ge(h, 0);
    await_waiters(1);
    ck_assert_code(shared_set("w.dead", "2", 1), SHARED_OK);
    ck_assert_int_eq(proc_wait(h, WAIT_MS), 0);
    /* The dead one's registration is cleaned up: by the writer that could
     * not reach it (Windows) or by reaping its peer entry (POSIX). */
    reap_until_no_waiter("w.dead", "3", 1);
}
END_TEST

/* A waiter woken once, then killed in its next wait (on Windows: with the
 * same entry and event, which the writer keeps open): its registration is
 * still cleaned up, by writers that find their wake-up not taken (Windows)
 * or by reaping its peer entry (POSIX). */
START_TEST(a_waiter_killed_after_a_wake_up_leaves_nothing_stuck)
{
    uint64_t seen = version_of("w.kw.b");
    int64_t one = 1;
    int h = role_start("ponger", "w.kw:2");
    ck_assert_int_ge(h, 0);
    await_waiters(1);
    ck_assert_code(shared_set("w.kw.a", &one, sizeof one), SHARED_OK);
    ck_assert_code(shared_wait("w.kw.b", seen, WAIT_MS, &seen), SHARED_OK);
    await_waiters(1); /* waiting again */
    proc_kill(h);
    reap_until_no_waiter("w.kw.a", &one, sizeof one);
}
END_TEST

#ifndef SHARED_TEST_WIN
/* A change that recovery completes (its writer died after writing the slot,
 * before committing: played here by writing the mapped state directly) is a
 * change: the key's waiters wake, not at their timeout. */
START_TEST(a_change_completed_by_recovery_wakes_its_waiters)
{
    char arg[64];
    shared_statistics st = {.size = sizeof st};
    ck_assert_code(shared_set("w.rec", "old", 3), SHARED_OK);
    uint64_t v = version_of("w.rec");
    ck_assert_code(shared_stats(&st), SHARED_OK);
    int fd = shm_open(st.object_name, O_RDWR, 0);
    ck_assert_int_ge(fd, 0);
    shared__region *r =
        mmap(NULL, sizeof *r, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    ck_assert(r != MAP_FAILED);
    snprintf(arg, sizeof arg, "w.rec:%llu", (unsigned long long)v);
    int h = role_start("waiter", arg);
    ck_assert_int_ge(h, 0);
    await_waiters(1);
    shared__journal_begin(r, SHARED__J_SINGLE);
    ck_assert_int_eq(shared__op_put(r, "w.rec", 5, "new", 3, NULL, NULL), 0);
    /* No commit, no wake: the writer "died". The next lock recovers it. */
    ck_assert_code(shared_set("w.other", "x", 1), SHARED_OK);
    ck_assert_uint_ne(version_of("w.rec"), v);
    int code = proc_wait(h, 3000);
    if (code == PROC_RUNNING)
        proc_kill(h);
    ck_assert_msg(code == 0, "the waiter did not wake (%d)", code);
    munmap(r, sizeof *r);
}
END_TEST
#endif

Suite *wait_suite(void)
{
    Suite *s = suite_create("wait");
    TCase *tc = tcase_with_fixture("wait");
    tcase_add_test(tc, returns_at_once_when_the_version_differs);
    tcase_add_test(tc, timeout_is_honoured);
    tcase_add_test(tc, bad_arguments);
    tcase_add_test(tc, another_process_wakes_it);
    tcase_add_test(tc, deletion_ends_a_wait);
    tcase_add_test(tc, null_key_waits_for_any_change);
    tcase_add_test(tc, no_wake_up_is_lost_in_quick_round_trips);
    tcase_add_test(tc, every_waiter_wakes);
    tcase_add_test(tc, a_waiter_sleeps_through_other_keys);
    tcase_add_test(tc, a_transaction_wakes_each_changed_keys_waiters);
    tcase_add_test(tc, a_dead_waiter_leaves_nothing_stuck);
    tcase_add_test(tc, a_waiter_killed_after_a_wake_up_leaves_nothing_stuck);
#ifndef SHARED_TEST_WIN
    tcase_add_test(tc, a_change_completed_by_recovery_wakes_its_waiters);
#endif
    suite_add_tcase(s, tc);
    return s;
}
