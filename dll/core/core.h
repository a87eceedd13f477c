/*
 * core.h - portable operations on a shared region.
 *
 * The core knows nothing of the OS: it works on any region pointer (the
 * backends hand it the shared mapping; unit tests hand it a plain buffer).
 * Functions documented "(locked)" assume the caller holds the region's lock;
 * the others are lock-free and may be called at any time.
 */
#ifndef SHARED_CORE_H
#define SHARED_CORE_H

#include "layout.h"

/* Internal result: a lock-free read could not get a stable view; take the
 * lock and read again. Never returned to users. */
#define SHARED__RETRY 1

/*
 * A private, validated copy of one slot, without its value: the reads below
 * deliver the value straight into a buffer of the caller's (`buf`, `cap`
 * bytes; NULL and 0 for none), and only when it fits (value_len <= cap).
 * So nothing the size of a value is ever on the stack (see slot.c). After a
 * read that does not return 0, buf's contents are meaningless.
 */
typedef struct shared__copy {
    uint32_t slot;
    uint32_t state;
    uint32_t type;
    uint32_t key_len;
    uint32_t value_len;
    uint64_t version;
    char key[SHARED__KEY_WORDS * 8u];
    uint32_t hint; /* a key lookup's: the hint of the key looked up */
} shared__copy;

/* The index of the lowest set bit of m (m != 0). */
uint32_t shared__lowest_bit(uint64_t m);

/* Formats `r` as an empty region of this build, not yet marked ready. */
void shared__region_format(shared__region *r);

/* Marks a formatted region ready (release): openers may use it now. */
void shared__region_publish(shared__region *r);

/* Validates the header of `r` against this build: SHARED_EVERSION if the
 * magic, layout version, sizes, bitness, limits or build id differ. */
int shared__region_check(const shared__region *r);

/* Validates the header of a named instance (shared_open): as
 * shared__region_check, but bitness and build id are not compared, the
 * layout id is (SHARED_LAYOUT_ID: layout version and limits), so builds of
 * either bitness and any compiler with the same limits share it.
 * SHARED_EVERSION on a mismatch. */
int shared__region_check_named(const shared__region *r);

/* Validates a key: SHARED_ENULL, SHARED_EKEYEMPTY, SHARED_EKEYTOOLONG, or 0
 * with its length in *len. */
int shared__key_check(const char *key, uint32_t *len);

/* Lock-free lookup: fills *out with a committed, consistent copy of `key`.
 * Returns 0, SHARED_ENOTFOUND, SHARED_ECORRUPT or SHARED__RETRY. */
int shared__read(shared__region *r, const char *key, uint32_t klen,
                 shared__copy *out, void *buf, uint32_t cap);

/* (locked) The same lookup under the lock: 0, ENOTFOUND or ECORRUPT. */
int shared__read_locked(shared__region *r, const char *key, uint32_t klen,
                        shared__copy *out, void *buf, uint32_t cap);

/* Copies slot `i`: lock-free if !locked. Returns 0 (used, copied),
 * SHARED_ENOTFOUND (free), SHARED_ECORRUPT or SHARED__RETRY. */
int shared__read_slot(shared__region *r, uint32_t i, int locked,
                      shared__copy *out, void *buf, uint32_t cap);

/*
 * (locked) Journal control. A change is made between begin and commit; a
 * SINGLE change touches one slot, a TX may touch up to SHARED_JOURNAL_MAX.
 * Rollback undoes every journaled change of the open TX.
 */
void shared__journal_begin(shared__region *r, uint32_t kind);
void shared__journal_commit(shared__region *r);
void shared__journal_rollback(shared__region *r);

/*
 * (locked) The one recovery path, run when the lock was taken from a dead
 * holder or a journal was left open: completes or undoes the dead writer's
 * change, repairs sequence counters left odd, rebuilds the hints and the
 * usage counters. `owner_died` is counted in the statistics.
 */
void shared__recover(shared__region *r, int owner_died);

/* (locked) Recomputes what can be derived from the slots: hints of valid
 * and free slots, key and byte counts, a version counter above every
 * stored version (part of recovery; also after a corrupt slot was
 * replaced). */
void shared__rebuild(shared__region *r);

/* (locked) Stores bytes (type SHARED_TYPE_BYTES); if `expected` is not
 * NULL, only if the key's version is *expected (0: must not exist). */
int shared__op_put(shared__region *r, const char *key, uint32_t klen,
                   const void *value, uint32_t len, const uint64_t *expected,
                   uint64_t *version);

/* (locked) Adds to a counter, creating it. */
int shared__op_add(shared__region *r, const char *key, uint32_t klen,
                   int64_t delta, int64_t *result);

/* (locked) Removes a key. */
int shared__op_del(shared__region *r, const char *key, uint32_t klen);

/* (locked) Removes every key and channel; keeps statistics and the
 * version counter. */
