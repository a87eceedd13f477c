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

/*
 * The slot checksum: four independent lanes (so a CPU overlaps them), each
 * word folded in as lane = rotl(lane ^ word, 23) * K, a bijection in the
 * lane and in the word, so one changed word always changes the sum. meta
 * goes to lane a, version to b, key word k to lane k % 4, value word i to
 * lane i % 4; then the lanes are combined and avalanched. A pure function
 * of the words: the same on every CPU and compiler (only shifts, xors and
 * a 64-bit multiply), as a region shared by i686 and x86_64 needs.
 */
#define SUM_K 0x9e3779b97f4a7c15ull

typedef struct lanes {
    uint64_t a, b, c, d;
} lanes;

static inline uint64_t step(uint64_t lane, uint64_t w)
{
    uint64_t x = lane ^ w;
    return ((x << 23) | (x >> 41)) * SUM_K;
}

static inline void lanes_init(lanes *l, uint64_t meta, uint64_t version)
{
    l->a = step(0x243f6a8885a308d3ull, meta);
    l->b = step(0x13198a2e03707344ull, version);
    l->c = 0xa4093822299f31d0ull;
    l->d = 0x082efa98ec4e6c89ull;
}

static inline void head_lanes(lanes *l, const raw_head *h)
{
    lanes_init(l, h->meta, h->version);
    for (uint32_t k = 0; k < SHARED__KEY_WORDS; k += 4) {
        l->a = step(l->a, h->key[k]);
        l->b = step(l->b, h->key[k + 1]);
        l->c = step(l->c, h->key[k + 2]);
        l->d = step(l->d, h->key[k + 3]);
    }
}

/* Folds value word i into its lane. */
static inline void value_step(lanes *l, uint32_t i, uint64_t w)
{
    switch (i & 3u) {
    case 0:
        l->a = step(l->a, w);
        break;
    case 1:
        l->b = step(l->b, w);
        break;
    case 2:
        l->c = step(l->c, w);
        break;
    default:
        l->d = step(l->d, w);
        break;
    }
}

static inline uint64_t lanes_sum(const lanes *l)
{
    uint64_t h = step(l->a * SUM_K, l->b);
    h = step(h, l->c);
    h = step(h, l->d);
    h ^= h >> 29;
    h *= SUM_K;
    return h ^ (h >> 32);
}

/* Stores word i of an nbytes value, w, into dst. */
static inline void put_word(unsigned char *dst, uint32_t nbytes, uint32_t i,
                            uint64_t w)
{
    uint32_t at = i * 8u;
    if (nbytes - at >= 8u)
        memcpy(dst + at, &w, 8);
    else
        memcpy(dst + at, &w, nbytes - at);
}

/* Word i of the len bytes at src, NUL padded (i < words of len). */
static inline uint64_t get_word(const unsigned char *src, uint32_t len,
                                uint32_t i)
{
    uint64_t w = 0;
    uint32_t at = i * 8u;
    if (len - at >= 8u)
        memcpy(&w, src + at, 8);
    else
        memcpy(&w, src + at, len - at);
    return w;
}

/*
 * Loads the words holding nbytes of a value, once each, into the lanes,
 * copying the bytes to dst (unless NULL) as they pass: one pass, no
 * buffer. nbytes is bounded by the caller.
 */
static void value_lanes(lanes *l, const _Atomic uint64_t *src, uint32_t nbytes,
                        unsigned char *dst)
{
    uint32_t n = (nbytes + 7u) / 8u, i = 0;
    for (; i + 4u <= nbytes / 8u; i += 4u) { /* four whole words */
        uint64_t w0 = LOAD(&src[i]), w1 = LOAD(&src[i + 1u]);
        uint64_t w2 = LOAD(&src[i + 2u]), w3 = LOAD(&src[i + 3u]);
        l->a = step(l->a, w0);
        l->b = step(l->b, w1);
        l->c = step(l->c, w2);
        l->d = step(l->d, w3);
        if (dst) {
            unsigned char *o = dst + i * 8u;
            memcpy(o, &w0, 8);
            memcpy(o + 8, &w1, 8);
            memcpy(o + 16, &w2, 8);
            memcpy(o + 24, &w3, 8);
        }
    }
    for (; i < n; i++) {
        uint64_t w = LOAD(&src[i]);
        value_step(l, i, w);
        if (dst)
            put_word(dst, nbytes, i, w);
    }
}

uint32_t shared__key_hint(const char *key, uint32_t klen)
{
    uint64_t words[SHARED__KEY_WORDS] = {0};
    memcpy(words, key, klen);
    return shared__key_words_hint(words, klen);
}

