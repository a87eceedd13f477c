/*
 * section.c (POSIX) - the region as a POSIX shared memory object.
 *
 * Name: /shared-<uid>-<build id>[-<SHARED_INSTANCE>], mode 0600. The first
 * opener creates it with O_EXCL, sizes and formats it, initialises the
 * robust mutex in the header's backend area and only then sets the ready
 * flag; every other opener waits (bounded) for that flag. A creator that
 * died before setting it is detected by its pid, and the object is made anew.
 *
 * Lifetime mirrors Windows: every process registers as a peer on attach and
 * leaves when it exits (library destructor). The last one to leave marks
 * the object closed and removes it, under the lock, so a new first user
 * starts clean; an opener that finds it closed makes a new one. An object
 * whose every peer died without leaving is recognised on attach (no live
 * peer after reaping) and wiped.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../backend.h"
#include "posix.h"

#define INSTANCE_MAX 32

static pthread_mutex_t g_attach = PTHREAD_MUTEX_INITIALIZER;
static shared__region *_Atomic g_region; /* mapped: the lock is usable */
static _Atomic int g_ready;              /* mapped and registered */
static char g_name[96];
static int g_created;
static pthread_once_t g_atfork_once = PTHREAD_ONCE_INIT;

const char *shared__backend_name(void)
{
    return "posix";
}

const char *shared__backend_object_name(void)
{
    return atomic_load(&g_region) ? g_name : "";
}

shared__region *shared__posix_region(void)
{
    return atomic_load_explicit(&g_region, memory_order_acquire);
}

static int sys_error(int err)
{
    shared__set_os_error((uint32_t)err);
    return err == EACCES || err == EPERM ? SHARED_EACCESS : SHARED_ESYSTEM;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {0, (long)ms * 1000000L};
    nanosleep(&ts, NULL);
}

static int make_name(void)
{
    const char *inst = getenv("SHARED_INSTANCE");
    int n = snprintf(g_name, sizeof g_name, "/shared-%u-%016llx",
                     (unsigned)geteuid(), (unsigned long long)SHARED_BUILD_ID);
    if (inst && *inst) {
        size_t len = strlen(inst);
        if (len > INSTANCE_MAX ||
            strspn(inst, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                         "0123456789._-") != len)
            return SHARED_EINVAL;
        snprintf(g_name + n, sizeof g_name - (size_t)n, "-%s", inst);
    }
    return 0;
}

static shared__region *map(int fd)
{
    void *p = mmap(NULL, sizeof(shared__region), PROT_READ | PROT_WRITE,
                   MAP_SHARED, fd, 0);
    return p == MAP_FAILED ? NULL : p;
}

/* First opener: size, format, init the mutex, publish. */
static int create(int fd, shared__region **out)
{
    if (ftruncate(fd, (off_t)sizeof(shared__region)) != 0)
        return sys_error(errno);
    shared__region *r = map(fd);
    if (!r)
        return sys_error(errno);
    shared__region_format(r);
    atomic_store(&r->hdr.creator_pid, (uint32_t)getpid());
    int rc = shared__posix_mutex_init(r);
    if (rc) {
        munmap(r, sizeof *r);
        return rc;
    }
    shared__region_publish(r);
    *out = r;
    return 0;
}

/* Later openers: check ownership and size, map, wait for the ready flag.
 * Returns SHARED__RETRY if the creator died before publishing. */
static int open_existing(int fd, uint64_t deadline, shared__region **out)
{
    struct stat st;
    for (;;) {
        if (fstat(fd, &st) != 0)
            return sys_error(errno);
        if (st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
            shared__set_os_error(EPERM);
            return SHARED_EACCESS;
        }
        if (st.st_size != 0 || shared__backend_ticks_ms() >= deadline)
            break;
        sleep_ms(1);
    }
    if ((uint64_t)st.st_size != sizeof(shared__region))
        return st.st_size == 0 ? SHARED__RETRY : SHARED_EVERSION;
    shared__region *r = map(fd);
    if (!r)
        return sys_error(errno);
    while (atomic_load_explicit(&r->hdr.ready, memory_order_acquire) !=
           SHARED__READY) {
        if (shared__backend_ticks_ms() >= deadline) {
            pid_t creator = (pid_t)atomic_load(&r->hdr.creator_pid);
            munmap(r, sizeof *r);
            if (creator > 0 && kill(creator, 0) != 0 && errno == ESRCH)
                return SHARED__RETRY;
            return SHARED_ETIMEDOUT;
        }
        sleep_ms(1);
    }
    int rc = shared__region_check(r);
    if (rc) {
        munmap(r, sizeof *r);
        return rc;
    }
    *out = r;
    return 0;
}

