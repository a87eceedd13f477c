/*
 * slot.h - reading and writing one slot's image (internal to the core).
 */
#ifndef SHARED_SLOT_H
#define SHARED_SLOT_H

#include "core.h"

#define LOAD(p) atomic_load_explicit((p), memory_order_relaxed)
#define STORE(p, v) atomic_store_explicit((p), (v), memory_order_relaxed)

/* Calls the crash hook, if a unit test set one. */
#define SHARED__CRASH_POINT(n)                                                 \
  do {                                                                         \
    if (shared__crash_hook)                                                    \
      shared__crash_hook(n);                                                   \
  } while (0)

/* Packs and unpacks image.meta. */
uint64_t shared__meta(uint32_t state, uint32_t type, uint32_t klen,
                      uint32_t vlen);

/* Hash of a key (its SHARED__KEY_WORDS words, NUL padded): the slot hint,
 * never 0 (its low bit is set). */
uint32_t shared__key_hint(const char *key, uint32_t klen);

/* The same from the key's words (klen bytes, then NUL padding). */
uint32_t shared__key_words_hint(const uint64_t *words, uint32_t klen);

/* shared__read_slot for a lookup of the key whose words are `expect` (or
 * NULL): the same result, with less work when the slot holds that key. */
int shared__read_slot_as(shared__region *r, uint32_t i, int locked,
                         shared__copy *out, void *buf, uint32_t cap,
                         const uint64_t *expect);

/*
 * The hint index (see region.c): an open-addressing table of (hint, slot)
 * entries over the hints, so a lookup visits only the slots whose hint is
 * the key's. Derived data: the hints and slots stay the truth. All
 * (locked), each between struct_gen open and close, as lock-free readers
 * may be probing.
 */
void shared__index_add(shared__region *r, uint32_t slot, uint32_t hint);
void shared__index_remove(shared__region *r, uint32_t slot, uint32_t hint);
/* 1 if the index holds the entry of slot `slot` under `hint`. */
int shared__index_has(shared__region *r, uint32_t slot, uint32_t hint);
/* The slots the index holds under `hint` (whose hint is `hint`), at most
 * cap of them into slot[]: how many, or cap + 1 if there are more. */
uint32_t shared__index_slots(shared__region *r, uint32_t hint, uint32_t *slot,
                             uint32_t cap);
/* Rebuilds the index from the hints. */
void shared__index_build(shared__region *r);

/* Sets slot i's hint, keeping the index in step. (locked, struct_gen
 * open) */
void shared__hint_set(shared__region *r, uint32_t i, uint32_t hint);

/* The first slot >= from whose hint is a or b, or SHARED_MAX_KEYS. (locked:
 * reads the hints in bulk) */
uint32_t shared__hint_scan(shared__region *r, uint32_t from, uint32_t a,
                           uint32_t b);

/* Opens and closes a change of the key set (struct_gen odd meanwhile). */
void shared__struct_open(shared__region *r);
void shared__struct_close(shared__region *r);

/* Copies `src` to `dst`, relaxed word by word; the value words copied are
 * those the source's meta declares (clamped to the slot). */
void shared__image_copy(shared__image *dst, const shared__image *src);

/* Writes slot i as one seqlock critical section: the key, type, length and
 * version of `c` (state USED) and c->value_len bytes at `value`. */
void shared__slot_write(shared__region *r, uint32_t i, const shared__copy *c,
                        const void *value);

/* Writes a free image into slot i. */
void shared__slot_clear(shared__region *r, uint32_t i);

/* Restores slot i from a journal image. */
void shared__slot_restore(shared__region *r, uint32_t i,
                          const shared__image *img);

#endif /* SHARED_SLOT_H */
