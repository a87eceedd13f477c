/*
 * region.c - formatting and validating a region, keys, and key lookup.
 */
#include <string.h>

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

int shared__region_check(const shared__region *r)
{
    shared__header h;
    /* One private copy of the immutable block, then validate the copy. */
    memcpy(&h, &r->hdr, offsetof(shared__header, ready));
    if (h.magic != SHARED__MAGIC ||
        h.layout_version != SHARED__LAYOUT_VERSION ||
        h.header_size != sizeof(shared__header) ||
        h.region_size != sizeof(shared__region) ||
        h.bitness != SHARED__BITNESS || h.max_keys != SHARED_MAX_KEYS ||
        h.value_max != SHARED_VALUE_MAX ||
        h.journal_max != SHARED_JOURNAL_MAX || h.build_id != SHARED_BUILD_ID)
        return SHARED_EVERSION;
    return 0;
}

int shared__region_check_named(const shared__region *r)
{
    shared__header h;
    memcpy(&h, &r->hdr, offsetof(shared__header, ready));
    if (h.magic != SHARED__MAGIC ||
        h.layout_version != SHARED__LAYOUT_VERSION ||
        h.header_size != sizeof(shared__header) ||
        h.region_size != sizeof(shared__region) ||
        h.max_keys != SHARED_MAX_KEYS || h.value_max != SHARED_VALUE_MAX ||
        h.journal_max != SHARED_JOURNAL_MAX || h.layout_id != SHARED_LAYOUT_ID)
        return SHARED_EVERSION;
    return 0;
}

int shared__key_check(const char *key, uint32_t *len)
{
    if (!key)
        return SHARED_ENULL;
    uint32_t n = 0;
    while (n <= SHARED_KEY_MAX && key[n] != '\0')
        n++;
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

/* Scans the hints for `key`. A corrupt slot whose hint matches might be the
 * key, so it is reported rather than skipped. */
static int find(shared__region *r, const char *key, uint32_t klen, int locked,
                shared__copy *out, void *buf, uint32_t cap)
{
    uint32_t h = shared__key_hint(key, klen);
    for (uint32_t i = 0; i < SHARED_MAX_KEYS; i++) {
        if (LOAD(&r->hint[i]) != h)
            continue;
        int rc = shared__read_slot(r, i, locked, out, buf, cap);
        if (rc == 0) {
            if (out->key_len == klen && memcmp(out->key, key, klen) == 0)
                return 0;
        } else if (rc != SHARED_ENOTFOUND) {
            return rc;
        }
    }
    return SHARED_ENOTFOUND;
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
