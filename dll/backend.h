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

/* One CPU pause, for a bounded spin on a word another process writes. */
#if defined(_MSC_VER) && (defined(_M_X64) || defined(_M_IX86))
#  include <intrin.h>
#  define SHARED__PAUSE() _mm_pause()
#elif defined(__x86_64__) || defined(__i386__)
#  define SHARED__PAUSE() __builtin_ia32_pause()
#elif defined(__aarch64__)
#  define SHARED__PAUSE() __asm__ __volatile__("yield" ::: "memory")
#else
#  define SHARED__PAUSE() ((void)0)
#endif

/* Test-only builds (SHARED_TEST_HOOKS: shared_hooks.dll,
 * libshared_hooks.so): stops the process at `step` when SHARED_TEST_STOP
 * names it, so that a test can act there (see each backend). Nothing in
 * the shipped library. */
#ifdef SHARED_TEST_HOOKS
void shared__backend_test_stop(const char *step);
#else
#  define shared__backend_test_stop(step) ((void)0)
#endif

/* shared__backend_lock: the lock was taken, but its previous holder died
 * holding it. The caller must run shared__recover, then call
 * shared__backend_consistent before unlocking. */
#define SHARED__OWNER_DIED 2

/*
 * Returns the attached region in *region, attaching on first use (creating
 * the named objects lazily, never from DllMain or a constructor). Safe to
 * call from any thread, cheap once attached. It attaches to the home of
 * shared__home_get(): a named instance is a region with the same layout,
 * checked with shared__region_check_named. Errors: SHARED_ENOTSHARED,
 * SHARED_EVERSION, SHARED_ENAMECLASH, SHARED_EACCESS, SHARED_ETIMEDOUT,
 * SHARED_EINVAL, SHARED_ESYSTEM, SHARED_ECORRUPT (lock), SHARED_EPEERS,
 * SHARED_ENOINSTANCE (read-only open of a missing instance).
 */
int shared__backend_attach(shared__region **region);

/* Takes the region's lock, waiting at most timeout_ms: 0,
 * SHARED__OWNER_DIED, SHARED_ETIMEDOUT, SHARED_ECORRUPT or SHARED_ESYSTEM. */
int shared__backend_lock(uint32_t timeout_ms);

/*
 * shared_repair's way past a wedged lock: maps the region if needed
 * without registering this process (registering takes the lock), and takes
 * the lock whatever its state. POSIX: the mutex in the region is
 * re-initialised in place, then taken (a legitimate holder, if there was
 * one, loses its exclusion: the caller must know there is none). Windows:
 * the named mutex is a kernel object that writes to the section can not
 * damage; it is taken as by shared__backend_lock (timeout: the process's).
 * Returns SHARED__OWNER_DIED (run shared__recover, then
 * shared__backend_consistent) or 0 with the lock held, or an attach or
 * lock error.
 */
int shared__backend_break_lock(shared__region **region);

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

/* A set of wake buckets (bit b: bucket b, 0 <= b <= SHARED__WAKE_ANY). */
#define SHARED__WAKESET_WORDS (SHARED__WAKE_ANY / 64u + 1u)
typedef struct shared__wakeset {
    uint64_t bits[SHARED__WAKESET_WORDS];
} shared__wakeset;

/*
 * Blocks until r->wake[bucket].seq differs from `seen` or timeout_ms pass;
 * may return early (callers re-check their condition). A change published
 * to the bucket (seq bumped, then shared__backend_wake) after the caller
 * read `seen` always ends the wait. bucket <= SHARED__WAKE_ANY. Returns 0,
 * SHARED_EWAITERS (no waiter slot left) or SHARED_ESYSTEM.
 */
int shared__backend_wait(shared__region *r, uint32_t bucket, uint32_t seen,
                         uint32_t timeout_ms);

/* Wakes the threads of every process blocked in shared__backend_wait on a
 * bucket of `set` (NULL: every bucket) or on SHARED__WAKE_ANY. */
void shared__backend_wake(shared__region *r, const shared__wakeset *set);

/* Threads blocked in shared__backend_wait now (for statistics). */
uint32_t shared__backend_waiters(shared__region *r);

/* Peer liveness (see shared__alive_fn) and this process's identity. */
int shared__backend_alive(uint32_t pid, uint64_t start_time);
uint32_t shared__backend_pid(void);
uint64_t shared__backend_start_time(void);

/* Milliseconds: Unix time (for people) and a monotonic clock (timeouts). */
uint64_t shared__backend_unix_ms(void);
uint64_t shared__backend_ticks_ms(void);

/* Provided by api.c for the backends: record the OS error code behind the
 * error being returned, read the process's lock timeout, take the lock
 * (running the one owner-died recovery path), and note this process's peer
 * entry (UINT32_MAX: none). */
void shared__set_os_error(uint32_t code);
uint32_t shared__timeout(void);
int shared__acquire(shared__region *r, uint32_t timeout_ms);
void shared__set_self_peer(uint32_t idx);
uint32_t shared__self_peer(void);
/* This process's OS start time as it registered (0 before it did). */
uint64_t shared__self_start(void);

/*
 * The home this process attaches to (shared_open, or SHARED_INSTANCE and
 * SHARED_INSTANCE_FLAGS at the first attach; api.c). Fixed once the
 * process attached; reset by api.c when an attach through shared_open
 * fails. `named` 0: the default home (the DLL section / the build's shm
 * object); then flags is 0 and name "".
 */
typedef struct shared__home {
    int named;
    uint32_t flags;                 /* SHARED_OPEN_* */
    char name[SHARED_PATH_MAX + 1]; /* instance name or file path, UTF-8 */
} shared__home;

/* The home chosen for this process: read by the backend's attach. */
const shared__home *shared__home_get(void);

/* 1 if this process's home is open read-only: api.c refuses every write
 * (SHARED_EACCESS) and never locks, registers or recovers. */
int shared__readonly(void);

/* File homes: flushes the mapping and the file (see shared_flush); called
 * with the lock held. 0, SHARED_EINVAL (not a file home), SHARED_ESYSTEM. */
int shared__backend_flush(void);

/* Sleeps about `ms` milliseconds (read-only processes poll instead of
 * taking the lock or registering as waiters). */
void shared__backend_sleep_ms(uint32_t ms);

/* Shared by both backends' attach: under the lock, removes dead peers and
 * registers this process. If `wipe_if_alone` and no other live process is
 * registered, the state was abandoned by dead processes: it is wiped, and
 * *wiped set. Returns 0 or SHARED_EPEERS (registry full), lock errors. */
int shared__join(shared__region *r, const char *exe, int wipe_if_alone,
                 int *wiped);

#endif /* SHARED_BACKEND_H */
