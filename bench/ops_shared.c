/*
 * ops_shared.c - the operations of shared itself: get (a key in the first
 * slot, a key behind 211 others, 1 KiB), set, cas, add, a 2-key
 * transaction, and between two processes a message round trip, message
 * streaming and a change-notification round trip.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "proc.h"
#include "shared.h"

#define FAR_SLOT 211 /* the far key has 211 keys before it */

static char g_first[SHARED_KEY_MAX + 1] = "bench.k64";
static char g_far[SHARED_KEY_MAX + 1];
static char g_buf[1024];
static char g_val[1024];

static int get_key(const char *key)
{
    uint32_t len;
    return shared_get(key, g_buf, sizeof g_buf, &len, NULL);
}

static int op_get64(void *ctx, uint64_t i)
{
    (void)ctx, (void)i;
    return get_key(g_first);
}

static int op_get64far(void *ctx, uint64_t i)
{
    (void)ctx, (void)i;
    return get_key(g_far);
}

static int op_get1k(void *ctx, uint64_t i)
{
    (void)ctx, (void)i;
    return get_key("bench.k1k");
}

static int op_set64(void *ctx, uint64_t i)
{
    (void)ctx;
    memcpy(g_val, &i, sizeof i);
    return shared_set("bench.s64", g_val, 64);
}

static int op_set1k(void *ctx, uint64_t i)
{
    (void)ctx;
    memcpy(g_val, &i, sizeof i);
    return shared_set("bench.s1k", g_val, 1024);
}

static int op_add(void *ctx, uint64_t i)
{
    (void)ctx, (void)i;
    return shared_add("bench.n", 1, NULL);
}

static uint64_t g_cas_version;

static int op_cas64(void *ctx, uint64_t i)
{
    (void)ctx;
    memcpy(g_val, &i, sizeof i);
    return shared_cas("bench.c64", g_cas_version, g_val, 64, &g_cas_version);
}

static int op_tx2(void *ctx, uint64_t i)
{
    (void)ctx;
    memcpy(g_val, &i, sizeof i);
    int rc = shared_lock(SHARED_DEFAULT_TIMEOUT_MS);
    if (rc != 0)
        return rc;
    rc = shared_set("bench.tx.a", g_val, 64);
    if (rc == 0)
        rc = shared_set("bench.tx.b", g_val, 64);
    if (rc != 0) {
        shared_rollback();
        return rc;
    }
    return shared_unlock();
}

static double loop_measure(void *ctx, uint32_t ms)
{
    return bench_loop((int (*)(void *, uint64_t))ctx, NULL, ms);
}

/* ---- two processes ------------------------------------------------------ */

static char g_ch_in[48], g_ch_out[48];

/* Child: receives on argv[0], answers each message on argv[1]; a message of
 * length 0 ends it. */
int role_shared_echo(int argc, char **argv)
{
    char buf[SHARED_MSG_MAX];
    uint32_t len;
    if (argc < 2)
        return 2;
    for (;;) {
        int rc = shared_recv(argv[0], buf, sizeof buf, &len, 10000);
        if (rc != 0)
            return 3;
        if (len == 0)
            return 0;
        if (shared_send(argv[1], buf, len, 10000) != 0)
            return 4;
    }
}

/* Child: receives on argv[0] until a message of length 0, then answers on
 * argv[1]. */
int role_shared_sink(int argc, char **argv)
{
    char buf[SHARED_MSG_MAX];
    uint32_t len;
    if (argc < 2)
        return 2;
    for (;;) {
        if (shared_recv(argv[0], buf, sizeof buf, &len, 10000) != 0)
            return 3;
        if (len == 0)
            return shared_send(argv[1], "", 0, 10000) == 0 ? 0 : 4;
    }
}

/* Child: waits for each change of argv[0] and answers by setting argv[1];
 * an empty value of argv[0] ends it. It sets argv[1] once when ready. */
