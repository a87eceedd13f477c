/*
 * slot.c - one slot: encoding, validation, seqlock reads and writes.
 *
 * Writers (holding the lock) make the slot's sequence odd, store the words,
 * and make it even again with a release store. Lock-free readers follow
 * Boehm's seqlock recipe for C11: acquire-load the sequence, relaxed-load the
 * data into a private copy, acquire fence, re-load the sequence; equal and
 * even means the copy is whole. The copy is then validated, never the live
 * slot, so a concurrent or hostile writer can not make us read out of bounds.
 */
#include <string.h>

#include "slot.h"

/* Lock-free attempts before a read gives up and takes the lock. */
#define SEQ_RETRIES 64

/* Private (non-atomic) copy of an image. */
typedef struct raw_image {
    uint64_t meta;
    uint64_t version;
    uint64_t check;
    uint64_t key[SHARED__KEY_WORDS];
    uint64_t value[SHARED__VALUE_WORDS];
} raw_image;

uint64_t shared__meta(uint32_t state, uint32_t type, uint32_t klen,
                      uint32_t vlen)
{
    return (uint64_t)(state & 0xffu) | ((uint64_t)(type & 0xffu) << 8) |
           ((uint64_t)(klen & 0xffu) << 16) | ((uint64_t)vlen << 32);
}

static uint32_t meta_vlen(uint64_t meta)
{
    return (uint32_t)(meta >> 32);
}

/* Value words an image with this meta holds, clamped to the slot. */
static uint32_t value_words(uint64_t meta)
{
    uint32_t vlen = meta_vlen(meta);
    if (vlen > SHARED_VALUE_MAX)
        vlen = SHARED_VALUE_MAX;
    return (vlen + 7u) / 8u;
}

static uint64_t raw_checksum(const raw_image *img)
{
    uint64_t h = 0x243f6a8885a308d3ull;
    h = shared__mix(h, img->meta);
    h = shared__mix(h, img->version);
    for (uint32_t i = 0; i < SHARED__KEY_WORDS; i++)
        h = shared__mix(h, img->key[i]);
    uint32_t n = value_words(img->meta);
    for (uint32_t i = 0; i < n; i++)
        h = shared__mix(h, img->value[i]);
    return h;
}

uint32_t shared__key_hint(const char *key, uint32_t klen)
{
    uint64_t words[SHARED__KEY_WORDS] = {0};
    memcpy(words, key, klen);
    uint64_t h = 0x13198a2e03707344ull;
    for (uint32_t i = 0; i < SHARED__KEY_WORDS; i++)
        h = shared__mix(h, words[i]);
    return (uint32_t)(h >> 32) | 1u;
}

static void raw_load(raw_image *dst, const shared__image *src)
{
    dst->meta = LOAD(&src->meta);
    dst->version = LOAD(&src->version);
    dst->check = LOAD(&src->check);
    for (uint32_t i = 0; i < SHARED__KEY_WORDS; i++)
        dst->key[i] = LOAD(&src->key[i]);
    uint32_t n = value_words(dst->meta);
    for (uint32_t i = 0; i < n; i++)
        dst->value[i] = LOAD(&src->value[i]);
}

static void raw_store(shared__image *dst, const raw_image *src)
{
    STORE(&dst->meta, src->meta);
    STORE(&dst->version, src->version);
    for (uint32_t i = 0; i < SHARED__KEY_WORDS; i++)
        STORE(&dst->key[i], src->key[i]);
    uint32_t n = value_words(src->meta);
    for (uint32_t i = 0; i < n; i++) {
        if (i == n / 2)
            SHARED__CRASH_POINT(20); /* half of the value written */
        STORE(&dst->value[i], src->value[i]);
    }
    STORE(&dst->check, src->check);
}

