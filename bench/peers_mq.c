/*
 * peers_mq.c (POSIX) - POSIX message queues as a peer: a 64 B round trip
 * between two processes (two queues, the child echoes) and streaming 64 B
 * messages to a receiving process.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

static char g_qa[48], g_qb[48];

static int open_pair(mqd_t *a, mqd_t *b)
{
    struct mq_attr at = {.mq_maxmsg = 10, .mq_msgsize = 64};
    mq_unlink(g_qa);
    mq_unlink(g_qb);
    *a = mq_open(g_qa, O_RDWR | O_CREAT | O_EXCL, 0600, &at);
    *b = mq_open(g_qb, O_RDWR | O_CREAT | O_EXCL, 0600, &at);
    mq_unlink(g_qa); /* gone when both processes close them */
    mq_unlink(g_qb);
    if (*a == (mqd_t)-1 || *b == (mqd_t)-1) {
        if (*a != (mqd_t)-1)
            mq_close(*a);
        if (*b != (mqd_t)-1)
            mq_close(*b);
        return -1;
    }
    return 0;
}

/* echo: answer each message on b; sink: count, answer the empty one. */
static void child(mqd_t a, mqd_t b, int echo)
{
    char buf[64];
    for (;;) {
        ssize_t n = mq_receive(a, buf, sizeof buf, NULL);
        if (n < 0)
            _exit(3);
        if (n == 0) {
            if (!echo)
                mq_send(b, buf, 0, 0);
            _exit(0);
        }
        if (echo && mq_send(b, buf, (size_t)n, 0) != 0)
            _exit(4);
    }
}

static double run(void *ctx, uint32_t ms)
{
    int echo = ctx != NULL;
    mqd_t a, b;
    char buf[64] = {0};
    if (open_pair(&a, &b) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0)
        child(a, b, echo);
    int rc = pid < 0 ? -1 : 0;
    uint64_t n = 0, start = bench_now_ns(), now = start;
    uint64_t end = start + (uint64_t)ms * 1000000u;
    while (rc == 0) {
        for (int k = 0; k < 16 && rc == 0; k++, n++) {
            if (mq_send(a, buf, 64, 0) != 0)
                rc = -1;
            else if (echo && mq_receive(b, buf, sizeof buf, NULL) != 64)
                rc = -1;
        }
        now = bench_now_ns();
        if (now >= end)
            break;
    }
    if (pid > 0) {
        mq_send(a, buf, 0, 0);
        if (!echo && mq_receive(b, buf, sizeof buf, NULL) != 0)
            rc = -1;
        now = bench_now_ns();
        int status;
        waitpid(pid, &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            rc = -1;
    }
    mq_close(a);
    mq_close(b);
    return rc ? -1 : (double)(now - start) / (double)n;
}

void peers_mq_register(void)
{
    snprintf(g_qa, sizeof g_qa, "/%s-mq-a", bench_tag());
    snprintf(g_qb, sizeof g_qb, "/%s-mq-b", bench_tag());
    bench_case rt = {.id = "mq.rt",
                     .name = "POSIX mq 64 B round trip",
                     .kind = BENCH_PEER,
                     .measure = run,
                     .ctx = (void *)1};
    bench_case st = {.id = "mq.stream",
                     .name = "POSIX mq 64 B streaming",
                     .kind = BENCH_PEER,
                     .measure = run,
                     .ctx = NULL};
    bench_add(&rt);
    bench_add(&st);
}
