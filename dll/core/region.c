/*
 * region.c - formatting and validating a region, keys, and key lookup.
 */
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#  define _POSIX_C_SOURCE 200809L /* strnlen */
#endif
#include <string.h>
#if defined(__SSE2__) || defined(_M_X64) ||                                    \
    (defined(_M_IX86_FP) && _M_IX86_FP >= 2)
#  define HAVE_SSE2 1
#  include <emmintrin.h>
#endif

#include "slot.h"

/* Lock-free lookups retried when a key was created or removed meanwhile. */
#define LOOKUP_RETRIES 16

void (*shared__crash_hook)(int point);

uint64_t shared__mix(uint64_t h, uint64_t word)
{
    h ^= word;
    h *= 0x9e3779b97f4a7c15ull;
    h ^= h >> 29;
    return h;
}

uint64_t shared__bytes_word(const void *src, uint32_t len, uint32_t i)
{
    uint64_t w = 0;
    uint32_t at = i * 8u, n = len - at < 8u ? len - at : 8u;
    memcpy(&w, (const unsigned char *)src + at, n);
    return w;
}

uint64_t shared__load_mix(const _Atomic uint64_t *src, uint32_t nbytes,
                          unsigned char *dst, uint64_t sum)
{
    uint32_t n = (nbytes + 7u) / 8u;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t w = atomic_load_explicit(&src[i], memory_order_relaxed);
        sum = shared__mix(sum, w);
        if (dst) {
            uint32_t at = i * 8u;
            memcpy(dst + at, &w, nbytes - at < 8u ? nbytes - at : 8u);
        }
    }
    return sum;
}

void shared__region_format(shared__region *r)
{
    static const shared__header fresh = SHARED__HEADER_INIT;
    memset(r, 0, sizeof *r);
    memcpy(&r->hdr, &fresh, offsetof(shared__header, ready));
    STORE(&r->hdr.next_version, 1);
}

void shared__region_publish(shared__region *r)
{
    atomic_store_explicit(&r->hdr.ready, SHARED__READY, memory_order_release);
}

/* Validates the immutable block of the header: the limits and sizes every
 * home needs, then what identifies the home's builds (named: the layout
 * id only, so other bitnesses and compilers share it; the section: this
 * very build). One private copy, then validate the copy. */
static int header_check(const shared__region *r, int named)
{
    shared__header h;
    memcpy(&h, &r->hdr, offsetof(shared__header, ready));
    if (h.magic != SHARED__MAGIC ||
        h.layout_version != SHARED__LAYOUT_VERSION ||
        h.header_size != sizeof(shared__header) ||
        h.region_size != sizeof(shared__region) ||
        h.max_keys != SHARED_MAX_KEYS || h.value_max != SHARED_VALUE_MAX ||
        h.journal_max != SHARED_JOURNAL_MAX)
        return SHARED_EVERSION;
    if (named ? h.layout_id != SHARED_LAYOUT_ID
              : h.bitness != SHARED__BITNESS || h.build_id != SHARED_BUILD_ID)
        return SHARED_EVERSION;
    return 0;
}

int shared__region_check(const shared__region *r)
{
    return header_check(r, 0);
}

int shared__region_check_named(const shared__region *r)
{
    return header_check(r, 1);
}

int shared__key_check(const char *key, uint32_t *len)
{
    if (!key)
        return SHARED_ENULL;
    uint32_t n = (uint32_t)strnlen(key, SHARED_KEY_MAX + 1u);
    if (n == 0)
        return SHARED_EKEYEMPTY;
    if (n > SHARED_KEY_MAX)
        return SHARED_EKEYTOOLONG;
    *len = n;
    return 0;
}

_Atomic int shared__core_readonly;

void shared__count_corrupt(shared__region *r)
{
    if (atomic_load_explicit(&shared__core_readonly, memory_order_relaxed))
        return; /* mapped read-only: nothing is written, not even counts */
    atomic_fetch_add_explicit(&r->hdr.corrupt_seen, 1, memory_order_relaxed);
}

