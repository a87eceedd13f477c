/*
 * wait.c (POSIX) - waiting for changes: a futex on the wake word of the
 * bucket waited on (shared, not private: it lives in a MAP_SHARED
 * mapping). A waiter counts itself in its bucket's `waiters` before it
 * compares the word, and a writer bumps the word before it reads
 * `waiters`: either the writer sees the waiter and wakes it, or the waiter
 * sees the new word and does not sleep. A writer wakes only the buckets it
 * changed (and "any change"), so a waiter sleeps through changes of other
 * keys and channels. The header's `waiters` counts every waiting thread
 * (statistics, and a writer's one-load fast path when nobody waits); each
 * process also counts its waiting threads in its peer entry, so when a
 * process dies waiting, whoever reaps it takes its threads off the header's
 * count. A dead waiter's bucket count stays: writers to that bucket only
 * make a needless wake call; nothing is stuck.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "posix.h"

static long futex(_Atomic uint32_t *word, int op, uint32_t val,
                  const struct timespec *timeout)
{
    return syscall(SYS_futex, (uint32_t *)word, op, val, timeout, NULL, 0);
}

int shared__backend_wait(shared__region *r, uint32_t bucket, uint32_t seen,
                         uint32_t timeout_ms)
{
    struct timespec ts = {(time_t)(timeout_ms / 1000u),
                          (long)(timeout_ms % 1000u) * 1000000L};
    int rc = 0;
    uint32_t me = shared__self_peer();
    shared__wake *w =
        &r->wake[bucket <= SHARED__WAKE_ANY ? bucket : SHARED__WAKE_ANY];
    if (me < SHARED_MAX_PEERS)
        atomic_fetch_add(&r->peer[me].waiting, 1);
    atomic_fetch_add(&r->hdr.waiters, 1);
    atomic_fetch_add(&w->waiters, 1);
    if (atomic_load(&w->seq) == seen) {
        if (futex(&w->seq, FUTEX_WAIT, seen, &ts) == 0) {
            atomic_fetch_add(&r->hdr.wakeups, 1);
        } else if (errno != EAGAIN && errno != ETIMEDOUT && errno != EINTR) {
            shared__set_os_error((uint32_t)errno);
            rc = SHARED_ESYSTEM;
        }
    }
    atomic_fetch_sub(&w->waiters, 1);
    atomic_fetch_sub(&r->hdr.waiters, 1);
    if (me < SHARED_MAX_PEERS)
        atomic_fetch_sub(&r->peer[me].waiting, 1);
    return rc;
}

static void wake_bucket(shared__region *r, uint32_t b)
{
    if (atomic_load(&r->wake[b].waiters) != 0)
        futex(&r->wake[b].seq, FUTEX_WAKE, INT_MAX, NULL);
}

void shared__backend_wake(shared__region *r, const shared__wakeset *set)
{
    if (atomic_load(&r->hdr.waiters) == 0)
        return;
    for (uint32_t word = 0; word < SHARED__WAKESET_WORDS; word++) {
        uint64_t bits = set ? set->bits[word] : ~(uint64_t)0;
        for (; bits; bits &= bits - 1) {
            uint32_t b = word * 64u + shared__lowest_bit(bits);
            if (b < SHARED__WAKE_ANY)
                wake_bucket(r, b);
        }
    }
    wake_bucket(r, SHARED__WAKE_ANY);
}

uint32_t shared__backend_waiters(shared__region *r)
{
    return atomic_load(&r->hdr.waiters);
}
