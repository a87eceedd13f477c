/*
 * api.h - what the exported functions' files (api.c, messaging.c) share.
 */
#ifndef SHARED_API_H
#define SHARED_API_H

#include "backend.h"

/* 1 if the calling thread holds a transaction (shared_lock). */
int shared__in_tx(void);

/* (locked) Publishes a committed change: counts it and bumps wake_seq. */
void shared__notify(shared__region *r);

/* Wakes every waiter (call after releasing the lock). */
void shared__wake(shared__region *r);

#endif /* SHARED_API_H */
