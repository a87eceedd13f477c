/*
 * demo.h - what sharedemo's parent and workers share: the keys they use
 * and the progress record each worker keeps.
 */
#ifndef SHARED_HOST_DEMO_H
#define SHARED_HOST_DEMO_H

#include <stdint.h>

#include "shared.h"

#define DEMO_MAX_WORKERS 32

/* One run's settings; the parent passes them to every worker. */
typedef struct demo_run {
    uint32_t id; /* the parent's pid: prefixes every key */
    int workers;
    int64_t ops;      /* counter increments per worker */
    int64_t handoffs; /* token passes per worker */
} demo_run;

/* What a worker has had acknowledged, kept in its key "d<id>.w<i>" and
 * updated in the same transaction as the work it counts. */
typedef struct demo_progress {
    int64_t ops, handoffs, violations;
    char state; /* 'r' running, 'd' done, 'f' failed */
} demo_progress;

/* The token passed around the ring. */
typedef struct demo_token {
    uint32_t holder;
    uint32_t reserved;
    uint64_t passes;
} demo_token;

/* Builds the key "d<id>.<name>" (name may carry a worker number). */
void demo_key(char *buf, const demo_run *run, const char *name, int worker);

int demo_progress_get(const demo_run *run, int worker, demo_progress *p);
int demo_progress_put(const demo_run *run, int worker, const demo_progress *p);

/* Reads the token and its version. */
int demo_token_get(const demo_run *run, demo_token *t, uint64_t *version);

/* The next worker after `from` around the ring that is not marked dead. */
int demo_next_alive(const demo_run *run, int from);

/* Runs worker `index` of `run`; returns its exit code. */
int demo_worker(const demo_run *run, int index);

#endif /* SHARED_HOST_DEMO_H */
