/*
 * section.c (POSIX) - the region as a POSIX shared memory object.
 *
 * Homes (backend.h): the default object /shared-<uid>-<build id>, mode
 * 0600; a named instance /shared.<name> (shared_open, SHARED_INSTANCE),
 * mode 0600, or 0644 when published; a file home, a regular file at the
 * caller's path, mode 0600 or 0644. A writer opens only objects and files
 * it owns whose mode is the one its flags ask for (no group or other
 * access when private; no group or other write when published). A
 * read-only process (SHARED_OPEN_READONLY) opens the object O_RDONLY, maps
 * it PROT_READ, never creates, formats or registers (see open_readonly),
 * and holds an OFD read lock on READER_BYTE while it is attached.
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
 * starts clean; an opener that finds it closed makes a new one. Read-only
 * processes hold no lock of the region: the last writer removes the object
 * only while it holds a write lock on READER_BYTE, which no reader's read
 * lock can meet (detach, open_readonly). An object
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

/* What the home is: the build's own object, a named instance, a file. */
#define KIND_DEFAULT 0
#define KIND_NAMED 1
#define KIND_FILE 2

static pthread_mutex_t g_attach = PTHREAD_MUTEX_INITIALIZER;
static shared__region *_Atomic g_region; /* mapped: the lock is usable */
static _Atomic int g_ready;              /* mapped and registered */
static char g_name[SHARED_PATH_MAX + 32];
static int g_kind;       /* KIND_* of the home being attached */
static int g_ro;         /* the home is open read-only */
static uint32_t g_flags; /* its SHARED_OPEN_* flags */
static int g_created;
static int g_fd = -1;  /* the object, open: holds the attach lock */
static pid_t g_fd_pid; /* the process that opened g_fd (fork) */

#define CREATE_BYTE 0 /* OFD write lock: making the object */
#define ATTACH_BYTE 1 /* OFD read lock: attached to it */
#define READER_BYTE 2 /* OFD read lock: attached read-only */
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

void shared__backend_sleep_ms(uint32_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L};
    nanosleep(&ts, NULL);
}

static void sleep_ms(unsigned ms)
{
    shared__backend_sleep_ms(ms);
}

#ifdef SHARED_TEST_HOOKS
/* Test-only builds (libshared_hooks.so): when SHARED_TEST_STOP names
 * `step`, the process creates the file SHARED_TEST_MARKER and waits (at
 * most 10 s) until the file SHARED_TEST_GO exists, so that a test can act
 * at that point. Never compiled into libshared.so. */
void shared__backend_test_stop(const char *step)
{
    const char *want = getenv("SHARED_TEST_STOP");
    const char *marker = getenv("SHARED_TEST_MARKER");
    const char *go = getenv("SHARED_TEST_GO");
    if (!want || strcmp(want, step) != 0 || !marker || !go)
        return;
    int fd = open(marker, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0)
        close(fd);
    for (int i = 0; i < 10000 && access(go, F_OK) != 0; i++)
        sleep_ms(1);
}
#endif

/* Names the home chosen (api.c has validated it). */
static void make_name(void)
{
    const shared__home *h = shared__home_get();
    g_flags = h->named ? h->flags : 0;
    g_ro = (g_flags & SHARED_OPEN_READONLY) != 0;
    if (!h->named) {
        g_kind = KIND_DEFAULT;
        snprintf(g_name, sizeof g_name, "/shared-%u-%016llx",
                 (unsigned)geteuid(), (unsigned long long)SHARED_BUILD_ID);
    } else if (g_flags & SHARED_OPEN_FILE) {
        g_kind = KIND_FILE;
        snprintf(g_name, sizeof g_name, "%s", h->name);
    } else {
        g_kind = KIND_NAMED;
        snprintf(g_name, sizeof g_name, "/shared.%s", h->name);
    }
}

/* Opens the home's object or file. O_NONBLOCK: a FIFO (or a device) in
 * its place is opened without waiting for a peer, then refused as not a
 * regular file, never a hang (it changes nothing for a regular file). */
static int open_home(int oflag, mode_t mode)
{
    oflag |= O_CLOEXEC | O_NONBLOCK;
    if (g_kind == KIND_FILE)
        return open(g_name, oflag | O_NOCTTY, mode);
    return shm_open(g_name, oflag, mode);
}

