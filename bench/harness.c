/*
 * harness.c - the case registry, the timed loop, the clock and the
 * statistics of the samples.
 */
#ifndef _WIN32
#  define _POSIX_C_SOURCE 200809L
#endif
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _WIN32
#  include <windows.h>
#else
#  include <time.h>
#  include <unistd.h>
#endif

#include "bench.h"
#include "proc.h"

#define CASES_MAX 96

static bench_case g_cases[CASES_MAX];
static int g_ncases;

void bench_add(const bench_case *c)
{
    if (g_ncases == CASES_MAX) {
        fprintf(stderr, "shared_bench: too many cases\n");
        exit(2);
    }
    g_cases[g_ncases] = *c;
    g_cases[g_ncases].samples = 0;
    g_cases[g_ncases].failed = 0;
    g_ncases++;
}

bench_case *bench_find(const char *id)
{
    for (int i = 0; i < g_ncases; i++)
        if (strcmp(g_cases[i].id, id) == 0)
            return &g_cases[i];
    return NULL;
}

int bench_count(void)
{
    return g_ncases;
}
bench_case *bench_at(int i)
{
    return &g_cases[i];
}

uint64_t bench_now_ns(void)
{
#ifdef _WIN32
    static LARGE_INTEGER freq;
    LARGE_INTEGER t;
    if (!freq.QuadPart)
        QueryPerformanceFrequency(&freq);
    QueryPerformanceCounter(&t);
    return (uint64_t)((double)t.QuadPart * 1e9 / (double)freq.QuadPart);
#else
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
#endif
}

void bench_spin_until_ns(uint64_t t)
{
    while (bench_now_ns() + 2000000u < t)
        proc_sleep_ms(1);
    while (bench_now_ns() < t)
        ;
}

double bench_loop(int (*op)(void *ctx, uint64_t i), void *ctx, uint32_t ms)
{
    uint64_t n = 0, batch = 1, start = bench_now_ns();
    uint64_t end = start + (uint64_t)ms * 1000000u, now;
    for (;;) {
        for (uint64_t k = 0; k < batch; k++, n++)
            if (op(ctx, n) != 0)
                return -1;
        now = bench_now_ns();
        if (now >= end)
            break;
        /* Aim for about 100 clock reads per measurement. */
        uint64_t per = (now - start) / n + 1;
        uint64_t want = (uint64_t)ms * 10000u / per;
        batch = want ? want : 1;
    }
    return (double)(now - start) / (double)n;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_median(const bench_case *c)
{
    double s[BENCH_MAX_ROUNDS];
    if (c->samples == 0)
        return NAN;
    memcpy(s, c->sample, sizeof(double) * (size_t)c->samples);
    qsort(s, (size_t)c->samples, sizeof s[0], cmp_double);
    int n = c->samples;
    return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

double bench_min(const bench_case *c)
{
    double m = NAN;
    for (int i = 0; i < c->samples; i++)
        if (isnan(m) || c->sample[i] < m)
            m = c->sample[i];
    return m;
}

double bench_max(const bench_case *c)
{
    double m = NAN;
    for (int i = 0; i < c->samples; i++)
        if (isnan(m) || c->sample[i] > m)
            m = c->sample[i];
    return m;
}

void bench_skip(const char *what, const char *why)
{
    printf("  skipped: %s (%s)\n", what, why);
}

const char *bench_tag(void)
{
    static char tag[32];
    if (!tag[0])
        snprintf(tag, sizeof tag, "sb%u", (unsigned)proc_id());
    return tag;
}

int bench_start_role(int argc, const char *const *argv)
{
    const char *args[24];
    if (argc > 22)
        return -1;
    args[0] = "--role";
    for (int i = 0; i < argc; i++)
        args[i + 1] = argv[i];
    return proc_start(argc + 1, args);
}

bench_role_fn bench_role(const char *name)
{
    static const struct {
        const char *name;
        bench_role_fn fn;
    } roles[] = {
        {"shared-echo", role_shared_echo},
        {"shared-notify", role_shared_notify},
        {"shared-sink", role_shared_sink},
        {"shared-keys", role_shared_keys},
#ifdef _WIN32
        {"win-seed", role_win_seed},
#else
        {"scale", role_scale},
#endif
    };
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
        if (strcmp(roles[i].name, name) == 0)
            return roles[i].fn;
    return NULL;
}

/* The only code callgrind counts (--toggle-collect=bench_count_loop). */
__attribute__((noinline)) int bench_count_loop(int (*op)(void *, uint64_t),
                                               void *ctx, uint64_t n);
__attribute__((noinline)) int bench_count_loop(int (*op)(void *, uint64_t),
                                               void *ctx, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        if (op(ctx, i) != 0)
            return -1;
    return 0;
}

/* On stderr, and under Wine also in the wineserver's request trace (as the
 * name of an event created and closed at once): the bounds of the counted
 * operations. */
static void count_marker(const char *what)
{
    fprintf(stderr, "shared_bench: count %s\n", what);
    fflush(stderr);
#ifdef _WIN32
    char name[64];
    snprintf(name, sizeof name, "Local\\shared_bench_count_%s", what);
    HANDLE e = CreateEventA(NULL, TRUE, FALSE, name);
    if (e)
        CloseHandle(e);
#endif
}

int bench_count_ops(const char *id, uint64_t n)
{
    bench_case *c = bench_find(id);
    if (!c || !c->op)
        return 2;
    for (uint64_t i = 0; i < 200; i++) /* warm: caches, attach, a child */
        if (c->op(c->ctx, i) != 0)
            return 3;
    count_marker("begin");
    int rc = bench_count_loop(c->op, c->ctx, n);
    count_marker("end");
    return rc ? 4 : 0;
}
