/*
 * tsan_clocklock.c - linked into the test binary of the linux-tsan preset
 * only. ThreadSanitizer of LLVM 14 does not intercept
 * pthread_mutex_clocklock, which the POSIX backend uses for its timed lock:
 * TSan would not see the lock taken, report its unlock as "unlock of an
 * unlocked mutex" and miss the order it gives. This definition, exported
 * from the executable, interposes libc's for libshared.so and forwards to
 * pthread_mutex_timedlock (CLOCK_REALTIME), which TSan intercepts, robust
 * mutex results (EOWNERDEAD) included.
 */
#include <pthread.h>
#include <stdint.h>
#include <time.h>

int pthread_mutex_clocklock(pthread_mutex_t *m, clockid_t clock,
                            const struct timespec *abs);

int pthread_mutex_clocklock(pthread_mutex_t *m, clockid_t clock,
                            const struct timespec *abs)
{
    struct timespec now, rt;
    if (clock == CLOCK_REALTIME)
        return pthread_mutex_timedlock(m, abs);
    clock_gettime(clock, &now);
    clock_gettime(CLOCK_REALTIME, &rt);
    int64_t left = ((int64_t)abs->tv_sec - (int64_t)now.tv_sec) * 1000000000 +
                   (abs->tv_nsec - now.tv_nsec);
    if (left < 0)
        left = 0;
    rt.tv_sec += (time_t)(left / 1000000000);
    rt.tv_nsec += (long)(left % 1000000000);
    if (rt.tv_nsec >= 1000000000L) {
        rt.tv_sec++;
        rt.tv_nsec -= 1000000000L;
    }
    return pthread_mutex_timedlock(m, &rt);
}