/* The mode a writer creates the home with, and the permission bits it
 * must not find on an existing one. */
static mode_t home_mode(void)
{
    return g_flags & SHARED_OPEN_PUBLISHED ? 0644 : 0600;
}

static mode_t foreign_bits(void)
{
    return g_flags & SHARED_OPEN_PUBLISHED ? 022 : 077;
}

/* The header check for this home: the build's own for the default home;
 * the layout id for a named one, and the bitness as well here (the robust
 * mutex in the header is laid out per bitness on POSIX). */
static int check_home(const shared__region *r)
{
    if (g_kind == KIND_DEFAULT)
        return shared__region_check(r);
    int rc = shared__region_check_named(r);
    uint32_t bits;
    memcpy(&bits, &r->hdr.bitness, sizeof bits);
    return rc ? rc : bits != SHARED__BITNESS ? SHARED_EVERSION : 0;
}

static shared__region *map(int fd)
{
    int prot = g_ro ? PROT_READ : PROT_READ | PROT_WRITE;
    void *p = mmap(NULL, sizeof(shared__region), prot, MAP_SHARED, fd, 0);
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
static struct flock lock_range(short type, off_t start, off_t len)
{
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = type;
    fl.l_whence = SEEK_SET;
    fl.l_start = start;
    fl.l_len = len;
    return fl;
}

static int held(int fd, off_t start, off_t len)
{
    struct flock fl = lock_range(F_WRLCK, start, len);
    if (fd < 0 || fcntl(fd, F_OFD_GETLK, &fl) != 0)
        return 1;
    return fl.l_type != F_UNLCK;
}

/* Attached writers or read-only processes. */
static int attach_held(int fd)
{
    return held(fd, ATTACH_BYTE, READER_BYTE - ATTACH_BYTE + 1);
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

/* Formats `r` as a new, empty state made by this process, with a fresh
 * lock, and publishes it; *made set. */
static int make_fresh(shared__region *r, int *made)
{
    shared__region_format(r);
    atomic_store(&r->hdr.creator_pid, (uint32_t)getpid());
    int rc = shared__posix_mutex_init(r);
    if (rc)
        return rc;
    shared__region_publish(r);
    *made = 1;
    return 0;
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
        if (check_home(*r) != 0)
            return SHARED_ECORRUPT;
        shared__region_publish(*r);
        return 0;
    }
    return make_fresh(*r, made);
}

/* One attempt to make or check the home under the creation lock: runs
 * `make` while holding it and returns its result (or the unlock's error).
 * If another live process holds the lock, waits 1 ms and returns
 * SHARED__RETRY, or SHARED_ETIMEDOUT once `deadline` has passed. */
static int creation_step(int fd, int (*make)(int, shared__region **, int *),
                         shared__region **r, int *made, uint64_t deadline)
{
    int rc = creation_lock(fd, F_WRLCK);
    if (rc == 0) {
        rc = make(fd, r, made);
        int unlock_rc = creation_lock(fd, F_UNLCK);
        return rc ? rc : unlock_rc;
    }
    if (rc < 0)
        return rc;
    if (shared__backend_ticks_ms() >= deadline)
        return SHARED_ETIMEDOUT; /* a live creator is still at work */
    sleep_ms(1);
    return SHARED__RETRY;
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
        if (st.st_uid != geteuid() || (st.st_mode & foreign_bits()) != 0) {
            shared__set_os_error(EPERM);
            rc = SHARED_EACCESS;
            break;
        }
        if (!S_ISREG(st.st_mode) ||
            (st.st_size != 0 && (uint64_t)st.st_size != sizeof *r)) {
            rc = SHARED_EVERSION;
            break;
        }
        if (st.st_size != 0 && !r && !(r = map(fd))) {
            rc = sys_error(errno);
            break;
        }
        if (r && is_ready(r)) {
            rc = check_home(r);
            break;
        }
        rc = creation_step(fd, make_locked, &r, made, deadline);
        if (rc != SHARED__RETRY)
            break;
    }
    if (rc && r)
        munmap(r, sizeof *r);
    if (rc == 0)
        *out = r;
    return rc;
}

