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
#define SHARED__LAYOUT_VERSION 1u
#define SHARED__READY 0x52454459u /* header.ready once formatted */

#define SHARED__KEY_WORDS 8u /* 64 bytes: key + NUL padding */
#define SHARED__VALUE_WORDS ((SHARED_VALUE_MAX + 7u) / 8u)

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
    _Atomic uint32_t jcount; /* valid journal entries */
    _Atomic uint32_t jkind;  /* SHARED__J_* */

    /* Reserved for the backend's lock object (POSIX: pthread_mutex_t). */
    union {
        uint64_t align;
        unsigned char bytes[128];
    } backend;
} shared__header;

typedef struct shared__region {
    shared__header hdr;
    /* Per slot: 0 if free, else a hash of its key with the low bit set. */
    _Atomic uint32_t hint[SHARED_MAX_KEYS];
    shared__slot slot[SHARED_MAX_KEYS];
    shared__jentry journal[SHARED_JOURNAL_MAX];
} shared__region;

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
    .ready = SHARED__READY,                                                    \
    .next_version = 1,                                                         \
}
// clang-format on

#endif /* SHARED_LAYOUT_H */
