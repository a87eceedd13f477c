/*
 * wait.c (Windows) - waiting for changes with named events, without
 * PulseEvent and without a reset race: every waiting thread owns an entry
 * of the section's waiter table and an auto-reset event
 * Global\shared-<build id>-<instance id>-w<index>-<gen> (a named
 * instance: its own prefix, see lock.c).
 *
 * Waiter: (1) claims a free entry with one CAS of its owner word (pid and
 * tag; the entry it had last first), then writes its process start time;
 * (2) takes the entry's event: the one this process made for the entry
 * if the entry's gen is still the one it was made under, else it advances
 * gen and creates the event of that name; (3) records the wake bucket it
 * waits on, bumps the entry's serial and marks the entry ready (gen with
 * the READY bit), and sets its bit in the header's wait_mask; (4) compares
 * its bucket's wake word with the value its caller saw and blocks on the
 * event only if it is unchanged; (5) releases the entry: mask bit, READY,
 * start time, and last the owner word, and keeps the event for its next
 * wait. A writer bumps the wake words of the buckets it changed, then sets
 * the event of every entry marked ready in the mask that waits on one of
 * them (or on any change). Either the writer sees the ready mark and sets
 * the event (which stays set until waited on), or the waiter sees the new
 * word and does not block. A signal left over from a wait that ended
 * without taking it only makes the next wait return early (callers
 * re-check).
 *
 * Handles: each process keeps, per entry, the event it made for it (reused
 * by its next wait on that entry) and the event of the entry's waiter it
 * opened to wake it (reused while the entry's gen stays): a round trip
 * creates, opens and closes nothing. A writer that finds the wait it
 * signalled (same gen and serial) still pending does not signal it again;
 * if it is still pending DEAD_CHECK_MS later, it checks the owner.
 *
 * A fresh event is required: if CreateEventW finds the name taken
 * (ERROR_ALREADY_EXISTS: a stale or squatted object, whose pending signal
 * would be a spurious wake and whose owner could reset it under us), the
 * waiter skips to the next gen, a few times, then fails with SHARED_ESYSTEM.
 *
 * Dead waiters: an entry whose owner died at any step is taken back. A
 * writer that finds a ready entry's event gone or its signal untaken,
 * every attaching process, and a waiter that finds no free entry check the
 * owner (pid plus start time; start time 0 means "pid only") and, if it is
 * dead, take the entry over in two moves: the owner word goes to a REAPING
 * word (the reaper's pid, another tag), the entry is cleaned, and only then
 * the owner word is set to 0 (freed) or to the reaper's own claim. So
 * start_time is 0 whenever an entry is free or being claimed, and a stale
 * start time is never paired with a new owner; and a mask bit is never
 * cleared after another waiter may have claimed the entry.
 */
#include <windows.h>
#include <stdio.h>
#include <string.h>

#include "win.h"

#define READY 0x80000000u
#define REAPING_TAG 0xa5u
#define GEN_TRIES 4
#define DEAD_CHECK_MS 200u

/* This process's handles, per waiter entry, guarded by g_cache. own[i]:
 * the event it created for entry i under gen own[i].gen (busy while one of
 * its threads waits with it); set[i]: entry i's event, opened to wake it,
 * under gen set[i].gen, last signalled for the wait numbered serial at
 * tick `at`. */
typedef struct cached {
    HANDLE h;
    uint32_t gen;
    uint32_t serial;
    uint64_t at;
    int busy;
} cached;
static cached g_own[SHARED__MAX_WAITERS], g_set[SHARED__MAX_WAITERS];
static SRWLOCK g_cache = SRWLOCK_INIT;
/* The entry this thread waited with last: claimed first if free. */
static SHARED__TLS uint32_t tls_entry;

#ifdef SHARED_TEST_HOOKS
/* Test-only builds (shared_hooks.dll): when SHARED_TEST_STOP names `step`,
 * the waiting thread stops there (for a minute) so that a test can kill
 * its process at that point of the protocol. Never compiled into the
 * shipped DLL: nothing in the section can trigger it. */
