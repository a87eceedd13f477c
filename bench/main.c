/*
 * main.c - shared_bench: every figure of issue #10's table in one run,
 * floors and peers beside shared, in interleaved rounds.
 *
 *   shared_bench [--ms N] [--rounds N] [--svg FILE] [--big EXE]
 *                [--callgrind [N]] [--only SUBSTRING]
 *     --ms N         time per measurement (default 200)
 *     --rounds N     interleaved rounds; medians and spread over them (5)
 *     --svg FILE     also write a bar chart of ns/op (log scale)
 *     --big EXE      shared_bench built with SHARED_MAX_KEYS=65536
 *     --callgrind N  instructions per shared operation instead (N ops each)
 *     --only S       only the cases whose id contains S
 * Internal: --role NAME ARGS... (a child), --count ID N (op() N times:
 * under callgrind, or counting wineserver requests).
 */
#ifndef _WIN32
#  define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifndef _WIN32
#  include <dirent.h>
#  include <unistd.h>
#endif

#include "bench.h"
#include "proc.h"
#include "shared.h"

static void read_load(char *out, size_t cap)
{
    FILE *f = fopen("/proc/loadavg", "r");
#ifdef _WIN32
    if (!f)
        f = fopen("Z:\\proc\\loadavg", "r"); /* Wine: the host's / */
#endif
    snprintf(out, cap, "unknown");
    if (f) {
        if (fgets(out, (int)cap, f))
            out[strcspn(out, "\n")] = '\0';
        fclose(f);
    }
}

static void machine(void)
{
    char model[128] = "unknown CPU";
    int cpus = 0;
    FILE *f = fopen("/proc/cpuinfo", "r");
#ifdef _WIN32
    if (!f)
        f = fopen("Z:\\proc\\cpuinfo", "r");
#endif
    if (f) {
        char line[256];
        while (fgets(line, sizeof line, f)) {
            if (strncmp(line, "processor", 9) == 0)
                cpus++;
            char *c = strchr(line, ':');
            if (c && strncmp(line, "model name", 10) == 0) {
                snprintf(model, sizeof model, "%s", c + 2);
                model[strcspn(model, "\n")] = '\0';
            }
        }
        fclose(f);
    }
    time_t t = time(NULL);
    char when[32];
    strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", gmtime(&t));
    shared_statistics st = {.size = sizeof st};
    shared_stats(&st);
    printf("shared_bench: %s, %d CPUs (%s), backend %s, %u keys max\n", when,
           cpus, model, st.backend, (unsigned)st.max_keys);
}

#ifndef _WIN32
/* Removes the POSIX objects of this run (names holding our tag). */
static void cleanup_shm(void)
{
    const char *tag = bench_tag();
    size_t tl = strlen(tag);
    DIR *d = opendir("/dev/shm");
    struct dirent *e;
    if (!d)
        return;
    while ((e = readdir(d))) {
        const char *p = strstr(e->d_name, tag);
        if (!p || (p != e->d_name && p[-1] != '-' && p[-1] != '.') ||
            (p[tl] != '\0' && p[tl] != '-'))
            continue;
        char path[300];
        snprintf(path, sizeof path, "/dev/shm/%s", e->d_name);
        unlink(path);
    }
    closedir(d);
    scale_cleanup();
}
#endif

static void register_all(const char *big)
{
    floors_register();
    shared_ops_register();
#ifdef _WIN32
    (void)big;
    win_seeds_register();
#else
    scale_register(big);
    peers_lmdb_register();
    peers_mq_register();
    peers_redis_register();
    peers_boost_register();
#endif
}

int main(int argc, char **argv)
{
    uint32_t ms = 200;
    int rounds = 5;
    const char *svg = NULL, *big = NULL, *only = NULL;
    long long cg = 0;

    if (argc >= 3 && strcmp(argv[1], "--role") == 0) {
        bench_role_fn fn = bench_role(argv[2]);
        return fn ? fn(argc - 3, argv + 3) : 2;
    }
    if (argc == 4 && strcmp(argv[1], "--count") == 0) {
#ifndef _WIN32
        atexit(cleanup_shm);
#endif
        register_all(NULL);
        return bench_count_ops(argv[2], strtoull(argv[3], NULL, 10));
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--ms") == 0 && v)
            ms = (uint32_t)atoi(argv[++i]);
        else if (strcmp(a, "--rounds") == 0 && v)
            rounds = atoi(argv[++i]);
        else if (strcmp(a, "--svg") == 0 && v)
            svg = argv[++i];
        else if (strcmp(a, "--big") == 0 && v)
            big = argv[++i];
        else if (strcmp(a, "--only") == 0 && v)
            only = argv[++i];
        else if (strcmp(a, "--callgrind") == 0) {
            cg = 2000;
            if (v && v[0] >= '0' && v[0] <= '9')
                cg = atoll(argv[++i]);
        } else {
            fprintf(stderr,
                    "usage: shared_bench [--ms N] [--rounds N] [--svg FILE] "
                    "[--big EXE] [--callgrind [N]] [--only S]\n");
            return 2;
        }
    }
    if (ms < 1 || rounds < 1 || rounds > BENCH_MAX_ROUNDS || cg < 0) {
        fprintf(stderr, "shared_bench: bad --ms, --rounds or --callgrind\n");
        return 2;
    }
#ifdef _WIN32
    /* Wine: the prefix is this worktree's own; start from an empty table
     * so that the first key takes the lowest slot. */
    shared_reset();
#else
    /* A private instance, removed at the end; children inherit it. */
    if (!getenv("SHARED_INSTANCE"))
        proc_setenv("SHARED_INSTANCE", bench_tag());
    atexit(cleanup_shm);
#endif
    char load0[128], load1[128];
    read_load(load0, sizeof load0);
    machine();
    printf("load at start: %s\n", load0);
    if (cg) {
#ifdef _WIN32
        printf("--callgrind: Linux only\n");
        return 1;
#else
        register_all(NULL);
        char self[4096];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        self[n > 0 ? n : 0] = '\0';
        return callgrind_run(self, (uint64_t)cg);
#endif
    }
    register_all(big);
    fflush(stdout);
    for (int r = 0; r < rounds; r++) {
        fprintf(stderr, "round %d/%d", r + 1, rounds);
        for (int i = 0; i < bench_count(); i++) {
            bench_case *c = bench_at(i);
            if (c->failed || (only && !strstr(c->id, only)))
                continue;
            double v = c->measure(c->ctx, ms);
            if (v < 0) {
                c->failed = 1;
                fprintf(stderr, "\n  %s failed", c->id);
            } else {
                c->sample[c->samples++] = v;
            }
            fputc('.', stderr);
        }
        fputc('\n', stderr);
    }
    read_load(load1, sizeof load1);
    report_table(rounds, ms, load0, load1);
    if (svg) {
        if (report_svg(svg) != 0) {
            fprintf(stderr, "shared_bench: cannot write %s\n", svg);
            return 1;
        }
        printf("\nchart: %s\n", svg);
    }
    for (int i = 0; i < bench_count(); i++)
        if (bench_at(i)->failed)
            return 1;
    return 0;
}
