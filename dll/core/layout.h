/*
 * layout.h - the bytes of the shared region, as every process sees them.
 *
 * No pointers and no OS handles: only fixed-width integers and offsets, so a
 * region means the same thing whatever address it is mapped at. Fields that
 * change while other processes may read them are C11 atomics (lock-free,
 * hence address-free and usable across processes). Everything here is
 * untrusted input: any process may write any byte.
 */
#ifndef SHARED_LAYOUT_H
#define SHARED_LAYOUT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "shared.h"

#define SHARED__MAGIC 0x3176646572616873ull /* "shared v1", little-endian */
#define SHARED__LAYOUT_VERSION 4u
#define SHARED__READY 0x52454459u /* header.ready once formatted */

#define SHARED__KEY_WORDS 8u  /* 64 bytes: key + NUL padding */
#define SHARED__NAME_WORDS 8u /* channel and executable names, as keys */
#define SHARED__MSG_WORDS ((SHARED_MSG_MAX + 7u) / 8u)
#define SHARED__MAX_WAITERS 256u /* Windows: threads blocked at once */
#define SHARED__WAITER_WORDS (SHARED__MAX_WAITERS / 64u)
#define SHARED__VALUE_WORDS ((SHARED_VALUE_MAX + 7u) / 8u)
/* Wake words: a key or a channel direction wakes through the bucket its
 * name hashes to; the last one is "any change" (shared_wait(NULL)). */
#define SHARED__WAKE_BUCKETS 256u
#define SHARED__WAKE_ANY SHARED__WAKE_BUCKETS

/* Slot states, packed in the low byte of image.meta. */
#define SHARED__SLOT_FREE 0u
#define SHARED__SLOT_USED 1u

/* Journal kinds (header.jkind). */
#define SHARED__J_NONE 0u
/* One operation: completed if its slot is whole, else undone. */
#define SHARED__J_SINGLE 1u
/* A transaction: undone entirely. */
#define SHARED__J_TX 2u

/*
 * A slot's content; the journal keeps copies of it. meta packs state (bits
 * 0-7), type (8-15), key length (16-23) and value length (32-63). `check` is
 * a checksum of meta, version, key and value words.
 */
typedef struct shared__image {
    _Atomic uint64_t meta;
    _Atomic uint64_t version;
    _Atomic uint64_t check;
    _Atomic uint64_t key[SHARED__KEY_WORDS];
    _Atomic uint64_t value[SHARED__VALUE_WORDS];
} shared__image;

/* A key's home: a sequence counter (odd while written) and the content. */
typedef struct shared__slot {
    _Atomic uint32_t seq;
    _Atomic uint32_t reserved;
    shared__image img;
} shared__slot;

/* Undo record: slot `slot` held `img` before the journaled change. */
typedef struct shared__jentry {
    _Atomic uint32_t slot;
    _Atomic uint32_t reserved;
    shared__image img;
} shared__jentry;

/*
 * A registered process. `owner` is 0 when the entry is free, else the pid
 * shifted left by 8 with a non-zero tag: claimed and released with one CAS,
 * so two reapers can never both take the same entry.
 */
typedef struct shared__peer {
    _Atomic uint64_t owner;
    _Atomic uint64_t start_time; /* OS process start time; 0 until ready */
    _Atomic uint64_t attach_ms;  /* Unix time in ms */
    _Atomic uint64_t active_ms;  /* last lock taken */
    _Atomic uint32_t waiting;    /* POSIX: its threads counted in waiters */
    _Atomic uint32_t reserved;
    _Atomic uint64_t exe[SHARED__NAME_WORDS];
} shared__peer;

/* Windows: a thread blocked in a wait owns one of these and a named event
 * ..-w<index>-<gen>; writers set the events of the owned entries waiting
 * on a bucket they changed. start_time is 0 whenever owner is 0 or being
 * claimed (see win/wait.c). */