static int test_step(const char *step)
{
    char want[32];
    DWORD n = GetEnvironmentVariableA("SHARED_TEST_STOP", want, sizeof want);
    return n > 0 && n < sizeof want && strcmp(want, step) == 0;
}
void shared__backend_test_stop(const char *step)
{
    if (test_step(step))
        Sleep(60000);
}
#else
#  define test_step(step) 0
#endif

static void event_name(wchar_t *buf, size_t cap, uint32_t idx, uint32_t gen)
{
    _snwprintf(buf, cap, L"%ls-w%u-%u", shared__win_prefix(), (unsigned)idx,
               (unsigned)(gen & ~READY));
    buf[cap - 1] = L'\0';
}

static uint64_t bit(uint32_t idx)
{
    return (uint64_t)1 << (idx % 64u);
}

/* 1 if the owner of an entry (as read in `owner`) is a dead process, or
 * the word is no owner at all (damage). */
static int owner_dead(shared__waiter *w, uint64_t owner)
{
    uint32_t pid = (uint32_t)(owner >> 8);
    uint64_t start = 0;
    if (owner == 0)
        return 0;
    if (owner == shared__owner_word(pid))
        start = atomic_load(&w->start_time);
    else if ((owner & 0xffu) != REAPING_TAG)
        return 1;
    if (pid == shared__backend_pid())
        return start != 0 && start != shared__self_start();
    return !shared__backend_alive(pid, start);
}

/* Cleans entry idx held by us (as owner or reaper): mask bit, READY, start
 * time; the caller then sets the owner word. */
static void clear_entry(shared__region *r, uint32_t idx)
{
    shared__waiter *w = &r->waiter[idx];
    atomic_fetch_and(&r->hdr.wait_mask[idx / 64u], ~bit(idx));
    atomic_store(&w->gen, atomic_load(&w->gen) & ~READY);
    atomic_store(&w->start_time, 0);
}

/* Takes entry idx from its dead owner `owner`: cleans it and leaves it
 * owned by `next` (0: free). 0 if another process took it first. */
static int take_over(shared__region *r, uint32_t idx, uint64_t owner,
                     uint64_t next)
{
    shared__waiter *w = &r->waiter[idx];
    uint64_t reaping = ((uint64_t)shared__backend_pid() << 8) | REAPING_TAG;
    if (!atomic_compare_exchange_strong(&w->owner, &owner, reaping))
        return 0;
    clear_entry(r, idx);
    atomic_store(&w->owner, next);
    return 1;
}

/* Claims a waiter entry: a free one, else one whose owner died. Its index,
 * or UINT32_MAX if every entry belongs to a live waiter. */
static uint32_t claim(shared__region *r)
{
    uint64_t mine = shared__owner_word(shared__backend_pid());
    uint64_t none = 0;
    uint32_t last = tls_entry % SHARED__MAX_WAITERS;
    if (atomic_compare_exchange_strong(&r->waiter[last].owner, &none, mine))
        return last;
    for (uint32_t i = 0; i < SHARED__MAX_WAITERS; i++) {
        none = 0;
        if (atomic_compare_exchange_strong(&r->waiter[i].owner, &none, mine))
            return i;
    }
    for (uint32_t i = 0; i < SHARED__MAX_WAITERS; i++) {
        uint64_t owner = atomic_load(&r->waiter[i].owner);
        if (owner_dead(&r->waiter[i], owner) && take_over(r, i, owner, mine))
            return i;
    }
    return UINT32_MAX;
}

/* Gives back our entry (unless a reaper wrongly took it: then it is not
 * ours to touch). */
static void release(shared__region *r, uint32_t idx)
{
    shared__waiter *w = &r->waiter[idx];
    uint64_t mine = shared__owner_word(shared__backend_pid());
    if (atomic_load(&w->owner) != mine)
        return;
    clear_entry(r, idx);
    atomic_compare_exchange_strong(&w->owner, &mine, 0);
}

void shared__win_reap_waiters(shared__region *r)
{
    for (uint32_t i = 0; i < SHARED__MAX_WAITERS; i++) {
        uint64_t owner = atomic_load(&r->waiter[i].owner);
        if (owner_dead(&r->waiter[i], owner))
            take_over(r, i, owner, 0);
    }
}

/* Creates a fresh event for entry idx under one of the next gens; NULL
 * with the OS error on failure. */