void shared__op_reset(shared__region *r);

/* (locked) Describes slot i for shared_inspect. */
void shared__slot_info(shared__region *r, uint32_t i, shared_slot_info *out);

/* ---- channels (all locked) ---- */

/* Finds the channel named `name`; creates it if `create`, recycling an
 * empty channel without live receivers if none is free (`now_ms`: the
 * monotonic clock, for the receivers' leases). 0 with its index,
 * SHARED_ENOTFOUND (absent, !create) or SHARED_ECHANNELS (no room). */
int shared__chan_find(shared__region *r, const char *name, uint32_t nlen,
                      int create, uint64_t now_ms, uint32_t *idx);

/* Most a receiver's registration may run ahead of the clock (a lease of
 * at most this long; see messaging.c). Longer ones are damage, ignored. */
#define SHARED__RX_LEASE_MAX_MS 2000u

/* Registers a receiver about to wait on channel idx until until_ms (the
 * monotonic clock); *gen receives the channel's generation. */
void shared__chan_rx_enter(shared__region *r, uint32_t idx, uint64_t until_ms,
                           uint32_t *gen);

/* Takes a registration off channel idx, if the channel is still the one
 * it was made on (gen). */
void shared__chan_rx_leave(shared__region *r, uint32_t idx, uint32_t gen);

/* Queues a message: 0, or SHARED_ECHANFULL when the ring is full. */
int shared__chan_send(shared__region *r, uint32_t idx, const void *msg,
                      uint32_t len);

/* Takes the oldest message: 0, SHARED_ENOTFOUND (empty), SHARED_ETOOBIG
 * (kept; *len set) or SHARED_ECORRUPT (dropped). */
int shared__chan_recv(shared__region *r, uint32_t idx, void *buf, uint32_t cap,
                      uint32_t *len);

/* Describes channel idx; 0, or SHARED_ENOTFOUND if unused. */
int shared__chan_info(shared__region *r, uint32_t idx,
                      shared_channel_info *out);

/* Empties every channel and forgets their names (part of op_reset). */
void shared__chan_reset(shared__region *r);

/* ---- peers ---- */

/* Tells whether the process (pid, start_time) is still running: 1 yes,
 * 0 gone (or the pid now belongs to another process). start_time 0 (an
 * entry still being filled in) matches any process with that pid. */
typedef int (*shared__alive_fn)(uint32_t pid, uint64_t start_time);

/* (locked) Registers a process; 0 with its entry index, or SHARED_EPEERS. */
int shared__peer_join(shared__region *r, uint32_t pid, uint64_t start_time,
                      const char *exe, uint64_t now_ms, uint32_t *idx);

/* Live registered processes, read without changing anything: every one
 * but skip_pid, or (only_pid != 0) only only_pid's entries. */
uint32_t shared__peers_alive(shared__region *r, shared__alive_fn alive,
                             uint32_t only_pid, uint32_t skip_pid);

/* Removes the entry of `pid` (lock-free: one CAS; safe in DllMain). */
void shared__peer_leave(shared__region *r, uint32_t idx, uint32_t pid);

/* (locked) Removes entries of processes `alive` says are gone; returns the
 * number of live entries left besides `self_pid`'s. */
uint32_t shared__peer_reap(shared__region *r, shared__alive_fn alive,
                           uint32_t self_pid);

/* Describes entry idx; 0, or SHARED_ENOTFOUND if free. */
int shared__peer_info(shared__region *r, uint32_t idx, uint32_t self_pid,
                      shared_peer_info *out);

/* The owner word of a peer or waiter entry for `pid`. */
uint64_t shared__owner_word(uint32_t pid);

/* 1 in a process whose region is mapped read-only (SHARED_OPEN_READONLY):
 * shared__count_corrupt then writes nothing. */
extern _Atomic int shared__core_readonly;

/* Counts a corrupt slot in the statistics. */
void shared__count_corrupt(shared__region *r);

/* 64-bit checksum step, also used to hash keys. */
uint64_t shared__mix(uint64_t h, uint64_t word);

/* Word i of the len bytes at src, NUL padded past the end (i < words of
 * len): how values and messages are laid into the region's words. */
uint64_t shared__bytes_word(const void *src, uint32_t len, uint32_t i);

/* Mixes the words holding nbytes of src into sum and returns it, copying
 * the nbytes to dst (unless NULL) as they pass: one pass, no buffer. The
 * caller has bounded nbytes by src's size. */
uint64_t shared__load_mix(const _Atomic uint64_t *src, uint32_t nbytes,
                          unsigned char *dst, uint64_t sum);

/*
 * Crash points: the core calls the hook, if set, at every step of a change
 * where a process could die. Unit tests set it to stop a change half-way
 * (longjmp) and then check what recovery makes of the region.
 */
extern void (*shared__crash_hook)(int point);

#endif /* SHARED_CORE_H */