typedef struct shared__waiter {
    _Atomic uint64_t owner; /* as shared__peer.owner */
    _Atomic uint64_t start_time;
    _Atomic uint32_t gen;
    _Atomic uint32_t bucket; /* the wake bucket it waits on */
    _Atomic uint32_t serial; /* bumped by every wait of its owner */
    _Atomic uint32_t reserved;
} shared__waiter;

/* A wake bucket: seq is bumped by every change published to it, after the
 * change and before the waiters are woken; waiters block while it holds
 * the value they read before checking their condition. */
typedef struct shared__wake {
    _Atomic uint32_t seq;
    _Atomic uint32_t waiters; /* POSIX: threads blocked on seq */
} shared__wake;

/* One message of a channel's ring; check covers length and data. */
typedef struct shared__msg {
    _Atomic uint32_t len;
    _Atomic uint32_t reserved;
    _Atomic uint64_t check;
    _Atomic uint64_t data[SHARED__MSG_WORDS];
} shared__msg;

/* A named channel: messages head .. tail-1 are queued (tail - head <=
 * SHARED_CHANNEL_DEPTH). Unused while name_len is 0. Receivers blocked on
 * it are counted in `receivers` until rx_until (monotonic ms), a lease they
 * renew while they wait; rx_gen changes whenever the channel is created
 * anew, so an old registration is never taken off a new channel. */
typedef struct shared__channel {
    _Atomic uint64_t name[SHARED__NAME_WORDS];
    _Atomic uint32_t name_len;
    _Atomic uint32_t receivers;
    _Atomic uint64_t head;
    _Atomic uint64_t tail;
    _Atomic uint64_t sent;
    _Atomic uint64_t received;
    _Atomic uint64_t rx_until;
    _Atomic uint32_t rx_gen;
    _Atomic uint32_t reserved;
    shared__msg ring[SHARED_CHANNEL_DEPTH];
} shared__channel;

/*
 * The header. The first block is written once when the region is formatted
 * and never changes; readers copy it and validate the copy.
 */
typedef struct shared__header {
    uint64_t magic;
    uint32_t layout_version;
    uint32_t header_size;
    uint64_t region_size;
    uint32_t bitness;
    uint32_t max_keys;
    uint32_t value_max;
    uint32_t journal_max;
    uint64_t build_id;
    uint64_t layout_id; /* SHARED_LAYOUT_ID: named instances check this */

    _Atomic uint32_t ready;       /* SHARED__READY once usable */
    _Atomic uint32_t creator_pid; /* POSIX: process that formats it */
    _Atomic uint32_t tx_gen;      /* odd while a transaction is open */
    _Atomic uint32_t keys_used;
    _Atomic uint64_t struct_gen;   /* odd while a key is created/removed */
    _Atomic uint64_t next_version; /* version of the next change */
    _Atomic uint64_t bytes_used;
    _Atomic uint64_t lock_acquisitions;
    _Atomic uint64_t lock_timeouts;
    _Atomic uint64_t recoveries;
    _Atomic uint64_t corrupt_seen;
    _Atomic uint32_t jcount;  /* valid journal entries */
    _Atomic uint32_t jkind;   /* SHARED__J_* */
    _Atomic uint64_t changes; /* committed changes, for shared_wait */
    _Atomic uint32_t waiters; /* POSIX: threads blocked in any bucket */
    _Atomic uint32_t closed;  /* POSIX: removed by its last peer */
    _Atomic uint64_t peers_reaped;
    _Atomic uint64_t wakeups; /* blocked waits ended by a wake-up */
    /* Windows: this section's random identity, 0 until the first attacher
     * publishes it (one CAS); every OS object name carries it, so two
     * copies of one DLL at two paths (two sections) share no object. */
    _Atomic uint64_t instance_id;
    _Atomic uint64_t wait_mask[SHARED__WAITER_WORDS]; /* Windows waiters */

    /* Reserved for the backend's lock object (POSIX: pthread_mutex_t). */
    union {
        uint64_t align;
        unsigned char bytes[128];
    } backend;
} shared__header;

