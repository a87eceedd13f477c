/*
 * ops.c - the changing operations. Every function here runs under the lock,
 * between shared__journal_begin and shared__journal_commit. Each checks
 * everything that can fail before it journals and touches a slot, so a
 * failed call changes nothing.
 *
 * Corrupt slots. A slot that fails validation (checksum, meta, key
 * padding) is corrupt; its bytes are untrusted, its key included. It
 * *answers for* key K when a lookup of K reaches it: when the index holds
 * it under K's hint, or, for a lookup that misses in the index (and so
 * scans the hints themselves), when its hint equals K's. The rules:
 * - Reads of K (get, wait) meeting a corrupt slot that answers for K report
 *   SHARED_ECORRUPT: it may be K. So do add and cas, which need the old
 *   value or version. But a valid slot holding exactly K wins over such a
 *   slot wherever the two sit in the index: the library never makes a
 *   second copy of a key, so the corrupt one is damage, not K.
 * - set and del are explicit writes: the caller replaces (or removes)
 *   whatever K held. First every corrupt slot answering for K is settled
 *   (settle_corrupt): the first whose stored key words are exactly K's
 *   (K's bytes, then NUL padding: the key survived the damage) is K's own
 *   slot; every one of them stops answering for K (hint 0). Then K is
 *   looked up as usual. set writes K over its valid slot if there is one,
 *   else into its own corrupt slot, else into a free slot; del frees K's
 *   valid slot and its own corrupt slot. Both go through the journal like
 *   any change. A corrupt slot whose key bytes are not K's (so it cannot be
 *   shown to be K's) is only detached: it stays occupied, listed by
 *   shared_inspect, until shared_reset. del returns 0 when anything
 *   answered for K, SHARED_ENOTFOUND otherwise.
 * - Afterwards the usage counters are recounted (shared__rebuild), since
 *   whether a corrupt slot was counted is unknown. Every corrupt slot met
 *   is counted in corrupt_seen by the read that met it. Detaching is a
 *   repair of hints (derived data, like recovery's): it stays even if the
 *   write then fails (say SHARED_ETXFULL); a rollback restores the slots.
 */
#include <string.h>

#include "slot.h"

/* Saves slot i's image in the journal once per change or transaction. */
static int journal_save(shared__region *r, uint32_t i)
{
    uint32_t n = LOAD(&r->hdr.jcount);
    if (n > SHARED_JOURNAL_MAX) {
        shared__count_corrupt(r);
        return SHARED_ECORRUPT;
    }
    for (uint32_t j = 0; j < n; j++) {
        if (LOAD(&r->journal[j].slot) == i)
            return 0;
    }
    if (n == SHARED_JOURNAL_MAX)
        return SHARED_ETXFULL;
    STORE(&r->journal[n].slot, i);
    shared__image_copy(&r->journal[n].img, &r->slot[i].img);
    atomic_store_explicit(&r->hdr.jcount, n + 1u, memory_order_release);
    SHARED__CRASH_POINT(10); /* journaled, slot untouched */
    return 0;
}

/*
 * 0 if the journal has room for every slot of s[0..k) that this change or
 * transaction has not journaled yet, else SHARED_ETXFULL (SHARED_ECORRUPT
 * for a damaged count). A change that writes two slots (a key and its own
 * corrupt slot) checks first, so that it fails before it writes either.
 */
static int journal_room(shared__region *r, const uint32_t *s, uint32_t k)
{
    uint32_t n = LOAD(&r->hdr.jcount), need = 0;
    if (n > SHARED_JOURNAL_MAX) {
        shared__count_corrupt(r);
        return SHARED_ECORRUPT;
    }
    for (uint32_t a = 0; a < k; a++) {
        int seen = 0;
        for (uint32_t j = 0; j < n && !seen; j++)
            seen = LOAD(&r->journal[j].slot) == s[a];
        for (uint32_t b = 0; b < a && !seen; b++)
            seen = s[b] == s[a];
        need += !seen;
    }
    return n + need <= SHARED_JOURNAL_MAX ? 0 : SHARED_ETXFULL;
}

