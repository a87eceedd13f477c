/*
 * pthread_mutex.c - the lib/pthread_mutex.c that Check 0.15.2's CMake build
 * compiles when there is no <pthread.h> (MSVC, clang-cl) but that its
 * release tarball lacks. build.sh copies it into Check's source tree for the
 * clang-cl build. The mutex is created on first use through the INIT_ONCE
 * of PTHREAD_MUTEX_INITIALIZER (see libcompat.h), so a static mutex needs no
 * constructor.
 */
#include "libcompat.h"

static BOOL CALLBACK create_mutex(PINIT_ONCE once, PVOID param, PVOID *ctx)
{
    pthread_mutex_t *mutex = param;
    (void)once;
    (void)ctx;
    mutex->mutex = CreateMutexW(NULL, FALSE, NULL);
    return mutex->mutex != NULL;
}

static int ensure_mutex(pthread_mutex_t *mutex)
{
    return InitOnceExecuteOnce(&mutex->init, create_mutex, mutex, NULL) ? 0
                                                                        : -1;
}

int pthread_mutex_init(pthread_mutex_t *mutex, pthread_mutexattr_t *attr)
{
    (void)attr;
    InitOnceInitialize(&mutex->init);
    mutex->mutex = NULL;
    return ensure_mutex(mutex);
}

int pthread_mutex_destroy(pthread_mutex_t *mutex)
{
    if (mutex->mutex != NULL && !CloseHandle(mutex->mutex))
        return -1;
    mutex->mutex = NULL;
    return 0;
}

int pthread_mutex_lock(pthread_mutex_t *mutex)
{
    if (ensure_mutex(mutex) != 0)
        return -1;
    return WaitForSingleObject(mutex->mutex, INFINITE) == WAIT_OBJECT_0 ? 0
                                                                        : -1;
}

int pthread_mutex_unlock(pthread_mutex_t *mutex)
{
    if (ensure_mutex(mutex) != 0)
        return -1;
    return ReleaseMutex(mutex->mutex) ? 0 : -1;
}