/*
 * The hint index: SHARED__INDEX_SIZE entries (at most half of them used),
 * each 0 (empty) or a slot's hint in the high half and the slot in the low
 * half, placed by linear probing from the hint's home position. A lookup
 * probes from the key's home to the first empty entry and reads only the
 * slots of entries carrying the key's hint; a removal shifts the entries
 * after it back (no tombstones). Lock-free readers probe while struct_gen
 * is even; every change of the index happens while it is odd, so a reader
 * trusts a miss only if struct_gen did not move (shared__read), and a hit
 * only after reading the slot itself. The index is untrusted like every
 * byte of the region: an entry is used only if it names a slot in range
 * whose hint is the key's, every probe is bounded by the table's size, and
 * a damaged index can hide a key (not found) but never make a wrong one
 * found; recovery rebuilds it from the hints.
 */
static uint32_t idx_home(uint32_t hint)
{
    return (uint32_t)(((uint64_t)hint * SHARED__INDEX_SIZE) >> 32);
}

static uint32_t idx_next(uint32_t e)
{
    return e + 1u == SHARED__INDEX_SIZE ? 0 : e + 1u;
}

/* Stores entry v at the first empty place of its chain: 0, or -1 if the
 * chain has no empty place (only a damaged index is ever that full). */
static int idx_put(shared__region *r, uint64_t v)
{
    uint32_t e = idx_home((uint32_t)(v >> 32));
    for (uint32_t p = 0; p < SHARED__INDEX_SIZE; p++, e = idx_next(e)) {
        uint64_t x = LOAD(&r->index[e]);
        if (x == v)
            return 0;
        if (x == 0) {
            STORE(&r->index[e], v);
            return 0;
        }
    }
    return -1;
}

void shared__index_build(shared__region *r)
{
    for (uint32_t e = 0; e < SHARED__INDEX_SIZE; e++)
        STORE(&r->index[e], 0);
    for (uint32_t i = 0; i < SHARED_MAX_KEYS; i++) {
        uint32_t h = LOAD(&r->hint[i]);
        if (h != 0)
            (void)idx_put(r, (uint64_t)h << 32 | i); /* room: see layout.h */
    }
}

int shared__index_has(shared__region *r, uint32_t slot, uint32_t hint)
{
    uint64_t v = (uint64_t)hint << 32 | slot;
    uint32_t e = idx_home(hint);
    for (uint32_t p = 0; p < SHARED__INDEX_SIZE; p++, e = idx_next(e)) {
        uint64_t x = LOAD(&r->index[e]);
        if (x == v)
            return 1;
        if (x == 0)
            return 0;
    }
    return 0;
}

uint32_t shared__index_slots(shared__region *r, uint32_t hint, uint32_t *slot,
                             uint32_t cap)
{
    uint32_t n = 0, e = idx_home(hint);
    for (uint32_t p = 0; p < SHARED__INDEX_SIZE; p++, e = idx_next(e)) {
        uint64_t x = LOAD(&r->index[e]);
        if (x == 0)
            break;
        uint32_t i = (uint32_t)x;
        if ((uint32_t)(x >> 32) != hint || i >= SHARED_MAX_KEYS ||
            LOAD(&r->hint[i]) != hint)
            continue;
        if (n == cap)
            return cap + 1u;
        slot[n++] = i;
    }
    return n;
}

void shared__index_add(shared__region *r, uint32_t slot, uint32_t hint)
{
    if (idx_put(r, (uint64_t)hint << 32 | slot) != 0)
        shared__index_build(r);
}

void shared__index_remove(shared__region *r, uint32_t slot, uint32_t hint)
{
    uint64_t v = (uint64_t)hint << 32 | slot;
    uint32_t hole = idx_home(hint), p = 0;
    for (; p < SHARED__INDEX_SIZE; p++, hole = idx_next(hole)) {
        uint64_t x = LOAD(&r->index[hole]);
        if (x == 0)
            return;
        if (x == v)
            break;
    }
    if (p == SHARED__INDEX_SIZE)
        return;
    /* Shift back every later entry of the cluster that may move to the
     * hole: one whose home is not cyclically in (hole, j]. */
    uint32_t j = hole;
    for (p = 0; p < SHARED__INDEX_SIZE; p++) {
        j = idx_next(j);
        uint64_t x = LOAD(&r->index[j]);
        if (x == 0)
            break;
        uint32_t k = idx_home((uint32_t)(x >> 32));
        int stays = hole <= j ? (hole < k && k <= j) : (hole < k || k <= j);
        if (!stays) {
            STORE(&r->index[hole], x);
            hole = j;
        }
    }
    STORE(&r->index[hole], 0);
}