/* Draws a version larger than `old` from the section's version counter. */
static uint64_t draw_version(shared__region *r, uint64_t old)
{
    uint64_t v = LOAD(&r->hdr.next_version);
    if (v <= old)
        v = old + 1u;
    STORE(&r->hdr.next_version, v + 1u);
    return v;
}

/*
 * After the index missed `key` (hint h): scans the slots whose hint says
 * "free" or is h. A used slot with hint 0 has a damaged hint, and one with
 * hint h that the index lacks was left out of a damaged index (one it
 * holds is another key with the same hint): repair either, and if it holds
 * `key`, that is the key's slot (1, copy in *cur). A corrupt slot with
 * hint h answers for the key: SHARED_ECORRUPT. Otherwise 0, with the first
 * free slot in cur->slot, or NO_SLOT when the table is full.
 */
#define NO_SLOT UINT32_MAX
static int scan_free(shared__region *r, const char *key, uint32_t klen,
                     shared__copy *cur)
{
    uint32_t first = NO_SLOT, h = cur->hint;
    for (uint32_t i = shared__hint_scan(r, 0, 0, h); i < SHARED_MAX_KEYS;
         i = shared__hint_scan(r, i + 1u, 0, h)) {
        uint32_t hint = LOAD(&r->hint[i]);
        if (hint == 0 && LOAD(&r->slot[i].img.meta) == 0 &&
            !(LOAD(&r->slot[i].seq) & 1u)) {
            if (first == NO_SLOT)
                first = i;
            continue;
        }
        shared__copy c;
        int rc = shared__read_slot(r, i, 1, &c, NULL, 0);
        if (rc == SHARED_ECORRUPT && hint == h)
            return rc;
        if (rc != 0)
            continue; /* corrupt: neither free nor usable */
        if (hint == h && shared__index_has(r, i, h))
            continue; /* another key of the same hint, indexed: healthy */
        shared__count_corrupt(r);
        shared__struct_open(r);
        if (hint == 0)
            shared__hint_set(r, i, shared__key_hint(c.key, c.key_len));
        else
            shared__index_add(r, i, hint);
        shared__struct_close(r);
        if (c.key_len == klen && memcmp(c.key, key, klen) == 0) {
            *cur = c;
            cur->hint = h;
            return 1;
        }
    }
    cur->slot = first;
    return 0;
}

/* 1 if slot i's stored key words are exactly K's encoding. */
static int key_words_are(shared__region *r, uint32_t i, const char *key,
                         uint32_t klen)
{
    uint64_t words[SHARED__KEY_WORDS] = {0};
    memcpy(words, key, klen);
    for (uint32_t w = 0; w < SHARED__KEY_WORDS; w++) {
        if (LOAD(&r->slot[i].img.key[w]) != words[w])
            return 0;
    }
    return 1;
}

/* If slot i is corrupt, detaches it (hint 0) and makes it *own when its
 * key words are K's and *own is still NO_SLOT: 1, else 0. */
static int settle_one(shared__region *r, uint32_t i, const char *key,
                      uint32_t klen, uint32_t *own)
{
    shared__copy c;
    if (shared__read_slot(r, i, 1, &c, NULL, 0) != SHARED_ECORRUPT)
        return 0;
    if (*own == NO_SLOT && key_words_are(r, i, key, klen))
        *own = i;
    shared__struct_open(r);
    shared__hint_set(r, i, 0);
    shared__struct_close(r);
    return 1;
}

/* Hint sharers settle_corrupt takes from the index before it scans. */
#define CHAIN_MAX 16u

/*
 * Before a set or del of K: detaches every corrupt slot answering for K
 * (see the note at the top) but `valid`, K's slot as a lookup found it
 * (or NO_SLOT). With `scan` 0 (a set whose lookup found K through the
 * index) those are the slots the index holds under K's hint h: the ones a
 * lookup reaches. A slot whose hint alone was scribbled to K's stays (reads
 * prefer K's valid slot to it, even once an index rebuild adds it; the
 * next set meets it then, and a del scans). With `scan` 1, and when more
 * than CHAIN_MAX slots share the hint, every hint is scanned. Returns how
 * many there were; *own is the first whose key words are K's, or NO_SLOT.
 */
