/*
 * wait.c (Windows) - waiting for changes with named events, without
 * PulseEvent and without a reset race: every waiting thread owns an entry
 * of the section's waiter table and its own auto-reset event
 * Global\shared-<build id>-w<index>-<gen>. A writer bumps wake_seq, then
 * sets the event of every entry marked ready in the mask. The waiter marks
 * its entry ready before it compares wake_seq: either the writer sees it
 * and sets its event (which stays set until waited on), or the waiter sees
 * the new wake_seq and does not block. An entry whose event can no longer
 * be opened belongs to a dead waiter: the writer frees it.
 */
#include <windows.h>
#include <stdio.h>

#include "win.h"

#define READY 0x80000000u

static void event_name(wchar_t *buf, size_t cap, uint32_t idx, uint32_t gen)
{
    _snwprintf(buf, cap, L"Global\\shared-%016llx-w%u-%u",
               (unsigned long long)SHARED_BUILD_ID, (unsigned)idx,
               (unsigned)(gen & ~READY));
    buf[cap - 1] = L'\0';
}

static uint64_t bit(uint32_t idx)
{
    return (uint64_t)1 << (idx % 64u);
}

/* Claims a free waiter entry: its index, or UINT32_MAX. */
static uint32_t claim(shared__region *r)
{
    uint64_t mine = shared__owner_word(shared__backend_pid());
    for (uint32_t i = 0; i < SHARED__MAX_WAITERS; i++) {
        uint64_t none = 0;
        if (atomic_compare_exchange_strong(&r->waiter[i].owner, &none, mine))
            return i;
    }
    return UINT32_MAX;
}

static void release(shared__region *r, uint32_t idx)
{
    shared__waiter *w = &r->waiter[idx];
    atomic_fetch_and(&r->hdr.wait_mask[idx / 64u], ~bit(idx));
    atomic_store(&w->gen, atomic_load(&w->gen) & ~READY);
    atomic_store(&w->owner, 0);
}

int shared__backend_wait(shared__region *r, uint32_t seen, uint32_t timeout_ms)
{
    wchar_t name[96];
    uint32_t idx = claim(r);
    if (idx == UINT32_MAX)
        return SHARED_EWAITERS;
    shared__waiter *w = &r->waiter[idx];
    uint32_t gen = ((atomic_load(&w->gen) & ~READY) + 1u) & ~READY;
    event_name(name, 96, idx, gen);
    HANDLE ev = shared__win_object(name, 0);
    if (!ev) {
        atomic_store(&w->owner, 0);
        return SHARED_ESYSTEM;
    }
    atomic_store(&w->gen, gen | READY);
    atomic_fetch_or(&r->hdr.wait_mask[idx / 64u], bit(idx));
    if (atomic_load(&r->hdr.wake_seq) == seen) {
        DWORD ms = timeout_ms == INFINITE ? INFINITE - 1u : timeout_ms;
        WaitForSingleObject(ev, ms);
    }
    release(r, idx);
    CloseHandle(ev);
    return 0;
}

void shared__backend_wake(shared__region *r)
{
    wchar_t name[96];
    for (uint32_t word = 0; word < SHARED__WAITER_WORDS; word++) {
        uint64_t mask = atomic_load(&r->hdr.wait_mask[word]);
        while (mask) {
            uint32_t b = 0;
            while (!(mask & ((uint64_t)1 << b)))
                b++;
            mask &= ~((uint64_t)1 << b);
            uint32_t idx = word * 64u + b;
            shared__waiter *w = &r->waiter[idx];
            uint64_t owner = atomic_load(&w->owner);
            uint32_t gen = atomic_load(&w->gen);
            if (!(gen & READY) || owner == 0)
                continue;
            event_name(name, 96, idx, gen);
            HANDLE ev = OpenEventW(EVENT_MODIFY_STATE, FALSE, name);
            if (ev) {
                SetEvent(ev);
                CloseHandle(ev);
            } else if (GetLastError() == ERROR_FILE_NOT_FOUND &&
                       atomic_load(&w->gen) == gen &&
                       atomic_compare_exchange_strong(&w->owner, &owner, 0)) {
                /* Its owner died while waiting: free the entry. */
                atomic_fetch_and(&r->hdr.wait_mask[word], ~bit(idx));
            }
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
