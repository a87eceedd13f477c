/*
 * demo_worker.c - one sharedemo worker: increments the shared counter, and
 * passes the token around the ring with compare-and-swap, each step in a
 * transaction together with its own progress record, so that what it has
 * acknowledged is exactly what is in the section, even if it is killed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo.h"
#include "proc.h"

#define TOKEN_WAIT_MS 30000 /* a worker waits this long for its last turns */

void demo_key(char *buf, const demo_run *run, const char *name, int worker)
{
    if (worker >= 0)
        snprintf(buf, SHARED_KEY_MAX + 1, "d%u.%s%d", (unsigned)run->id, name,
                 worker);
    else
        snprintf(buf, SHARED_KEY_MAX + 1, "d%u.%s", (unsigned)run->id, name);
}

int demo_progress_get(const demo_run *run, int worker, demo_progress *p)
{
    char key[SHARED_KEY_MAX + 1], text[128];
    uint32_t len = 0;
    long long o, h, v;
    char s;
    demo_key(key, run, "w", worker);
    memset(p, 0, sizeof *p);
    int rc = shared_get(key, text, sizeof text - 1, &len, NULL);
    if (rc)
        return rc;
    text[len] = '\0';
    if (sscanf(text, "ops=%lld hand=%lld viol=%lld state=%c", &o, &h, &v, &s) !=
        4)
        return SHARED_ECORRUPT;
    p->ops = o;
    p->handoffs = h;
    p->violations = v;
    p->state = s;
    return 0;
}

int demo_progress_put(const demo_run *run, int worker, const demo_progress *p)
{
    char key[SHARED_KEY_MAX + 1], text[128];
    demo_key(key, run, "w", worker);
    int n = snprintf(text, sizeof text, "ops=%lld hand=%lld viol=%lld state=%c",
                     (long long)p->ops, (long long)p->handoffs,
                     (long long)p->violations, p->state);
    return shared_set(key, text, (uint32_t)n);
}

int demo_token_get(const demo_run *run, demo_token *t, uint64_t *version)
{
    char key[SHARED_KEY_MAX + 1];
    uint32_t len = 0;
    demo_key(key, run, "token", -1);
    int rc = shared_get(key, t, sizeof *t, &len, version);
    if (rc == 0 && (len != sizeof *t || t->holder >= (uint32_t)run->workers))
        rc = SHARED_ECORRUPT;
    return rc;
}

int demo_next_alive(const demo_run *run, int from)
{
    char key[SHARED_KEY_MAX + 1];
    for (int k = 1; k <= run->workers; k++) {
        int j = (from + k) % run->workers;
        uint32_t len;
        demo_key(key, run, "dead", j);
        if (shared_get(key, NULL, 0, &len, NULL) == SHARED_ENOTFOUND)
            return j;
    }
    return from;
}

/* Ends a transaction: commit if every step worked, else roll back. */
static int finish(int rc)
{
    if (rc == 0)
        return shared_unlock();
    shared_rollback();
    return rc;
}

/* One increment of the counter, acknowledged in the same transaction. */
static int do_op(const demo_run *run, int me, demo_progress *p,
                 uint64_t *last_version)
{
    char key[SHARED_KEY_MAX + 1];
    int64_t value = 0;
    uint64_t version = 0;
    uint32_t len;
    demo_key(key, run, "counter", -1);
    int rc = shared_lock(SHARED_DEFAULT_TIMEOUT_MS);
    if (rc)
        return rc;
    demo_progress next = *p;
    next.ops++;
    rc = shared_add(key, 1, &value);
    if (rc == 0)
        rc = shared_get(key, &value, sizeof value, &len, &version);
    if (rc == 0 && version <= *last_version)
        next.violations++;
    if (rc == 0)
        rc = demo_progress_put(run, me, &next);
    rc = finish(rc);
    if (rc == 0) {
        *p = next;
        *last_version = version;
    }
    return rc;
}

