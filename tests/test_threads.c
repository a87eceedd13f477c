/*
 * test_threads.c - threads of one process against threads of another,
 * every operation at once: shared_add and CAS counters end exact, two keys
 * changed together in a transaction are never seen apart (under the lock,
 * nor in a shared_foreach snapshot), a rolled-back value is never seen,
 * every message sent is received exactly once, waits end with a change or
 * their timeout, and each thread reads back its own key.
 *
 * The child process starts its threads at once, so its first calls attach
 * concurrently (once-init, thread-local state). Built with -fsanitize=thread
 * (preset linux-tsan) this is the suite TSan checks: it sees the threads of
 * one process, not the other process.
 */
#include <stdio.h>
#include <string.h>

#include "roles.h"
#include "testutil.h"

#define THREADS 4
#define PROCS 2
#ifdef SHARED_TEST_WIN
#  define ROUNDS 20 /* a lock round trip costs ~80 us under Wine */
#else
#  define ROUNDS 200
#endif
#define SENTINEL (-1)

typedef struct worker {
    char prefix[40];
    int proc, thread, rounds;
    int failed;
    char why[200];
} worker;

#define WFAIL(w, ...)                                                          \
  do {                                                                         \
    snprintf((w)->why, sizeof(w)->why, __VA_ARGS__);                           \
    (w)->failed = 1;                                                           \
    return;                                                                    \
  } while (0)

static void key_of(char *buf, const worker *w, const char *what)
{
    snprintf(buf, SHARED_KEY_MAX + 1, "%s.%s", w->prefix, what);
}

/* A message number: unique per process, thread and round, never 0. */
static int64_t msg_no(int proc, int thread, int round)
{
    return (int64_t)proc * 1000000 + thread * 10000 + round + 1;
}

typedef struct pair_seen {
    const char *a, *b;
    int64_t va, vb;
    int na, nb;
} pair_seen;

static int foreach_pair(const shared_entry *e, void *ctx)
{
    pair_seen *p = ctx;
    if (strcmp(e->key, p->a) == 0 && e->value_len == sizeof p->va) {
        memcpy(&p->va, e->value, sizeof p->va);
        p->na++;
    } else if (strcmp(e->key, p->b) == 0 && e->value_len == sizeof p->vb) {
        memcpy(&p->vb, e->value, sizeof p->vb);
        p->nb++;
    }
    return 0;
}

static void work(void *arg)
{
    worker *w = arg;
    char ctr[64], cas[64], ka[64], kb[64], mine[64], ch[64], rcount[64],
        rsum[64];
    key_of(ctr, w, "ctr");
    key_of(cas, w, "cas");
    key_of(ka, w, "a");
    key_of(kb, w, "b");
    key_of(ch, w, "ch");
    key_of(rcount, w, "rcount");
    key_of(rsum, w, "rsum");
    snprintf(mine, sizeof mine, "%s.t%d%d", w->prefix, w->proc, w->thread);
    for (int i = 0; i < w->rounds; i++) {
        int64_t x = msg_no(w->proc, w->thread, i), va = 0, vb = 0, got = 0;
        uint32_t la = 0, lb = 0, len = 0;
        uint64_t ver = 0, nv = 0;
        int rc;

        /* counters */
        if ((rc = shared_add(ctr, 1, NULL)) != 0)
            WFAIL(w, "add: %s", shared_errname(rc));
        for (;;) {
            int64_t n = 0;
            rc = shared_get(cas, &n, sizeof n, &len, &ver);
            if (rc == SHARED_ENOTFOUND)
                ver = 0, n = 0;
            else if (rc)
                WFAIL(w, "get cas: %s", shared_errname(rc));
            n++;
            rc = shared_cas(cas, ver, &n, sizeof n, NULL);
            if (rc == 0)
                break;
            if (rc != SHARED_ECONFLICT)
                WFAIL(w, "cas: %s", shared_errname(rc));
        }

        /* a transaction: committed, or rolled back with a value no one
         * may ever see */
        int back = i % 4 == 3;
        int64_t v = back ? SENTINEL : x;
        if ((rc = shared_lock(10000)) != 0)
            WFAIL(w, "lock: %s", shared_errname(rc));
        rc = shared_set(ka, &v, sizeof v);
        if (rc == 0)
            rc = shared_set(kb, &v, sizeof v);
        int rc2 = back ? shared_rollback() : shared_unlock();
        if (rc || rc2)
            WFAIL(w, "tx: %s / %s", shared_errname(rc), shared_errname(rc2));

        /* the pair under the lock: equal */
        if ((rc = shared_lock(10000)) != 0)
            WFAIL(w, "lock: %s", shared_errname(rc));
        rc = shared_get(ka, &va, sizeof va, &la, NULL);
        rc2 = shared_get(kb, &vb, sizeof vb, &lb, NULL);
        int rc3 = shared_unlock();
        if (rc || rc2 || rc3)
            WFAIL(w, "locked reads: %s %s %s", shared_errname(rc),
                  shared_errname(rc2), shared_errname(rc3));
        if (va != vb || va == SENTINEL)
            WFAIL(w, "pair apart or rolled-back value seen: %lld %lld",
                  (long long)va, (long long)vb);

        /* lock-free reads: never the rolled-back value */
        rc = shared_get(ka, &va, sizeof va, &la, NULL);
        if (rc || va == SENTINEL)
            WFAIL(w, "lock-free read: %s, %lld", shared_errname(rc),
                  (long long)va);

        /* a snapshot: the pair together */
        if (i % 8 == 0) {
            pair_seen p = {ka, kb, 0, 0, 0, 0};
            rc = shared_foreach(foreach_pair, &p);
            if (rc < 0)
                WFAIL(w, "foreach: %s", shared_errname(rc));
            if (p.na != 1 || p.nb != 1 || p.va != p.vb || p.va == SENTINEL)
                WFAIL(w, "foreach: pair %d/%d %lld %lld", p.na, p.nb,
                      (long long)p.va, (long long)p.vb);
        }

        /* this thread's own key */
        if ((rc = shared_set(mine, &x, sizeof x)) != 0)
            WFAIL(w, "set own: %s", shared_errname(rc));
        rc = shared_get(mine, &got, sizeof got, &len, NULL);
        if (rc || got != x)
            WFAIL(w, "own key: %s %lld", shared_errname(rc), (long long)got);
        if (i % 10 == 9) {
            if ((rc = shared_del(mine)) != 0)
                WFAIL(w, "del own: %s", shared_errname(rc));
            rc = shared_get(mine, &got, sizeof got, &len, NULL);
            if (rc != SHARED_ENOTFOUND)
                WFAIL(w, "deleted key: %s", shared_errname(rc));
        }

        /* a message out, a message in (any sender's): each thread sends
         * before it receives, so a receiver never starves */
        if ((rc = shared_send(ch, &x, sizeof x, 10000)) != 0)
            WFAIL(w, "send: %s", shared_errname(rc));
        int64_t m = 0;
        rc = shared_recv(ch, &m, sizeof m, &len, 10000);
        if (rc || len != sizeof m || m <= 0)
            WFAIL(w, "recv: %s len %u", shared_errname(rc), len);
        if ((rc = shared_add(rcount, 1, NULL)) != 0 ||
            (rc = shared_add(rsum, m, NULL)) != 0)
            WFAIL(w, "count received: %s", shared_errname(rc));

        /* a short wait on the busy counter: a change or the timeout */
        if (i % 16 == 0) {
            rc = shared_get(ctr, NULL, 0, &len, &ver);
            if (rc != SHARED_ETOOBIG)
                WFAIL(w, "get version: %s", shared_errname(rc));
            rc = shared_wait(ctr, ver, 20, &nv);
            if (!((rc == 0 && nv != ver) || rc == SHARED_ETIMEDOUT))
                WFAIL(w, "wait: %s (%llu -> %llu)", shared_errname(rc),
                      (unsigned long long)ver, (unsigned long long)nv);
        }
    }
}

