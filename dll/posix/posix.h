/*
 * posix.h - what the POSIX backend's two files share.
 */
#ifndef SHARED_POSIX_H
#define SHARED_POSIX_H

#include <stddef.h>

#include "../backend.h"

/* The attached region, or NULL before attach. */
shared__region *shared__posix_region(void);

/* This process's executable name (for the peer registry). */
void shared__posix_exe_name(char *buf, size_t cap);

/* Initialises the robust, process-shared mutex in r->hdr.backend. */
int shared__posix_mutex_init(shared__region *r);

/* Re-initialises that mutex in place, whatever its bytes hold, and takes
 * it (shared_repair with SHARED_REPAIR_BREAK_LOCK): 0, SHARED_ESYSTEM. */
int shared__posix_break_lock(shared__region *r);

#endif /* SHARED_POSIX_H */