/* Keeps fd as this process's descriptor of the home (g_fd). */
static void keep_fd(int fd)
{
    if (g_fd >= 0)
        close(g_fd);
    g_fd = fd;
    g_fd_pid = getpid();
}

/* Ends an open: on success keeps fd (and its locks) and hands out the
 * mapping; on an error releases both. Returns rc. */
static int map_done(int rc, int fd, shared__region *r, shared__region **out)
{
    if (rc) {
        if (r)
            munmap(r, sizeof *r);
        close(fd);
        return rc;
    }
    keep_fd(fd);
    *out = r;
    return 0;
}

/* 1 if the home's name still refers to fd's object (not removed, nor
 * replaced by a new one). */
static int still_named(int fd)
{
    struct stat was, now;
    int named = open_home(O_RDONLY, 0);
    int same = named >= 0 && fstat(fd, &was) == 0 && fstat(named, &now) == 0 &&
               was.st_dev == now.st_dev && was.st_ino == now.st_ino;
    if (named >= 0)
        close(named);
    return same;
}

/*
 * Read-only: opens the home O_RDONLY and maps it PROT_READ. Never creates
 * (SHARED_ENOINSTANCE), formats or repairs anything: an object a writer is
 * still making is waited for (until `deadline`). An object others than its
 * owner may write is refused (SHARED_EACCESS): its content could come from
 * anyone. Holds the READER_BYTE lock while attached, so the last writer
 * leaving does not remove what readers still map: that writer removes it
 * only under a write lock of READER_BYTE (detach), so a reader whose lock
 * is refused, or that finds the object closed and its name gone or given
 * to a new object, is meeting a removal: SHARED__RETRY, and the caller
 * opens the name again (SHARED_ENOINSTANCE once it is gone).
 */
static int open_readonly(shared__region **out, uint64_t deadline)
{
    struct stat st;
    shared__region *r = NULL;
    int rc, fd = open_home(O_RDONLY, 0);
    if (fd < 0)
        return errno == ENOENT ? SHARED_ENOINSTANCE : sys_error(errno);
    for (;;) {
        rc = 0;
        if (fstat(fd, &st) != 0) {
            rc = sys_error(errno);
        } else if (!S_ISREG(st.st_mode)) {
            rc = SHARED_EVERSION;
        } else if ((st.st_mode & 022) != 0) {
            shared__set_os_error(EPERM);
            rc = SHARED_EACCESS;
        } else if (st.st_size != 0 && (uint64_t)st.st_size != sizeof *r) {
            rc = SHARED_EVERSION;
        } else if (st.st_size != 0 && !r && !(r = map(fd))) {
            rc = sys_error(errno);
        } else if (r && is_ready(r)) {
            rc = check_home(r);
            break;
        } else if (shared__backend_ticks_ms() >= deadline) {
            rc = SHARED_ETIMEDOUT; /* its writer is still making it */
        }
        if (rc)
            break;
        sleep_ms(1);
    }
    struct flock fl = lock_range(F_RDLCK, READER_BYTE, 1);
    if (rc == 0 && fcntl(fd, F_OFD_SETLK, &fl) != 0)
        rc = errno == EAGAIN || errno == EACCES ? SHARED__RETRY /* removal */
                                                : sys_error(errno);
    /* Closed: its last writer removed it as this process opened it (try
     * the name again), or died before removing it, or the flag is damage
     * (the name is still this object: gone all the same). */
    if (rc == 0 && g_kind != KIND_FILE && atomic_load(&r->hdr.closed))
        rc = still_named(fd) ? SHARED_ENOINSTANCE : SHARED__RETRY;
    return map_done(rc, fd, r, out);
}

/* open_readonly, again while it meets a removal (bounded by `deadline`:
 * then SHARED_ETIMEDOUT, its last writer is still at work). */
static int open_readonly_retrying(shared__region **out, uint64_t deadline)
{
    int rc;
    while ((rc = open_readonly(out, deadline)) == SHARED__RETRY) {
        if (shared__backend_ticks_ms() >= deadline)
            return SHARED_ETIMEDOUT;
        sleep_ms(1);
    }
    return rc;
}

/* 1 if the first bytes of the header are all zero: a file sized but
 * never formatted (its creator died first), not someone else's file. */
