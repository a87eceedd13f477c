/*
 * sharedemo.c - the multi-process demo. The parent starts N workers (copies
 * of itself) that share a counter and pass a token around a ring through the
 * DLL; it shows their progress live, optionally kills one while it holds the
 * lock (--kill-one), and at the end verifies that every acknowledged change
 * is there exactly once. Exit code 0 only if every check passes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo.h"
#include "proc.h"
#include "text.h"

#define RUN_LIMIT_MS 600000u /* no demo may run longer than this */

typedef struct parent {
    demo_run run;
    int kill_one;
    int handle[DEMO_MAX_WORKERS];
    int exit_code[DEMO_MAX_WORKERS]; /* PROC_RUNNING until it exits */
    int victim;                      /* -1: none to be killed */
    int killed;
    int64_t forwards; /* token passes made by the parent */
    int tty;
    uint64_t start_ms, last_line_ms;
} parent;

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: sharedemo [--workers N] [--ops K] [--handoffs H] "
        "[--kill-one]\n                 [--instance NAME]\n\n"
        "Starts N worker processes (1..%d, default 4) that each add 1 to a\n"
        "shared counter K times (0..100000000, default 1000) and pass a "
        "token\naround a ring H times (0..1000000, default 20), then "
        "verifies the totals.\n--kill-one kills a worker while it holds "
        "the lock; the totals must still\nbe exact. --instance NAME runs "
        "it in the named instance NAME instead of\nthe default home. The "
        "progress bar "
        "counts all the work: ops and hand-offs.\n",
        DEMO_MAX_WORKERS);
}

static int usage_error(const char *msg)
{
    fprintf(stderr, "sharedemo: %s\n\n", msg);
    usage(stderr);
    return 2;
}

/* Returns 0 to run, 2 on a usage error, -1 after printing --help. */
static int parse(int argc, char **argv, parent *pa, int *worker)
{
    static const struct {
        const char *name;
        long long lo, hi;
    } k[] = {
        {"--workers", 1, DEMO_MAX_WORKERS},
        {"--ops", 0, 100000000},
        {"--handoffs", 0, 1000000},
        {"--worker", 0, DEMO_MAX_WORKERS - 1},
        {"--run", 0, UINT32_MAX},
    };
    for (int i = 1; i < argc; i++) {
        int64_t v = 0;
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return -1;
        }
        if (strcmp(a, "--kill-one") == 0) {
            pa->kill_one = 1;
            continue;
        }
        if (strcmp(a, "--instance") == 0) {
            /* The workers inherit it through the environment. */
            if (i + 1 >= argc)
                return usage_error("--instance needs a name");
            int rc = shared_open(argv[++i], 0);
            if (rc) {
                char msg[160];
                snprintf(msg, sizeof msg, "--instance '%.40s': %s (%s)",
                         argv[i], shared_strerror(rc), shared_errname(rc));
                return usage_error(msg);
            }
            proc_setenv("SHARED_INSTANCE", argv[i]);
            proc_setenv("SHARED_INSTANCE_FLAGS", "");
            continue;
        }
        size_t o = 0;
        while (o < sizeof k / sizeof k[0] && strcmp(a, k[o].name) != 0)
            o++;
        char msg[160];
        if (o == sizeof k / sizeof k[0]) {
            snprintf(msg, sizeof msg, "unknown option '%.80s'", a);
            return usage_error(msg);
        }
        if (i + 1 >= argc || text_parse_i64(argv[i + 1], &v) != 0 ||
            v < k[o].lo || v > k[o].hi) {
            snprintf(msg, sizeof msg, "%s takes an integer in %lld..%lld", a,
                     k[o].lo, k[o].hi);
            return usage_error(msg);
        }
        i++;
        if (o == 0)
            pa->run.workers = (int)v;
        else if (o == 1)
            pa->run.ops = v;
        else if (o == 2)
            pa->run.handoffs = v;
        else if (o == 3)
            *worker = (int)v;
        else
            pa->run.id = (uint32_t)v;
    }
    if (pa->kill_one && pa->run.workers < 2) {
        fprintf(stderr, "sharedemo: --kill-one needs at least 2 workers\n");
        return 2;
    }
    return 0;
}

