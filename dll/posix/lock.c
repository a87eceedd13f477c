/*
 * lock.c (POSIX) - the region's lock: a robust, process-shared pthread mutex
 * living in the header's backend area. A holder that dies makes the next
 * locker get EOWNERDEAD, which becomes SHARED__OWNER_DIED: the caller runs
 * the recovery path, then shared__backend_consistent().
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "posix.h"

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

static int timed_lock(pthread_mutex_t *m, uint32_t timeout_ms)
{
    if (timeout_ms == 0)
        return pthread_mutex_trylock(m);
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
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 30)
    return pthread_mutex_clocklock(m, clock, &ts);
#else
    return pthread_mutex_timedlock(m, &ts);
#endif
}

int shared__backend_lock(uint32_t timeout_ms)
{
    int e = timed_lock(mutex(), timeout_ms);
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

void shared__backend_consistent(void)
{
    pthread_mutex_consistent(mutex());
}

void shared__backend_unlock(void)
{
    pthread_mutex_unlock(mutex());
}