/* Runs THREADS workers as process number `proc`; 0 if all passed. */
static int run_threads(const char *prefix, int proc, int rounds)
{
    worker w[THREADS];
    void *args[THREADS];
    int failed = 0;
    for (int i = 0; i < THREADS; i++) {
        memset(&w[i], 0, sizeof w[i]);
        snprintf(w[i].prefix, sizeof w[i].prefix, "%s", prefix);
        w[i].proc = proc;
        w[i].thread = i;
        w[i].rounds = rounds;
        args[i] = &w[i];
    }
    if (run_parallel(THREADS, work, args) != 0) {
        fprintf(stderr, "starting or joining the threads failed\n");
        return 1;
    }
    for (int i = 0; i < THREADS; i++) {
        if (w[i].failed) {
            fprintf(stderr, "process %d thread %d: %s\n", proc, i, w[i].why);
            failed = 1;
        }
    }
    return failed;
}

/* PREFIX:ROUNDS - this process's threads, as process number 1. */
int role_threads(const char *arg)
{
    char prefix[SHARED_KEY_MAX + 1];
    int64_t rounds;
    if (role_arg(arg, prefix, &rounds, NULL, 0))
        return 2;
    return run_threads(prefix, 1, (int)rounds);
}

static int64_t counter(const char *prefix, const char *what)
{
    char key[SHARED_KEY_MAX + 1];
    int64_t n = -1;
    uint32_t len = 0;
    snprintf(key, sizeof key, "%s.%s", prefix, what);
    ck_assert_code(shared_get(key, &n, sizeof n, &len, NULL), SHARED_OK);
    ck_assert_uint_eq(len, sizeof n);
    return n;
}

START_TEST(threads_of_two_processes_do_everything_at_once)
{
    char prefix[40], arg[64], ch[64];
    uint32_t len;
    int64_t m;
    unique_name(prefix, sizeof prefix, "th");
    snprintf(arg, sizeof arg, "%s:%d", prefix, ROUNDS);
    int h = role_start("threads", arg);
    ck_assert_int_ge(h, 0);
    int mine = run_threads(prefix, 0, ROUNDS);
    ck_assert_int_eq(proc_wait(h, 240000), 0);
    ck_assert_int_eq(mine, 0);

    int64_t total = (int64_t)PROCS * THREADS * ROUNDS, sum = 0;
    for (int p = 0; p < PROCS; p++)
        for (int t = 0; t < THREADS; t++)
            for (int i = 0; i < ROUNDS; i++)
                sum += msg_no(p, t, i);
    ck_assert_int_eq(counter(prefix, "ctr"), total);
    ck_assert_int_eq(counter(prefix, "cas"), total);
    ck_assert_int_eq(counter(prefix, "rcount"), total);
    ck_assert_int_eq(counter(prefix, "rsum"), sum); /* each one exactly once */
    snprintf(ch, sizeof ch, "%s.ch", prefix);
    ck_assert_code(shared_recv(ch, &m, sizeof m, &len, 0), SHARED_ETIMEDOUT);
}
END_TEST

Suite *threads_suite(void)
{
    Suite *s = suite_create("threads");
    TCase *tc = tcase_with_fixture("threads");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, threads_of_two_processes_do_everything_at_once);
    suite_add_tcase(s, tc);
    return s;
}