int role_shared_notify(int argc, char **argv)
{
    uint64_t seen = 0;
    uint32_t len;
    char buf[64];
    if (argc < 2)
        return 2;
    int rc = shared_get(argv[0], buf, sizeof buf, &len, &seen);
    if (rc != 0 && rc != SHARED_ENOTFOUND)
        return 3;
    if (shared_set(argv[1], "ready", 5) != 0)
        return 4;
    for (;;) {
        if (shared_wait(argv[0], seen, 10000, &seen) != 0)
            return 5;
        if (shared_get(argv[0], buf, sizeof buf, &len, NULL) != 0)
            return 6;
        if (len == 0)
            return 0;
        if (shared_set(argv[1], buf, len) != 0)
            return 7;
    }
}

static int finish_child(int h, int rc)
{
    int code = proc_wait(h, 15000);
    if (code != 0) {
        if (code == PROC_RUNNING)
            proc_kill(h);
        fprintf(stderr, "shared_bench: child ended with %d\n", code);
        return -1;
    }
    return rc;
}

/* One round trip with a child started on first use (for --count). */
static int g_echo = -1;

static void stop_echo(void)
{
    if (g_echo >= 0 && shared_send(g_ch_in, "", 0, 10000) == 0)
        finish_child(g_echo, 0);
    g_echo = -1;
}

static int op_msgrt(void *ctx, uint64_t i)
{
    uint32_t len;
    (void)ctx;
    if (g_echo < 0) {
        const char *args[] = {"shared-echo", g_ch_in, g_ch_out};
        if ((g_echo = bench_start_role(3, args)) < 0)
            return -1;
        atexit(stop_echo);
    }
    memcpy(g_val, &i, sizeof i);
    int rc = shared_send(g_ch_in, g_val, 64, 10000);
    if (rc == 0)
        rc = shared_recv(g_ch_out, g_buf, sizeof g_buf, &len, 30000);
    return rc;
}

static double msg_roundtrip(void *ctx, uint32_t ms)
{
    (void)ctx;
    const char *args[] = {"shared-echo", g_ch_in, g_ch_out};
    int h = bench_start_role(3, args);
    if (h < 0)
        return -1;
    uint32_t len;
    int rc = 0;
    uint64_t n = 0, start = 0, now = 0;
    /* The first exchange waits for the child to start. */
    rc = shared_send(g_ch_in, g_val, 64, 10000);
    if (rc == 0)
        rc = shared_recv(g_ch_out, g_buf, sizeof g_buf, &len, 30000);
    start = bench_now_ns();
    uint64_t end = start + (uint64_t)ms * 1000000u;
    while (rc == 0) {
        for (int k = 0; k < 8 && rc == 0; k++, n++) {
            rc = shared_send(g_ch_in, g_val, 64, 10000);
            if (rc == 0)
                rc = shared_recv(g_ch_out, g_buf, sizeof g_buf, &len, 10000);
        }
        now = bench_now_ns();
        if (now >= end)
            break;
    }
    if (shared_send(g_ch_in, "", 0, 10000) != 0)
        rc = -1;
    if (finish_child(h, rc) != 0 || rc != 0)
        return -1;
    return (double)(now - start) / (double)n;
}

static double msg_stream(void *ctx, uint32_t ms)
{
    (void)ctx;
    const char *args[] = {"shared-sink", g_ch_in, g_ch_out};
    int h = bench_start_role(3, args);
    if (h < 0)
        return -1;
    uint32_t len;
    int rc = 0;
    uint64_t n = 0;
    uint64_t start = bench_now_ns(), end = start + (uint64_t)ms * 1000000u;
    /* Includes the child's start; long enough runs make that small, and
     * the first message only waits for room, never for the child. */
    while (rc == 0 && bench_now_ns() < end)
        for (int k = 0; k < 16 && rc == 0; k++, n++)
            rc = shared_send(g_ch_in, g_val, 64, 30000);
    if (rc == 0)
        rc = shared_send(g_ch_in, "", 0, 30000);
    if (rc == 0)
        rc = shared_recv(g_ch_out, g_buf, sizeof g_buf, &len, 30000);
    uint64_t now = bench_now_ns();
    if (finish_child(h, rc) != 0 || rc != 0)
        return -1;
    return (double)(now - start) / (double)n;
}