static int raw_decode(const raw_image *img, shared__copy *out)
{
    uint32_t state = (uint32_t)(img->meta & 0xffu);
    if (state == SHARED__SLOT_FREE) {
        out->state = SHARED__SLOT_FREE;
        return img->meta == 0 ? SHARED_ENOTFOUND : SHARED_ECORRUPT;
    }
    uint32_t type = (uint32_t)((img->meta >> 8) & 0xffu);
    uint32_t klen = (uint32_t)((img->meta >> 16) & 0xffu);
    uint32_t vlen = meta_vlen(img->meta);
    if (state != SHARED__SLOT_USED || klen < 1 || klen > SHARED_KEY_MAX ||
        vlen > SHARED_VALUE_MAX || img->version == 0 ||
        (img->meta & 0xff000000ull) != 0)
        return SHARED_ECORRUPT;
    if (type != SHARED_TYPE_BYTES && type != SHARED_TYPE_COUNTER)
        return SHARED_ECORRUPT;
    if (type == SHARED_TYPE_COUNTER && vlen != 8)
        return SHARED_ECORRUPT;
    if (raw_checksum(img) != img->check)
        return SHARED_ECORRUPT;

    memcpy(out->key, img->key, sizeof out->key);
    /* A key is klen non-NUL bytes followed by NUL padding. */
    for (uint32_t i = 0; i < sizeof out->key; i++) {
        if ((i < klen) != (out->key[i] != '\0'))
            return SHARED_ECORRUPT;
    }
    memcpy(out->value, img->value, (size_t)value_words(img->meta) * 8u);
    out->state = state;
    out->type = type;
    out->key_len = klen;
    out->value_len = vlen;
    out->version = img->version;
    return 0;
}

int shared__image_decode(const shared__image *img, shared__copy *out)
{
    raw_image raw;
    raw_load(&raw, img);
    return raw_decode(&raw, out);
}

void shared__image_copy(shared__image *dst, const shared__image *src)
{
    raw_image raw;
    raw_load(&raw, src);
    raw_store(dst, &raw);
}

static void raw_encode(raw_image *dst, const shared__copy *c)
{
    memset(dst, 0, sizeof *dst);
    dst->meta =
        shared__meta(SHARED__SLOT_USED, c->type, c->key_len, c->value_len);
    dst->version = c->version;
    memcpy(dst->key, c->key, c->key_len);
    memcpy(dst->value, c->value, c->value_len);
    dst->check = raw_checksum(dst);
}

void shared__image_encode(shared__image *dst, const shared__copy *c)
{
    raw_image raw;
    raw_encode(&raw, c);
    raw_store(dst, &raw);
}

/* Opens the slot's write section: the sequence becomes odd. */
static uint32_t write_begin(shared__slot *s)
{
    uint32_t q = LOAD(&s->seq) | 1u;
    STORE(&s->seq, q);
    atomic_thread_fence(memory_order_release);
    return q;
}

static void write_end(shared__slot *s, uint32_t q)
{
    atomic_store_explicit(&s->seq, q + 1u, memory_order_release);
}

void shared__slot_write(shared__region *r, uint32_t i, const shared__copy *c)
{
    raw_image raw;
    raw_encode(&raw, c);
    shared__slot *s = &r->slot[i];
    uint32_t q = write_begin(s);
    SHARED__CRASH_POINT(21); /* sequence odd, nothing written */
    raw_store(&s->img, &raw);
    SHARED__CRASH_POINT(22); /* written, sequence still odd */
    write_end(s, q);
}

void shared__slot_clear(shared__region *r, uint32_t i)
{
    raw_image raw;
    memset(&raw, 0, sizeof raw);
    shared__slot *s = &r->slot[i];
    uint32_t q = write_begin(s);
    raw_store(&s->img, &raw);
    SHARED__CRASH_POINT(23);
    write_end(s, q);
}

void shared__slot_restore(shared__region *r, uint32_t i,
                          const shared__image *img)
{
    raw_image raw;
    raw_load(&raw, img);
    shared__slot *s = &r->slot[i];
    uint32_t q = write_begin(s);
    raw_store(&s->img, &raw);
    write_end(s, q);
}

int shared__read_slot(shared__region *r, uint32_t i, int locked,
                      shared__copy *out)
{
    raw_image raw;
    int rc;
    out->slot = i;
    if (locked) {
        raw_load(&raw, &r->slot[i].img);
        rc = raw_decode(&raw, out);
    } else {
        rc = SHARED__RETRY;
        for (int t = 0; t < SEQ_RETRIES && rc == SHARED__RETRY; t++) {
            /* An open transaction may have changed this slot: its writes are
             * not committed, so only a reader under the lock may see them. */
            uint32_t tx =
                atomic_load_explicit(&r->hdr.tx_gen, memory_order_acquire);
            if (tx & 1u)
                return SHARED__RETRY;
            uint32_t s1 =
                atomic_load_explicit(&r->slot[i].seq, memory_order_acquire);
            if (s1 & 1u)
                continue;
            raw_load(&raw, &r->slot[i].img);
            atomic_thread_fence(memory_order_acquire);
            if (LOAD(&r->slot[i].seq) == s1 && LOAD(&r->hdr.tx_gen) == tx)
                rc = raw_decode(&raw, out);
        }
    }
    if (rc == SHARED_ECORRUPT)
        shared__count_corrupt(r);
    return rc;
}
