/*
 * section.c (POSIX) - the region as a POSIX shared memory object.
 *
 * Name: /shared-<uid>-<build id>[-<SHARED_INSTANCE>], mode 0600.
 *
 * Making the object is guarded by the creation lock: an open-file-
 * description lock (fcntl F_OFD_SETLK, write) on the object itself. An
 * opener (the O_EXCL creator and everyone else alike) that finds the object
 * without its ready flag takes that lock, without waiting, and holds it
 * while it looks again and, if still not ready, sizes and formats it,
 * initialises the robust mutex in the header's backend area and only then
 * sets the ready flag. The kernel drops the lock when its holder dies, so:
 *   - lock busy: a live process is making the object; wait (bounded) for
 *     the flag;
 *   - lock free and still not ready: whoever made it died half-way (after
 *     shm_open, after ftruncate or while formatting); make it again, in
 *     place, at once;
 *   - but if live registered peers use the object, the flag was damaged,
 *     not left unset: the object is never formatted or removed under them
 *     (that would split the state in two). With an intact header the flag
 *     is set again (repaired in place), otherwise attach fails with
 *     SHARED_ECORRUPT.
 * Attach never removes an object; only the last peer does (below).
 *
 * Lifetime mirrors Windows: every process registers as a peer on attach and
 * leaves when it exits (library destructor). The last one to leave marks
 * the object closed and removes it, under the lock, so a new first user
 * starts clean; an opener that finds it closed makes a new one. An object
 * whose every peer died without leaving is recognised on attach (no live
 * peer after reaping) and wiped.
 *
 * The registry lives in the object, so a hostile write can make a live
 * process look gone. Both "last one" decisions (remove at exit, wipe at
 * attach) therefore also ask the kernel: every attached process holds an
 * OFD read lock on byte ATTACH_BYTE of the object (kept by its open
 * descriptor g_fd, dropped by the kernel when it exits); while another
 * process holds one, the object is neither removed nor wiped, whatever the
 * registry says (nor formatted when its ready flag is found cleared). The
 * creation lock is byte CREATE_BYTE, so the two never meet. A lock belongs
 * to an open file description, which a mapping keeps alive: a forked child
 * opens the object anew for its own lock, but the mapping it inherited
 * keeps its parent's description, so a parent killed while such a child
 * lives still counts as attached until the child exits (the object is then
 * kept a little longer, never lost). A process whose attach lock could not
 * be taken is simply not seen by the others' checks.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
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
static int g_fd = -1;  /* the object, open: holds the attach lock */
static pid_t g_fd_pid; /* the process that opened g_fd (fork) */

#define CREATE_BYTE 0 /* OFD write lock: making the object */
#define ATTACH_BYTE 1 /* OFD read lock: attached to it */
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

/* The creation lock (see the top): 0 taken, 1 held by another live
 * process, or an error. Held locks are released with creation_unlock:
 * the mapping keeps the open file description, hence the lock, alive. */
static int creation_lock(int fd, short type)
{
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = type;
    fl.l_whence = SEEK_SET;
    fl.l_start = CREATE_BYTE;
    fl.l_len = 1;
    if (fcntl(fd, F_OFD_SETLK, &fl) == 0)
        return 0;
    if (type != F_UNLCK && (errno == EAGAIN || errno == EACCES))
        return 1;
    return sys_error(errno);
}

/* 1 if a process other than the one owning fd's open file description
 * holds an attach lock (is attached), as the kernel sees it. 1 as well when
 * it can not be told: never remove, wipe or format on a guess. */
static struct flock attach_range(short type)
{
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = type;
    fl.l_whence = SEEK_SET;
    fl.l_start = ATTACH_BYTE;
    fl.l_len = 1;
    return fl;
}

static int attach_held(int fd)
{
    struct flock fl = attach_range(F_WRLCK);
    if (fd < 0 || fcntl(fd, F_OFD_GETLK, &fl) != 0)
        return 1;
    return fl.l_type != F_UNLCK;
}

/* Live registered processes other than this one, read without the lock
 * and without changing anything. */
static uint32_t live_peers(shared__region *r)
{
    return shared__peers_alive(r, shared__backend_alive, 0, (uint32_t)getpid());
}

static int is_ready(shared__region *r)
{
    return atomic_load_explicit(&r->hdr.ready, memory_order_acquire) ==
           SHARED__READY;
}

/* Under the creation lock: makes the object if nobody finished it, or
 * repairs a damaged ready flag. *r is the mapping (NULL: not mapped yet);
 * *made is set if this process formatted it. */
static int make_locked(int fd, shared__region **r, int *made)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return sys_error(errno);
    if (st.st_size == 0 && ftruncate(fd, (off_t)sizeof **r) != 0)
        return sys_error(errno);
    if (st.st_size != 0 && (uint64_t)st.st_size != sizeof **r)
        return SHARED_EVERSION;
    if (!*r && !(*r = map(fd)))
        return sys_error(errno);
    if (is_ready(*r))
        return 0;
    if (live_peers(*r) > 0 || attach_held(fd)) {
        /* Damage, not abandonment: never wipe or remove a used object
         * (attached processes count even if the registry lost them). */
        if (shared__region_check(*r) != 0)
            return SHARED_ECORRUPT;
        shared__region_publish(*r);
        return 0;
    }
    shared__region_format(*r);
    atomic_store(&(*r)->hdr.creator_pid, (uint32_t)getpid());
    int rc = shared__posix_mutex_init(*r);
    if (rc)
        return rc;
    shared__region_publish(*r);
    *made = 1;
    return 0;
}