static int start_workers(parent *pa)
{
    char n[16], ops[24], hand[24], run[16], idx[16];
    snprintf(n, sizeof n, "%d", pa->run.workers);
    snprintf(ops, sizeof ops, "%lld", (long long)pa->run.ops);
    snprintf(hand, sizeof hand, "%lld", (long long)pa->run.handoffs);
    snprintf(run, sizeof run, "%u", (unsigned)pa->run.id);
    for (int i = 0; i < pa->run.workers; i++) {
        snprintf(idx, sizeof idx, "%d", i);
        const char *argv[] = {"--worker",   idx, "--run", run,
                              "--workers",  n,   "--ops", ops,
                              "--handoffs", hand};
        pa->handle[i] = proc_start(10, argv);
        pa->exit_code[i] = PROC_RUNNING;
        if (pa->handle[i] < 0) {
            fprintf(stderr, "sharedemo: cannot start worker %d\n", i);
            return -1;
        }
    }
    return 0;
}

/* Sums the workers' acknowledged progress. */
static void totals(const parent *pa, int64_t *ops, int64_t *hand, int64_t *viol)
{
    *ops = *hand = *viol = 0;
    for (int i = 0; i < pa->run.workers; i++) {
        demo_progress p;
        if (demo_progress_get(&pa->run, i, &p) == 0) {
            *ops += p.ops;
            *hand += p.handoffs;
            *viol += p.violations;
        }
    }
}

static void show_progress(parent *pa, int final)
{
    int64_t ops, hand, viol;
    uint64_t now = proc_now_ms();
    if (!pa->tty && !final && now - pa->last_line_ms < 1000)
        return;
    pa->last_line_ms = now;
    totals(pa, &ops, &hand, &viol);
    /* All the work: the ops and the hand-offs of every worker. */
    int64_t want = pa->run.ops * pa->run.workers;
    int64_t want_hand = pa->run.handoffs * pa->run.workers;
    int64_t all = want + want_hand;
    int pct = all ? (int)((ops + hand) * 100 / all) : 100;
    char bar[31];
    for (int i = 0; i < 30; i++)
        bar[i] = i < pct * 30 / 100 ? '#' : '.';
    bar[30] = '\0';
    printf("%s[%s] %3d%%  ops %lld/%lld  hand-offs %lld/%lld  %.1f s%s",
           pa->tty ? "\r" : "", bar, pct, (long long)ops, (long long)want,
           (long long)hand, (long long)want_hand,
           (double)(now - pa->start_ms) / 1000.0,
           pa->tty && !final ? "" : "\n");
    fflush(stdout);
}

/* Marks the victim dead and passes the token on if it is stuck there. */
static void forward_token(parent *pa)
{
    char key[SHARED_KEY_MAX + 1];
    demo_token t;
    uint64_t version;
    if (!pa->killed || demo_token_get(&pa->run, &t, &version) != 0 ||
        t.holder != (uint32_t)pa->victim)
        return;
    demo_token next = {(uint32_t)demo_next_alive(&pa->run, pa->victim), 0,
                       t.passes + 1};
    demo_key(key, &pa->run, "token", -1);
    if (shared_cas(key, version, &next, sizeof next, NULL) == 0)
        pa->forwards++;
}

/* --kill-one: the victim is told before it starts to stop inside a
 * transaction at 40% of its ops. */
static int plan_kill(parent *pa)
{
    char key[SHARED_KEY_MAX + 1], at[24];
    pa->victim = pa->run.workers / 2;
    demo_key(key, &pa->run, "pause", pa->victim);
    int n = snprintf(at, sizeof at, "%lld", (long long)(pa->run.ops * 4 / 10));
    return shared_set(key, at, (uint32_t)n);
}

/* Once the victim says it is inside its transaction, kills it. */
static void kill_when_paused(parent *pa)
{
    char key[SHARED_KEY_MAX + 1];
    uint32_t len;
    int v = pa->victim;
    demo_key(key, &pa->run, "paused", v);
    int rc =
        pa->killed ? SHARED_ENOTFOUND : shared_get(key, NULL, 0, &len, NULL);
    if (rc != SHARED_ETOOBIG) /* ETOOBIG: it exists (we asked for 0 bytes) */
        return;
    proc_sleep_ms(400); /* it takes the lock 200 ms after saying so */
    shared_statistics before = {.size = sizeof before};
    shared_statistics after = {.size = sizeof after};
    shared_stats(&before);
    uint32_t pid = proc_pid(pa->handle[v]);
    proc_kill(pa->handle[v]);
    pa->exit_code[v] = 137;
    pa->killed = 1;
    printf("%skilled worker %d (pid %u) while it held the lock inside a "
           "transaction\n",
           pa->tty ? "\n" : "", v, (unsigned)pid);
    demo_key(key, &pa->run, "dead", v);
    shared_set(key, "1", 1); /* takes the lock: the recovery runs here */
    shared_stats(&after);
    printf("recovered: owner-died recoveries %llu -> %llu; the dead worker's "
           "unfinished change was rolled back\n",
           (unsigned long long)before.owner_died_recoveries,
           (unsigned long long)after.owner_died_recoveries);
    fflush(stdout);
}

