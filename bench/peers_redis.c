/*
 * peers_redis.c (POSIX) - Redis as a peer, through hiredis over a unix
 * socket: GET and SET of 64 B. The bench starts its own redis-server
 * (port 0: no TCP listener; socket in a private temp dir, no persistence)
 * and stops it at exit.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "proc.h"

#ifndef HAVE_HIREDIS
void peers_redis_register(void)
{
    bench_skip("Redis", "libhiredis-dev was not found when building");
}
#else
#  include <hiredis/hiredis.h>

extern char **environ;

static pid_t g_server;
static char g_dir[64], g_sock[96], g_log[96];
static redisContext *g_ctx;
static char g_val[64];

static int command(const char *fmt, const char *arg1, size_t len1,
                   int want_type)
{
    redisReply *r = redisCommand(g_ctx, fmt, arg1, g_val, len1);
    int ok = r && r->type == want_type;
    if (r)
        freeReplyObject(r);
    return ok ? 0 : -1;
}

static int op_get(void *ctx, uint64_t i)
{
    (void)ctx, (void)i;
    redisReply *r = redisCommand(g_ctx, "GET k64");
    int ok = r && r->type == REDIS_REPLY_STRING && r->len == 64;
    if (ok)
        memcpy(g_val, r->str, 64);
    if (r)
        freeReplyObject(r);
    return ok ? 0 : -1;
}

static int op_set(void *ctx, uint64_t i)
{
    (void)ctx;
    memcpy(g_val, &i, sizeof i);
    return command("SET %s %b", "s64", 64, REDIS_REPLY_STATUS);
}

static double loop_measure(void *ctx, uint32_t ms)
{
    return bench_loop((int (*)(void *, uint64_t))ctx, NULL, ms);
}

static void stop(void)
{
    char path[128];
    if (g_ctx)
        redisFree(g_ctx);
    if (g_server > 0) {
        kill(g_server, SIGTERM);
        int status;
        waitpid(g_server, &status, 0);
    }
    unlink(g_sock);
    unlink(g_log);
    snprintf(path, sizeof path, "%s/dump.rdb", g_dir);
    unlink(path);
    rmdir(g_dir);
}

void peers_redis_register(void)
{
    if (access("/usr/bin/redis-server", X_OK) != 0) {
        bench_skip("Redis", "redis-server is not installed");
        return;
    }
    snprintf(g_dir, sizeof g_dir, "/tmp/%s-redis-XXXXXX", bench_tag());
    if (!mkdtemp(g_dir)) {
        bench_skip("Redis", "no temp dir");
        return;
    }
    snprintf(g_sock, sizeof g_sock, "%s/redis.sock", g_dir);
    snprintf(g_log, sizeof g_log, "%s/redis.log", g_dir);
    char *argv[] = {"redis-server", "--port",      "0",
                    "--unixsocket", g_sock,        "--unixsocketperm",
                    "700",          "--save",      "",
                    "--appendonly", "no",          "--dir",
                    g_dir,          "--daemonize", "no",
                    "--loglevel",   "warning",     "--logfile",
                    g_log,          NULL};
    if (posix_spawn(&g_server, "/usr/bin/redis-server", NULL, NULL, argv,
                    environ) != 0) {
        bench_skip("Redis", "cannot start redis-server");
        rmdir(g_dir);
        return;
    }
    atexit(stop);
    for (int tries = 0; tries < 250 && !g_ctx; tries++) {
        redisContext *c = redisConnectUnix(g_sock);
        if (c && !c->err)
            g_ctx = c;
        else {
            if (c)
                redisFree(c);
            proc_sleep_ms(20);
        }
    }
    memset(g_val, 'v', sizeof g_val);
    if (!g_ctx || command("SET %s %b", "k64", 64, REDIS_REPLY_STATUS) != 0) {
        bench_skip("Redis", "redis-server did not answer on its socket");
        return;
    }
    bench_case get = {.id = "redis.get64",
                      .name = "Redis GET 64 B (hiredis, unix socket)",
                      .kind = BENCH_PEER,
                      .measure = loop_measure,
                      .ctx = (void *)op_get};
    bench_case set = {.id = "redis.set64",
                      .name = "Redis SET 64 B (hiredis, unix socket)",
                      .kind = BENCH_PEER,
                      .measure = loop_measure,
                      .ctx = (void *)op_set};
    bench_add(&get);
    bench_add(&set);
}
#endif
