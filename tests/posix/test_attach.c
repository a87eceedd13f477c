/*
 * test_attach.c (POSIX) - attaching to the shared memory object: a fresh
 * object is private to the user, and every way an existing object can be
 * wrong has its own error. Each case prepares an object under its own
 * SHARED_INSTANCE and lets a child process attach to it.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core.h"
#include "testutil.h"

static char g_inst[64], g_obj[128];

static void attach_setup(void)
{
    unique_name(g_inst, sizeof g_inst, "att");
    /* SHARED_INSTANCE names the instance /shared.<name> (shared_open). */
    snprintf(g_obj, sizeof g_obj, "/shared.%s", g_inst);
    shm_unlink(g_obj);
}

static void attach_teardown(void)
{
    proc_kill_all();
    shm_unlink(g_obj);
}

/* Runs a child attaching under g_inst; returns its exit code. */
static int child_attach(void)
{
    int h = role_start("attach", g_inst);
    ck_assert_int_ge(h, 0);
    int code = proc_wait(h, 30000);
    ck_assert_int_ge(code, 0);
    return code;
}

/* Creates the object with the given mode and size; maps it if asked. */
static shared__region *prepare(mode_t mode, off_t size)
{
    int fd = shm_open(g_obj, O_RDWR | O_CREAT | O_EXCL, mode);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(fchmod(fd, mode), 0);
    ck_assert_int_eq(ftruncate(fd, size), 0);
    void *p =
        mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    ck_assert(p != MAP_FAILED);
    return p;
}

/* Starts a lingering attached process of this instance and waits for it;
 * returns its handle, its marker file name in marker. */
static int start_linger(char *marker, size_t cap)
{
    snprintf(marker, cap, "linger-%s", g_inst);
    remove(marker);
    int h = role_start("linger", g_inst);
    ck_assert_int_ge(h, 0);
    ck_assert(file_wait(marker, 30000));
    return h;
}

/* Maps this instance's existing object, as any process of the user can. */
static shared__region *map_existing(void)
{
    int fd = shm_open(g_obj, O_RDWR, 0);
    ck_assert_int_ge(fd, 0);
    shared__region *r =
        mmap(NULL, sizeof *r, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    ck_assert(r != MAP_FAILED);
    return r;
}

/* A pid that certainly names no process (a child already reaped). */
static pid_t dead_pid(void)
{
    pid_t dead = fork();
    if (dead == 0)
        _exit(0);
    ck_assert_int_gt(dead, 0);
    ck_assert_int_eq(waitpid(dead, NULL, 0), dead);
    return dead;
}

START_TEST(object_lives_as_long_as_its_peers)
{
    struct stat st;
    char path[160], marker[96];
    snprintf(path, sizeof path, "/dev/shm%s", g_obj);
    snprintf(marker, sizeof marker, "linger-%s", g_inst);
    remove(marker);
    /* A lone process creates the object and removes it when it exits. */
    ck_assert_int_eq(child_attach(), 10);
    ck_assert_int_ne(stat(path, &st), 0);
    /* While one process stays attached, others find its object. */
    int h = role_start("linger", g_inst);
    ck_assert_int_ge(h, 0);
    ck_assert(file_wait(marker, 30000));
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_uint_eq(st.st_mode & 0777, 0600);
    ck_assert_uint_eq(st.st_size, sizeof(shared__region));
    ck_assert_int_eq(child_attach(), 0);
    /* Killed, it can not remove the object; the next process recognises
     * that every peer is dead and starts clean. */
    proc_kill(h);
    remove(marker);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(child_attach(), 10);
    ck_assert_int_ne(stat(path, &st), 0);
}
END_TEST

START_TEST(bad_instance_name_is_einval)
{
    snprintf(g_inst, sizeof g_inst, "bad/name");
    ck_assert_int_eq(child_attach(), 100 - SHARED_EINVAL);
    snprintf(g_inst, sizeof g_inst, "%0*d", 40, 7); /* too long */
    ck_assert_int_eq(child_attach(), 100 - SHARED_EINVAL);
}
END_TEST

START_TEST(object_readable_by_others_is_eaccess)
{
    shared__region *r = prepare(0644, sizeof(shared__region));
    shared__region_format(r);
    shared__region_publish(r);
    ck_assert_int_eq(child_attach(), 100 - SHARED_EACCESS);
    munmap(r, sizeof *r);
}
END_TEST

START_TEST(object_of_another_size_is_eversion)
{
    shared__region *r = prepare(0600, 4096);
    ck_assert_int_eq(child_attach(), 100 - SHARED_EVERSION);
    munmap(r, 4096);
}
END_TEST

START_TEST(object_with_another_header_is_eversion)
{
    shared__region *r = prepare(0600, sizeof(shared__region));
    shared__region_format(r);
    /* A named instance (SHARED_INSTANCE) records the layout id, not the
     * build id (shared__region_check_named). */
    r->hdr.layout_id ^= 0xff;
    shared__region_publish(r);
    ck_assert_int_eq(child_attach(), 100 - SHARED_EVERSION);
    munmap(r, sizeof *r);
}
END_TEST

/* A creator still at work holds the creation lock (an OFD lock on the
 * object) until the object is ready: others wait for it, bounded. */
START_TEST(object_never_made_ready_times_out)
{
    shared__region *r = prepare(0600, sizeof(shared__region));
    int fd = shm_open(g_obj, O_RDWR, 0);
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(fcntl(fd, F_OFD_SETLK, &fl), 0);
    atomic_store(&r->hdr.creator_pid, (uint32_t)getpid()); /* alive */
    ck_assert_int_eq(child_attach(), 100 - SHARED_ETIMEDOUT);
    close(fd);
    munmap(r, sizeof *r);
}
END_TEST

/* A child that creates the object (O_EXCL), sizes it to `size` and dies
 * before stamping it, as a creator killed half-way does. */
static void create_and_die(off_t size)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int fd = shm_open(g_obj, O_RDWR | O_CREAT | O_EXCL, 0600);
        if (fd < 0 || (size && ftruncate(fd, size) != 0))
            _exit(1);
        _exit(0);
    }
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* Runs role `role` with SHARED_INSTANCE g_inst; its exit code, and the
 * time it took in *ms. */
