/*
 * lock.c (POSIX) - the region's lock: a robust, process-shared pthread mutex
 * living in the header's backend area. A holder that dies makes the next
 * locker get EOWNERDEAD, which becomes SHARED__OWNER_DIED: the caller runs
 * the recovery path, then shared__backend_consistent().
 *
 * The mutex lies in memory every peer (and a hostile process) can write.
 * Its futex word holds the owner's thread id; the kernel marks it "owner
 * died" only for a thread that exits holding it. A word scribbled with the
 * id of a live thread that never took the lock would wedge every call for
 * good. So a wait that times out checks the owner (glibc only):
 *   1. the wait lasted at least WEDGE_MIN_MS and the owner's thread id was
 *      the same before and after it;
 *   2. that thread is gone, or it belongs to a process that is neither this
 *      one nor a live registered peer (pid and start time; see peers.c).
 * Every legitimate holder is a live registered peer, except a process for
 * the moment between taking the lock and registering in its first attach
 * (and leaving, at exit). If both hold, the word is marked "owner died"
 * with one compare-and-swap from the exact value seen (a real holder that
 * took the lock meanwhile makes it fail), waiters are woken, and the next
 * locker runs the owner-died recovery, as after a crash. The caller then
 * waits for the lock at most TAKEOVER_GRACE_MS more (a woken waiter may get
 * it first): a call that meets a wedged lock returns within its timeout
 * plus that grace.
 * What the check can not prove (the owner named is a live peer or this
 * process, or the rest of the mutex is damaged: SHARED_ECORRUPT) is left to
 * shared__backend_break_lock (shared_repair), which re-initialises it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "posix.h"

/* Shorter waits prove too little about a holder to take the lock over. */
#define WEDGE_MIN_MS 100u
/* After taking a wedged lock over, how long the caller may still wait for
 * it (other waiters are woken too and may get it first). */
#define TAKEOVER_GRACE_MS 250u

_Static_assert(sizeof(pthread_mutex_t) <=
                   sizeof(((shared__header *)0)->backend.bytes),
               "pthread_mutex_t must fit the header's backend area");

static pthread_mutex_t *mutex(void)
{
    return (pthread_mutex_t *)(void *)shared__posix_region()->hdr.backend.bytes;
}

int shared__posix_mutex_init(shared__region *r)
{
    pthread_mutexattr_t a;
    pthread_mutex_t *m = (pthread_mutex_t *)(void *)r->hdr.backend.bytes;
    int e = pthread_mutexattr_init(&a);
    if (e == 0)
        e = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    if (e == 0)
        e = pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    if (e == 0)
        e = pthread_mutex_init(m, &a);
    pthread_mutexattr_destroy(&a);
    if (e) {
        shared__set_os_error((uint32_t)e);
        return SHARED_ESYSTEM;
    }
    return 0;
}

/* The thread id in the mutex's owner word (0: free, or not known without
 * glibc's layout, so that every poll below is a trylock). */
static uint32_t owner_tid(pthread_mutex_t *m);

static int before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec ||
           (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/*
 * A busy lock is held for one short operation (~150 ns), so before sleeping
 * on the futex (a system call and a context switch here, another system
 * call in the holder's unlock, and a convoy: each woken waiter marks the
 * word again) a locker polls it SPIN_POLLS times, a pause apart (~2 us;
 * ~9,000 cycles at most with 140-cycle pauses), then yields the CPU up to
 * SPIN_YIELDS times: with more lockers than cores the holder is often
 * preempted on this very CPU, and a yield lets it run and release. Each
 * yield may last a time slice of the others, so the yields stop at the
 * caller's deadline, to which the futex wait then sleeps: the whole wait
 * stays within the timeout. Returns the trylock's result, EBUSY if the
 * lock stayed busy.
 */
#define SPIN_POLLS 64
#define SPIN_YIELDS 8

static int spin_lock(pthread_mutex_t *m, clockid_t clock,
                     const struct timespec *deadline)
{
    for (int i = 0; i < SPIN_POLLS; i++) {
        SHARED__PAUSE();
        if (owner_tid(m) == 0) { /* a trylock decides */
            int e = pthread_mutex_trylock(m);
            if (e != EBUSY)
                return e;
        }
    }
    for (int i = 0; i < SPIN_YIELDS; i++) {
        struct timespec now;
        sched_yield();
        if (owner_tid(m) == 0) { /* a trylock decides */
            int e = pthread_mutex_trylock(m);
            if (e != EBUSY)
                return e;
        }
        clock_gettime(clock, &now);
        if (!before(&now, deadline))
            break;
    }
    return EBUSY;
}

static int timed_lock(pthread_mutex_t *m, uint32_t timeout_ms)
{
    /* A free lock is taken without reading the clock for a deadline. */
    int e = pthread_mutex_trylock(m);
    if (e != EBUSY || timeout_ms == 0)
        return e;
    struct timespec ts;
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 30)
    clockid_t clock = CLOCK_MONOTONIC;
#else
    clockid_t clock = CLOCK_REALTIME;
#endif
    clock_gettime(clock, &ts);
    ts.tv_sec += (time_t)(timeout_ms / 1000u);
    ts.tv_nsec += (long)(timeout_ms % 1000u) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    e = spin_lock(m, clock, &ts);
    if (e != EBUSY)
        return e;
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 30)
    return pthread_mutex_clocklock(m, clock, &ts);
