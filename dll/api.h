/*
 * api.h - what the exported functions' files (api.c, messaging.c) share.
 */
#ifndef SHARED_API_H
#define SHARED_API_H

#include "backend.h"

/* 1 if the calling thread holds a transaction (shared_lock). */
int shared__in_tx(void);

/* Copies `key` (its value into buf when it fits cap bytes): lock-free
 * when it can, else under the lock, waiting for it at most lock_ms (or
 * under the thread's transaction). 0, SHARED_ENOTFOUND, SHARED_ECORRUPT,
 * lock errors. */
int shared__read_key(shared__region *r, const char *key, uint32_t klen,
                     shared__copy *c, void *buf, uint32_t cap,
                     uint32_t lock_ms);

/* Attaches to this process's home (fixing it first: shared_open, or the
 * environment at the first call). shared__attach_rw is for calls that
 * write: SHARED_EACCESS in a read-only home. Attach errors. */
int shared__attach(shared__region **r);
int shared__attach_rw(shared__region **r);

/* Read-only processes' poll step: sleeps the next back-off (*ms: 0 at
 * first, then 1, 2, 4 ... 16 ms), never past `deadline` (monotonic ms);
 * SHARED_ETIMEDOUT once it has passed. */
int shared__ro_backoff(uint32_t *ms, uint64_t deadline);

/* What a wake bucket stands for: a key's changes, a channel's new
 * messages (its receivers wait for them), a channel's freed room (its
 * senders wait for it). */
#define SHARED__WAKE_KEY 0u
#define SHARED__WAKE_MSG 1u
#define SHARED__WAKE_ROOM 2u

/* The bucket (< SHARED__WAKE_BUCKETS) that the changes of `kind` to the
 * key or channel `name` (len bytes) wake: a hash of both, so two names
 * rarely share one (if they do, their waiters only wake once too many). */
uint32_t shared__wake_bucket(const char *name, uint32_t len, uint32_t kind);

/* Adds the bucket of `kind` of `name` to `set`. */
void shared__wakeset_add(shared__wakeset *set, const char *name, uint32_t len,
                         uint32_t kind);

/* (locked) Publishes a committed change to the buckets of `set` (NULL:
 * every bucket) and to "any change": counts it, bumps their wake words;
 * the caller wakes their waiters (shared__backend_wake with the same set)
 * after unlocking. */
void shared__notify(shared__region *r, const shared__wakeset *set);

/*
 * The visitors (shared_foreach, shared_inspect, shared_channels,
 * shared_peers): `fill` copies item i into a private snapshot under the
 * lock (returns 1 to keep it, 0 to skip; may flag corruption); then `call`
 * hands each kept item to the user's callback, without the lock.
 */
typedef struct shared__visitor {
    uint32_t count;
    size_t size;
    int (*fill)(shared__region *r, uint32_t i, void *item, int *corrupt);
    int (*call)(const void *item, void (*fn)(void), void *ctx);
} shared__visitor;

/* Runs a visitor: the number of items visited, or an error (SHARED_ENULL,
 * SHARED_ENOMEM, lock and attach errors, SHARED_ECORRUPT after visiting). */
int shared__visit(const shared__visitor *v, void (*fn)(void), void *ctx);

#endif /* SHARED_API_H */