uint32_t shared__key_words_hint(const uint64_t *words, uint32_t klen)
{
    uint64_t h = step(0x13198a2e03707344ull, klen);
    for (uint32_t i = 0; i < (klen + 7u) / 8u && i < SHARED__KEY_WORDS; i++)
        h = step(h, words[i]);
    h ^= h >> 29;
    h *= SUM_K;
    return (uint32_t)(h >> 32) | 1u;
}

/*
 * Loads an image's fixed part into *h (meta already loaded) and folds it
 * into the lanes as head_lanes does, four key words at a time, also
 * telling whether the key words differ from `expect` (nonzero) or, with
 * no `expect`, 1.
 */
static inline uint64_t head_read(raw_head *h, lanes *l,
                                 const shared__image *src,
                                 const uint64_t *expect)
{
    uint64_t differ = !expect;
    h->version = LOAD(&src->version);
    h->check = LOAD(&src->check);
    lanes_init(l, h->meta, h->version);
    for (uint32_t k = 0; k < SHARED__KEY_WORDS; k += 4) {
        uint64_t w0 = LOAD(&src->key[k]), w1 = LOAD(&src->key[k + 1]);
        uint64_t w2 = LOAD(&src->key[k + 2]), w3 = LOAD(&src->key[k + 3]);
        h->key[k] = w0;
        h->key[k + 1] = w1;
        h->key[k + 2] = w2;
        h->key[k + 3] = w3;
        l->a = step(l->a, w0);
        l->b = step(l->b, w1);
        l->c = step(l->c, w2);
        l->d = step(l->d, w3);
        if (expect)
            differ |= (w0 ^ expect[k]) | (w1 ^ expect[k + 1]) |
                      (w2 ^ expect[k + 2]) | (w3 ^ expect[k + 3]);
    }
    return differ;
}

/* Copies n words, relaxed, four at a time. */
static inline void copy_words(_Atomic uint64_t *dst,
                              const _Atomic uint64_t *src, uint32_t n)
{
    uint32_t i = 0;
    for (; i + 4u <= n; i += 4u) {
        uint64_t w0 = LOAD(&src[i]), w1 = LOAD(&src[i + 1u]);
        uint64_t w2 = LOAD(&src[i + 2u]), w3 = LOAD(&src[i + 3u]);
        STORE(&dst[i], w0);
        STORE(&dst[i + 1u], w1);
        STORE(&dst[i + 2u], w2);
        STORE(&dst[i + 3u], w3);
    }
    switch (n - i) { /* the last 0-3 (a loop here trips i686 GCC's
                        -Waggressive-loop-optimizations) */
    case 3:
        STORE(&dst[i + 2u], LOAD(&src[i + 2u]));
        /* fall through */
    case 2:
        STORE(&dst[i + 1u], LOAD(&src[i + 1u]));
        /* fall through */
    case 1:
        STORE(&dst[i], LOAD(&src[i]));
        break;
    default:
        break;
    }
}

/*
 * Stores an image: the fixed part, then each value word (as many as h->meta
 * declares, clamped), built from `bytes` (len bytes, checksummed as they
 * pass), then the checksum last. With no bytes (a free image): no value
 * words, and h->check as the checksum.
 */
static void image_store(shared__image *dst, const raw_head *h,
                        const unsigned char *bytes, uint32_t len)
{
    uint32_t n = value_words(h->meta), half = n / 2u, i = 0;
    STORE(&dst->meta, h->meta);
    STORE(&dst->version, h->version);
    for (uint32_t k = 0; k < SHARED__KEY_WORDS; k++)
        STORE(&dst->key[k], h->key[k]);
    if (!bytes) {
        STORE(&dst->check, h->check);
        return;
    }
    lanes l;
    head_lanes(&l, h);
    for (; i + 4u <= n && (i + 4u) * 8u <= len; i += 4u) {
        if (i <= half && half < i + 4u)
            SHARED__CRASH_POINT(20);
        uint64_t w0, w1, w2, w3; /* four whole words */
        memcpy(&w0, bytes + i * 8u, 8);
        memcpy(&w1, bytes + i * 8u + 8u, 8);
        memcpy(&w2, bytes + i * 8u + 16u, 8);
        memcpy(&w3, bytes + i * 8u + 24u, 8);
        l.a = step(l.a, w0);
        l.b = step(l.b, w1);
        l.c = step(l.c, w2);
        l.d = step(l.d, w3);
        STORE(&dst->value[i], w0);
        STORE(&dst->value[i + 1u], w1);
        STORE(&dst->value[i + 2u], w2);
        STORE(&dst->value[i + 3u], w3);
    }
    for (; i < n; i++) {
        if (i == half)
            SHARED__CRASH_POINT(20);
        uint64_t w = get_word(bytes, len, i);
        value_step(&l, i, w);
        STORE(&dst->value[i], w);
    }
    STORE(&dst->check, lanes_sum(&l));
}

