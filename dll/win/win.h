/*
 * win.h - what the Windows backend's two files share.
 */
#ifndef SHARED_WIN_H
#define SHARED_WIN_H

#include "../backend.h"

#include <windows.h>

/* Creates or opens the region's named mutex, named from the instance id
 * and the home (lock.c): the section's lock is Global\shared-<build id>-..,
 * a named instance's <Local|Global>\shared-<layout id>-... An attach that
 * is retried for the same home keeps the mutex it opened. */
int shared__win_lock_open(uint64_t instance);

/* The prefix of every OS object name of the attached region's lock and
 * events, "<namespace>\shared-<id>-<instance id>" (lock.c). */
const wchar_t *shared__win_prefix(void);

/* The instance id the lock was named from (0 before it was opened): every
 * OS object of this process's view of the section carries it. */
uint64_t shared__win_instance(void);

/* Creates (or opens) a named mutex or auto-reset event with the library's
 * explicit DACL; NULL with GetLastError() on failure. On success
 * GetLastError() is ERROR_ALREADY_EXISTS if the object existed, else 0. */
HANDLE shared__win_object(const wchar_t *name, int mutex);

/* Named instances (named.c). Kinds of object for shared__win_named_sd. */
#define SHARED__WIN_SD_MAPPING 0
#define SHARED__WIN_SD_FILE 1
#define SHARED__WIN_SD_MUTEX 2
#define SHARED__WIN_SD_EVENT 3

/* The explicit DACL of a named instance's object of `kind`: all access for
 * this process's user and SYSTEM, plus Authenticated Users read of a
 * mapping or file if `published`. LocalFree it; NULL with GetLastError(). */
PSECURITY_DESCRIPTOR shared__win_named_sd(int kind, int published);

/* Opens (creating unless read-only) and maps the named instance or file of
 * home h, waiting (bounded) until it is ready and checking its layout;
 * *made is set if this process formatted it. Errors: see backend.h. */
int shared__win_named_open(const shared__home *h, shared__region **out,
                           int *made);

/* Unmaps and closes what shared__win_named_open opened (after a failed
 * attach). */
void shared__win_named_close(void);

/* The mapping name or file path of the attached named instance, or "". */
const char *shared__win_named_name(void);

/* A random 64-bit id, never 0 (section.c). */
uint64_t shared__win_random_id(void);

/* Frees the waiter entries of dead processes (see wait.c). */
void shared__win_reap_waiters(shared__region *r);

/* Closes the event handles wait.c keeps (the DLL is being unloaded). */
void shared__win_wait_unload(void);

/* This process's executable file name, without its folder. */
void shared__win_exe_name(char *buf, size_t cap);

#endif /* SHARED_WIN_H */