/* Passes the token on if this worker holds it: 1 passed, 0 not ours. */
static int try_pass(const demo_run *run, int me, demo_progress *p)
{
    char key[SHARED_KEY_MAX + 1];
    demo_token t;
    uint64_t version = 0;
    int rc = demo_token_get(run, &t, &version);
    if (rc)
        return rc;
    if (t.holder != (uint32_t)me)
        return 0;
    demo_token next = {(uint32_t)demo_next_alive(run, me), 0, t.passes + 1};
    demo_progress acked = *p;
    acked.handoffs++;
    demo_key(key, run, "token", -1);
    rc = shared_lock(SHARED_DEFAULT_TIMEOUT_MS);
    if (rc)
        return rc;
    rc = shared_cas(key, version, &next, sizeof next, NULL);
    if (rc == 0)
        rc = demo_progress_put(run, me, &acked);
    rc = finish(rc);
    if (rc == SHARED_ECONFLICT)
        return 0; /* moved meanwhile (the parent forwarded it) */
    if (rc)
        return rc;
    *p = acked;
    return 1;
}

/* The op count at which the parent (--kill-one) wants this worker to stop
 * inside a transaction, or -1. */
static int64_t pause_point(const demo_run *run, int me)
{
    char key[SHARED_KEY_MAX + 1], text[32];
    uint32_t len = 0;
    int64_t at = -1;
    demo_key(key, run, "pause", me);
    if (shared_get(key, text, sizeof text - 1, &len, NULL) == 0) {
        text[len] = '\0';
        at = strtoll(text, NULL, 10);
    }
    return at;
}

/* Says so, takes the lock, changes the counter inside the transaction and
 * stays there until the parent kills it. (While the transaction is open
 * nobody can read "paused": other readers wait for the lock. Hence the
 * pause between saying and doing.) */
static void pause_here(const demo_run *run, int me)
{
    char key[SHARED_KEY_MAX + 1];
    demo_key(key, run, "paused", me);
    shared_set(key, "1", 1);
    proc_sleep_ms(200);
    if (shared_lock(SHARED_DEFAULT_TIMEOUT_MS) == 0) {
        demo_key(key, run, "counter", -1);
        shared_add(key, 1000000, NULL); /* never acknowledged: must vanish */
        proc_sleep_ms(20000);
    }
    fprintf(stderr, "sharedemo: worker %d: was not killed\n", me);
    exit(3);
}

static int fail(int me, const char *what, int rc)
{
    fprintf(stderr, "sharedemo: worker %d: %s: %s\n", me, what,
            shared_strerror(rc));
    return 1;
}

int demo_worker(const demo_run *run, int me)
{
    demo_progress p = {0, 0, 0, 'r'};
    uint64_t last_version = 0;
    int64_t every = run->handoffs ? run->ops / (run->handoffs + 1) + 1 : 0;
    int64_t pause_at = pause_point(run, me);
    int rc = demo_progress_put(run, me, &p);
    if (rc)
        return fail(me, "start", rc);
    while (p.ops < run->ops) {
        if (p.ops == pause_at)
            pause_here(run, me);
        if ((rc = do_op(run, me, &p, &last_version)) != 0)
            return fail(me, "counter", rc);
        if (every && p.ops % every == 0 && p.handoffs < run->handoffs &&
            (rc = try_pass(run, me, &p)) < 0)
            return fail(me, "token", rc);
    }
    uint64_t deadline = proc_now_ms() + TOKEN_WAIT_MS;
    while (p.handoffs < run->handoffs) {
        if ((rc = try_pass(run, me, &p)) < 0)
            return fail(me, "token", rc);
        if (rc == 0 && proc_now_ms() > deadline)
            return fail(me, "token", SHARED_ETIMEDOUT);
        if (rc == 0)
            proc_sleep_ms(1);
    }
    p.state = 'd';
    rc = demo_progress_put(run, me, &p);
    if (rc)
        return fail(me, "finish", rc);
    /* Report on the results channel, then count in "done", on which the
     * parent waits. */
    char key[SHARED_KEY_MAX + 1], report[96];
    int n = snprintf(report, sizeof report, "worker %d ops=%lld hand=%lld", me,
                     (long long)p.ops, (long long)p.handoffs);
    demo_key(key, run, "results", -1);
    rc = shared_send(key, report, (uint32_t)n, 10000);
    if (rc)
        return fail(me, "report", rc);
    demo_key(key, run, "done", -1);
    rc = shared_add(key, 1, NULL);
    return rc ? fail(me, "done", rc) : 0;
}