void shared__hint_set(shared__region *r, uint32_t i, uint32_t hint)
{
    uint32_t old = LOAD(&r->hint[i]);
    if (old == hint)
        return;
    if (old != 0)
        shared__index_remove(r, i, old);
    STORE(&r->hint[i], hint);
    if (hint != 0)
        shared__index_add(r, i, hint);
}

/* Hints scanned at once. */
#define BLOCK 64u

/* 1 if any of the BLOCK hints at h is a or b. */
static int block_has(const uint32_t *h, uint32_t a, uint32_t b)
{
#ifdef HAVE_SSE2
    const __m128i *v = (const __m128i *)(const void *)h;
    __m128i va = _mm_set1_epi32((int)a), vb = _mm_set1_epi32((int)b);
    __m128i any = _mm_setzero_si128();
    for (uint32_t k = 0; k < BLOCK / 4u; k += 4u) {
        __m128i x0 = _mm_loadu_si128(v + k), x1 = _mm_loadu_si128(v + k + 1);
        __m128i x2 = _mm_loadu_si128(v + k + 2),
                x3 = _mm_loadu_si128(v + k + 3);
        __m128i e0 =
            _mm_or_si128(_mm_cmpeq_epi32(x0, va), _mm_cmpeq_epi32(x1, va));
        __m128i e1 =
            _mm_or_si128(_mm_cmpeq_epi32(x2, va), _mm_cmpeq_epi32(x3, va));
        any = _mm_or_si128(any, _mm_or_si128(e0, e1));
        if (a != b) {
            e0 = _mm_or_si128(_mm_cmpeq_epi32(x0, vb), _mm_cmpeq_epi32(x1, vb));
            e1 = _mm_or_si128(_mm_cmpeq_epi32(x2, vb), _mm_cmpeq_epi32(x3, vb));
            any = _mm_or_si128(any, _mm_or_si128(e0, e1));
        }
    }
    return _mm_movemask_epi8(any) != 0;
#else
    uint32_t any = 0;
    for (uint32_t k = 0; k < BLOCK; k++)
        any |= (uint32_t)(h[k] == a) | (uint32_t)(h[k] == b);
    return any != 0;
#endif
}

/* Bit k set iff hint h[k] (k < BLOCK) is a or b. */
static uint64_t block_mask(const uint32_t *h, uint32_t a, uint32_t b)
{
    uint64_t m = 0;
#ifdef HAVE_SSE2
    const __m128i *v = (const __m128i *)(const void *)h;
    __m128i va = _mm_set1_epi32((int)a), vb = _mm_set1_epi32((int)b);
    for (uint32_t k = 0; k < BLOCK / 4u; k++) {
        __m128i x = _mm_loadu_si128(v + k);
        __m128i e =
            _mm_or_si128(_mm_cmpeq_epi32(x, va), _mm_cmpeq_epi32(x, vb));
        m |= (uint64_t)_mm_movemask_ps(_mm_castsi128_ps(e)) << (4u * k);
    }
#else
    for (uint32_t k = 0; k < BLOCK; k++)
        m |= (uint64_t)(h[k] == a || h[k] == b) << k;
#endif
    return m;
}

uint32_t shared__lowest_bit(uint64_t m)
{
#if defined(__GNUC__) || defined(__clang__)
    return (uint32_t)__builtin_ctzll(m);
#else
    uint32_t k = 0;
    for (; !(m & 1u); m >>= 1)
        k++;
    return k;
#endif
}

uint32_t shared__hint_scan(shared__region *r, uint32_t from, uint32_t a,
                           uint32_t b)
{
    /* Plain loads, BLOCK hints at a time: the caller holds the lock, so no
     * well-behaved process writes a hint meanwhile (a hostile one makes us
     * see old or new values, as the atomic loads would). Every candidate
     * is confirmed with an atomic load. */
    _Static_assert(sizeof(_Atomic uint32_t) == sizeof(uint32_t),
                   "hints must be plain words");
    _Static_assert(BLOCK == 64u, "one bit per hint of a block");
    const uint32_t *hint = (const uint32_t *)(const void *)r->hint;
    uint32_t i = from - from % BLOCK;
    for (; i + BLOCK <= SHARED_MAX_KEYS; i += BLOCK) {
        if (i >= from && !block_has(hint + i, a, b))
            continue; /* (a block begun mid-way is masked at once) */
        uint64_t m = block_mask(hint + i, a, b);
        if (i < from)
            m &= ~0ull << (from - i);
        for (; m != 0; m &= m - 1u) {
            uint32_t j = i + shared__lowest_bit(m);
            if (j >= SHARED_MAX_KEYS) /* never; tells GCC so, too */
                break;
            uint32_t h = LOAD(&r->hint[j]);
            if (h == a || h == b)
                return j;
        }
    }
    for (i = i > from ? i : from; i < SHARED_MAX_KEYS; i++) {
        uint32_t h = LOAD(&r->hint[i]);
        if (h == a || h == b)
            return i;
    }
    return SHARED_MAX_KEYS;
}

