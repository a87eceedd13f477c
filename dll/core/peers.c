/*
 * peers.c - the registry of processes using the section. An entry is owned
 * through one 64-bit word (pid and a tag), taken and given back with a
 * single CAS: the owner leaves without the lock (from DllMain too), and of
 * two processes reaping the same dead entry only one succeeds.
 */
#include <string.h>

#include "slot.h"

/* Low byte of an owner word; anything else there is damage. */
#define OWNER_TAG 0x5au

uint64_t shared__owner_word(uint32_t pid)
{
    return ((uint64_t)pid << 8) | OWNER_TAG;
}

static uint32_t owner_pid(uint64_t owner)
{
    return (uint32_t)(owner >> 8);
}

int shared__peer_join(shared__region *r, uint32_t pid, uint64_t start_time,
                      const char *exe, uint64_t now_ms, uint32_t *idx)
{
    uint64_t words[SHARED__NAME_WORDS] = {0};
    size_t n = strlen(exe);
    memcpy(words, exe, n < sizeof words - 1 ? n : sizeof words - 1);
    for (uint32_t i = 0; i < SHARED_MAX_PEERS; i++) {
        shared__peer *p = &r->peer[i];
        uint64_t none = 0;
        if (!atomic_compare_exchange_strong(&p->owner, &none,
                                            shared__owner_word(pid)))
            continue;
        STORE(&p->start_time, 0);
        STORE(&p->waiting, 0);
        STORE(&p->attach_ms, now_ms);
        STORE(&p->active_ms, now_ms);
        for (uint32_t w = 0; w < SHARED__NAME_WORDS; w++)
            STORE(&p->exe[w], words[w]);
        atomic_store_explicit(&p->start_time, start_time, memory_order_release);
        *idx = i;
        return 0;
    }
    return SHARED_EPEERS;
}

uint32_t shared__peers_alive(shared__region *r, shared__alive_fn alive,
                             uint32_t only_pid, uint32_t skip_pid)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < SHARED_MAX_PEERS; i++) {
        uint64_t owner = LOAD(&r->peer[i].owner);
        uint32_t pid = owner_pid(owner);
        if (owner == 0 || (owner & 0xffu) != OWNER_TAG || pid == skip_pid ||
            (only_pid != 0 && pid != only_pid))
            continue;
        n += alive(pid, atomic_load(&r->peer[i].start_time)) != 0;
    }
    return n;
}

void shared__peer_leave(shared__region *r, uint32_t idx, uint32_t pid)
{
    uint64_t mine = shared__owner_word(pid);
    if (idx < SHARED_MAX_PEERS)
        atomic_compare_exchange_strong(&r->peer[idx].owner, &mine, 0);
}

uint32_t shared__peer_reap(shared__region *r, shared__alive_fn alive,
                           uint32_t self_pid)
{
    uint32_t live = 0;
    for (uint32_t i = 0; i < SHARED_MAX_PEERS; i++) {
        shared__peer *p = &r->peer[i];
        uint64_t owner = LOAD(&p->owner);
        if (owner == 0)
            continue;
        uint32_t pid = owner_pid(owner);
        uint64_t start = atomic_load(&p->start_time);
        if ((owner & 0xffu) == OWNER_TAG && alive(pid, start)) {
            live += pid != self_pid;
            continue;
        }
        /* A process that died waiting still counts in `waiters`. */
        uint32_t waiting = LOAD(&p->waiting);
        if (atomic_compare_exchange_strong(&p->owner, &owner, 0)) {
            atomic_fetch_add(&r->hdr.peers_reaped, 1);
            if (waiting && waiting <= LOAD(&r->hdr.waiters))
                atomic_fetch_sub(&r->hdr.waiters, waiting);
        }
    }
    return live;
}

int shared__peer_info(shared__region *r, uint32_t idx, uint32_t self_pid,
                      shared_peer_info *out)
{
    shared__peer *p = &r->peer[idx];
    uint64_t words[SHARED__NAME_WORDS];
    uint64_t owner = LOAD(&p->owner);
    memset(out, 0, sizeof *out);
    if (owner == 0)
        return SHARED_ENOTFOUND;
    out->pid = owner_pid(owner);
    out->self = out->pid == self_pid;
    out->start_time = LOAD(&p->start_time);
    out->attach_ms = LOAD(&p->attach_ms);
    out->active_ms = LOAD(&p->active_ms);
    for (uint32_t w = 0; w < SHARED__NAME_WORDS; w++)
        words[w] = LOAD(&p->exe[w]);
    memcpy(out->exe, words, sizeof out->exe - 1);
    return 0;
}