static int settle_corrupt(shared__region *r, const char *key, uint32_t klen,
                          uint32_t h, uint32_t valid, int scan, uint32_t *own)
{
    uint32_t chain[CHAIN_MAX];
    uint32_t n =
        scan ? CHAIN_MAX + 1u : shared__index_slots(r, h, chain, CHAIN_MAX);
    int met = 0;
    *own = NO_SLOT;
    if (n <= CHAIN_MAX) {
        for (uint32_t k = 0; k < n; k++)
            if (chain[k] != valid)
                met += settle_one(r, chain[k], key, klen, own);
        return met;
    }
    for (uint32_t i = shared__hint_scan(r, 0, h, h); i < SHARED_MAX_KEYS;
         i = shared__hint_scan(r, i + 1u, h, h))
        if (i != valid)
            met += settle_one(r, i, key, klen, own);
    return met;
}

/*
 * Writes `next` (key, type, value_len filled in) with next->value_len bytes
 * at `value` over the key's slot `cur`, or into a free slot when the key
 * does not exist (`exists` 0; cur->hint, from its lookup, is its hint).
 */
static int store(shared__region *r, int exists, const shared__copy *cur,
                 shared__copy *next, const void *value, uint64_t *version)
{
    uint32_t i = cur->slot;
    if (i == NO_SLOT)
        return SHARED_EFULL;
    int rc = journal_save(r, i);
    if (rc)
        return rc;
    next->version = draw_version(r, exists ? cur->version : 0);
    if (!exists)
        shared__struct_open(r);
    shared__slot_write(r, i, next, value);
    SHARED__CRASH_POINT(11); /* slot whole, counters not yet updated */
    uint64_t bytes = LOAD(&r->hdr.bytes_used);
    if (exists) {
        bytes -= cur->value_len;
    } else {
        shared__hint_set(r, i, cur->hint);
        STORE(&r->hdr.keys_used, LOAD(&r->hdr.keys_used) + 1u);
        bytes += next->key_len;
        shared__struct_close(r);
    }
    STORE(&r->hdr.bytes_used, bytes + next->value_len);
    if (version)
        *version = next->version;
    return 0;
}

static void prepare(shared__copy *next, const char *key, uint32_t klen,
                    uint32_t type)
{
    memset(next->key, 0, sizeof next->key);
    memcpy(next->key, key, klen);
    next->key_len = klen;
    next->type = type;
    next->state = SHARED__SLOT_USED;
}

/* Looks the key up under the lock: 1 exists (copy in *cur, its value in
 * buf if it fits cap), 0 missing (cur->slot: a free slot or NO_SLOT), <0
 * error. */
static int lookup(shared__region *r, const char *key, uint32_t klen,
                  shared__copy *cur, void *buf, uint32_t cap)
{
    int rc = shared__read_locked(r, key, klen, cur, buf, cap);
    if (rc == SHARED_ENOTFOUND)
        return scan_free(r, key, klen, cur);
    return rc == 0 ? 1 : rc;
}

/* (locked) Frees slot i, which held key bytes but no valid key (its own
 * corrupt slot, see the note at the top). */
static int clear_corrupt(shared__region *r, uint32_t i)
{
    int rc = journal_save(r, i);
    if (rc)
        return rc;
    draw_version(r, 0);
    shared__struct_open(r);
    shared__slot_clear(r, i);
    shared__hint_set(r, i, 0);
    shared__struct_close(r);
    return 0;
}