static HANDLE fresh_event(shared__waiter *w, uint32_t idx, uint32_t *gen)
{
    wchar_t name[96];
    uint32_t g = atomic_load(&w->gen) & ~READY;
    DWORD err = ERROR_ALREADY_EXISTS;
    for (int i = 0; i < GEN_TRIES; i++) {
        g = (g + 1u) & ~READY;
        event_name(name, 96, idx, g);
        HANDLE ev = shared__win_object(name, 0);
        err = GetLastError();
        if (ev && err != ERROR_ALREADY_EXISTS) {
            *gen = g;
            return ev;
        }
        if (ev)
            CloseHandle(ev);
        else
            break;
    }
    /* Names tried are used up: the next claim starts after them. */
    atomic_store(&w->gen, g);
    shared__set_os_error((uint32_t)err);
    return NULL;
}

/* The event for this process's wait on entry idx (claimed by it), under
 * the entry's gen in *gen: the one it made for the entry before if the gen
 * is unchanged, else a fresh one. *mine: the entry's cache is this wait's
 * (0 when another thread of this process holds it: a damaged owner word),
 * to hand back with own_put. NULL with the OS error on failure. */
static HANDLE own_event(shared__waiter *w, uint32_t idx, uint32_t *gen,
                        int *mine)
{
    HANDLE ev = NULL, old = NULL;
    uint32_t g = atomic_load(&w->gen) & ~READY;
    AcquireSRWLockExclusive(&g_cache);
    cached *c = &g_own[idx];
    *mine = !c->busy;
    if (*mine) {
        c->busy = 1;
        if (c->h && c->gen == g)
            ev = c->h;
        else
            old = c->h;
        c->h = NULL;
    }
    ReleaseSRWLockExclusive(&g_cache);
    if (old)
        CloseHandle(old);
    if (ev) {
        *gen = g;
        return ev;
    }
    return fresh_event(w, idx, gen);
}

/* Hands entry idx's event back after a wait: kept for the next one if
 * `keep`, else closed. */
static void own_put(uint32_t idx, HANDLE ev, uint32_t gen, int mine, int keep)
{
    if (mine) {
        AcquireSRWLockExclusive(&g_cache);
        g_own[idx].h = keep ? ev : NULL;
        g_own[idx].gen = gen;
        g_own[idx].busy = 0;
        ReleaseSRWLockExclusive(&g_cache);
    }
    if ((!mine || !keep) && ev)
        CloseHandle(ev);
}

int shared__backend_wait(shared__region *r, uint32_t bucket, uint32_t seen,
                         uint32_t timeout_ms)
{
    uint32_t idx = claim(r), gen = 0;
    int mine = 0;
    if (idx == UINT32_MAX)
        return SHARED_EWAITERS;
    if (bucket > SHARED__WAKE_ANY)
        bucket = SHARED__WAKE_ANY;
    tls_entry = idx;
    shared__waiter *w = &r->waiter[idx];
    shared__backend_test_stop("claim");
    atomic_store(&w->start_time, shared__self_start());
    HANDLE ev = own_event(w, idx, &gen, &mine);
    if (!ev) {
        own_put(idx, NULL, 0, mine, 0);
        release(r, idx);
        return SHARED_ESYSTEM;
    }
    shared__backend_test_stop("event");
    atomic_store(&w->bucket, bucket);
    atomic_fetch_add(&w->serial, 1);
    atomic_store(&w->gen, gen | READY);
    atomic_fetch_or(&r->hdr.wait_mask[idx / 64u], bit(idx));
    shared__backend_test_stop("ready");
    if (test_step("badhandle")) { /* the wait below fails: WAIT_FAILED */
        own_put(idx, NULL, gen, mine, 0);
        CloseHandle(ev);
        ev = (HANDLE)(uintptr_t)0x7ffffff0;
        mine = -1; /* nothing to hand back */
    }
    int rc = 0;
    if (atomic_load(&r->wake[bucket].seq) == seen) {
        /* INFINITE is 0xFFFFFFFF: clamp so that no wait is unbounded. */
        DWORD ms = timeout_ms >= INFINITE ? INFINITE - 1u : timeout_ms;
        DWORD got = WaitForSingleObject(ev, ms);
        if (got == WAIT_OBJECT_0)
            atomic_fetch_add(&r->hdr.wakeups, 1);
        if (got != WAIT_OBJECT_0 && got != WAIT_TIMEOUT) {
            shared__set_os_error(got == WAIT_FAILED ? (uint32_t)GetLastError()
                                                    : (uint32_t)got);
            rc = SHARED_ESYSTEM;
        }
    }
    release(r, idx);
    if (mine >= 0) /* a handle that failed is not kept */
        own_put(idx, ev, gen, mine, rc == 0);
    return rc;
}

