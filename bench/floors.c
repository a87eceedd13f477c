/*
 * floors.c - the bare mechanisms an operation of shared cannot beat: a
 * seqlock copy out of a MAP_SHARED page (a lock-free read), a robust
 * process-shared mutex pair around a memcpy (a locked write), an atomic
 * add, and a futex ping-pong between two processes (a wake-up round trip).
 */
#ifndef _WIN32
#  define _GNU_SOURCE
#endif
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _WIN32
#  include <windows.h>
#else
#  include <errno.h>
#  include <linux/futex.h>
#  include <pthread.h>
#  include <signal.h>
#  include <sys/mman.h>
#  include <sys/syscall.h>
#  include <sys/wait.h>
#  include <unistd.h>
#endif

#include "bench.h"

/* One page shared the way the library shares its state. */
typedef struct floor_page {
    _Atomic uint32_t seq;
    _Atomic int64_t counter;
    _Atomic uint32_t futex_word;
#ifndef _WIN32
    pthread_mutex_t mutex;
#endif
    char value[1024];
    char value2[1024];
} floor_page;

static floor_page *g_page;
static char g_out[1024];
static volatile char g_sink;

static floor_page *map_page(void)
{
#ifdef _WIN32
    HANDLE m = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0,
                                  sizeof(floor_page), NULL);
    return m ? MapViewOfFile(m, FILE_MAP_ALL_ACCESS, 0, 0, 0) : NULL;
#else
    void *p = mmap(NULL, sizeof(floor_page), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
#endif
}

/* A seqlock read: sequence, copy, fence, sequence again. */
static int seqlock_copy(size_t len)
{
    for (;;) {
        uint32_t s0 = atomic_load_explicit(&g_page->seq, memory_order_acquire);
        if (s0 & 1)
            continue;
        memcpy(g_out, g_page->value, len);
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&g_page->seq, memory_order_relaxed) == s0)
            break;
    }
    g_sink = g_out[len - 1];
    return 0;
}

static int seqlock64(void *ctx, uint64_t i)
{
    (void)ctx, (void)i;
    return seqlock_copy(64);
}

static int seqlock1k(void *ctx, uint64_t i)
{
    (void)ctx, (void)i;
    return seqlock_copy(1024);
}

static int atomic_add(void *ctx, uint64_t i)
{
    (void)ctx, (void)i;
    atomic_fetch_add_explicit(&g_page->counter, 1, memory_order_seq_cst);
    return 0;
}

static double loop_measure(void *ctx, uint32_t ms);

#ifndef _WIN32
static int lock(void)
{
    int rc = pthread_mutex_lock(&g_page->mutex);
    if (rc == EOWNERDEAD)
        rc = pthread_mutex_consistent(&g_page->mutex);
    return rc;
}

/* A write under the lock, made visible with the seqlock's counter. */
static int locked_copy(size_t len, int copies)
{
    if (lock() != 0)
        return -1;
    atomic_fetch_add_explicit(&g_page->seq, 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    memcpy(g_page->value, g_out, len);
    if (copies > 1)
        memcpy(g_page->value2, g_out, len);
    atomic_fetch_add_explicit(&g_page->seq, 1, memory_order_release);
    pthread_mutex_unlock(&g_page->mutex);
    return 0;
}

static int mutex64(void *ctx, uint64_t i)
{
    (void)ctx, (void)i;
    return locked_copy(64, 1);
}

static int mutex1k(void *ctx, uint64_t i)
{
    (void)ctx, (void)i;
    return locked_copy(1024, 1);
}

static int mutex2x64(void *ctx, uint64_t i)
{
    (void)ctx, (void)i;
    return locked_copy(64, 2);
}

static int mutex_counter(void *ctx, uint64_t i)
{
    (void)ctx, (void)i;
    if (lock() != 0)
        return -1;
    atomic_store_explicit(
        &g_page->counter,
        atomic_load_explicit(&g_page->counter, memory_order_relaxed) + 1,
        memory_order_relaxed);
    pthread_mutex_unlock(&g_page->mutex);
    return 0;
}

static long futex(_Atomic uint32_t *w, int op, uint32_t val)
{
    return syscall(SYS_futex, (uint32_t *)w, op, val, NULL, NULL, 0);
}

/* Blocks while *w == val (spurious wake-ups and EAGAIN just retry). */
static void futex_wait_while(_Atomic uint32_t *w, uint32_t val)
{
    while (atomic_load_explicit(w, memory_order_acquire) == val)
        futex(w, FUTEX_WAIT, val);
}

static void futex_set_wake(_Atomic uint32_t *w, uint32_t val)
{
    atomic_store_explicit(w, val, memory_order_release);
    futex(w, FUTEX_WAKE, 1);
}

/* Futex ping-pong: 1 = ping (parent -> child), 2 = pong, 3 = stop. */
static double futex_pingpong(void *ctx, uint32_t ms)
{
    (void)ctx;
    _Atomic uint32_t *w = &g_page->futex_word;
    atomic_store(w, 0);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        for (;;) {
            futex_wait_while(w, 0);
            futex_wait_while(w, 2);
            if (atomic_load(w) == 3)
                _exit(0);
            futex_set_wake(w, 2);
        }
    }
    uint64_t n = 0, start = bench_now_ns();
    uint64_t end = start + (uint64_t)ms * 1000000u, now;
    do {
        for (int k = 0; k < 16; k++, n++) {
            futex_set_wake(w, 1);
            futex_wait_while(w, 1);
        }
        now = bench_now_ns();
    } while (now < end);
    futex_set_wake(w, 3);
    int status;
    waitpid(pid, &status, 0);
    return (double)(now - start) / (double)n;
}
#endif

static double loop_measure(void *ctx, uint32_t ms)
{
    return bench_loop((int (*)(void *, uint64_t))ctx, NULL, ms);
}

static void add_loop(const char *id, const char *name,
                     int (*op)(void *, uint64_t))
{
    bench_case c = {.id = id,
                    .name = name,
                    .kind = BENCH_FLOOR,
                    .measure = loop_measure,
                    .op = NULL,
                    .ctx = (void *)op};
    bench_add(&c);
}

void floors_register(void)
{
    g_page = map_page();
    if (!g_page) {
        bench_skip("floors", "cannot map a shared page");
        return;
    }
    memset(g_page->value, 'v', sizeof g_page->value);
    memset(g_out, 'o', sizeof g_out);
#ifndef _WIN32
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&g_page->mutex, &a);
    pthread_mutexattr_destroy(&a);
#endif
    add_loop("floor.seqlock64", "seqlock copy 64 B (MAP_SHARED page)",
             seqlock64);
    add_loop("floor.seqlock1k", "seqlock copy 1 KiB (MAP_SHARED page)",
             seqlock1k);
#ifndef _WIN32
    add_loop("floor.mutex64", "robust mutex pair + memcpy 64 B", mutex64);
    add_loop("floor.mutex1k", "robust mutex pair + memcpy 1 KiB", mutex1k);
    add_loop("floor.mutex2x64", "robust mutex pair + 2 memcpy 64 B", mutex2x64);
    add_loop("floor.mutexadd", "robust mutex pair + counter++", mutex_counter);
#endif
    add_loop("floor.atomicadd", "atomic add (lock xadd)", atomic_add);
#ifndef _WIN32
    bench_case c = {.id = "floor.futex",
                    .name = "futex ping-pong, 2 processes",
                    .kind = BENCH_FLOOR,
                    .measure = futex_pingpong};
    bench_add(&c);
#endif
}