int shared__op_put(shared__region *r, const char *key, uint32_t klen,
                   const void *value, uint32_t len, const uint64_t *expected,
                   uint64_t *version)
{
    shared__copy cur, next;
    uint32_t own = NO_SLOT;
    int exists = lookup(r, key, klen, &cur, NULL, 0), met = 0;
    /* Only a plain set replaces a corrupt key; cas must compare with it. */
    if (!expected) {
        met =
            settle_corrupt(r, key, klen, cur.hint,
                           exists == 1 ? cur.slot : NO_SLOT, exists != 1, &own);
        if (met)
            exists = lookup(r, key, klen, &cur, NULL, 0);
    }
    if (exists < 0)
        return exists;
    if (!exists && own != NO_SLOT) {
        cur.slot = own; /* write K over its own corrupt slot */
        own = NO_SLOT;
    }
    if (expected) {
        uint64_t now = exists ? cur.version : 0;
        if (now != *expected) {
            if (version)
                *version = now;
            return SHARED_ECONFLICT;
        }
    }
    int rc = 0;
    if (own != NO_SLOT && cur.slot != NO_SLOT) {
        uint32_t two[2] = {cur.slot, own};
        rc = journal_room(r, two, 2);
    }
    if (rc) {
        if (met)
            shared__rebuild(r);
        return rc;
    }
    prepare(&next, key, klen, SHARED_TYPE_BYTES);
    next.value_len = len;
    rc = store(r, exists, &cur, &next, value, version);
    if (rc == 0 && own != NO_SLOT)
        rc = clear_corrupt(r, own); /* K also had a valid slot */
    if (met)
        shared__rebuild(r);
    return rc;
}

int shared__op_add(shared__region *r, const char *key, uint32_t klen,
                   int64_t delta, int64_t *result)
{
    shared__copy cur, next;
    int64_t v = 0;
    int exists = lookup(r, key, klen, &cur, &v, sizeof v);
    if (exists < 0)
        return exists;
    if (!exists)
        v = 0;
    else if (cur.type != SHARED_TYPE_COUNTER)
        return SHARED_ETYPE;
    if ((delta > 0 && v > INT64_MAX - delta) ||
        (delta < 0 && v < INT64_MIN - delta))
        return SHARED_EOVERFLOW;
    v += delta;
    prepare(&next, key, klen, SHARED_TYPE_COUNTER);
    next.value_len = sizeof v;
    int rc = store(r, exists, &cur, &next, &v, NULL);
    if (rc == 0 && result)
        *result = v;
    return rc;
}

int shared__op_del(shared__region *r, const char *key, uint32_t klen)
{
    shared__copy cur;
    uint32_t own = NO_SLOT;
    int exists = lookup(r, key, klen, &cur, NULL, 0);
    int met = settle_corrupt(r, key, klen, cur.hint,
                             exists == 1 ? cur.slot : NO_SLOT, 1, &own);
    if (met)
        exists = lookup(r, key, klen, &cur, NULL, 0);
    int rc = exists < 0 ? exists : 0;
    if (rc == 0 && own != NO_SLOT && exists > 0) {
        uint32_t two[2] = {cur.slot, own};
        rc = journal_room(r, two, 2);
    }
    if (rc == 0 && own != NO_SLOT)
        rc = clear_corrupt(r, own);
    if (met)
        shared__rebuild(r);
    if (exists <= 0)
        return rc ? rc : met ? 0 : SHARED_ENOTFOUND;
    rc = journal_save(r, cur.slot);
    if (rc)
        return rc;
    /* The version counter moves on, so a re-created key gets a new one. */
    draw_version(r, cur.version);
    shared__struct_open(r);
    shared__slot_clear(r, cur.slot);
    shared__hint_set(r, cur.slot, 0);
    STORE(&r->hdr.keys_used, LOAD(&r->hdr.keys_used) - 1u);
    STORE(&r->hdr.bytes_used,
          LOAD(&r->hdr.bytes_used) - cur.key_len - cur.value_len);
    shared__struct_close(r);
    return 0;
}

void shared__op_reset(shared__region *r)
{
    shared__struct_open(r);
    for (uint32_t i = 0; i < SHARED_MAX_KEYS; i++) {
        if (LOAD(&r->slot[i].img.meta) != 0 || (LOAD(&r->slot[i].seq) & 1u))
            shared__slot_clear(r, i);
        STORE(&r->hint[i], 0);
    }
    shared__index_build(r);
    STORE(&r->hdr.keys_used, 0);
    STORE(&r->hdr.bytes_used, 0);
    STORE(&r->hdr.jcount, 0);
    STORE(&r->hdr.jkind, SHARED__J_NONE);
    shared__chan_reset(r);
    shared__struct_close(r);
}
