/*
 * slot.c - one slot: encoding, validation, seqlock reads and writes.
 *
 * Writers (holding the lock) make the slot's sequence odd, store the words,
 * and make it even again with a release store. Lock-free readers follow
 * Boehm's seqlock recipe for C11: acquire-load the sequence, relaxed-load the
 * data into a private copy, acquire fence, re-load the sequence; equal and
 * even means the copy is whole. The copy is then validated, never the live
 * slot, so a concurrent or hostile writer can not make us read out of bounds.
 *
 * Stack use is small and independent of SHARED_VALUE_MAX: no value ever
 * passes through a buffer of ours. A read copies the fixed part of the
 * image (meta, version, checksum, key: 88 bytes) privately and validates it,
 * then loads each value word exactly once, feeds it to the checksum and
 * stores it straight into the caller's buffer (when the value fits), so the
 * bytes delivered are the bytes checked. A write builds each value word from
 * the caller's bytes as it stores it, and stores the checksum last. The
 * caller's buffer therefore holds meaningless bytes after a read that fails
 * (a torn lock-free attempt, a checksum mismatch): only a read that returns
 * 0 gives it a value.
 */
#include <string.h>

#include "slot.h"

/* Lock-free attempts before a read gives up and takes the lock. */
#define SEQ_RETRIES 64

/* Private (non-atomic) copy of an image's fixed part: all but the value. */
typedef struct raw_head {
    uint64_t meta;
    uint64_t version;
    uint64_t check;
    uint64_t key[SHARED__KEY_WORDS];
} raw_head;

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