/* Maps the object: creates it, or opens an existing one. */
static int map_object(shared__region **out)
{
    int rc = make_name();
    if (rc)
        return rc;
    uint64_t deadline = shared__backend_ticks_ms() + shared__timeout();
    for (int attempt = 0; attempt < 3; attempt++) {
        int fd = shm_open(g_name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0) {
            rc = create(fd, out);
            close(fd);
            g_created = rc == 0;
            if (rc)
                shm_unlink(g_name);
            return rc;
        }
        if (errno != EEXIST)
            return sys_error(errno);
        fd = shm_open(g_name, O_RDWR | O_CLOEXEC, 0);
        if (fd < 0) {
            if (errno == ENOENT)
                continue; /* removed meanwhile: try to create it */
            return sys_error(errno);
        }
        rc = open_existing(fd, deadline, out);
        close(fd);
        if (rc != SHARED__RETRY)
            return rc;
        /* The creator died half-way: remove its object and start over. */
        shm_unlink(g_name);
        deadline = shared__backend_ticks_ms() + shared__timeout();
    }
    return SHARED_ETIMEDOUT;
}

int shared__backend_created_here(void)
{
    return g_created;
}

/* A forked child is another process: it registers anew on its next call
 * (its parent's entry stays the parent's). */
static void after_fork_child(void)
{
    atomic_store(&g_ready, 0);
    g_created = 0;
    shared__set_self_peer(UINT32_MAX);
}

static void install_atfork(void)
{
    pthread_atfork(NULL, NULL, after_fork_child);
}

/* Maps (if needed) and registers this process; retries when the object
 * turns out to be closed by its last peer. */
static int attach(void)
{
    char exe[64];
    shared__posix_exe_name(exe, sizeof exe);
    for (int attempt = 0; attempt < 3; attempt++) {
        shared__region *r = atomic_load(&g_region);
        int rc = 0, wiped = 0;
        if (!r) {
            rc = map_object(&r);
            if (rc)
                return rc;
            atomic_store_explicit(&g_region, r, memory_order_release);
        }
        rc = shared__join(r, exe, !g_created, &wiped);
        if (rc != SHARED__RETRY) {
            g_created |= wiped;
            return rc;
        }
        atomic_store(&g_region, NULL);
        munmap(r, sizeof *r);
        g_created = 0;
    }
    return SHARED_ETIMEDOUT;
}

int shared__backend_attach(shared__region **region)
{
    if (atomic_load_explicit(&g_ready, memory_order_acquire)) {
        *region = atomic_load(&g_region);
        return 0;
    }
    pthread_once(&g_atfork_once, install_atfork);
    int rc = 0;
    pthread_mutex_lock(&g_attach);
    if (!atomic_load(&g_ready)) {
        rc = attach();
        if (rc == 0)
            atomic_store_explicit(&g_ready, 1, memory_order_release);
    }
    pthread_mutex_unlock(&g_attach);
    *region = atomic_load(&g_region);
    return rc;
}

/*
 * Leaves the registry when the process exits or unloads the library. The
 * last peer closes and removes the object, under the lock (bounded: a lock
 * held too long means someone is alive; then only the lock-free leave).
 */
__attribute__((destructor)) static void detach(void)
{
    shared__region *r = atomic_load(&g_region);
    uint32_t me = shared__self_peer(), pid = (uint32_t)getpid();
    if (!r || !atomic_load(&g_ready) || me == UINT32_MAX)
        return;
    if (shared__acquire(r, 200) != 0) {
        shared__peer_leave(r, me, pid);
        return;
    }
    shared__peer_leave(r, me, pid);
    shared__set_self_peer(UINT32_MAX);
    if (shared__peer_reap(r, shared__backend_alive, pid) == 0) {
        atomic_store(&r->hdr.closed, 1);
        shm_unlink(g_name);
    }
    shared__backend_unlock();
}