/* Watches the workers until all have exited; returns 0 if none failed.
 * Between looks it waits on the "done" key (workers count themselves
 * there when they finish) instead of sleeping. */
static int supervise(parent *pa)
{
    char done[SHARED_KEY_MAX + 1];
    uint64_t done_version = 0;
    uint64_t limit = proc_now_ms() + RUN_LIMIT_MS;
    demo_key(done, &pa->run, "done", -1);
    for (;;) {
        int running = 0;
        for (int i = 0; i < pa->run.workers; i++) {
            if (pa->exit_code[i] == PROC_RUNNING)
                pa->exit_code[i] = proc_wait(pa->handle[i], 0);
            running += pa->exit_code[i] == PROC_RUNNING;
        }
        if (!running)
            break;
        if (proc_now_ms() > limit) {
            fprintf(stderr, "sharedemo: workers still running after %u s\n",
                    RUN_LIMIT_MS / 1000u);
            proc_kill_all();
            return -1;
        }
        if (pa->victim >= 0)
            kill_when_paused(pa);
        forward_token(pa);
        show_progress(pa, 0);
        shared_wait(done, done_version, pa->tty ? 50 : 20, &done_version);
    }
    show_progress(pa, 1);
    return 0;
}

static int check(const char *what, long long got, long long want,
                 const char *note)
{
    int ok = got == want;
    printf("  %-18s %lld (expected %lld%s)%*s%s\n", what, got, want, note,
           got > 999999 ? 1 : 4, "", ok ? "ok" : "MISMATCH");
    return ok;
}

/* Receives the workers' reports from the results channel; checks each
 * against the worker's progress record. Returns the number of good ones. */
static int reports(parent *pa, int *bad)
{
    char key[SHARED_KEY_MAX + 1], text[128];
    uint32_t len = 0;
    int good = 0;
    *bad = 0;
    demo_key(key, &pa->run, "results", -1);
    while (shared_recv(key, text, sizeof text - 1, &len, 0) == 0) {
        int w;
        long long ops, hand;
        demo_progress p;
        text[len] = '\0';
        if (sscanf(text, "worker %d ops=%lld hand=%lld", &w, &ops, &hand) ==
                3 &&
            w >= 0 && w < pa->run.workers &&
            demo_progress_get(&pa->run, w, &p) == 0 && p.ops == ops &&
            p.handoffs == hand)
            good++;
        else
            ++*bad;
    }
    return good;
}