static int child_in_instance(const char *role, const char *arg, uint64_t *ms)
{
    const char *old = getenv("SHARED_INSTANCE");
    char saved[64];
    snprintf(saved, sizeof saved, "%s", old ? old : "");
    proc_setenv("SHARED_INSTANCE", g_inst);
    uint64_t t0 = proc_now_ms();
    int h = role_start(role, arg);
    proc_setenv("SHARED_INSTANCE", saved);
    ck_assert_int_ge(h, 0);
    int code = proc_wait(h, 30000);
    if (ms)
        *ms = proc_now_ms() - t0;
    return code;
}

/* A creator that died after creating (and sizing) the object but before
 * stamping it leaves an object that no process is making: the next
 * attacher rebuilds it at once instead of waiting for its timeout (5 s in
 * role "attach5s") and failing forever. */
START_TEST(object_of_a_creator_dead_before_stamping_is_rebuilt)
{
    struct stat st;
    char path[160];
    uint64_t ms = 0;
    snprintf(path, sizeof path, "/dev/shm%s", g_obj);
    /* Died after ftruncate, before formatting: zero-filled, right size. */
    create_and_die((off_t)sizeof(shared__region));
    for (int run = 0; run < 2; run++) {
        int code = child_in_instance("attach5s", g_inst, &ms);
        ck_assert_msg(code == 10, "attach %d exited %d after %llu ms", run,
                      code, (unsigned long long)ms);
        ck_assert_msg(ms < 2500, "attach took %llu ms", (unsigned long long)ms);
    }
    /* Died right after shm_open: an empty object. */
    shm_unlink(g_obj);
    create_and_die(0);
    int code = child_in_instance("attach5s", g_inst, &ms);
    ck_assert_msg(code == 10, "attach exited %d after %llu ms", code,
                  (unsigned long long)ms);
    ck_assert_msg(ms < 2500, "attach took %llu ms", (unsigned long long)ms);
    ck_assert_int_ne(stat(path, &st), 0); /* its last user removed it */
}
END_TEST

/* Damage, not abandonment: the ready flag cleared and the creator pid
 * naming a dead process while a live peer uses the object. A new process
 * must not remove it and make an empty one beside it (two states): it
 * sees the peer's value in the same object. */
START_TEST(object_with_live_peers_is_never_split)
{
    struct stat before, after;
    char path[160], marker[96];
    snprintf(path, sizeof path, "/dev/shm%s", g_obj);
    int h = start_linger(marker, sizeof marker);
    ck_assert_int_eq(child_in_instance("set", "split.k=kept", NULL), 0);
    ck_assert_int_eq(stat(path, &before), 0);

    pid_t dead = dead_pid();
    shared__region *r = map_existing();
    atomic_store(&r->hdr.ready, 0);
    atomic_store(&r->hdr.creator_pid, (uint32_t)dead);

    uint64_t ms = 0;
    int code = child_in_instance("expect", "split.k=kept", &ms);
    ck_assert_msg(stat(path, &after) == 0 && after.st_ino == before.st_ino,
                  "the object was removed or replaced (expect exited %d "
                  "after %llu ms)",
                  code, (unsigned long long)ms);
    ck_assert_msg(code == 0 || code == 100 - SHARED_ECORRUPT,
                  "expect exited %d after %llu ms", code,
                  (unsigned long long)ms);
    ck_assert_int_eq(proc_wait(h, 0), PROC_RUNNING);
    munmap(r, sizeof *r);
    proc_kill(h);
    remove(marker);
}
END_TEST

