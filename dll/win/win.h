/*
 * win.h - what the Windows backend's two files share.
 */
#ifndef SHARED_WIN_H
#define SHARED_WIN_H

#include "../backend.h"

/* Creates or opens the build's named mutex (first use only). */
int shared__win_lock_open(void);

#endif /* SHARED_WIN_H */