static int verify(parent *pa, const shared_statistics *s0)
{
    char key[SHARED_KEY_MAX + 1];
    int64_t ops, hand, viol, counter = 0;
    uint32_t len;
    demo_token t = {0, 0, 0};
    uint64_t version;
    shared_statistics s1 = {.size = sizeof s1};
    int ok = 1;
    totals(pa, &ops, &hand, &viol);
    demo_key(key, &pa->run, "counter", -1);
    if (shared_get(key, &counter, sizeof counter, &len, NULL) != 0)
        ok = 0;
    if (demo_token_get(&pa->run, &t, &version) != 0)
        ok = 0;
    shared_stats(&s1);
    double secs = (double)(proc_now_ms() - pa->start_ms) / 1000.0;
    const char *acked = pa->killed ? ", all acknowledged" : "";
    printf("\nsharedemo: %d workers x %lld ops, %lld hand-offs each%s\n",
           pa->run.workers, (long long)pa->run.ops, (long long)pa->run.handoffs,
           pa->killed ? ", one killed" : "");
    ok &= check("counter", counter, ops, acked);
    if (!pa->killed)
        ok &= check("acknowledged ops", ops, pa->run.ops * pa->run.workers, "");
    ok &= check("token hand-offs", (long long)t.passes, hand + pa->forwards,
                pa->killed ? ", incl. forwards past the dead" : "");
    if (!pa->killed)
        ok &= check("acknowledged", hand, pa->run.handoffs * pa->run.workers,
                    " hand-offs");
    ok &= check("version slips", viol, 0, ", versions monotone");
    int bad, finished = pa->run.workers - pa->killed;
    ok &= check("reports received", reports(pa, &bad), finished,
                ", on the results channel");
    ok &= bad == 0;
    for (int i = 0; i < pa->run.workers; i++) {
        if (!(pa->killed && i == pa->victim) && pa->exit_code[i] != 0) {
            printf("  worker %d exited with %d  MISMATCH\n", i,
                   pa->exit_code[i]);
            ok = 0;
        }
    }
    printf("  lock acquisitions  %llu   timeouts %llu   owner-died "
           "recoveries %llu\n",
           (unsigned long long)(s1.lock_acquisitions - s0->lock_acquisitions),
           (unsigned long long)(s1.lock_timeouts - s0->lock_timeouts),
           (unsigned long long)(s1.owner_died_recoveries -
                                s0->owner_died_recoveries));
    printf("  elapsed            %.2f s   %.0f ops/s\n", secs,
           secs > 0 ? (double)(ops + hand) / secs : 0.0);
    printf("sharedemo: %s\n", ok ? "verified" : "FAILED");
    return ok;
}

/* Removes every key of this run. */
static void cleanup(const parent *pa)
{
    static const char *const names[] = {"w", "dead", "pause", "paused"};
    char key[SHARED_KEY_MAX + 1];
    demo_key(key, &pa->run, "counter", -1);
    shared_del(key);
    demo_key(key, &pa->run, "done", -1);
    shared_del(key);
    demo_key(key, &pa->run, "token", -1);
    shared_del(key);
    for (int i = 0; i < pa->run.workers; i++) {
        for (size_t n = 0; n < sizeof names / sizeof names[0]; n++) {
            demo_key(key, &pa->run, names[n], i);
            shared_del(key);
        }
    }
}

int main(int argc, char **argv)
{
    static parent pa;
    int worker = -1;
    pa.run.workers = 4;
    pa.run.ops = 1000;
    pa.run.handoffs = 20;
    pa.victim = -1;
    int rc = parse(argc, argv, &pa, &worker);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (worker >= 0) {
        if (pa.run.id && worker < pa.run.workers)
            return demo_worker(&pa.run, worker);
        return usage_error("--worker needs --run and a smaller index");
    }

    char key[SHARED_KEY_MAX + 1];
    shared_statistics s0 = {.size = sizeof s0};
    demo_token t0 = {0, 0, 0};
    pa.run.id = proc_id();
    pa.tty = proc_stdout_is_tty();
    if ((rc = shared_stats(&s0)) != 0) {
        fprintf(stderr, "sharedemo: %s (%s)\n", shared_strerror(rc),
                shared_errname(rc));
        return 1;
    }
    demo_key(key, &pa.run, "token", -1);
    rc = shared_set(key, &t0, sizeof t0);
    demo_key(key, &pa.run, "counter", -1);
    if (rc == 0)
        rc = shared_add(key, 0, NULL);
    if (rc) {
        fprintf(stderr, "sharedemo: cannot set up: %s\n", shared_strerror(rc));
        return 1;
    }
    printf("sharedemo: %d worker processes, %lld ops and %lld hand-offs "
           "each, through %s (%s)\n",
           pa.run.workers, (long long)pa.run.ops, (long long)pa.run.handoffs,
           s0.object_name, s0.backend);
    fflush(stdout);
    if (pa.kill_one && (rc = plan_kill(&pa)) != 0) {
        fprintf(stderr, "sharedemo: cannot set up: %s\n", shared_strerror(rc));
        return 1;
    }
    pa.start_ms = proc_now_ms();
    int ok = start_workers(&pa) == 0 && supervise(&pa) == 0;
    if (pa.kill_one && !pa.killed) {
        printf("sharedemo: the worker to kill never paused\n");
        ok = 0;
    }
    ok = verify(&pa, &s0) && ok;
    proc_kill_all();
    cleanup(&pa);
    return ok ? 0 : 1;
}
