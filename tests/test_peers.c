/*
 * test_peers.c - the peer registry: this process and its children show up
 * with pid, start time and executable; a child that exits leaves by itself;
 * a killed one is reaped. The reused-pid case runs on a plain region with a
 * liveness function that says "that pid now has another start time".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef _WIN32
#  include <sys/wait.h>
#  include <unistd.h>
#endif

#include "core.h"
#include "roles.h"
#include "testutil.h"

/* stay MARKER - attach, create MARKER, stay until killed. */
int role_stay(const char *marker)
{
    shared_statistics st = {.size = sizeof st};
    int rc = shared_stats(&st);
    if (rc)
        return ROLE_FAIL(rc);
    return role_park(marker);
}

typedef struct find_peer {
    uint32_t pid;
    int found, self_seen;
    shared_peer_info info;
} find_peer;

static int find_visit(const shared_peer_info *p, void *ctx)
{
    find_peer *f = ctx;
    if (p->pid == f->pid) {
        f->found++;
        f->info = *p;
    }
    f->self_seen += p->self;
    return 0;
}

static find_peer find(uint32_t pid)
{
    find_peer f;
    memset(&f, 0, sizeof f);
    f.pid = pid;
    ck_assert_int_ge(shared_peers(find_visit, &f), 1);
    return f;
}

START_TEST(this_process_is_registered)
{
    find_peer f = find(proc_id());
    ck_assert_int_eq(f.found, 1);
    ck_assert_int_eq(f.self_seen, 1);
    ck_assert_uint_eq(f.info.self, 1);
    ck_assert_ptr_nonnull(strstr(f.info.exe, "shared_tests"));
    ck_assert_uint_ne(f.info.start_time, 0);
    ck_assert_uint_gt(f.info.attach_ms, 1600000000000ull);
    ck_assert_uint_ge(f.info.active_ms, f.info.attach_ms);
    ck_assert_code(shared_peers(NULL, NULL), SHARED_ENULL);
}
END_TEST

START_TEST(child_shows_up_and_is_reaped_when_killed)
{
    char marker[64];
    shared_statistics st0 = {.size = sizeof st0}, st1 = {.size = sizeof st1};
    unique_name(marker, sizeof marker, "stay");
    remove(marker);
    int h = role_start("stay", marker);
    ck_assert_int_ge(h, 0);
    ck_assert(file_wait(marker, 30000));
    uint32_t pid = proc_pid(h);
    find_peer f = find(pid);
    ck_assert_int_eq(f.found, 1);
    ck_assert_uint_eq(f.info.self, 0);
    ck_assert_code(shared_stats(&st0), SHARED_OK);
    proc_kill(h);
    remove(marker);
    ck_assert_int_eq(find(pid).found, 0);
    ck_assert_code(shared_stats(&st1), SHARED_OK);
    ck_assert_uint_eq(st1.peers_reaped, st0.peers_reaped + 1);
    ck_assert_uint_eq(st1.peers, st0.peers - 1);
}
END_TEST

START_TEST(child_that_exits_leaves_by_itself)
{
    shared_statistics st0 = {.size = sizeof st0}, st1 = {.size = sizeof st1};
    ck_assert_code(shared_stats(&st0), SHARED_OK);
    int h = role_start("set", "pe.k=v");
    ck_assert_int_ge(h, 0);
    uint32_t pid = proc_pid(h);
    ck_assert_int_eq(proc_wait(h, 30000), 0);
    ck_assert_int_eq(find(pid).found, 0);
    ck_assert_code(shared_stats(&st1), SHARED_OK);
    ck_assert_uint_eq(st1.peers_reaped, st0.peers_reaped); /* not reaped */
    ck_assert_uint_eq(st1.peers, st0.peers);
}
END_TEST

/* ---- the core, on a plain region, with a fake liveness function -------- */

/* Alive: pid 100 started at 1000 (and pid 300 at any time); pid 200 is
 * running, but it is a new process that started at 2000. */
static int fake_alive(uint32_t pid, uint64_t start)
{
    if (pid == 100)
        return start == 0 || start == 1000;
    if (pid == 200)
        return start == 0 || start == 2000;
    return pid == 300;
}