/* 1 if the 64 key bytes are klen non-NUL bytes followed by NUL padding. */
static int key_padded(const uint64_t *key, uint32_t klen)
{
    const unsigned char *b = (const unsigned char *)key;
    for (uint32_t i = 0; i < SHARED__KEY_WORDS * 8u; i++) {
        if ((i < klen) != (b[i] != '\0'))
            return 0;
    }
    return 1;
}

/*
 * Decodes and validates an image into *out; the value goes to buf when it
 * fits in cap bytes (see the note at the top). `expect`, if not NULL, is
 * the encoding of the key looked for: key words equal to it are well
 * formed by construction. 0 (used), SHARED_ENOTFOUND (free) or
 * SHARED_ECORRUPT.
 */
static int image_read(const shared__image *img, shared__copy *out, void *buf,
                      uint32_t cap, const uint64_t *expect)
{
    raw_head h;
    h.meta = LOAD(&img->meta);
    uint32_t state = (uint32_t)(h.meta & 0xffu);
    if (state == SHARED__SLOT_FREE) {
        out->state = SHARED__SLOT_FREE;
        return h.meta == 0 ? SHARED_ENOTFOUND : SHARED_ECORRUPT;
    }
    uint32_t type = (uint32_t)((h.meta >> 8) & 0xffu);
    uint32_t klen = (uint32_t)((h.meta >> 16) & 0xffu);
    uint32_t vlen = meta_vlen(h.meta);
    if (state != SHARED__SLOT_USED || klen < 1 || klen > SHARED_KEY_MAX ||
        vlen > SHARED_VALUE_MAX || (h.meta & 0xff000000ull) != 0)
        return SHARED_ECORRUPT;
    if (type != SHARED_TYPE_BYTES && type != SHARED_TYPE_COUNTER)
        return SHARED_ECORRUPT;
    if (type == SHARED_TYPE_COUNTER && vlen != 8)
        return SHARED_ECORRUPT;
    unsigned char *dst = buf && vlen <= cap ? buf : NULL;
    lanes l;
    uint64_t differ = head_read(&h, &l, img, expect);
    value_lanes(&l, img->value, vlen, dst);
    if (lanes_sum(&l) != h.check || h.version == 0)
        return SHARED_ECORRUPT;
    if (differ && !key_padded(h.key, klen))
        return SHARED_ECORRUPT;
    memcpy(out->key, h.key, sizeof out->key);
    out->state = state;
    out->type = type;
    out->key_len = klen;
    out->value_len = vlen;
    out->version = h.version;
    return 0;
}

void shared__image_copy(shared__image *dst, const shared__image *src)
{
    uint64_t meta = LOAD(&src->meta);
    uint32_t n = value_words(meta), half = n / 2u;
    STORE(&dst->meta, meta);
    STORE(&dst->version, LOAD(&src->version));
    copy_words(dst->key, src->key, SHARED__KEY_WORDS);
    copy_words(dst->value, src->value, half);
    if (n > 0)
        SHARED__CRASH_POINT(20); /* half of the value written */
    copy_words(dst->value + half, src->value + half, n - half);
    STORE(&dst->check, LOAD(&src->check));
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
    image_store(&s->img, &h, value ? value : (const void *)"", c->value_len);
    SHARED__CRASH_POINT(22); /* written, sequence still odd */
    write_end(s, q);
}

void shared__slot_clear(shared__region *r, uint32_t i)
{
    raw_head h;
    memset(&h, 0, sizeof h);
    shared__slot *s = &r->slot[i];
    uint32_t q = write_begin(s);
    image_store(&s->img, &h, NULL, 0); /* no value words, check 0 */
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
    return shared__read_slot_as(r, i, locked, out, buf, cap, NULL);
}

int shared__read_slot_as(shared__region *r, uint32_t i, int locked,
                         shared__copy *out, void *buf, uint32_t cap,
                         const uint64_t *expect)
{
    int rc;
    out->slot = i;
    if (locked) {
        rc = image_read(&r->slot[i].img, out, buf, cap, expect);
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
            int got = image_read(&r->slot[i].img, out, buf, cap, expect);
            atomic_thread_fence(memory_order_acquire);
            if (LOAD(&r->slot[i].seq) == s1 && LOAD(&r->hdr.tx_gen) == tx)
                rc = got;
        }
    }
    if (rc == SHARED_ECORRUPT)
        shared__count_corrupt(r);
    return rc;
}
