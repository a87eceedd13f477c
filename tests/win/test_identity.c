/*
 * test_identity.c (Windows) - OS objects belong to one section, and the
 * waiter table and the attach path leak nothing.
 *
 * Every test works on private copies of the DLL: a "group" is a fresh
 * folder holding a copy of a library file (as shared.dll) and of this test
 * binary. The copy is another image with its own section; this process
 * loads it by full path and calls it through GetProcAddress, and children
 * started from the copied .exe load it through their imports. Two groups
 * must never share a lock, a wake-up or a recovery. shared_hooks.dll is the
 * test-only variant that stops a waiting thread at a step of the waiter
 * protocol named by SHARED_TEST_STOP, so that a test can kill it there.
 */
#include <windows.h>
#include <stdio.h>
#include <string.h>

#include "core.h"
#include "pe.h"
#include "roles.h"
#include "testutil.h"

#define FN(m, type, name) ((type)(void (*)(void))GetProcAddress((m), (name)))

typedef int (*set_fn)(const char *, const void *, uint32_t);
typedef int (*stats_fn)(shared_statistics *);
typedef int (*wait_fn)(const char *, uint64_t, uint32_t, uint64_t *);
typedef uint32_t (*timeout_fn)(uint32_t);
typedef uint32_t (*oserr_fn)(void);

typedef struct group {
    char dir[MAX_PATH];
    char exe[MAX_PATH];
    char dll[MAX_PATH];
    HMODULE m;
    shared__region *r;
    set_fn set;
    stats_fn stats;
    wait_fn wait;
    timeout_fn set_timeout;
    oserr_fn os_error;
} group;

#define MAX_CHILDREN 16
static HANDLE g_children[MAX_CHILDREN];

/* The folder of this test binary, with a trailing backslash. */
static void bin_dir(char *buf, size_t cap)
{
    DWORD n = GetModuleFileNameA(NULL, buf, (DWORD)cap);
    ck_assert(n > 0 && n < cap);
    while (n > 0 && buf[n - 1] != '\\' && buf[n - 1] != '/')
        n--;
    buf[n] = '\0';
}

/* Copies bin\<library> and this binary into a new folder and loads the
 * copied DLL by its full path. */
static void group_open(group *g, const char *library)
{
    static unsigned counter;
    char bin[MAX_PATH], src[MAX_PATH];
    memset(g, 0, sizeof *g);
    bin_dir(bin, sizeof bin);
    snprintf(g->dir, sizeof g->dir, "%sgroup-%lu-%u", bin,
             (unsigned long)GetCurrentProcessId(), ++counter);
    ck_assert_msg(CreateDirectoryA(g->dir, NULL), "mkdir %s: %lu", g->dir,
                  (unsigned long)GetLastError());
    snprintf(src, sizeof src, "%s%s", bin, library);
    snprintf(g->dll, sizeof g->dll, "%s\\shared.dll", g->dir);
    ck_assert_msg(CopyFileA(src, g->dll, FALSE), "copy %s: %lu", src,
                  (unsigned long)GetLastError());
    GetModuleFileNameA(NULL, src, sizeof src);
    snprintf(g->exe, sizeof g->exe, "%s\\shared_tests.exe", g->dir);
    ck_assert_msg(CopyFileA(src, g->exe, FALSE), "copy %s: %lu", src,
                  (unsigned long)GetLastError());
    g->m = LoadLibraryA(g->dll);
    ck_assert_msg(g->m != NULL, "LoadLibrary %s: %lu", g->dll,
                  (unsigned long)GetLastError());
    const IMAGE_SECTION_HEADER *sec = pe_section(g->m, ".shared");
    ck_assert_ptr_nonnull(sec);
    g->r = (shared__region *)((uintptr_t)g->m + sec->VirtualAddress);
    g->set = FN(g->m, set_fn, "shared_set");
    g->stats = FN(g->m, stats_fn, "shared_stats");
    g->wait = FN(g->m, wait_fn, "shared_wait");
    g->set_timeout = FN(g->m, timeout_fn, "shared_set_timeout");
    g->os_error = FN(g->m, oserr_fn, "shared_last_os_error");
    ck_assert(g->set && g->stats && g->wait && g->set_timeout && g->os_error);
}

