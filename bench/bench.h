/*
 * bench.h - the benchmark harness: cases measured in interleaved rounds,
 * each a floor (the bare mechanism), a peer (another library doing the same
 * job) or shared itself, reported as medians with their spread and as
 * ratios within one run. Not part of the library.
 */
#ifndef SHARED_BENCH_H
#define SHARED_BENCH_H

#include <stdint.h>

enum bench_kind { BENCH_FLOOR, BENCH_PEER, BENCH_SHARED };

/* One figure. measure() returns ns per operation (or ops/s when `rate`),
 * or a negative value on failure; op() is one operation (for the plain
 * timed loop and for --callgrind), returning 0 on success. */
typedef struct bench_case {
    const char *id;   /* short, unique: used by rows, goals, --count */
    const char *name; /* what it measures, in words */
    int kind;         /* enum bench_kind */
    int rate;         /* 1: the figure is operations per second */
    double (*measure)(void *ctx, uint32_t ms);
    int (*op)(void *ctx, uint64_t i);
    void *ctx;
    /* filled by the harness */
    double sample[32];
    int samples;
    int failed;
} bench_case;

#define BENCH_MAX_ROUNDS 32

/* Registers a case (copied). Cases run in registration order per round. */
void bench_add(const bench_case *c);
bench_case *bench_find(const char *id);
int bench_count(void);
bench_case *bench_at(int i);

/* Times op() for about `ms` ms; ns per op, or -1 if an op failed. */
double bench_loop(int (*op)(void *ctx, uint64_t i), void *ctx, uint32_t ms);

/* Monotonic clock in ns, system-wide (comparable across processes). */
uint64_t bench_now_ns(void);
void bench_spin_until_ns(uint64_t t);

/* Median / min / max of a case's samples (NAN when none). */
double bench_median(const bench_case *c);
double bench_min(const bench_case *c);
double bench_max(const bench_case *c);

/* Prints "name: reason" on stdout: a case or peer not measured. */
void bench_skip(const char *what, const char *why);
/* Unique per run: "<prefix><pid>". */
const char *bench_tag(void);

/* Registration, one per file. */
void floors_register(void);
void shared_ops_register(void);
void scale_register(const char *big_exe);
void scale_cleanup(void);
void peers_lmdb_register(void);
void peers_mq_register(void);
void peers_redis_register(void);
void peers_boost_register(void);
void win_seeds_register(void);

/* Child roles: `shared_bench --role NAME ARGS...`; return the exit code. */
typedef int (*bench_role_fn)(int argc, char **argv);
bench_role_fn bench_role(const char *name);
int role_shared_echo(int argc, char **argv);
int role_shared_notify(int argc, char **argv);
int role_shared_sink(int argc, char **argv);
int role_shared_keys(int argc, char **argv);
int role_scale(int argc, char **argv);
int role_win_seed(int argc, char **argv);

/* Starts this executable as `--role ARGS...`: a proc.h handle or -1. */
int bench_start_role(int argc, const char *const *argv);

/* report.c */
void report_table(int rounds, uint32_t ms, const char *load0,
                  const char *load1);
int report_svg(const char *path);

/* `--count ID N`: op() of case ID N times, between the lines
 * "shared_bench: count begin" and "... count end" on stderr (for callgrind
 * and for counting wineserver requests). */
int bench_count_ops(const char *id, uint64_t n);

/* callgrind.c (Linux): instructions per shared operation. */
int callgrind_run(const char *self, uint64_t n);

#endif