static int never_formatted(const shared__region *r)
{
    unsigned char head[offsetof(shared__header, ready) + 4];
    memcpy(head, r, sizeof head);
    for (size_t i = 0; i < sizeof head; i++)
        if (head[i] != 0)
            return 0;
    return 1;
}

/*
 * A file home, under the creation lock (every writer opening a file takes
 * it). An empty file is made. A file no writer is attached to (no
 * ATTACH_BYTE lock: every process that used it exited, or the machine
 * restarted) is recovered, never wiped: its lock is re-initialised (a
 * mutex of dead processes, or of another boot, means nothing), a dead
 * writer's change is completed or undone and the indexes rebuilt
 * (shared__recover), and the keys are kept. Another layout, a foreign or
 * short file: SHARED_EVERSION.
 */
static int file_locked(int fd, shared__region **r, int *made)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return sys_error(errno);
    /* Not a state file at all: refused before anything else is asked. */
    if (!S_ISREG(st.st_mode) ||
        (st.st_size != 0 && (uint64_t)st.st_size != sizeof **r))
        return SHARED_EVERSION;
    if (st.st_uid != geteuid() || (st.st_mode & foreign_bits()) != 0) {
        shared__set_os_error(EPERM);
        return SHARED_EACCESS;
    }
    if (st.st_size == 0 && ftruncate(fd, (off_t)sizeof **r) != 0)
        return sys_error(errno);
    if (!(*r = map(fd)))
        return sys_error(errno);
    int writers = held(fd, ATTACH_BYTE, 1);
    if (!writers && (st.st_size == 0 || never_formatted(*r))) {
        return make_fresh(*r, made);
    }
    int rc = check_home(*r);
    if (rc)
        return rc;
    if (writers) {
        /* In use: a cleared ready flag, or a closed flag (a file home is
         * never closed), is damage, repaired in place. */
        atomic_store(&(*r)->hdr.closed, 0);
        if (!is_ready(*r))
            shared__region_publish(*r);
        return 0;
    }
    rc = shared__posix_mutex_init(*r);
    if (rc)
        return rc;
    atomic_store(&(*r)->hdr.closed, 0);
    atomic_store(&(*r)->hdr.waiters, 0);
    shared__recover(*r, 0);
    shared__region_publish(*r);
    return 0;
}

/* file_locked, then this process's attach lock, taken before the creation
 * lock is released. */
static int file_attach_locked(int fd, shared__region **r, int *made)
{
    int rc = file_locked(fd, r, made);
    struct flock fl = lock_range(F_RDLCK, ATTACH_BYTE, 1);
    if (rc == 0 && fcntl(fd, F_OFD_SETLK, &fl) != 0)
        rc = sys_error(errno);
    return rc;
}

/* Creates the home with its mode (fchmod: the umask must not narrow it)
 * or opens the existing one: the descriptor, or -1 with errno set. */