static double notify_roundtrip(void *ctx, uint32_t ms)
{
    (void)ctx;
    uint64_t pong = 0;
    uint32_t len;
    int rc = shared_get("bench.pong", g_buf, sizeof g_buf, &len, &pong);
    if (rc != 0 && rc != SHARED_ENOTFOUND)
        return -1;
    const char *args[] = {"shared-notify", "bench.ping", "bench.pong"};
    int h = bench_start_role(3, args);
    if (h < 0)
        return -1;
    rc = shared_wait("bench.pong", pong, 30000, &pong); /* ready */
    uint64_t n = 0, start = bench_now_ns(), now = start;
    uint64_t end = start + (uint64_t)ms * 1000000u;
    while (rc == 0) {
        for (int k = 0; k < 8 && rc == 0; k++, n++) {
            memcpy(g_val, &n, sizeof n);
            rc = shared_set("bench.ping", g_val, 8);
            if (rc == 0)
                rc = shared_wait("bench.pong", pong, 10000, &pong);
        }
        now = bench_now_ns();
        if (now >= end)
            break;
    }
    if (shared_set("bench.ping", "", 0) != 0)
        rc = -1;
    if (finish_child(h, rc) != 0 || rc != 0)
        return -1;
    return (double)(now - start) / (double)n;
}

/* ---- a full table ------------------------------------------------------- */

typedef struct slot_pick {
    uint32_t lo, hi;
    char lo_key[SHARED_KEY_MAX + 1], hi_key[SHARED_KEY_MAX + 1];
    const char *prefix;
} slot_pick;

static int pick(const shared_slot_info *s, void *ctx)
{
    slot_pick *p = ctx;
    if (s->key_len == 0 || strncmp(s->key, p->prefix, strlen(p->prefix)))
        return 0;
    if (!p->lo_key[0] || s->index < p->lo) {
        p->lo = s->index;
        memcpy(p->lo_key, s->key, sizeof p->lo_key);
    }
    if (!p->hi_key[0] || s->index > p->hi) {
        p->hi = s->index;
        memcpy(p->hi_key, s->key, sizeof p->hi_key);
    }
    return 0;
}

/* Child (own SHARED_INSTANCE): fills every slot, then times a get of the
 * key in the lowest and in the highest slot. Prints "first last" in ns. */
int role_shared_keys(int argc, char **argv)
{
    shared_statistics st = {.size = sizeof st};
    if (argc < 1 || shared_stats(&st) != 0)
        return 2;
    uint32_t ms = (uint32_t)atoi(argv[0]);
    char key[32];
    memset(g_val, 'k', 64);
    for (uint32_t i = st.keys_used; i < st.max_keys; i++) {
        snprintf(key, sizeof key, "bench.key.%u", (unsigned)i);
        if (shared_set(key, g_val, 64) != 0)
            return 3;
    }
    slot_pick p = {.prefix = "bench.key."};
    if (shared_inspect(pick, &p) < 0 || !p.hi_key[0])
        return 4;
    memcpy(g_first, p.lo_key, sizeof g_first);
    memcpy(g_far, p.hi_key, sizeof g_far);
    double a = bench_loop(op_get64, NULL, ms);
    double b = bench_loop(op_get64far, NULL, ms);
    printf("%u %.3f %.3f\n", (unsigned)st.max_keys, a, b);
    return a < 0 || b < 0 ? 5 : 0;
}

/* ---- registration ------------------------------------------------------- */

static void add(const char *id, const char *name, int (*op)(void *, uint64_t))
{
    bench_case c = {.id = id,
                    .name = name,
                    .kind = BENCH_SHARED,
                    .measure = loop_measure,
                    .op = op,
                    .ctx = (void *)op};
    bench_add(&c);
}

