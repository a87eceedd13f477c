/*
 * backend.h - the contract between the portable part of the library
 * (api.c, core/) and an OS backend (win/ or posix/). The core calls nothing
 * else of the OS; each backend implements every function here.
 */
#ifndef SHARED_BACKEND_H
#define SHARED_BACKEND_H

#include "core/core.h"

/* Thread-local storage class for the library's per-thread state. */
#if defined(_MSC_VER) && !defined(__clang__)
#  define SHARED__TLS __declspec(thread)
#else
#  define SHARED__TLS _Thread_local
#endif

/* shared__backend_lock: the lock was taken, but its previous holder died
 * holding it. The caller must run shared__recover, then call
 * shared__backend_consistent before unlocking. */
#define SHARED__OWNER_DIED 2

/*
 * Returns the attached region in *region, attaching on first use (creating
 * the named objects lazily, never from DllMain or a constructor). Safe to
 * call from any thread, cheap once attached. Errors: SHARED_ENOTSHARED,
 * SHARED_EVERSION, SHARED_ENAMECLASH, SHARED_EACCESS, SHARED_ETIMEDOUT,
 * SHARED_EINVAL, SHARED_ESYSTEM.
 */
int shared__backend_attach(shared__region **region);

/* Takes the region's lock, waiting at most timeout_ms: 0,
 * SHARED__OWNER_DIED, SHARED_ETIMEDOUT, SHARED_ECORRUPT or SHARED_ESYSTEM. */
int shared__backend_lock(uint32_t timeout_ms);

/* Marks the lock usable again after an owner-died recovery. */
void shared__backend_consistent(void);

/* Releases the lock taken by this thread. */
void shared__backend_unlock(void);

/* "win32" or "posix". */
const char *shared__backend_name(void);

/* 1 if this process created the shared state (POSIX: created the object;
 * Windows: first to attach to this instance of the section). */
int shared__backend_created_here(void);

/* Name of the lock (Windows) or shared memory object (POSIX); "" before
 * attach. */
const char *shared__backend_object_name(void);

/* Provided by api.c for the backends: record the OS error code behind the
 * error being returned, and read the process's lock timeout. */
void shared__set_os_error(uint32_t code);
uint32_t shared__timeout(void);

#endif /* SHARED_BACKEND_H */