/* Checks ownership and size, maps, and waits (until `deadline`) for the
 * ready flag, making the object whenever nobody else is making it. */
static int open_object(int fd, uint64_t deadline, shared__region **out,
                       int *made)
{
    struct stat st;
    shared__region *r = NULL;
    int rc = 0;
    for (;;) {
        if (fstat(fd, &st) != 0) {
            rc = sys_error(errno);
            break;
        }
        if (st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
            shared__set_os_error(EPERM);
            rc = SHARED_EACCESS;
            break;
        }
        if (st.st_size != 0 && (uint64_t)st.st_size != sizeof *r) {
            rc = SHARED_EVERSION;
            break;
        }
        if (st.st_size != 0 && !r && !(r = map(fd))) {
            rc = sys_error(errno);
            break;
        }
        if (r && is_ready(r)) {
            rc = shared__region_check(r);
            break;
        }
        rc = creation_lock(fd, F_WRLCK);
        if (rc == 0) {
            rc = make_locked(fd, &r, made);
            int unlock_rc = creation_lock(fd, F_UNLCK);
            if (rc == 0)
                rc = unlock_rc;
            break;
        }
        if (rc < 0)
            break;
        if (shared__backend_ticks_ms() >= deadline) {
            rc = SHARED_ETIMEDOUT; /* a live creator is still at work */
            break;
        }
        sleep_ms(1);
    }
    if (rc && r)
        munmap(r, sizeof *r);
    if (rc == 0)
        *out = r;
    return rc;
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
        if (fd < 0 && errno == EEXIST)
            fd = shm_open(g_name, O_RDWR | O_CLOEXEC, 0);
        if (fd < 0) {
            if (errno == ENOENT)
                continue; /* removed meanwhile: try to create it */
            return sys_error(errno);
        }
        int made = 0;
        rc = open_object(fd, deadline, out, &made);
        if (rc == 0) {
            if (g_fd >= 0)
                close(g_fd);
            g_fd = fd;
            g_fd_pid = getpid();
        } else {
            close(fd);
        }
        g_created = rc == 0 && made;
        return rc;
    }
    return SHARED_ETIMEDOUT;
}

int shared__backend_created_here(void)
{
    return g_created;
}

/* A forked child is another process: it registers anew on its next call
 * (its parent's entry stays the parent's). The child has only the forking
 * thread: if another thread of the parent was inside attach, g_attach is
 * locked for good in the child, so it is made anew (fork does not wait for
 * that attach; what it left half done is redone, as g_ready is 0). A lock
 * of the region held by a parent's thread is bounded by the timeout. */
static void after_fork_child(void)
{
    static const pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
    memcpy(&g_attach, &fresh, sizeof fresh);
    atomic_store(&g_ready, 0);
    g_created = 0;
    shared__set_self_peer(UINT32_MAX);
}

static void install_atfork(void)
{
    pthread_atfork(NULL, NULL, after_fork_child);
}

/* Sets (F_RDLCK) or drops (F_UNLCK) this process's attach lock. */
static int attach_lock(short type)
{
    struct flock fl = attach_range(type);
    return g_fd >= 0 && fcntl(g_fd, F_OFD_SETLK, &fl) == 0 ? 0 : -1;
}

/* 1 if another process is attached, as the kernel sees it (see
 * attach_held); this process's own lock does not count. */
static int others_attached(void)
{
    return attach_held(g_fd);
}

/* A forked child shares its parent's open file description, hence its
 * locks: it opens the object anew for a lock of its own. */
static void own_descriptor(void)
{
    if (g_fd < 0 || g_fd_pid == getpid())
        return;
    struct stat was, now;
    int fd = shm_open(g_name, O_RDWR | O_CLOEXEC, 0);
    if (fd >= 0 && (fstat(g_fd, &was) != 0 || fstat(fd, &now) != 0 ||
                    was.st_dev != now.st_dev || was.st_ino != now.st_ino)) {
        close(fd); /* the name is another object now: no lock at all, */
        fd = -1;   /* so this process never removes or wipes (above) */
    }
    close(g_fd);
    g_fd = fd;
    g_fd_pid = getpid();
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
        own_descriptor();
        /* Alone by the kernel's count too (before taking our own lock). */
        int alone = !others_attached();
        attach_lock(F_RDLCK);
        rc = shared__join(r, exe, !g_created && alone, &wiped);
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

int shared__backend_break_lock(shared__region **region)
{
    pthread_once(&g_atfork_once, install_atfork);
    pthread_mutex_lock(&g_attach);
    shared__region *r = atomic_load(&g_region);
    int rc = 0;
    if (!r) {
        rc = map_object(&r);
        if (rc == 0)
            atomic_store_explicit(&g_region, r, memory_order_release);
    }
    pthread_mutex_unlock(&g_attach);
    if (rc == 0)
        rc = shared__posix_break_lock(r);
    *region = r;
    return rc ? rc : SHARED__OWNER_DIED;
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
    attach_lock(F_UNLCK);
    if (shared__peer_reap(r, shared__backend_alive, pid) == 0) {
        if (others_attached()) {
            /* The registry lost a live process: damage, not the end. */
            shared__count_corrupt(r);
        } else {
            atomic_store(&r->hdr.closed, 1);
            shm_unlink(g_name);
        }
    }
    shared__backend_unlock();
}