/* The checksum of the fixed part; the value words are mixed in after. */
static uint64_t head_sum(const raw_head *h)
{
    uint64_t sum = 0x243f6a8885a308d3ull;
    sum = shared__mix(sum, h->meta);
    sum = shared__mix(sum, h->version);
    for (uint32_t i = 0; i < SHARED__KEY_WORDS; i++)
        sum = shared__mix(sum, h->key[i]);
    return sum;
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

static void head_load(raw_head *dst, const shared__image *src)
{
    dst->meta = LOAD(&src->meta);
    dst->version = LOAD(&src->version);
    dst->check = LOAD(&src->check);
    for (uint32_t i = 0; i < SHARED__KEY_WORDS; i++)
        dst->key[i] = LOAD(&src->key[i]);
}

/*
 * Stores an image: the fixed part, then each value word (as many as h->meta
 * declares, clamped), taken from `words` (another image) or built from
 * `bytes` (len bytes), then the checksum last: computed from the words
 * stored when `bytes` is set, else h->check as it was.
 */
static void image_store(shared__image *dst, const raw_head *h,
                        const shared__image *words, const unsigned char *bytes,
                        uint32_t len)
{
    uint64_t sum = head_sum(h);
    uint32_t n = value_words(h->meta);
    STORE(&dst->meta, h->meta);
    STORE(&dst->version, h->version);
    for (uint32_t i = 0; i < SHARED__KEY_WORDS; i++)
        STORE(&dst->key[i], h->key[i]);
    for (uint32_t i = 0; i < n; i++) {
        if (i == n / 2)
            SHARED__CRASH_POINT(20); /* half of the value written */
        uint64_t w =
            bytes ? shared__bytes_word(bytes, len, i) : LOAD(&words->value[i]);
        sum = shared__mix(sum, w);
        STORE(&dst->value[i], w);
    }
    STORE(&dst->check, bytes ? sum : h->check);
}

/*
 * Decodes and validates an image into *out; the value goes to buf when it
 * fits in cap bytes (see the note at the top). 0 (used), SHARED_ENOTFOUND
 * (free) or SHARED_ECORRUPT.
 */
static int image_read(const shared__image *img, shared__copy *out, void *buf,
                      uint32_t cap)
{
    raw_head h;
    head_load(&h, img);
    uint32_t state = (uint32_t)(h.meta & 0xffu);
    if (state == SHARED__SLOT_FREE) {
        out->state = SHARED__SLOT_FREE;
        return h.meta == 0 ? SHARED_ENOTFOUND : SHARED_ECORRUPT;
    }
    uint32_t type = (uint32_t)((h.meta >> 8) & 0xffu);
    uint32_t klen = (uint32_t)((h.meta >> 16) & 0xffu);
    uint32_t vlen = meta_vlen(h.meta);
    if (state != SHARED__SLOT_USED || klen < 1 || klen > SHARED_KEY_MAX ||
        vlen > SHARED_VALUE_MAX || h.version == 0 ||
        (h.meta & 0xff000000ull) != 0)
        return SHARED_ECORRUPT;
    if (type != SHARED_TYPE_BYTES && type != SHARED_TYPE_COUNTER)
        return SHARED_ECORRUPT;
    if (type == SHARED_TYPE_COUNTER && vlen != 8)
        return SHARED_ECORRUPT;
    unsigned char *dst = buf && vlen <= cap ? buf : NULL;
    uint64_t sum = shared__load_mix(img->value, vlen, dst, head_sum(&h));
    if (sum != h.check)
        return SHARED_ECORRUPT;

    memcpy(out->key, h.key, sizeof out->key);
    /* A key is klen non-NUL bytes followed by NUL padding. */
    for (uint32_t i = 0; i < sizeof out->key; i++) {
        if ((i < klen) != (out->key[i] != '\0'))
            return SHARED_ECORRUPT;
    }
    out->state = state;
    out->type = type;
    out->key_len = klen;
    out->value_len = vlen;
    out->version = h.version;
    return 0;
}

void shared__image_copy(shared__image *dst, const shared__image *src)
{
    raw_head h;
    head_load(&h, src);
    image_store(dst, &h, src, NULL, 0);
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

void shared__slot_write(shared__region *r, uint32_t i, const shared__copy *c,
                        const void *value)
{
    raw_head h;
    memset(&h, 0, sizeof h);
    h.meta = shared__meta(SHARED__SLOT_USED, c->type, c->key_len, c->value_len);
    h.version = c->version;
    memcpy(h.key, c->key, c->key_len);
    shared__slot *s = &r->slot[i];
    uint32_t q = write_begin(s);
    SHARED__CRASH_POINT(21); /* sequence odd, nothing written */
    image_store(&s->img, &h, NULL, value ? value : (const void *)"",
                c->value_len);
    SHARED__CRASH_POINT(22); /* written, sequence still odd */
    write_end(s, q);
}

void shared__slot_clear(shared__region *r, uint32_t i)
{
    raw_head h;
    memset(&h, 0, sizeof h);
    shared__slot *s = &r->slot[i];
    uint32_t q = write_begin(s);
    image_store(&s->img, &h, NULL, NULL, 0); /* no value words, check 0 */
    SHARED__CRASH_POINT(23);
    write_end(s, q);
}

void shared__slot_restore(shared__region *r, uint32_t i,
                          const shared__image *img)
{
    shared__slot *s = &r->slot[i];
    uint32_t q = write_begin(s);
    shared__image_copy(&s->img, img);
    write_end(s, q);
}

int shared__read_slot(shared__region *r, uint32_t i, int locked,
                      shared__copy *out, void *buf, uint32_t cap)
{
    int rc;
    out->slot = i;
    if (locked) {
        rc = image_read(&r->slot[i].img, out, buf, cap);
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
            int got = image_read(&r->slot[i].img, out, buf, cap);
            atomic_thread_fence(memory_order_acquire);
            if (LOAD(&r->slot[i].seq) == s1 && LOAD(&r->hdr.tx_gen) == tx)
                rc = got;
        }
    }
    if (rc == SHARED_ECORRUPT)
        shared__count_corrupt(r);
    return rc;
}
