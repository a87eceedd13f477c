/*
 * scale.c (POSIX) - how shared scales: 1, 2, 4 and 8 processes contending
 * on shared_add against the same number on a robust mutex counter, and a get
 * in a full table of 256 keys against one of 65,536 keys (a second build of
 * the library, made by ./build.sh bench).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench.h"
#include "proc.h"
#include "shared.h"

typedef struct scale_page {
    pthread_mutex_t mutex;
    int64_t counter;
} scale_page;

static char g_shm[64];
static scale_page *g_page;
static int g_procs[] = {1, 2, 4, 8};
static char g_self[4096];
static const char *g_big;

static scale_page *open_page(const char *name, int create)
{
    int fd = shm_open(name, O_RDWR | (create ? O_CREAT : 0), 0600);
    if (fd < 0)
        return NULL;
    if (create && ftruncate(fd, sizeof(scale_page)) != 0) {
        close(fd);
        return NULL;
    }
    void *p = mmap(NULL, sizeof(scale_page), PROT_READ | PROT_WRITE, MAP_SHARED,
                   fd, 0);
    close(fd);
    return p == MAP_FAILED ? NULL : p;
}

/* Child: scale MODE START_NS END_NS SHM; adds 1 as often as it can between the
 * two instants (MODE "shared": shared_add; "mutex": the robust mutex). */
int role_scale(int argc, char **argv)
{
    if (argc < 4)
        return 2;
    int shared_mode = strcmp(argv[0], "shared") == 0;
    uint64_t start = strtoull(argv[1], NULL, 10);
    uint64_t end = strtoull(argv[2], NULL, 10);
    scale_page *pg = NULL;
    if (!shared_mode && !(pg = open_page(argv[3], 0)))
        return 3;
    if (shared_mode && shared_add("bench.scale", 0, NULL) != 0)
        return 3; /* attach before the start */
    bench_spin_until_ns(start);
    while (bench_now_ns() < end) {
        for (int k = 0; k < 32; k++) {
            if (shared_mode) {
                if (shared_add("bench.scale", 1, NULL) != 0)
                    return 4;
                continue;
            }
            int rc = pthread_mutex_lock(&pg->mutex);
            if (rc == EOWNERDEAD)
                pthread_mutex_consistent(&pg->mutex);
            else if (rc != 0)
                return 4;
            pg->counter++;
            pthread_mutex_unlock(&pg->mutex);
        }
    }
    return 0;
}

static int64_t counter(int shared_mode)
{
    int64_t v = -1;
    if (shared_mode) {
        if (shared_add("bench.scale", 0, &v) != 0)
            return -1;
        return v;
    }
    pthread_mutex_lock(&g_page->mutex);
    v = g_page->counter;
    pthread_mutex_unlock(&g_page->mutex);
    return v;
}

/* ctx: number of processes, negative for the mutex counter. */
static double contend(void *ctx, uint32_t ms)
{
    int n = (int)(intptr_t)ctx, shared_mode = n > 0;
    if (n < 0)
        n = -n;
    char a[24], b[24];
    /* Room for the children to start (longer under load). */
    uint64_t start = bench_now_ns() + 150000000u + 50000000u * (uint64_t)n;
    uint64_t end = start + (uint64_t)ms * 1000000u;
    snprintf(a, sizeof a, "%llu", (unsigned long long)start);
    snprintf(b, sizeof b, "%llu", (unsigned long long)end);
    int64_t before = counter(shared_mode);
    int h[8], rc = 0;
    for (int i = 0; i < n; i++) {
        const char *args[] = {"scale", shared_mode ? "shared" : "mutex", a, b,
                              g_shm};
        h[i] = bench_start_role(5, args);
        if (h[i] < 0)
            rc = -1;
    }
    for (int i = 0; i < n; i++)
        if (h[i] >= 0 && proc_wait(h[i], 30000u + ms) != 0)
            rc = -1;
    if (bench_now_ns() - start > (uint64_t)ms * 1000000u * 3 / 2 + 1000000000u)
        fprintf(stderr, "shared_bench: a contender started late\n");
    int64_t after = counter(shared_mode);
    if (rc != 0 || before < 0 || after < before)
        return -1;
    return (double)(after - before) * 1000.0 / (double)ms;
}

/* ctx: 0 first key, 1 last key; 256-key build or (2, 3) the big build. */
static double keys(void *ctx, uint32_t ms)
{
    int which = (int)(intptr_t)ctx;
    const char *exe = which >= 2 ? g_big : g_self;
    char cmd[8300];
    snprintf(cmd, sizeof cmd,
             "SHARED_INSTANCE=%s-keys '%s' --role shared-keys %u", bench_tag(),
             exe, (unsigned)ms);
    FILE *f = popen(cmd, "r");
    if (!f)
        return -1;
    unsigned max = 0;
    double first = -1, last = -1;
    int got = fscanf(f, "%u %lf %lf", &max, &first, &last);
    if (pclose(f) != 0 || got != 3)
        return -1;
    return which % 2 ? last : first;
}

static void add(const char *id, const char *name, int kind, int rate,
                double (*m)(void *, uint32_t), intptr_t ctx)
{
    bench_case c = {.id = id,
                    .name = name,
                    .kind = kind,
                    .rate = rate,
                    .measure = m,
                    .ctx = (void *)ctx};
    bench_add(&c);
}

void scale_register(const char *big_exe)
{
    snprintf(g_shm, sizeof g_shm, "/%s-scale", bench_tag());
    ssize_t n = readlink("/proc/self/exe", g_self, sizeof g_self - 1);
    g_self[n > 0 ? n : 0] = '\0';
    g_page = open_page(g_shm, 1);
    if (!g_page) {
        bench_skip("scale", "cannot create the shm page");
        return;
    }
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&g_page->mutex, &a);
    pthread_mutexattr_destroy(&a);
    static char ids[8][24], names[8][64];
    for (int i = 0; i < 4; i++) {
        int p = g_procs[i];
        snprintf(ids[2 * i], 24, "floor.mutexadd.p%d", p);
        snprintf(names[2 * i], 64, "robust mutex counter, %d process%s", p,
                 p > 1 ? "es" : "");
        add(ids[2 * i], names[2 * i], BENCH_FLOOR, 1, contend, -p);
        snprintf(ids[2 * i + 1], 24, "shared.add.p%d", p);
        snprintf(names[2 * i + 1], 64, "shared_add, %d process%s", p,
                 p > 1 ? "es" : "");
        add(ids[2 * i + 1], names[2 * i + 1], BENCH_SHARED, 1, contend, p);
    }
    add("shared.keys256.first", "get 64 B, 256 keys, lowest slot", BENCH_SHARED,
        0, keys, 0);
    add("shared.keys256.last", "get 64 B, 256 keys, highest slot", BENCH_SHARED,
        0, keys, 1);
    g_big = big_exe;
    if (!big_exe || access(big_exe, X_OK) != 0) {
        bench_skip("65,536 keys", "no --big build (./build.sh bench makes it)");
        return;
    }
    add("shared.keys64k.first", "get 64 B, 65,536 keys, lowest slot",
        BENCH_SHARED, 0, keys, 2);
    add("shared.keys64k.last", "get 64 B, 65,536 keys, highest slot",
        BENCH_SHARED, 0, keys, 3);
}

/* Removes this run's POSIX objects: the scale page. */
void scale_cleanup(void)
{
    if (g_shm[0])
        shm_unlink(g_shm);
}