START_TEST(reused_pid_is_told_apart_by_start_time)
{
    shared__region *r = calloc(1, sizeof *r);
    ck_assert_ptr_nonnull(r);
    shared__region_format(r);
    uint32_t a, b, c, d;
    ck_assert_code(shared__peer_join(r, 100, 1000, "alive", 1, &a), 0);
    ck_assert_code(shared__peer_join(r, 200, 1500, "old", 1, &b), 0);
    ck_assert_code(shared__peer_join(r, 250, 1600, "gone", 1, &c), 0);
    ck_assert_code(shared__peer_join(r, 300, 0, "joining", 1, &d), 0);
    /* 100 and 300 stay; 200 (pid reused) and 250 (gone) are reaped. */
    ck_assert_uint_eq(shared__peer_reap(r, fake_alive, 100), 1);
    shared_peer_info info;
    ck_assert_code(shared__peer_info(r, a, 100, &info), 0);
    ck_assert_uint_eq(info.self, 1);
    ck_assert_str_eq(info.exe, "alive");
    ck_assert_code(shared__peer_info(r, b, 100, &info), SHARED_ENOTFOUND);
    ck_assert_code(shared__peer_info(r, c, 100, &info), SHARED_ENOTFOUND);
    ck_assert_code(shared__peer_info(r, d, 100, &info), 0);
    ck_assert_uint_eq(atomic_load(&r->hdr.peers_reaped), 2);
    /* Leaving needs the right pid. */
    shared__peer_leave(r, a, 101);
    ck_assert_code(shared__peer_info(r, a, 100, &info), 0);
    shared__peer_leave(r, a, 100);
    ck_assert_code(shared__peer_info(r, a, 100, &info), SHARED_ENOTFOUND);
    free(r);
}
END_TEST

START_TEST(full_registry_is_epeers)
{
    shared__region *r = calloc(1, sizeof *r);
    ck_assert_ptr_nonnull(r);
    shared__region_format(r);
    uint32_t idx;
    for (uint32_t i = 0; i < SHARED_MAX_PEERS; i++)
        ck_assert_code(shared__peer_join(r, 1000 + i, 1, "p", 1, &idx), 0);
    ck_assert_code(shared__peer_join(r, 5, 1, "p", 1, &idx), SHARED_EPEERS);
    free(r);
}
END_TEST

#ifndef _WIN32
/* Entries registered under pid. */
static int entries_of(uint32_t pid)
{
    find_peer f;
    memset(&f, 0, sizeof f);
    f.pid = pid;
    return shared_peers(find_visit, &f) >= 1 ? f.found : -1;
}

/* A forked child registers with its own pid, however many locks it takes,
 * and its parent's entry stays the parent's alone (the pid is kept from
 * the join, not asked of the OS at every lock). */
START_TEST(forked_child_registers_with_its_own_pid)
{
    ck_assert_code(shared_set("pe.fork", "p", 1), SHARED_OK);
    find_peer before = find(proc_id());
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        shared_statistics s0 = {.size = sizeof s0}, s1 = {.size = sizeof s1};
        int ok = shared_stats(&s0) == SHARED_OK; /* attaches, joins */
        for (int i = 0; i < 20 && ok; i++)
            ok = shared_add("pe.fork.n", 1, NULL) == SHARED_OK;
        /* Nothing was found to mend: no re-registration, no corruption. */
        ok = ok && shared_stats(&s1) == SHARED_OK &&
             s1.corrupt_seen == s0.corrupt_seen &&
             entries_of((uint32_t)getpid()) == 1 &&
             entries_of((uint32_t)getppid()) == 1;
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    find_peer after = find(proc_id());
    ck_assert_int_eq(after.found, 1);
    ck_assert_uint_eq(after.info.start_time, before.info.start_time);
    ck_assert_code(shared_add("pe.fork.n", 1, NULL), SHARED_OK);
    ck_assert_int_eq(entries_of(proc_id()), 1);
}
END_TEST
#endif

Suite *peers_suite(void)
{
    Suite *s = suite_create("peers");
    TCase *tc = tcase_with_fixture("peers");
    tcase_add_test(tc, this_process_is_registered);
    tcase_add_test(tc, child_shows_up_and_is_reaped_when_killed);
    tcase_add_test(tc, child_that_exits_leaves_by_itself);
    tcase_add_test(tc, reused_pid_is_told_apart_by_start_time);
    tcase_add_test(tc, full_registry_is_epeers);
#ifndef _WIN32
    tcase_add_test(tc, forked_child_registers_with_its_own_pid);
#endif
    suite_add_tcase(s, tc);
    return s;
}