static void kill_child(HANDLE *h)
{
    if (!*h)
        return;
    TerminateProcess(*h, 99);
    WaitForSingleObject(*h, 10000);
    CloseHandle(*h);
    *h = NULL;
}

static void kill_children(void)
{
    for (int i = 0; i < MAX_CHILDREN; i++)
        kill_child(&g_children[i]);
}

static void group_close(group *g)
{
    kill_children();
    if (g->m)
        FreeLibrary(g->m);
    g->m = NULL;
    DeleteFileA(g->dll);
    DeleteFileA(g->exe);
    RemoveDirectoryA(g->dir);
}

/* Starts the group's copy of this binary in `role`; with `stop`, the child
 * gets SHARED_TEST_STOP=stop. Returns the child's slot. */
static int group_start(group *g, const char *role, const char *arg,
                       const char *stop)
{
    char cmd[3 * MAX_PATH];
    STARTUPINFOA si = {.cb = sizeof si};
    PROCESS_INFORMATION pi;
    int slot = 0;
    while (slot < MAX_CHILDREN && g_children[slot])
        slot++;
    ck_assert_int_lt(slot, MAX_CHILDREN);
    snprintf(cmd, sizeof cmd, "\"%s\" --role %s %s", g->exe, role, arg);
    SetEnvironmentVariableA("SHARED_TEST_STOP", stop);
    BOOL ok =
        CreateProcessA(g->exe, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi);
    DWORD err = GetLastError();
    SetEnvironmentVariableA("SHARED_TEST_STOP", NULL);
    ck_assert_msg(ok, "CreateProcess %s: %lu", cmd, (unsigned long)err);
    CloseHandle(pi.hThread);
    g_children[slot] = pi.hProcess;
    return slot;
}

/* The child's exit code, or -1 if it still runs after `ms`. */
static int child_wait(int slot, DWORD ms)
{
    DWORD code = 0;
    if (WaitForSingleObject(g_children[slot], ms) != WAIT_OBJECT_0)
        return -1;
    GetExitCodeProcess(g_children[slot], &code);
    CloseHandle(g_children[slot]);
    g_children[slot] = NULL;
    return (int)code;
}

static uint64_t group_stat(group *g, size_t offset)
{
    shared_statistics st = {.size = sizeof st};
    ck_assert_code(g->stats(&st), SHARED_OK);
    uint64_t v = 0;
    memcpy(&v, (const char *)&st + offset,
           offset == offsetof(shared_statistics, waiters) ? 4 : 8);
    return v;
}

#define RECOVERIES offsetof(shared_statistics, owner_died_recoveries)
#define WAITERS offsetof(shared_statistics, waiters)

/* Waiter entries owned by process `pid` (0: by anyone). */
static uint32_t entries_owned(group *g, DWORD pid)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < SHARED__MAX_WAITERS; i++) {
        uint64_t owner = atomic_load(&g->r->waiter[i].owner);
        n += pid ? owner == shared__owner_word((uint32_t)pid) : owner != 0;
    }
    return n;
}

/* Waits until `n` waiter entries of g are owned by the child in `slot`. */
static void await_entries(group *g, int slot, uint32_t n, const char *step)
{
    DWORD pid = GetProcessId(g_children[slot]);
    uint32_t have = 0;
    for (int i = 0; i < 3000; i++) {
        have = entries_owned(g, pid);
        if (have >= n)
            return;
        ck_assert_msg(WaitForSingleObject(g_children[slot], 0) == WAIT_TIMEOUT,
                      "step %s: child exited with %d holding %u entries", step,
                      child_wait(slot, 0), have);
        proc_sleep_ms(10);
    }
    ck_abort_msg("step %s: only %u of %u waiter entries claimed", step, have,
                 n);
}

static void await_stat(group *g, size_t offset, uint64_t want)
{
    uint64_t have = 0;
    for (int i = 0; i < 3000; i++) {
        have = group_stat(g, offset);
        if (have == want)
            return;
        proc_sleep_ms(10);
    }
    ck_abort_msg("statistic stayed %llu, expected %llu",
                 (unsigned long long)have, (unsigned long long)want);
}

static group g_a, g_b;

static void identity_teardown(void)
{
    SetEnvironmentVariableA("SHARED_TEST_STOP", NULL);
    group_close(&g_a);
    group_close(&g_b);
}