/* Starts a lingering attached process (returned; its marker file in
 * marker), stores `kv` from a child, then unregisters every process in the
 * object, as a hostile write can (and clears `ready` if asked). */
static int linger_then_lose_registry(const char *kv, char *marker, size_t cap,
                                     int clear_ready)
{
    int h = start_linger(marker, cap);
    ck_assert_int_eq(child_in_instance("set", kv, NULL), 0);
    shared__region *r = map_existing();
    for (uint32_t i = 0; i < SHARED_MAX_PEERS; i++)
        atomic_store(&r->peer[i].owner, 0); /* every process "gone" */
    if (clear_ready)
        atomic_store(&r->hdr.ready, 0);
    munmap(r, sizeof *r);
    return h;
}

/* The registry is in the object, so a hostile write can unregister a live
 * process. The next attacher must not take that for "every peer died" and
 * wipe the state, and a process leaving must not take itself for the last
 * one and remove the object: the kernel's attach locks say otherwise. */
START_TEST(unregistered_live_peer_is_neither_wiped_nor_removed)
{
    struct stat before, after;
    char path[160], marker[96];
    snprintf(path, sizeof path, "/dev/shm%s", g_obj);
    int h = linger_then_lose_registry("reg.k=kept", marker, sizeof marker, 0);
    ck_assert_int_eq(stat(path, &before), 0);
    /* Attaches (finding no registered peer), writes, leaves (as "last"). */
    ck_assert_int_eq(child_in_instance("set", "reg.j=new", NULL), 0);
    ck_assert_msg(stat(path, &after) == 0 && after.st_ino == before.st_ino,
                  "the object was removed or replaced");
    ck_assert_int_eq(child_in_instance("expect", "reg.k=kept", NULL), 0);
    ck_assert_int_eq(child_in_instance("expect", "reg.j=new", NULL), 0);
    ck_assert_int_eq(proc_wait(h, 0), PROC_RUNNING);
    proc_kill(h);
    remove(marker);
}
END_TEST

/* The same damage plus a cleared ready flag: the next attacher sees an
 * object that looks half-made by nobody, yet processes are attached to it
 * (the kernel's attach locks say so): it is repaired, never formatted. */
START_TEST(unregistered_live_peer_object_is_not_formatted)
{
    char marker[96];
    int h = linger_then_lose_registry("fmt.k=kept", marker, sizeof marker, 1);
    uint64_t ms = 0;
    int code = child_in_instance("expect", "fmt.k=kept", &ms);
    ck_assert_msg(code == 0, "expect exited %d after %llu ms", code,
                  (unsigned long long)ms);
    proc_kill(h);
    remove(marker);
}
END_TEST

START_TEST(object_of_a_dead_creator_is_made_anew)
{
    pid_t dead = dead_pid();
    shared__region *r = prepare(0600, sizeof(shared__region));
    atomic_store(&r->hdr.creator_pid, (uint32_t)dead);
    munmap(r, sizeof *r);
    ck_assert_int_eq(child_attach(), 10);
}
END_TEST

Suite *attach_suite(void)
{
    Suite *s = suite_create("attach");
    TCase *tc = tcase_create("attach");
    tcase_add_checked_fixture(tc, attach_setup, attach_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, object_lives_as_long_as_its_peers);
    tcase_add_test(tc, bad_instance_name_is_einval);
    tcase_add_test(tc, object_readable_by_others_is_eaccess);
    tcase_add_test(tc, object_of_another_size_is_eversion);
    tcase_add_test(tc, object_with_another_header_is_eversion);
    tcase_add_test(tc, object_never_made_ready_times_out);
    tcase_add_test(tc, object_of_a_dead_creator_is_made_anew);
    tcase_add_test(tc, object_of_a_creator_dead_before_stamping_is_rebuilt);
    tcase_add_test(tc, object_with_live_peers_is_never_split);
    tcase_add_test(tc, unregistered_live_peer_is_neither_wiped_nor_removed);
    tcase_add_test(tc, unregistered_live_peer_object_is_not_formatted);
    suite_add_tcase(s, tc);
    return s;
}