void shared__struct_open(shared__region *r)
{
    STORE(&r->hdr.struct_gen, LOAD(&r->hdr.struct_gen) | 1u);
    atomic_thread_fence(memory_order_release);
}

void shared__struct_close(shared__region *r)
{
    uint64_t g = LOAD(&r->hdr.struct_gen);
    atomic_store_explicit(&r->hdr.struct_gen, (g | 1u) + 1u,
                          memory_order_release);
}

/* Looks `key` up through the index. A corrupt slot carrying the key's hint
 * might be the key, so it is reported (SHARED_ECORRUPT) when no valid slot
 * holding exactly the key is in the chain: one that is wins, as the
 * library never makes a second copy of a key (a damaged one is damage). */
static int find(shared__region *r, const char *key, uint32_t klen, int locked,
                shared__copy *out, void *buf, uint32_t cap)
{
    uint64_t words[SHARED__KEY_WORDS] = {0};
    memcpy(words, key, klen);
    uint32_t h = shared__key_words_hint(words, klen);
    uint32_t e = idx_home(h);
    int met = SHARED_ENOTFOUND;
    out->hint = h;
    for (uint32_t p = 0; p < SHARED__INDEX_SIZE; p++, e = idx_next(e)) {
        uint64_t v = LOAD(&r->index[e]);
        if (v == 0)
            break;
        uint32_t i = (uint32_t)v;
        if ((uint32_t)(v >> 32) != h || i >= SHARED_MAX_KEYS ||
            LOAD(&r->hint[i]) != h)
            continue;
        int rc = shared__read_slot_as(r, i, locked, out, buf, cap, words);
        if (rc == 0) {
            if (out->key_len == klen && memcmp(out->key, key, klen) == 0)
                return 0;
        } else if (rc != SHARED_ENOTFOUND && met != SHARED__RETRY) {
            met = rc; /* corrupt; or torn lock-free, which may be the key */
        }
    }
    return met;
}

int shared__read(shared__region *r, const char *key, uint32_t klen,
                 shared__copy *out, void *buf, uint32_t cap)
{
    for (int t = 0; t < LOOKUP_RETRIES; t++) {
        uint32_t tx =
            atomic_load_explicit(&r->hdr.tx_gen, memory_order_acquire);
        uint64_t g =
            atomic_load_explicit(&r->hdr.struct_gen, memory_order_acquire);
        if (tx & 1u)
            return SHARED__RETRY;
        if (g & 1u)
            continue;
        int rc = find(r, key, klen, 0, out, buf, cap);
        if (rc != SHARED_ENOTFOUND)
            return rc;
        /* A miss counts only if no key was created or removed meanwhile. */
        atomic_thread_fence(memory_order_acquire);
        if (LOAD(&r->hdr.struct_gen) == g && LOAD(&r->hdr.tx_gen) == tx)
            return SHARED_ENOTFOUND;
    }
    return SHARED__RETRY;
}

int shared__read_locked(shared__region *r, const char *key, uint32_t klen,
                        shared__copy *out, void *buf, uint32_t cap)
{
    return find(r, key, klen, 1, out, buf, cap);
}

void shared__slot_info(shared__region *r, uint32_t i, shared_slot_info *out)
{
    shared__copy c;
    memset(out, 0, sizeof *out);
    out->index = i;
    out->seq = LOAD(&r->slot[i].seq);
    out->hint = LOAD(&r->hint[i]);
    int rc = shared__read_slot(r, i, 1, &c, NULL, 0);
    if (rc == SHARED_ENOTFOUND) {
        out->state = SHARED_SLOT_FREE;
    } else if (rc != 0) {
        out->state = SHARED_SLOT_CORRUPT;
    } else {
        out->state = SHARED_SLOT_USED;
        out->type = c.type;
        out->key_len = c.key_len;
        out->value_len = c.value_len;
        out->version = c.version;
        memcpy(out->key, c.key, c.key_len);
    }
}