START_TEST(two_copies_do_not_share_the_lock)
{
    char marker[64];
    group_open(&g_a, "shared.dll");
    group_open(&g_b, "shared.dll");
    g_b.set_timeout(2000);
    unique_name(marker, sizeof marker, "id-hold");
    group_start(&g_a, "hold", marker, NULL);
    ck_assert(file_wait(marker, 20000));
    /* Group A's transaction must not block group B. */
    uint64_t t0 = proc_now_ms();
    ck_assert_code(g_b.set("id.k", "b", 1), SHARED_OK);
    uint64_t took = proc_now_ms() - t0;
    ck_assert_msg(took < 1000, "group B's set took %llu ms",
                  (unsigned long long)took);
    remove(marker);
}
END_TEST

START_TEST(an_abandoned_lock_recovers_in_its_own_group)
{
    char marker[64];
    group_open(&g_a, "shared.dll");
    group_open(&g_b, "shared.dll");
    g_a.set_timeout(10000);
    g_b.set_timeout(10000);
    /* Both groups attached here, so both mutexes outlive the child. */
    ck_assert_code(g_a.set("id.k", "a", 1), SHARED_OK);
    ck_assert_code(g_b.set("id.k", "b", 1), SHARED_OK);
    unique_name(marker, sizeof marker, "id-hold");
    int h = group_start(&g_a, "hold", marker, NULL);
    ck_assert(file_wait(marker, 20000));
    kill_child(&g_children[h]);
    remove(marker);
    /* Only group A's next lock holder may see the abandoned mutex. */
    ck_assert_code(g_b.set("id.k", "b2", 2), SHARED_OK);
    ck_assert_uint_eq(group_stat(&g_b, RECOVERIES), 0);
    ck_assert_code(g_a.set("id.k", "a", 1), SHARED_OK);
    ck_assert_uint_eq(group_stat(&g_a, RECOVERIES), 1);
}
END_TEST

START_TEST(two_copies_do_not_share_wake_ups)
{
    group_open(&g_a, "shared.dll");
    group_open(&g_b, "shared.dll");
    /* B's waiter first, then A's: with shared event names, the first in
     * line (B's) would take A's wake-up. */
    int wb = group_start(&g_b, "waiter", "id.w:0", NULL);
    await_stat(&g_b, WAITERS, 1);
    int wa = group_start(&g_a, "waiter", "id.w:0", NULL);
    await_stat(&g_a, WAITERS, 1);
    uint32_t gen_b[SHARED__MAX_WAITERS];
    for (uint32_t i = 0; i < SHARED__MAX_WAITERS; i++)
        gen_b[i] = atomic_load(&g_b.r->waiter[i].gen);

    ck_assert_code(g_a.set("id.w", "a", 1), SHARED_OK);
    ck_assert_msg(child_wait(wa, 5000) == 0,
                  "group A's waiter did not wake on group A's write");
    proc_sleep_ms(300);
    for (uint32_t i = 0; i < SHARED__MAX_WAITERS; i++)
        ck_assert_msg(atomic_load(&g_b.r->waiter[i].gen) == gen_b[i],
                      "group B's waiter %u woke on group A's write", i);
    ck_assert_int_eq(child_wait(wb, 0), -1);

    ck_assert_code(g_b.set("id.w", "b", 1), SHARED_OK);
    ck_assert_msg(child_wait(wb, 5000) == 0,
                  "group B's waiter did not wake on group B's write");
}
END_TEST

/* Open handles of this process, counted by probing the handle table
 * (Wine's GetProcessHandleCount always says 0). */
static uint32_t count_handles(void)
{
    uint32_t n = 0;
    DWORD flags;
    for (uintptr_t h = 4; h < 0x10000; h += 4)
        n += GetHandleInformation((HANDLE)h, &flags) != 0;
    return n;
}

