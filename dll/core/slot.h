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

/* Hash of a key (its SHARED__KEY_WORDS words, NUL padded): the slot hint. */
uint32_t shared__key_hint(const char *key, uint32_t klen);

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