/* Entries of the hint index (region.c): twice the slots, so at most half
 * are ever used and every chain ends at an empty entry. */
#define SHARED__INDEX_SIZE (2u * SHARED_MAX_KEYS)

typedef struct shared__region {
    shared__header hdr;
    /* The hint index: 0, or a slot's hint << 32 | the slot (region.c). */
    _Atomic uint64_t index[SHARED__INDEX_SIZE];
    /* Per slot: 0 if free, else a hash of its key with the low bit set. */
    _Atomic uint32_t hint[SHARED_MAX_KEYS];
    shared__slot slot[SHARED_MAX_KEYS];
    shared__jentry journal[SHARED_JOURNAL_MAX];
    shared__peer peer[SHARED_MAX_PEERS];
    shared__waiter waiter[SHARED__MAX_WAITERS];
    shared__wake wake[SHARED__WAKE_BUCKETS + 1];
    shared__channel channel[SHARED_CHANNELS];
} shared__region;

/*
 * The section is shared between processes only through lock-free atomics
 * (address-free, so usable across processes): a build whose 64-bit atomics
 * would take a lock (i686 before i586: no cmpxchg8b) must not compile. On
 * i686 a 64-bit atomic is also only atomic when 8-aligned.
 */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "32-bit atomics must be lock-free");
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2,
               "64-bit atomics must be lock-free (i686: cmpxchg8b, i586+)");
_Static_assert(_Alignof(_Atomic uint64_t) == 8,
               "64-bit atomics must be 8-aligned");

/*
 * One layout for 32- and 64-bit builds: a named instance is shared by i686
 * and x86_64 processes. Every field is fixed-width (no pointer, size_t or
 * long), every 64-bit field is 8-aligned (uint64_t aligns to 4 inside i686
 * structs: the offsets below prove no field depends on that), and no struct
 * has padding that differs between the two.
 */
