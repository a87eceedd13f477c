/*
 * peers_lmdb.c - LMDB (liblmdb-dev) as a peer: mdb_get in an open read
 * transaction, a whole read transaction (renew + get + reset), and
 * put + commit with MDB_NOSYNC | MDB_WRITEMAP on tmpfs (/dev/shm).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#ifndef HAVE_LMDB
void peers_lmdb_register(void)
{
    bench_skip("LMDB", "liblmdb-dev was not found when building");
}
#else
#  include <lmdb.h>

static MDB_env *g_env;
static MDB_dbi g_dbi;
static MDB_txn *g_rtxn; /* kept; renewed for each read */
static char g_dir[64];
static char g_val[1024];
static volatile char g_sink;

static int get_in(MDB_txn *t, const char *k, size_t want)
{
    MDB_val key = {strlen(k), (void *)k}, val;
    if (mdb_get(t, g_dbi, &key, &val) != 0 || val.mv_size != want)
        return -1;
    memcpy(g_val, val.mv_data, val.mv_size);
    g_sink = g_val[0];
    return 0;
}

static int op_get64(void *ctx, uint64_t i)
{
    (void)ctx, (void)i;
    return get_in(g_rtxn, "k64", 64);
}

static int op_get1k(void *ctx, uint64_t i)
{
    (void)ctx, (void)i;
    return get_in(g_rtxn, "k1k", 1024);
}

static int op_txget64(void *ctx, uint64_t i)
{
    (void)ctx, (void)i;
    if (mdb_txn_renew(g_rtxn) != 0)
        return -1;
    int rc = get_in(g_rtxn, "k64", 64);
    mdb_txn_reset(g_rtxn);
    return rc;
}

static int put(const char *k, size_t len, int keys, uint64_t i)
{
    MDB_txn *t;
    memcpy(g_val, &i, sizeof i);
    if (mdb_txn_begin(g_env, NULL, 0, &t) != 0)
        return -1;
    int rc = 0;
    for (int n = 0; n < keys && rc == 0; n++) {
        char name[16];
        snprintf(name, sizeof name, "%s%d", k, n);
        MDB_val key = {strlen(name), name}, val = {len, g_val};
        rc = mdb_put(t, g_dbi, &key, &val, 0);
    }
    if (rc != 0) {
        mdb_txn_abort(t);
        return -1;
    }
    return mdb_txn_commit(t) == 0 ? 0 : -1;
}

static int op_put64(void *ctx, uint64_t i)
{
    (void)ctx;
    return put("p64.", 64, 1, i);
}

static int op_put1k(void *ctx, uint64_t i)
{
    (void)ctx;
    return put("p1k.", 1024, 1, i);
}

static int op_put2(void *ctx, uint64_t i)
{
    (void)ctx;
    return put("tx.", 64, 2, i);
}

/* The read transaction is open only while gets are measured: an open one
 * pins its snapshot, so that writers could not reuse freed pages and every
 * commit would grow the free list. */
static double loop_measure(void *ctx, uint32_t ms)
{
    int (*op)(void *, uint64_t) = (int (*)(void *, uint64_t))ctx;
    int open = op == op_get64 || op == op_get1k;
    if (open && mdb_txn_renew(g_rtxn) != 0)
        return -1;
    double r = bench_loop(op, NULL, ms);
    if (open)
        mdb_txn_reset(g_rtxn);
    return r;
}

static void add(const char *id, const char *name, int (*op)(void *, uint64_t))
{
    bench_case c = {.id = id,
                    .name = name,
                    .kind = BENCH_PEER,
                    .measure = loop_measure,
                    .ctx = (void *)op};
    bench_add(&c);
}

static void cleanup(void)
{
    char path[96];
    if (g_rtxn)
        mdb_txn_abort(g_rtxn);
    if (g_env)
        mdb_env_close(g_env);
    snprintf(path, sizeof path, "%s/data.mdb", g_dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/lock.mdb", g_dir);
    unlink(path);
    rmdir(g_dir);
}

void peers_lmdb_register(void)
{
    MDB_txn *t;
    snprintf(g_dir, sizeof g_dir, "/dev/shm/%s-lmdb-XXXXXX", bench_tag());
    if (!mkdtemp(g_dir) || mdb_env_create(&g_env) != 0 ||
        mdb_env_set_mapsize(g_env, 64u << 20) != 0 ||
        mdb_env_open(g_env, g_dir, MDB_NOSYNC | MDB_WRITEMAP, 0600) != 0 ||
        mdb_txn_begin(g_env, NULL, 0, &t) != 0 ||
        mdb_dbi_open(t, NULL, 0, &g_dbi) != 0) {
        bench_skip("LMDB", "cannot open an environment in /dev/shm");
        return;
    }
    memset(g_val, 'v', sizeof g_val);
    MDB_val k1 = {3, "k64"}, v1 = {64, g_val};
    MDB_val k2 = {3, "k1k"}, v2 = {1024, g_val};
    if (mdb_put(t, g_dbi, &k1, &v1, 0) || mdb_put(t, g_dbi, &k2, &v2, 0) ||
        mdb_txn_commit(t) || mdb_txn_begin(g_env, NULL, MDB_RDONLY, &g_rtxn)) {
        bench_skip("LMDB", "cannot write the first keys");
        return;
    }
    mdb_txn_reset(g_rtxn);
    atexit(cleanup);
    add("lmdb.get64", "LMDB mdb_get 64 B in a read txn", op_get64);
    add("lmdb.txget64", "LMDB read txn renew + mdb_get 64 B + reset",
        op_txget64);
    add("lmdb.get1k", "LMDB mdb_get 1 KiB in a read txn", op_get1k);
    add("lmdb.put64", "LMDB put 64 B + commit (NOSYNC, WRITEMAP, tmpfs)",
        op_put64);
    add("lmdb.put1k", "LMDB put 1 KiB + commit (NOSYNC, WRITEMAP, tmpfs)",
        op_put1k);
    add("lmdb.put2", "LMDB 2 puts 64 B + commit", op_put2);
}
#endif
