/*
 * wait.c (POSIX) - waiting for changes: a futex on the header's wake_seq
 * word (shared, not private: it lives in a MAP_SHARED mapping). A waiter
 * counts itself in `waiters` before it compares the word, and a writer bumps
 * the word before it reads `waiters`: either the writer sees the waiter and
 * wakes it, or the waiter sees the new word and does not sleep. Each
 * process also counts its waiting threads in its peer entry, so when a
 * process dies waiting, whoever reaps it takes its threads off `waiters`
 * (until then writers only make a needless wake call; nothing is stuck).
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

int shared__backend_wait(shared__region *r, uint32_t seen, uint32_t timeout_ms)
{
    struct timespec ts = {(time_t)(timeout_ms / 1000u),
                          (long)(timeout_ms % 1000u) * 1000000L};
    int rc = 0;
    uint32_t me = shared__self_peer();
    if (me < SHARED_MAX_PEERS)
        atomic_fetch_add(&r->peer[me].waiting, 1);
    atomic_fetch_add(&r->hdr.waiters, 1);
    if (atomic_load(&r->hdr.wake_seq) == seen &&
        futex(&r->hdr.wake_seq, FUTEX_WAIT, seen, &ts) != 0 &&
        errno != EAGAIN && errno != ETIMEDOUT && errno != EINTR) {
        shared__set_os_error((uint32_t)errno);
        rc = SHARED_ESYSTEM;
    }
    atomic_fetch_sub(&r->hdr.waiters, 1);
    if (me < SHARED_MAX_PEERS)
        atomic_fetch_sub(&r->peer[me].waiting, 1);
    return rc;
}

void shared__backend_wake(shared__region *r)
{
    if (atomic_load(&r->hdr.waiters) != 0)
        futex(&r->hdr.wake_seq, FUTEX_WAKE, INT_MAX, NULL);
}

uint32_t shared__backend_waiters(shared__region *r)
{
    return atomic_load(&r->hdr.waiters);
}
