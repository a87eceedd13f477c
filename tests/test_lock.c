/*
 * test_lock.c - the lock: bounded waits, timeouts counted, and a lock whose
 * holder process dies is taken over.
 */
#include <stdio.h>
#include <string.h>

#include "testutil.h"

/* Starts a child that takes the lock and keeps it until killed. */
static int start_holder(char *marker, size_t cap)
{
    unique_name(marker, cap, "hold");
    remove(marker);
    int h = role_start("hold", marker);
    ck_assert_int_ge(h, 0);
    ck_assert_msg(file_wait(marker, 30000), "child never took the lock");
    return h;
}

START_TEST(writes_time_out_while_another_process_holds_the_lock)
{
    char marker[64];
    shared_statistics st0 = {.size = sizeof st0}, st1 = {.size = sizeof st1};
    ck_assert_code(shared_stats(&st0), SHARED_OK);
    int h = start_holder(marker, sizeof marker);
    shared_set_timeout(200);
    ck_assert_code(shared_set("lk.a", "x", 1), SHARED_ETIMEDOUT);
    ck_assert_code(shared_add("lk.n", 1, NULL), SHARED_ETIMEDOUT);
    ck_assert_code(shared_del("lk.a"), SHARED_ETIMEDOUT);
    ck_assert_code(shared_reset(), SHARED_ETIMEDOUT);
    ck_assert_code(shared_lock(100), SHARED_ETIMEDOUT);
    ck_assert_code(shared_stats(&st1), SHARED_OK);
    ck_assert_uint_ge(st1.lock_timeouts, st0.lock_timeouts + 5);
    proc_kill(h);
    remove(marker);
}
END_TEST

START_TEST(zero_timeout_does_not_wait)
{
    char marker[64];
    int h = start_holder(marker, sizeof marker);
    shared_set_timeout(0);
    ck_assert_code(shared_set("lk.a", "x", 1), SHARED_ETIMEDOUT);
    ck_assert_code(shared_lock(0), SHARED_ETIMEDOUT);
    proc_kill(h);
    remove(marker);
}
END_TEST

/* Milliseconds a call took; the margin a call may take beyond the time its
 * caller gave it (SHARED_WAIT_MARGIN_MS, plus scheduling and, under Wine,
 * wineserver round trips): far below the 5 s lock timeout. */
#define CALLER_MARGIN_MS 900

START_TEST(waiting_calls_keep_the_callers_time_while_the_lock_is_held)
{
    char marker[64], buf[8];
    uint32_t len;
    uint64_t t, now;
    /* The process lock timeout stays at its 5000 ms default: calls given
     * less time must not wait that long for the lock. */
    ck_assert_code(shared_set("lk.w", "x", 1), SHARED_OK);
    ck_assert_code(shared_send("lk.ch", "x", 1, 0), SHARED_OK);
    uint64_t v = 0;
    ck_assert_code(shared_get("lk.w", buf, sizeof buf, &len, &v), SHARED_OK);
    int h = start_holder(marker, sizeof marker);

    t = proc_now_ms();
    ck_assert_code(shared_send("lk.ch", "y", 1, 0), SHARED_ETIMEDOUT);
    ck_assert_uint_lt(proc_now_ms() - t, CALLER_MARGIN_MS);

    t = proc_now_ms();
    ck_assert_code(shared_recv("lk.ch", buf, sizeof buf, &len, 0),
                   SHARED_ETIMEDOUT);
    ck_assert_uint_lt(proc_now_ms() - t, CALLER_MARGIN_MS);

    t = proc_now_ms();
    ck_assert_code(shared_recv("lk.ch", buf, sizeof buf, &len, 100),
                   SHARED_ETIMEDOUT);
    ck_assert_uint_lt(proc_now_ms() - t, 100 + CALLER_MARGIN_MS);

    t = proc_now_ms();
    ck_assert_code(shared_wait("lk.w", v, 100, &now), SHARED_ETIMEDOUT);
    ck_assert_uint_lt(proc_now_ms() - t, 100 + CALLER_MARGIN_MS);

    t = proc_now_ms();
    ck_assert_code(shared_wait("lk.w", v, 0, &now), SHARED_ETIMEDOUT);
    ck_assert_uint_lt(proc_now_ms() - t, CALLER_MARGIN_MS);
    proc_kill(h);
    remove(marker);
    /* The lock is free again: the message sent before is still there. */
    ck_assert_code(shared_recv("lk.ch", buf, sizeof buf, &len, 0), SHARED_OK);
    ck_assert_mem_eq(buf, "x", 1);
}
END_TEST