static int create_or_open(void)
{
    int fd = open_home(O_RDWR | O_CREAT | O_EXCL, home_mode());
    if (fd >= 0 && fchmod(fd, home_mode()) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    if (fd < 0 && errno == EEXIST)
        fd = open_home(O_RDWR, 0);
    return fd;
}

/* Opens (creating it if missing) and maps a file home; takes this
 * process's attach lock before the creation lock is released, so the
 * next writer never recovers a file a live writer uses. */
static int open_file(shared__region **out, uint64_t deadline, int *made)
{
    shared__region *r = NULL;
    int rc, fd = create_or_open();
    if (fd < 0 && errno == EISDIR) {
        shared__set_os_error(EISDIR);
        return SHARED_EVERSION; /* not a state file (file_locked) */
    }
    if (fd < 0)
        return sys_error(errno);
    do
        rc = creation_step(fd, file_attach_locked, &r, made, deadline);
    while (rc == SHARED__RETRY);
    return map_done(rc, fd, r, out);
}

/* Maps the home: creates it, or opens an existing one. */
static int map_object(shared__region **out)
{
    int rc;
    make_name();
    uint64_t deadline = shared__backend_ticks_ms() + shared__timeout();
    if (g_ro) {
        g_created = 0;
        return open_readonly_retrying(out, deadline);
    }
    if (g_kind == KIND_FILE) {
        int made = 0;
        rc = open_file(out, deadline, &made);
        g_created = rc == 0 && made;
        return rc;
    }
    for (int attempt = 0; attempt < 3; attempt++) {
        int fd = create_or_open();
        if (fd < 0) {
            if (errno == ENOENT)
                continue; /* removed meanwhile: try to create it */
            return sys_error(errno);
        }
        int made = 0;
        rc = open_object(fd, deadline, out, &made);
        if (rc == 0)
            keep_fd(fd);
        else
            close(fd);
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

/* Sets (F_RDLCK) or drops (F_UNLCK) this process's attach lock (a
 * read-only process's: its reader lock). */
static int attach_lock(short type)
{
    struct flock fl = lock_range(type, g_ro ? READER_BYTE : ATTACH_BYTE, 1);
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
    int fd = open_home(g_ro ? O_RDONLY : O_RDWR, 0);
    if (fd >= 0 && (fstat(g_fd, &was) != 0 || fstat(fd, &now) != 0 ||
                    was.st_dev != now.st_dev || was.st_ino != now.st_ino)) {
        close(fd); /* the name is another object now: no lock at all, */
        fd = -1;   /* so this process never removes or wipes (above) */
    }
    close(g_fd);
    g_fd = fd;
    g_fd_pid = getpid();
}

/* Unmaps the home and closes its descriptor (dropping this process's
 * locks): after a failed shared_open, the next attach may be elsewhere. */
static void forget(shared__region *r)
{
    atomic_store(&g_region, NULL);
    munmap(r, sizeof *r);
    if (g_fd >= 0)
        close(g_fd);
    g_fd = -1;
    g_created = 0;
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
        if (g_ro)
            return attach_lock(F_RDLCK) == 0 ? 0 : sys_error(errno);
        /* Alone by the kernel's count too (before taking our own lock). A
         * file home is never wiped: it outlives its processes. */
        int alone = !others_attached() && g_kind != KIND_FILE;
        attach_lock(F_RDLCK);
        rc = shared__join(r, exe, !g_created && alone, &wiped);
        if (rc != SHARED__RETRY) {
            g_created |= wiped;
            if (rc && shared__home_get()->named)
                forget(r); /* shared_open failed: no home chosen */
            return rc;
        }
        forget(r); /* its descriptor too: no attach lock left on it */
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
    struct flock no_readers = lock_range(F_WRLCK, READER_BYTE, 1);
    if (!r || !atomic_load(&g_ready) || me == UINT32_MAX)
        return;
    if (shared__acquire(r, 200) != 0) {
        shared__peer_leave(r, me, pid);
        return;
    }
    shared__peer_leave(r, me, pid);
    shared__set_self_peer(UINT32_MAX);
    attach_lock(F_UNLCK);
    if (shared__peer_reap(r, shared__backend_alive, pid) == 0 &&
        g_kind != KIND_FILE) { /* a file home is kept: never removed */
        if (held(g_fd, ATTACH_BYTE, 1)) {
            /* The registry lost a live process: damage, not the end. */
            shared__count_corrupt(r);
        } else if (fcntl(g_fd, F_OFD_SETLK, &no_readers) != 0) {
            /* Read-only processes still map it: kept for them (and for
             * the next writer, which finds their values). */
        } else {
            /* No reader, and none can start (its read lock is refused
             * while this write lock is held, open_readonly): closed and
             * removed before a reader may look again. */
            shared__backend_test_stop("detach");
            atomic_store(&r->hdr.closed, 1);
            shm_unlink(g_name);
            no_readers.l_type = F_UNLCK;
            fcntl(g_fd, F_OFD_SETLK, &no_readers);
        }
    }
    shared__backend_unlock();
}

/* msync and fsync of a file home (the caller holds the lock). */
int shared__backend_flush(void)
{
    shared__region *r = atomic_load(&g_region);
    if (!r || g_kind != KIND_FILE)
        return SHARED_EINVAL;
    if (msync(r, sizeof *r, MS_SYNC) != 0 || fsync(g_fd) != 0) {
        shared__set_os_error((uint32_t)errno);
        return SHARED_ESYSTEM;
    }
    return 0;
}