START_TEST(a_failed_attach_leaks_no_handle)
{
    group_open(&g_a, "shared.dll");
    /* A registry full of live processes (this one): joining fails. */
    uint64_t me = shared__owner_word((uint32_t)GetCurrentProcessId());
    for (uint32_t i = 0; i < SHARED_MAX_PEERS; i++)
        atomic_store(&g_a.r->peer[i].owner, me);
    for (int i = 0; i < 3; i++)
        ck_assert_code(g_a.set("id.k", "v", 1), SHARED_EPEERS);
    uint32_t before = count_handles();
    ck_assert_uint_gt(before, 0);
    for (int i = 0; i < 100; i++)
        ck_assert_code(g_a.set("id.k", "v", 1), SHARED_EPEERS);
    uint32_t after = count_handles();
    ck_assert_msg(after <= before + 2,
                  "%u handles before 100 failed attaches, %u after", before,
                  after);
    for (uint32_t i = 0; i < SHARED_MAX_PEERS; i++)
        atomic_store(&g_a.r->peer[i].owner, 0);
    ck_assert_code(g_a.set("id.k", "v", 1), SHARED_OK);
}
END_TEST

START_TEST(round_trips_leak_no_handle)
{
    uint64_t seen = 0;
    group_open(&g_a, "shared.dll");
    int h = group_start(&g_a, "ponger", "id.pp:60", NULL);
    uint32_t before = 0;
    for (int64_t i = 1; i <= 60; i++) {
        if (i == 11)
            before = count_handles();
        ck_assert_code(g_a.set("id.pp.a", &i, sizeof i), SHARED_OK);
        ck_assert_code(g_a.wait("id.pp.b", seen, 10000, &seen), SHARED_OK);
    }
    uint32_t after = count_handles();
    ck_assert_int_eq(child_wait(h, 10000), 0);
    ck_assert_msg(after <= before + 2,
                  "%u handles after 10 set/wait round trips, %u after 60",
                  before, after);
}
END_TEST

/* wait-threads STEP:N - N threads wait for a change of "id.h" (each
 * stopped at STEP by SHARED_TEST_STOP in a hooks build); stays until
 * killed. */
static DWORD WINAPI wait_thread(LPVOID arg)
{
    (void)arg;
    uint64_t v = 0;
    uint32_t len;
    int rc = shared_get("id.h", NULL, 0, &len, &v);
    if (rc == 0 || rc == SHARED_ETOOBIG || rc == SHARED_ENOTFOUND)
        rc = shared_wait("id.h", v, 60000, NULL);
    return (DWORD)(rc < 0 ? -rc : 0);
}

int role_wait_threads(const char *arg)
{
    char step[SHARED_KEY_MAX + 1];
    int64_t n;
    if (role_arg(arg, step, &n, NULL, 0) || n < 1 || n > 1000)
        return 2;
    for (int64_t i = 0; i < n; i++) {
        HANDLE t = CreateThread(NULL, 65536, wait_thread, NULL,
                                STACK_SIZE_PARAM_IS_A_RESERVATION, NULL);
        if (!t)
            return 1;
        CloseHandle(t);
    }
    proc_sleep_ms(60000);
    return 3;
}

START_TEST(dead_waiters_do_not_fill_the_table)
{
    group_open(&g_a, "shared_hooks.dll");
    g_a.set_timeout(10000);
    ck_assert_uint_eq(group_stat(&g_a, WAITERS), 0); /* attached */
    /* Every entry claimed by threads that then die before marking it. */
    int h = group_start(&g_a, "wait-threads", "claim:256", "claim");
    await_entries(&g_a, h, SHARED__MAX_WAITERS, "claim");
    kill_child(&g_children[h]);
    uint64_t now = 0;
    ck_assert_code(g_a.wait("id.h", 0, 200, &now), SHARED_ETIMEDOUT);
    group_start(&g_a, "later", "id.h:300:x", NULL);
    ck_assert_code(g_a.wait("id.h", 0, 10000, &now), SHARED_OK);
    ck_assert_uint_ne(now, 0);
}
END_TEST

START_TEST(waiters_killed_at_every_step_leave_nothing)
{
    static const char *const steps[] = {"claim", "event", "ready", ""};
    char arg[32];
    group_open(&g_a, "shared_hooks.dll");
    g_a.set_timeout(10000);
    ck_assert_uint_eq(group_stat(&g_a, WAITERS), 0);
    for (size_t s = 0; s < sizeof steps / sizeof steps[0]; s++) {
        const char *name = *steps[s] ? steps[s] : "blocked";
        snprintf(arg, sizeof arg, "%s:64", name);
        int h = group_start(&g_a, "wait-threads", arg, steps[s]);
        await_entries(&g_a, h, 64, name);
        kill_child(&g_children[h]);
    }
    /* A waiter still gets its wake-up, and nothing is left behind once
     * another process has attached. */
    uint64_t now = 0;
    int h = group_start(&g_a, "later", "id.h:300:x", NULL);
    ck_assert_code(g_a.wait("id.h", 0, 10000, &now), SHARED_OK);
    ck_assert_int_eq(child_wait(h, 10000), 0);
    ck_assert_uint_eq(group_stat(&g_a, WAITERS), 0);
    ck_assert_msg(entries_owned(&g_a, 0) == 0,
                  "%u waiter entries still owned after their owners died",
                  entries_owned(&g_a, 0));
}
END_TEST