START_TEST(lock_of_a_dead_holder_is_recovered)
{
    char marker[64], buf[8];
    uint32_t len;
    shared_statistics st0 = {.size = sizeof st0}, st1 = {.size = sizeof st1};
    ck_assert_code(shared_set("lk.a", "old", 3), SHARED_OK);
    ck_assert_code(shared_stats(&st0), SHARED_OK);
    int h = start_holder(marker, sizeof marker);
    proc_kill(h);
    remove(marker);
    ck_assert_code(shared_set("lk.b", "new", 3), SHARED_OK);
    ck_assert_code(shared_get("lk.a", buf, sizeof buf, &len, NULL), SHARED_OK);
    ck_assert_mem_eq(buf, "old", 3);
    ck_assert_code(shared_stats(&st1), SHARED_OK);
    ck_assert_uint_eq(st1.owner_died_recoveries, st0.owner_died_recoveries + 1);
}
END_TEST

START_TEST(lock_is_free_again_after_unlock)
{
    ck_assert_code(shared_lock(1000), SHARED_OK);
    ck_assert_code(shared_unlock(), SHARED_OK);
    shared_set_timeout(0);
    ck_assert_code(shared_set("lk.free", "x", 1), SHARED_OK);
}
END_TEST

/* shared_repair runs the recovery on demand: derived counts damaged by a
 * hostile write are rebuilt from the slots, keys are kept, with or without
 * breaking the lock. */
START_TEST(repair_rebuilds_and_keeps_keys)
{
    char buf[8];
    uint32_t len = 0;
    shared_statistics st = {.size = sizeof st};
    shared__region *r = live_region();
    ck_assert_ptr_nonnull(r);
    ck_assert_code(shared_set("lk.r1", "one", 3), SHARED_OK);
    ck_assert_code(shared_add("lk.r2", 2, NULL), SHARED_OK);
    atomic_store(&r->hdr.keys_used, 999);
    atomic_store(&r->hdr.bytes_used, 7);
    ck_assert_code(shared_repair(0), SHARED_OK);
    ck_assert_code(shared_stats(&st), SHARED_OK);
    ck_assert_uint_eq(st.keys_used, 2);
    ck_assert_uint_eq(st.bytes_used, 5 + 3 + 5 + 8);
    atomic_store(&r->hdr.keys_used, 0);
    ck_assert_code(shared_repair(SHARED_REPAIR_BREAK_LOCK), SHARED_OK);
    ck_assert_code(shared_stats(&st), SHARED_OK);
    ck_assert_uint_eq(st.keys_used, 2);
    ck_assert_code(shared_get("lk.r1", buf, sizeof buf, &len, NULL), SHARED_OK);
    ck_assert_mem_eq(buf, "one", 3);
    ck_assert_code(shared_repair(2), SHARED_EINVAL);
    ck_assert_code(shared_lock(1000), SHARED_OK);
    ck_assert_code(shared_repair(0), SHARED_EINTX);
    ck_assert_code(shared_unlock(), SHARED_OK);
}
END_TEST

Suite *lock_suite(void)
{
    Suite *s = suite_create("lock");
    TCase *tc = tcase_with_fixture("lock");
    tcase_add_test(tc, writes_time_out_while_another_process_holds_the_lock);
    tcase_add_test(tc, zero_timeout_does_not_wait);
    tcase_add_test(tc,
                   waiting_calls_keep_the_callers_time_while_the_lock_is_held);
    tcase_add_test(tc, lock_of_a_dead_holder_is_recovered);
    tcase_add_test(tc, lock_is_free_again_after_unlock);
    tcase_add_test(tc, repair_rebuilds_and_keeps_keys);
    suite_add_tcase(s, tc);
    return s;
}