static void add_multi(const char *id, const char *name,
                      double (*measure)(void *, uint32_t))
{
    bench_case c = {
        .id = id, .name = name, .kind = BENCH_SHARED, .measure = measure};
    bench_add(&c);
}

void shared_ops_register(void)
{
    char key[32];
    memset(g_val, 'v', sizeof g_val);
    /* On a fresh instance the first key created takes the first slot; the
     * keys of the other operations follow, then fill keys up to slot
     * FAR_SLOT, the key behind 211 others. */
    int rc = shared_set(g_first, g_val, 64);
    static const char *const keys[] = {"bench.k1k",  "bench.s64",  "bench.s1k",
                                       "bench.tx.a", "bench.tx.b", "bench.ping",
                                       "bench.pong"};
    uint32_t len;
    for (size_t i = 0; rc == 0 && i < sizeof keys / sizeof keys[0]; i++)
        if (shared_get(keys[i], g_buf, sizeof g_buf, &len, NULL) != 0)
            rc = shared_set(keys[i], g_val, i == 0 ? 1024 : 64);
    if (rc == 0)
        rc = shared_add("bench.n", 0, NULL);
    if (rc == 0)
        rc = shared_add("bench.scale", 0, NULL);
    if (rc == 0 && shared_get("bench.c64", g_buf, sizeof g_buf, &len, NULL) ==
                       SHARED_ENOTFOUND)
        rc = shared_set("bench.c64", g_val, 64);
    if (rc == 0)
        rc = shared_get("bench.c64", g_buf, sizeof g_buf, &len, &g_cas_version);
    shared_statistics st = {.size = sizeof st};
    if (rc == 0)
        rc = shared_stats(&st);
    for (uint32_t i = st.keys_used; rc == 0 && i <= FAR_SLOT; i++) {
        snprintf(key, sizeof key, "bench.fill.%03u", (unsigned)i);
        rc = shared_set(key, g_val, 64);
    }
    slot_pick p = {.prefix = "bench."};
    if (rc == 0 && shared_inspect(pick, &p) < 0)
        rc = SHARED_ECORRUPT;
    if (rc != 0) {
        bench_skip("shared", shared_strerror(rc));
        return;
    }
    /* The key in the lowest slot, and the fill key in the highest. */
    memcpy(g_first, p.lo_key, sizeof g_first);
    slot_pick f = {.prefix = "bench.fill."};
    shared_inspect(pick, &f);
    memcpy(g_far, f.hi_key, sizeof g_far);
    printf("  keys: '%s' in slot %u, '%s' in slot %u\n", g_first,
           (unsigned)p.lo, g_far, (unsigned)f.hi);
    snprintf(g_ch_in, sizeof g_ch_in, "bench.%s.in", bench_tag());
    snprintf(g_ch_out, sizeof g_ch_out, "bench.%s.out", bench_tag());

    add("shared.get64", "shared_get 64 B, key in the lowest slot", op_get64);
    add("shared.get64far", "shared_get 64 B, key behind 211 others",
        op_get64far);
    add("shared.get1k", "shared_get 1 KiB", op_get1k);
    add("shared.set64", "shared_set 64 B", op_set64);
    add("shared.set1k", "shared_set 1 KiB", op_set1k);
    add("shared.add", "shared_add", op_add);
    add("shared.cas64", "shared_cas 64 B", op_cas64);
    add("shared.tx2", "2-key transaction (lock, 2 x set 64 B, unlock)", op_tx2);
    bench_case rt = {.id = "shared.msgrt",
                     .name = "shared_send + shared_recv 64 B round trip",
                     .kind = BENCH_SHARED,
                     .measure = msg_roundtrip,
                     .op = op_msgrt};
    bench_add(&rt);
    add_multi("shared.stream", "shared_send 64 B streaming to a receiver",
              msg_stream);
    add_multi("shared.notify", "set + shared_wait ping-pong", notify_roundtrip);
}