START_TEST(a_failed_wait_is_an_error_not_a_spin)
{
    group_open(&g_a, "shared_hooks.dll");
    /* The hook closes the event before the wait: WAIT_FAILED. */
    SetEnvironmentVariableA("SHARED_TEST_STOP", "badhandle");
    uint64_t t0 = proc_now_ms();
    int rc = g_a.wait("id.h", 0, 2000, NULL);
    uint64_t took = proc_now_ms() - t0;
    SetEnvironmentVariableA("SHARED_TEST_STOP", NULL);
    ck_assert_msg(rc == SHARED_ESYSTEM && took < 1000,
                  "wait returned %s after %llu ms", shared_errname(rc),
                  (unsigned long long)took);
    ck_assert_uint_eq(g_a.os_error(), ERROR_INVALID_HANDLE);
    ck_assert_uint_eq(group_stat(&g_a, WAITERS), 0);
    ck_assert_uint_eq(entries_owned(&g_a, 0), 0);
}
END_TEST

START_TEST(a_taken_event_name_is_skipped)
{
    wchar_t name[96];
    group_open(&g_a, "shared.dll");
    ck_assert_uint_eq(group_stat(&g_a, WAITERS), 0); /* publishes the id */
    uint64_t id = atomic_load(&g_a.r->hdr.instance_id);
    ck_assert_uint_ne(id, 0);
    /* Someone holds the name entry 0's next waiter would use, signalled. */
    uint32_t gen = atomic_load(&g_a.r->waiter[0].gen) & 0x7fffffffu;
    _snwprintf(name, 96, L"Global\\shared-%016llx-%016llx-w0-%u",
               (unsigned long long)SHARED_BUILD_ID, (unsigned long long)id,
               (unsigned)(gen + 1u));
    name[95] = L'\0';
    HANDLE squat = CreateEventW(NULL, FALSE, TRUE, name);
    ck_assert_ptr_nonnull(squat);
    uint64_t t0 = proc_now_ms();
    ck_assert_code(g_a.wait("id.s", 0, 300, NULL), SHARED_ETIMEDOUT);
    ck_assert_uint_ge(proc_now_ms() - t0, 250);
    /* The waiter made its own event: the squatter's signal is untouched. */
    ck_assert_msg(WaitForSingleObject(squat, 0) == WAIT_OBJECT_0,
                  "the waiter used an event it did not create");
    CloseHandle(squat);
    ck_assert_uint_eq(entries_owned(&g_a, 0), 0);
    /* And wake-ups still arrive. */
    group_start(&g_a, "later", "id.s:300:x", NULL);
    ck_assert_code(g_a.wait("id.s", 0, 10000, NULL), SHARED_OK);
}
END_TEST

Suite *identity_suite(void)
{
    Suite *s = suite_create("identity");
    TCase *tc = tcase_create("identity");
    tcase_add_checked_fixture(tc, NULL, identity_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, two_copies_do_not_share_the_lock);
    tcase_add_test(tc, an_abandoned_lock_recovers_in_its_own_group);
    tcase_add_test(tc, two_copies_do_not_share_wake_ups);
    tcase_add_test(tc, a_failed_attach_leaks_no_handle);
    tcase_add_test(tc, round_trips_leak_no_handle);
    tcase_add_test(tc, dead_waiters_do_not_fill_the_table);
    tcase_add_test(tc, waiters_killed_at_every_step_leave_nothing);
    tcase_add_test(tc, a_failed_wait_is_an_error_not_a_spin);
    tcase_add_test(tc, a_taken_event_name_is_skipped);
    suite_add_tcase(s, tc);
    return s;
}
