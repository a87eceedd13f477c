/*
 * callgrind.c (POSIX) - instructions per operation of shared, repeatable
 * for reviewing a change: each operation runs N times in its own process
 * under valgrind --tool=callgrind (`--count ID N`), counting only inside
 * bench_count_loop (--toggle-collect), then callgrind_annotate tells which
 * functions the instructions go to. A fresh SHARED_INSTANCE per run.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

static double parse_totals(const char *file)
{
    FILE *f = fopen(file, "r");
    char line[512];
    double v = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "totals:", 7) == 0 ||
            (v < 0 && strncmp(line, "summary:", 8) == 0))
            v = strtod(strchr(line, ':') + 1, NULL);
    fclose(f);
    return v;
}

/* The top functions by exclusive instructions, per operation. */
static void annotate(const char *file, uint64_t n, double total)
{
    char cmd[512], line[1024];
    snprintf(cmd, sizeof cmd,
             "callgrind_annotate --inclusive=no --threshold=99 '%s' "
             "2>/dev/null",
             file);
    FILE *p = popen(cmd, "r");
    if (!p)
        return;
    int shown = 0;
    while (fgets(line, sizeof line, p)) {
        char *s = line + strspn(line, " ");
        if (!(*s >= '0' && *s <= '9') || strstr(line, "PROGRAM TOTALS"))
            continue;
        char num[32];
        size_t k = 0;
        for (; *s && *s != ' ' && k < sizeof num - 1; s++)
            if (*s != ',')
                num[k++] = *s;
        num[k] = '\0';
        double v = strtod(num, NULL) / (double)n;
        char *fn = strstr(s, ") ");
        fn = fn ? fn + 2 : s;
        fn += strspn(fn, " ");
        char *obj = strstr(fn, " [");
        if (obj)
            *obj = '\0';
        fn[strcspn(fn, "\n")] = '\0';
        if (v < 1 || shown >= 10)
            continue;
        printf("      %8.0f  %4.1f%%  %s\n", v, 100 * v / total, fn);
        shown++;
    }
    pclose(p);
}

int callgrind_run(const char *self, uint64_t n)
{
    if (system("command -v valgrind >/dev/null 2>&1") != 0) {
        printf("--callgrind: valgrind is not installed\n");
        return 1;
    }
    char dir[64];
    snprintf(dir, sizeof dir, "/tmp/%s-cg-XXXXXX", bench_tag());
    if (!mkdtemp(dir))
        return 1;
    printf("\ninstructions per operation (callgrind, %llu ops each; "
           "top functions, exclusive)\n",
           (unsigned long long)n);
    int rc = 0;
    for (int i = 0; i < bench_count(); i++) {
        bench_case *c = bench_at(i);
        if (c->kind != BENCH_SHARED || !c->op)
            continue;
        char out[128], cmd[8400];
        snprintf(out, sizeof out, "%s/cg.%s", dir, c->id);
        snprintf(cmd, sizeof cmd,
                 "SHARED_INSTANCE=%s-cg valgrind --tool=callgrind "
                 "--collect-atstart=no --toggle-collect=bench_count_loop "
                 "--callgrind-out-file='%s' '%s' --count %s %llu "
                 ">/dev/null 2>&1",
                 bench_tag(), out, self, c->id, (unsigned long long)n);
        double total = system(cmd) == 0 ? parse_totals(out) : -1;
        if (total <= 0) {
            printf("  %-20s failed\n", c->id);
            rc = 1;
            continue;
        }
        printf("  %-20s %8.0f instructions/op  (%s)\n", c->id,
               total / (double)n, c->name);
        annotate(out, n, total / (double)n);
        unlink(out);
    }
    rmdir(dir);
    return rc;
}
