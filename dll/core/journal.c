/*
 * journal.c - the undo journal, transactions and the one recovery path.
 *
 * Before a slot is changed, its old image is copied into the journal and
 * the entry is published by a release store of jcount. A change that dies
 * before commit therefore always leaves enough behind to undo it:
 * - SINGLE (one operation, one slot): if the slot is whole (sequence even,
 *   checksum valid) the change is complete and kept, because lock-free
 *   readers may already have seen it; otherwise the old image is restored.
 * - TX (shared_lock .. shared_unlock): lock-free readers never see a slot
 *   while tx_gen is odd, so every journaled slot is restored.
 */
#include "slot.h"

static void gen_open(_Atomic uint64_t *g)
{
    STORE(g, LOAD(g) | 1u);
    atomic_thread_fence(memory_order_release);
}

static void gen_close(_Atomic uint64_t *g)
{
    uint64_t v = LOAD(g);
    atomic_store_explicit(g, (v | 1u) + 1u, memory_order_release);
}

void shared__journal_begin(shared__region *r, uint32_t kind)
{
    if (kind == SHARED__J_TX) {
        STORE(&r->hdr.tx_gen, LOAD(&r->hdr.tx_gen) | 1u);
        atomic_thread_fence(memory_order_seq_cst);
    }
    STORE(&r->hdr.jcount, 0);
    atomic_store_explicit(&r->hdr.jkind, kind, memory_order_release);
}

void shared__journal_commit(shared__region *r)
{
    uint32_t kind = LOAD(&r->hdr.jkind);
    atomic_store_explicit(&r->hdr.jcount, 0, memory_order_release);
    SHARED__CRASH_POINT(30); /* committed, kind not yet cleared */
    STORE(&r->hdr.jkind, SHARED__J_NONE);
    if (kind == SHARED__J_TX) {
        uint32_t t = LOAD(&r->hdr.tx_gen);
        atomic_store_explicit(&r->hdr.tx_gen, (t | 1u) + 1u,
                              memory_order_release);
    }
}

/*
 * Recomputes what can be derived from the slots: hints, key and byte counts,
 * and a version counter above every stored version. Leaves the hint of a
 * corrupt slot alone, so a lookup of its key reports the corruption.
 */
void shared__rebuild(shared__region *r)
{
    uint32_t keys = 0;
    uint64_t bytes = 0, maxv = 0;
    gen_open(&r->hdr.struct_gen);
    for (uint32_t i = 0; i < SHARED_MAX_KEYS; i++) {
        shared__slot *s = &r->slot[i];
        uint32_t q = LOAD(&s->seq);
        if (q & 1u) /* left odd by a dead writer whose image was kept */
            atomic_store_explicit(&s->seq, q + 1u, memory_order_release);
        shared__copy c;
        int rc = shared__read_slot(r, i, 1, &c, NULL, 0);
        if (rc == 0) {
            STORE(&r->hint[i], shared__key_hint(c.key, c.key_len));
            keys++;
            bytes += c.key_len + c.value_len;
            if (c.version > maxv)
                maxv = c.version;
        } else if (rc == SHARED_ENOTFOUND) {
            STORE(&r->hint[i], 0);
        }
    }
    shared__index_build(r);
    STORE(&r->hdr.keys_used, keys);
    STORE(&r->hdr.bytes_used, bytes);
    uint64_t next = LOAD(&r->hdr.next_version);
    if (next <= maxv || next == 0)
        STORE(&r->hdr.next_version, maxv + 1u);
    gen_close(&r->hdr.struct_gen);
}

/* Restores journal entries n-1 .. 0 (all of them: a TX or a rollback). */
static void undo_all(shared__region *r, uint32_t n)
{
    for (uint32_t j = n; j-- > 0;) {
        uint32_t i = LOAD(&r->journal[j].slot);
        if (i >= SHARED_MAX_KEYS) {
            shared__count_corrupt(r);
            continue;
        }
        shared__slot_restore(r, i, &r->journal[j].img);
    }
}

/* Key and byte count of slot i if it holds a valid key (else 0), and in
 * *hint the hint it should carry (0 free, its old one if corrupt). */
static uint32_t slot_usage(shared__region *r, uint32_t i, uint64_t *bytes,
                           uint32_t *hint)
{
    shared__copy c;
    int rc = shared__read_slot(r, i, 1, &c, NULL, 0);
    *bytes = 0;
    *hint = rc == 0                  ? shared__key_hint(c.key, c.key_len)
            : rc == SHARED_ENOTFOUND ? 0
                                     : LOAD(&r->hint[i]);
    if (rc != 0)
        return 0;
    *bytes = c.key_len + c.value_len;
    return 1;
}

/*
 * Undoes the open transaction: restores each journaled slot, newest entry
 * first, and moves the counters, hints and index by what each restore
 * changed. Only the journaled slots are read, not the whole table.
 */
void shared__journal_rollback(shared__region *r)
{
    uint32_t n = LOAD(&r->hdr.jcount), keys = LOAD(&r->hdr.keys_used);
    uint64_t bytes = LOAD(&r->hdr.bytes_used);
    if (n > SHARED_JOURNAL_MAX) {
        shared__count_corrupt(r);
        shared__rebuild(r);
        shared__journal_commit(r);
        return;
    }
    gen_open(&r->hdr.struct_gen);
    for (uint32_t j = n; j-- > 0;) {
        uint32_t i = LOAD(&r->journal[j].slot), hint;
        uint64_t b;
        if (i >= SHARED_MAX_KEYS) {
            shared__count_corrupt(r);
            continue;
        }
        keys -= slot_usage(r, i, &b, &hint);
        bytes -= b;
        shared__slot_restore(r, i, &r->journal[j].img);
        keys += slot_usage(r, i, &b, &hint);
        bytes += b;
        shared__hint_set(r, i, hint);
    }
    STORE(&r->hdr.keys_used, keys);
    STORE(&r->hdr.bytes_used, bytes);
    gen_close(&r->hdr.struct_gen);
    shared__journal_commit(r);
}

/* Undoes a dead SINGLE change unless its slot is already whole. */
static void settle_single(shared__region *r)
{
    uint32_t i = LOAD(&r->journal[0].slot);
    if (i >= SHARED_MAX_KEYS) {
        shared__count_corrupt(r);
        return;
    }
    shared__copy c;
    uint32_t q = LOAD(&r->slot[i].seq);
    int rc =
        (q & 1u) ? SHARED_ECORRUPT : shared__read_slot(r, i, 1, &c, NULL, 0);
    if (rc == SHARED_ECORRUPT)
        shared__slot_restore(r, i, &r->journal[0].img);
}

void shared__recover(shared__region *r, int owner_died)
{
    uint32_t kind = LOAD(&r->hdr.jkind);
    uint32_t n = LOAD(&r->hdr.jcount);
    if (n > SHARED_JOURNAL_MAX) {
        shared__count_corrupt(r);
        n = 0;
    }
    if (n > 0 && kind == SHARED__J_SINGLE)
        settle_single(r);
    else if (n > 0)
        undo_all(r, n);
    shared__rebuild(r);
    shared__journal_commit(r);
    uint32_t t = LOAD(&r->hdr.tx_gen);
    if (t & 1u) /* a transaction died open: readers may proceed again */
        atomic_store_explicit(&r->hdr.tx_gen, t + 1u, memory_order_release);
    if (owner_died)
        atomic_fetch_add_explicit(&r->hdr.recoveries, 1, memory_order_relaxed);
}