#define SHARED__ALIGN8(n) (((n) + 7u) & ~(size_t)7u)
#define SHARED__OFF(type, field, at)                                           \
  _Static_assert(offsetof(type, field) == (at), #type "." #field " moved")
SHARED__OFF(shared__header, magic, 0);
SHARED__OFF(shared__header, layout_version, 8);
SHARED__OFF(shared__header, header_size, 12);
SHARED__OFF(shared__header, region_size, 16);
SHARED__OFF(shared__header, bitness, 24);
SHARED__OFF(shared__header, max_keys, 28);
SHARED__OFF(shared__header, value_max, 32);
SHARED__OFF(shared__header, journal_max, 36);
SHARED__OFF(shared__header, build_id, 40);
SHARED__OFF(shared__header, layout_id, 48);
SHARED__OFF(shared__header, ready, 56);
SHARED__OFF(shared__header, creator_pid, 60);
SHARED__OFF(shared__header, tx_gen, 64);
SHARED__OFF(shared__header, keys_used, 68);
SHARED__OFF(shared__header, struct_gen, 72);
SHARED__OFF(shared__header, next_version, 80);
SHARED__OFF(shared__header, bytes_used, 88);
SHARED__OFF(shared__header, lock_acquisitions, 96);
SHARED__OFF(shared__header, lock_timeouts, 104);
SHARED__OFF(shared__header, recoveries, 112);
SHARED__OFF(shared__header, corrupt_seen, 120);
SHARED__OFF(shared__header, jcount, 128);
SHARED__OFF(shared__header, jkind, 132);
SHARED__OFF(shared__header, changes, 136);
SHARED__OFF(shared__header, waiters, 144);
SHARED__OFF(shared__header, closed, 148);
SHARED__OFF(shared__header, peers_reaped, 152);
SHARED__OFF(shared__header, wakeups, 160);
SHARED__OFF(shared__header, instance_id, 168);
SHARED__OFF(shared__header, wait_mask, 176);
SHARED__OFF(shared__header, backend, 176 + 8 * SHARED__WAITER_WORDS);
_Static_assert(sizeof(shared__header) == 176 + 8 * SHARED__WAITER_WORDS + 128,
               "shared__header size");
_Static_assert(sizeof(shared__image) ==
                   8 * (3 + SHARED__KEY_WORDS + SHARED__VALUE_WORDS),
               "shared__image size");
_Static_assert(sizeof(shared__slot) == 8 + sizeof(shared__image),
               "shared__slot size");
_Static_assert(sizeof(shared__jentry) == 8 + sizeof(shared__image),
               "shared__jentry size");
_Static_assert(sizeof(shared__peer) == 40 + 8 * SHARED__NAME_WORDS,
               "shared__peer size");
_Static_assert(sizeof(shared__waiter) == 32, "shared__waiter size");
_Static_assert(sizeof(shared__wake) == 8, "shared__wake size");
_Static_assert(sizeof(shared__msg) == 16 + 8 * SHARED__MSG_WORDS,
               "shared__msg size");
SHARED__OFF(shared__channel, ring, 8 * SHARED__NAME_WORDS + 56);
_Static_assert(sizeof(shared__channel) ==
                   8 * SHARED__NAME_WORDS + 56 +
                       SHARED_CHANNEL_DEPTH * sizeof(shared__msg),
               "shared__channel size");
SHARED__OFF(shared__region, index, sizeof(shared__header));
SHARED__OFF(shared__region, hint,
            sizeof(shared__header) + 8 * SHARED__INDEX_SIZE);
SHARED__OFF(shared__region, slot,
            SHARED__ALIGN8(offsetof(shared__region, hint) +
                           4 * SHARED_MAX_KEYS));
SHARED__OFF(shared__region, journal,
            offsetof(shared__region, slot) +
                SHARED_MAX_KEYS * sizeof(shared__slot));
SHARED__OFF(shared__region, peer,
            offsetof(shared__region, journal) +
                SHARED_JOURNAL_MAX * sizeof(shared__jentry));
SHARED__OFF(shared__region, waiter,
            offsetof(shared__region, peer) +
                SHARED_MAX_PEERS * sizeof(shared__peer));
SHARED__OFF(shared__region, wake,
            offsetof(shared__region, waiter) +
                SHARED__MAX_WAITERS * sizeof(shared__waiter));
SHARED__OFF(shared__region, channel,
            offsetof(shared__region, wake) +
                (SHARED__WAKE_BUCKETS + 1) * sizeof(shared__wake));
_Static_assert(sizeof(shared__region) ==
                   offsetof(shared__region, channel) +
                       SHARED_CHANNELS * sizeof(shared__channel),
               "shared__region size");

/* Bitness of this build, stored in the header. */
#define SHARED__BITNESS ((uint32_t)(sizeof(void *) * 8u))

/*
 * The header of a freshly formatted region, as a constant initializer: the
 * Windows backend places a region with this header in its .shared section,
 * so the section is valid from the moment the image is loaded.
 */
// clang-format off
#define SHARED__HEADER_INIT {                                                 \
    .magic = SHARED__MAGIC,                                                    \
    .layout_version = SHARED__LAYOUT_VERSION,                                  \
    .header_size = (uint32_t)sizeof(shared__header),                           \
    .region_size = (uint64_t)sizeof(shared__region),                           \
    .bitness = SHARED__BITNESS,                                                \
    .max_keys = SHARED_MAX_KEYS,                                               \
    .value_max = SHARED_VALUE_MAX,                                             \
    .journal_max = SHARED_JOURNAL_MAX,                                         \
    .build_id = SHARED_BUILD_ID,                                               \
    .layout_id = SHARED_LAYOUT_ID,                                             \
    .ready = SHARED__READY,                                                    \
    .next_version = 1,                                                         \
}
// clang-format on

#endif /* SHARED_LAYOUT_H */
