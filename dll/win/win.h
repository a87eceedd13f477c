/*
 * win.h - what the Windows backend's two files share.
 */
#ifndef SHARED_WIN_H
#define SHARED_WIN_H

#include "../backend.h"

#include <windows.h>

/* Creates or opens the build's named mutex (first use only). */
int shared__win_lock_open(void);

/* Creates (or opens) a named mutex or auto-reset event with the library's
 * explicit DACL; NULL with GetLastError() on failure. */
HANDLE shared__win_object(const wchar_t *name, int mutex);

/* This process's executable file name, without its folder. */
void shared__win_exe_name(char *buf, size_t cap);

#endif /* SHARED_WIN_H */
