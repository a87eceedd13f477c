/*
 * bench.c - throughput of the main operations, each as a ratio against a
 * baseline measured in the same run: a read that takes the lock
 * (shared_lock + shared_get + shared_unlock). Prints ops/s and the ratio;
 * figures depend on the machine, ratios much less.
 *
 *   shared_bench [--ms N]   (default 500 ms per measurement)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc.h"
#include "shared.h"

typedef int (*op_fn)(uint64_t i);

static char g_value[64];

static int locked_get(uint64_t i)
{
    uint32_t len;
    (void)i;
    int rc = shared_lock(SHARED_DEFAULT_TIMEOUT_MS);
    if (rc == 0)
        rc = shared_get("bench.k", g_value, sizeof g_value, &len, NULL);
    shared_unlock();
    return rc;
}

static int lockfree_get(uint64_t i)
{
    uint32_t len;
    (void)i;
    return shared_get("bench.k", g_value, sizeof g_value, &len, NULL);
}

static int set_value(uint64_t i)
{
    return shared_set("bench.k", &i, sizeof i);
}

static int add_counter(uint64_t i)
{
    (void)i;
    return shared_add("bench.n", 1, NULL);
}

static int send_recv(uint64_t i)
{
    uint32_t len;
    int rc = shared_send("bench.ch", &i, sizeof i, 0);
    if (rc == 0)
        rc = shared_recv("bench.ch", g_value, sizeof g_value, &len, 0);
    return rc;
}

/* Runs op for about `ms` milliseconds; returns operations per second. */
static double measure(op_fn op, uint32_t ms)
{
    uint64_t n = 0, start = proc_now_ms(), end = start + ms, now;
    do {
        for (int k = 0; k < 64; k++, n++) {
            int rc = op(n);
            if (rc) {
                fprintf(stderr, "shared_bench: %s\n", shared_strerror(rc));
                exit(1);
            }
        }
        now = proc_now_ms();
    } while (now < end);
    return (double)n * 1000.0 / (double)(now - start);
}

int main(int argc, char **argv)
{
    uint32_t ms = 500;
    if (argc == 3 && strcmp(argv[1], "--ms") == 0)
        ms = (uint32_t)atoi(argv[2]);
    shared_statistics st = {.size = sizeof st};
    if (shared_set("bench.k", "0123456789abcdef", 16) != 0 ||
        shared_stats(&st) != 0) {
        fprintf(stderr, "shared_bench: cannot set up\n");
        return 1;
    }
    static const struct {
        const char *name;
        op_fn op;
    } ops[] = {
        {"get, lock-free (shared_get)", lockfree_get},
        {"set (shared_set)", set_value},
        {"add (shared_add)", add_counter},
        {"send + recv, one message", send_recv},
    };
    double base = measure(locked_get, ms);
    printf("shared_bench (%s, %u ms each)\n", st.backend, (unsigned)ms);
    printf("  %-32s %12.0f ops/s   1.00x  (baseline)\n",
           "get under shared_lock", base);
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        double r = measure(ops[i].op, ms);
        printf("  %-32s %12.0f ops/s  %5.2fx\n", ops[i].name, r, r / base);
    }
    shared_del("bench.k");
    shared_del("bench.n");
    return 0;
}
