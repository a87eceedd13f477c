/*
 * win.h - what the Windows backend's two files share.
 */
#ifndef SHARED_WIN_H
#define SHARED_WIN_H

#include "../backend.h"

#include <windows.h>

/* Creates or opens the section's named mutex, named from the build id and
 * the section's instance id (first use only; later calls keep it). */
int shared__win_lock_open(uint64_t instance);

/* The instance id the lock was named from (0 before it was opened): every
 * OS object of this process's view of the section carries it. */
uint64_t shared__win_instance(void);

/* Creates (or opens) a named mutex or auto-reset event with the library's
 * explicit DACL; NULL with GetLastError() on failure. On success
 * GetLastError() is ERROR_ALREADY_EXISTS if the object existed, else 0. */
HANDLE shared__win_object(const wchar_t *name, int mutex);

/* Frees the waiter entries of dead processes (see wait.c). */
void shared__win_reap_waiters(shared__region *r);

/* Closes the event handles wait.c keeps (the DLL is being unloaded). */
void shared__win_wait_unload(void);

/* This process's executable file name, without its folder. */
void shared__win_exe_name(char *buf, size_t cap);

#endif /* SHARED_WIN_H */