#else
    return pthread_mutex_timedlock(m, &ts);
#endif
}

#ifdef __GLIBC__
static int *futex_word(pthread_mutex_t *m)
{
    return &m->__data.__lock;
}

static uint32_t owner_tid(pthread_mutex_t *m)
{
    return (uint32_t)__atomic_load_n(futex_word(m), __ATOMIC_ACQUIRE) &
           FUTEX_TID_MASK;
}

/* Wakes every thread blocked on the mutex's futex word. */
static void wake_all(pthread_mutex_t *m)
{
    syscall(SYS_futex, futex_word(m), FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/* The process thread `tid` belongs to; 0 if there is no such thread,
 * UINT32_MAX if that can not be told (no /proc). */
static uint32_t process_of(uint32_t tid)
{
    char path[64], line[128];
    unsigned tgid = 0;
    snprintf(path, sizeof path, "/proc/%u/status", (unsigned)tid);
    FILE *f = fopen(path, "r");
    if (!f)
        return errno == ENOENT ? 0 : UINT32_MAX;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "Tgid: %u", &tgid) == 1)
            break;
    fclose(f);
    return tgid ? (uint32_t)tgid : UINT32_MAX;
}

/* 1 if thread `tid` may hold the lock legitimately (see the top). */
static int may_hold(shared__region *r, uint32_t tid)
{
    uint32_t pid = process_of(tid);
    if (pid == 0)
        return 0;
    if (pid == UINT32_MAX || pid == (uint32_t)getpid())
        return 1;
    return shared__peers_alive(r, shared__backend_alive, pid, 0) != 0;
}

/* After a wait timed out: if the lock is provably wedged by an owner that
 * does not hold it (the top, steps 1-2), marks it owner-died and takes it.
 * Returns the new pthread result, or ETIMEDOUT. */
static int take_over(pthread_mutex_t *m, uint32_t tid0, uint32_t waited_ms)
{
    int *word = futex_word(m);
    int seen = __atomic_load_n(word, __ATOMIC_ACQUIRE);
    if (waited_ms < WEDGE_MIN_MS || tid0 == 0 ||
        ((uint32_t)seen & FUTEX_TID_MASK) != tid0 ||
        may_hold(shared__posix_region(), tid0))
        return ETIMEDOUT;
    int dead = FUTEX_OWNER_DIED | (seen & FUTEX_WAITERS);
    if (!__atomic_compare_exchange_n(word, &seen, dead, 0, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE))
        return ETIMEDOUT;
    wake_all(m);
    /* The waiters just woken race for the freed lock; one that wins holds
     * it for one short operation. Wait for it a little (TAKEOVER_GRACE_MS,
     * the most a take-over adds to the caller's timeout). */
    return timed_lock(m, waited_ms < TAKEOVER_GRACE_MS ? waited_ms
                                                       : TAKEOVER_GRACE_MS);
}
#else
static uint32_t owner_tid(pthread_mutex_t *m)
{
    (void)m;
    return 0;
}

static int take_over(pthread_mutex_t *m, uint32_t tid0, uint32_t waited_ms)
{
    (void)m, (void)tid0, (void)waited_ms;
    return ETIMEDOUT;
}
#endif

int shared__backend_lock(uint32_t timeout_ms)
{
    pthread_mutex_t *m = mutex();
    uint32_t tid0 = owner_tid(m);
    int e = timed_lock(m, timeout_ms);
    if (e == ETIMEDOUT)
        e = take_over(m, tid0, timeout_ms);
    switch (e) {
    case 0:
        return 0;
    case EOWNERDEAD:
        return SHARED__OWNER_DIED;
    case ETIMEDOUT:
    case EBUSY:
        return SHARED_ETIMEDOUT;
    case ENOTRECOVERABLE:
    case EINVAL:
        /* The mutex bytes in the section are not a usable mutex. */
        shared__set_os_error((uint32_t)e);
        return SHARED_ECORRUPT;
    default:
        shared__set_os_error((uint32_t)e);
        return SHARED_ESYSTEM;
    }
}

int shared__posix_break_lock(shared__region *r)
{
    pthread_mutex_t *m = (pthread_mutex_t *)(void *)r->hdr.backend.bytes;
    int rc = shared__posix_mutex_init(r);
    if (rc)
        return rc;
    int e = pthread_mutex_trylock(m);
#ifdef __GLIBC__
    wake_all(m); /* they wait on the old word: let them try again */
#endif
    if (e) {
        shared__set_os_error((uint32_t)e);
        return SHARED_ESYSTEM;
    }
    return 0;
}

void shared__backend_consistent(void)
{
    pthread_mutex_consistent(mutex());
}

void shared__backend_unlock(void)
{
    pthread_mutex_unlock(mutex());
}