/* Sets the event of ready entry idx (owner, gen with READY, serial as
 * read), through this process's cached handle; frees the entry if its
 * owner turns out dead. */
static void wake_entry(shared__region *r, uint32_t idx, uint64_t owner,
                       uint32_t gen, uint32_t serial)
{
    shared__waiter *w = &r->waiter[idx];
    HANDLE stale = NULL;
    int dead = 0, signal = 1;
    uint64_t now = GetTickCount64();
    AcquireSRWLockExclusive(&g_cache);
    cached *c = &g_set[idx];
    if (c->h && c->gen != (gen & ~READY)) {
        stale = c->h;
        c->h = NULL;
    } else if (c->h && c->serial == serial) {
        /* The wait signalled last is still pending: not again, unless it
         * has been for long (then its owner may be dead). */
        signal = now - c->at >= DEAD_CHECK_MS;
        if (signal && owner_dead(w, owner)) {
            stale = c->h;
            c->h = NULL;
            dead = 1;
        }
    }
    if (!c->h && !dead) {
        wchar_t name[96];
        event_name(name, 96, idx, gen);
        HANDLE ev = OpenEventW(EVENT_MODIFY_STATE, FALSE, name);
        if (ev) {
            c->h = ev;
            c->gen = gen & ~READY;
            signal = 1;
        } else if (GetLastError() == ERROR_FILE_NOT_FOUND &&
                   atomic_load(&w->gen) == gen && owner_dead(w, owner)) {
            dead = 1; /* its owner died while waiting */
        }
    }
    if (c->h && signal) {
        SetEvent(c->h);
        c->serial = serial;
        c->at = now;
    }
    ReleaseSRWLockExclusive(&g_cache);
    if (stale)
        CloseHandle(stale);
    if (dead)
        take_over(r, idx, owner, 0);
}

void shared__backend_wake(shared__region *r, const shared__wakeset *set)
{
    for (uint32_t word = 0; word < SHARED__WAITER_WORDS; word++) {
        uint64_t mask = atomic_load(&r->hdr.wait_mask[word]);
        for (uint32_t b = 0; mask && b < 64u; b++) {
            if (!(mask & ((uint64_t)1 << b)))
                continue;
            mask &= ~((uint64_t)1 << b);
            uint32_t idx = word * 64u + b;
            shared__waiter *w = &r->waiter[idx];
            uint64_t owner = atomic_load(&w->owner);
            uint32_t gen = atomic_load(&w->gen);
            uint32_t serial = atomic_load(&w->serial);
            uint32_t on = atomic_load(&w->bucket);
            if (!(gen & READY) || owner == 0)
                continue;
            /* Out of range (damage): woken, as a waiter on any change. */
            if (set && on < SHARED__WAKE_ANY &&
                !(set->bits[on / 64u] & ((uint64_t)1 << (on % 64u))))
                continue;
            wake_entry(r, idx, owner, gen, serial);
        }
    }
}

uint32_t shared__backend_waiters(shared__region *r)
{
    uint32_t n = 0;
    for (uint32_t word = 0; word < SHARED__WAITER_WORDS; word++) {
        uint64_t mask = atomic_load(&r->hdr.wait_mask[word]);
        for (; mask; mask &= mask - 1)
            n++;
    }
    return n;
}

void shared__win_wait_unload(void)
{
    for (uint32_t i = 0; i < SHARED__MAX_WAITERS; i++) {
        if (g_own[i].h && !g_own[i].busy)
            CloseHandle(g_own[i].h);
        if (g_set[i].h)
            CloseHandle(g_set[i].h);
        g_own[i].h = g_set[i].h = NULL;
    }
}
