/*
 * fuzz_common.h - what the libFuzzer targets share: a reader over the
 * fuzzer's input, one region on the heap, key and value names, and an
 * interpreter of operation sequences that checks the core against a small
 * in-memory model (fuzz_model.c, fuzz_crash.c).
 *
 * The core runs on a plain buffer here, exactly as tests/test_core.c drives
 * it: a change is made between shared__journal_begin and
 * shared__journal_commit, as dll/api.c does under the lock.
 */
#ifndef SHARED_FUZZ_COMMON_H
#define SHARED_FUZZ_COMMON_H

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A failed check aborts: libFuzzer reports it with the input. In soft
 * mode (region_matches) it only jumps back and says "no match". */
static int fz_soft;
static jmp_buf fz_soft_jmp;

#define FZ_CHECK(cond, ...)                                                    \
  do {                                                                         \
    if (!(cond)) {                                                             \
      if (fz_soft)                                                             \
        longjmp(fz_soft_jmp, 1);                                               \
      fprintf(stderr, "fuzz check failed at %s:%d: %s: ", __FILE__, __LINE__,  \
              #cond);                                                          \
      fprintf(stderr, __VA_ARGS__);                                            \
      fputc('\n', stderr);                                                     \
      abort();                                                                 \
    }                                                                          \
  } while (0)

/* ---- the input ---------------------------------------------------------- */

typedef struct fz {
    const uint8_t *p;
    size_t n;
} fz;

static inline uint8_t fz_u8(fz *f)
{
    if (f->n == 0)
        return 0;
    f->n--;
    return *f->p++;
}

static inline uint32_t fz_u16(fz *f)
{
    uint32_t lo = fz_u8(f);
    return lo | (uint32_t)fz_u8(f) << 8;
}

static inline uint32_t fz_u32(fz *f)
{
    uint32_t lo = fz_u16(f);
    return lo | fz_u16(f) << 16;
}

static inline uint64_t fz_u64(fz *f)
{
    uint64_t lo = fz_u32(f);
    return lo | (uint64_t)fz_u32(f) << 32;
}

/* ---- the region --------------------------------------------------------- */

static inline shared__region *fz_region(void)
{
    static shared__region *r;
    if (!r) {
        r = malloc(sizeof *r);
        if (!r)
            abort();
    }
    shared__region_format(r);
    shared__region_publish(r);
    return r;
}

/* ---- keys, values, channels ---------------------------------------------- */

/* Named keys the sequences use, then fill keys that take whatever slots are
 * left (to reach SHARED_EFULL). Every 8th named key is SHARED_KEY_MAX long. */
#define FZ_NAMED 24u
#define FZ_KEYS (FZ_NAMED + SHARED_MAX_KEYS)
#define FZ_CHANS 8u /* fewer than SHARED_CHANNELS: never recycled */
/* The monotonic clock the channel calls are given (no receiver registers in
 * these targets, so no lease is ever live). */
#define FZ_NOW_MS 1000u

static inline uint32_t fz_key(uint32_t id, char *buf)
{
    if (id < FZ_NAMED && id % 8u == 7u) {
        memset(buf, 'L', SHARED_KEY_MAX);
        snprintf(buf + SHARED_KEY_MAX - 3, 4, "%03u", id);
        return SHARED_KEY_MAX;
    }
    return (uint32_t)snprintf(buf, SHARED_KEY_MAX + 1,
                              id < FZ_NAMED ? "k%u" : "fill%u", id);
}

static inline uint32_t fz_chan(uint32_t id, char *buf)
{
    return (uint32_t)snprintf(buf, SHARED_KEY_MAX + 1, "ch%u", id);
}

/* A value of `len` bytes derived from `seed`. */
static inline void fz_fill(unsigned char *buf, uint32_t len, uint32_t seed)
{
    for (uint32_t i = 0; i < len; i++)
        buf[i] = (unsigned char)(seed + i * 31u + (i >> 8));
}

/* A length drawn from the input: often small, sometimes the maximum. */
static inline uint32_t fz_len(fz *f, uint32_t max)
{
    uint32_t b = fz_u8(f);
    if (b == 0xff)
        return max;
    if (b == 0xfe)
        return max > 0 ? max - 1u : 0;
    if (b & 0x80u)
        return (uint32_t)(((b & 0x7fu) * 131u + fz_u8(f)) % (max + 1u));
    return b % 48u <= max ? b % 48u : max;
}

static inline int64_t fz_delta(fz *f)
{
    switch (fz_u8(f) % 6u) {
    case 0:
        return INT64_MAX;
    case 1:
        return INT64_MIN;
    case 2:
        return -1;
    case 3:
        return (int64_t)fz_u64(f);
    default:
        return (int8_t)fz_u8(f);
    }
}

/* ---- the model ------------------------------------------------------------
 */

typedef struct mkey {
    uint8_t exists;
    uint8_t type;
    uint32_t len;  /* bytes: value length */
    uint32_t seed; /* bytes: value seed */
    int64_t n;     /* counter */
    uint64_t version;
} mkey;

typedef struct mmsg {
    uint32_t len;
    uint32_t seed;
} mmsg;

typedef struct mchan {
    uint32_t exists;
    uint32_t count;
    mmsg q[SHARED_CHANNEL_DEPTH]; /* oldest first */
} mchan;

typedef struct model {
    mkey k[FZ_KEYS];
    mchan c[FZ_CHANS];
    uint64_t next; /* the region's next version */
} model;

static inline void model_init(model *m)
{
    memset(m, 0, sizeof *m);
    m->next = 1;
}

static inline uint64_t model_draw(model *m, uint64_t old)
{
    uint64_t v = m->next <= old ? old + 1u : m->next;
    m->next = v + 1u;
    return v;
}

/* ---- comparing the region with the model -----------------------------------
 */

/* c and the value a read delivered into `got` (SHARED_VALUE_MAX bytes). */
static inline void check_copy(const shared__copy *c, const unsigned char *got,
                              const mkey *k, const char *what, uint32_t id)
{
    unsigned char want[SHARED_VALUE_MAX + 8];
    FZ_CHECK(c->type == k->type, "%s key %u: type %u, model %u", what, id,
             c->type, k->type);
    FZ_CHECK(c->version == k->version, "%s key %u: version %llu, model %llu",
             what, id, (unsigned long long)c->version,
             (unsigned long long)k->version);
    if (k->type == SHARED_TYPE_COUNTER) {
        int64_t n;
        FZ_CHECK(c->value_len == sizeof n, "%s key %u: counter length %u", what,
                 id, c->value_len);
        memcpy(&n, got, sizeof n);
        FZ_CHECK(n == k->n, "%s key %u: counter %lld, model %lld", what, id,
                 (long long)n, (long long)k->n);
        return;
    }
    fz_fill(want, k->len, k->seed);
    FZ_CHECK(c->value_len == k->len, "%s key %u: length %u, model %u", what, id,
             c->value_len, k->len);
    FZ_CHECK(memcmp(got, want, k->len) == 0, "%s key %u: value differs", what,
             id);
}

/* Reads key `id` the way the library does (lock-free outside a transaction,
 * under the lock inside one) and compares it with the model. */
static inline void check_key(shared__region *r, const model *m, uint32_t id,
                             int in_tx)
{
    char key[SHARED_KEY_MAX + 1];
    uint32_t kl = fz_key(id, key);
    shared__copy c;
    unsigned char got[SHARED_VALUE_MAX];
    int rc = shared__read_locked(r, key, kl, &c, got, sizeof got);
    FZ_CHECK(rc == (m->k[id].exists ? 0 : SHARED_ENOTFOUND),
             "locked read of key %u: %s, model exists %d", id,
             shared_errname(rc), m->k[id].exists);
    if (rc == 0)
        check_copy(&c, got, &m->k[id], "locked read", id);
    memset(got, 0xa5, sizeof got);
    rc = shared__read(r, key, kl, &c, got, sizeof got);
    if (in_tx) {
        FZ_CHECK(rc == SHARED__RETRY, "lock-free read in a transaction: %d",
                 rc);
        return;
    }
    FZ_CHECK(rc == (m->k[id].exists ? 0 : SHARED_ENOTFOUND),
             "lock-free read of key %u: %s, model exists %d", id,
             shared_errname(rc), m->k[id].exists);
    if (rc == 0)
        check_copy(&c, got, &m->k[id], "lock-free read", id);
}

/* Parses a key the harness wrote back to its id; FZ_KEYS if unknown. */
static inline uint32_t key_id(const char *key, uint32_t kl)
{
    char buf[SHARED_KEY_MAX + 1];
    unsigned id;
    if (kl == SHARED_KEY_MAX && key[0] == 'L') {
        id = (unsigned)atoi(key + SHARED_KEY_MAX - 3);
    } else if (kl > 1 && key[0] == 'k') {
        id = (unsigned)atoi(key + 1);
    } else if (kl > 4 && memcmp(key, "fill", 4) == 0) {
        id = (unsigned)atoi(key + 4);
    } else {
        return FZ_KEYS;
    }
    if (id >= FZ_KEYS || fz_key(id, buf) != kl || memcmp(buf, key, kl) != 0)
        return FZ_KEYS;
    return id;
}

/* The whole region against the model: every slot whole and known, counters
 * right, every queued message as sent. */
static inline void check_all(shared__region *r, const model *m, int in_tx)
{
    uint32_t used = 0, want_used = 0;
    uint64_t bytes = 0;
    for (uint32_t i = 0; i < SHARED_MAX_KEYS; i++) {
        shared__copy c;
        unsigned char got[SHARED_VALUE_MAX];
        int rc = shared__read_slot(r, i, 1, &c, got, sizeof got);
        FZ_CHECK(rc == 0 || rc == SHARED_ENOTFOUND, "slot %u: %s", i,
                 shared_errname(rc));
        if (rc)
            continue;
        uint32_t id = key_id(c.key, c.key_len);
        FZ_CHECK(id < FZ_KEYS && m->k[id].exists,
                 "slot %u holds a key the model lacks (%.*s)", i,
                 (int)c.key_len, c.key);
        check_copy(&c, got, &m->k[id], "slot", id);
        used++;
        bytes += c.key_len + c.value_len;
    }
    uint64_t want_bytes = 0;
    for (uint32_t id = 0; id < FZ_KEYS; id++) {
        char key[SHARED_KEY_MAX + 1];
        if (!m->k[id].exists)
            continue;
        want_used++;
        want_bytes +=
            fz_key(id, key) +
            (m->k[id].type == SHARED_TYPE_COUNTER ? 8u : m->k[id].len);
        if (id < FZ_NAMED)
            check_key(r, m, id, in_tx);
    }
    FZ_CHECK(used == want_used, "%u keys, model %u", used, want_used);
    FZ_CHECK(LOAD(&r->hdr.keys_used) == used, "keys_used %u, counted %u",
             LOAD(&r->hdr.keys_used), used);
    FZ_CHECK(bytes == want_bytes, "bytes %llu, model %llu",
             (unsigned long long)bytes, (unsigned long long)want_bytes);
    FZ_CHECK(LOAD(&r->hdr.bytes_used) == bytes, "bytes_used %llu, counted %llu",
             (unsigned long long)LOAD(&r->hdr.bytes_used),
             (unsigned long long)bytes);
    for (uint32_t ch = 0; ch < FZ_CHANS; ch++) {
        char name[SHARED_KEY_MAX + 1];
        uint32_t nl = fz_chan(ch, name), idx = 0;
        int rc = shared__chan_find(r, name, nl, 0, FZ_NOW_MS, &idx);
        if (!m->c[ch].exists) {
            FZ_CHECK(rc == SHARED_ENOTFOUND, "channel %u exists", ch);
            continue;
        }
        FZ_CHECK(rc == 0, "channel %u: %s", ch, shared_errname(rc));
        shared__channel *c = &r->channel[idx];
        uint64_t head = LOAD(&c->head), tail = LOAD(&c->tail);
        FZ_CHECK(tail - head == m->c[ch].count,
                 "channel %u: %llu queued, "
                 "model %u",
                 ch, (unsigned long long)(tail - head), m->c[ch].count);
        for (uint32_t q = 0; q < m->c[ch].count; q++) {
            shared__msg *msg = &c->ring[(head + q) % SHARED_CHANNEL_DEPTH];
            unsigned char got[SHARED__MSG_WORDS * 8u], want[SHARED_MSG_MAX];
            uint32_t len = LOAD(&msg->len);
            FZ_CHECK(len == m->c[ch].q[q].len,
                     "channel %u message %u: "
                     "length %u, model %u",
                     ch, q, len, m->c[ch].q[q].len);
            for (uint32_t w = 0; w < SHARED__MSG_WORDS; w++) {
                uint64_t word = LOAD(&msg->data[w]);
                memcpy(got + 8u * w, &word, 8);
            }
            fz_fill(want, len, m->c[ch].q[q].seed);
            FZ_CHECK(memcmp(got, want, len) == 0,
                     "channel %u message %u differs", ch, q);
        }
    }
}

/* ---- the interpreter --------------------------------------------------------
 */

/* Crash injection (fuzz_crash.c): the core's crash hook longjmps out of a
 * change at the chosen crash point. */
static jmp_buf fz_jmp;
static uint32_t fz_crash_at, fz_crash_seen;

static inline void fz_crash_hook(int point)
{
    (void)point;
    if (fz_crash_at && ++fz_crash_seen == fz_crash_at)
        longjmp(fz_jmp, 1);
}

typedef struct run {
    shared__region *r;
    model m;        /* the model now (inside a transaction: with its changes) */
    model tx_start; /* the model when the open transaction began */
    int in_tx;
    uint32_t touched[SHARED_JOURNAL_MAX]; /* slots the transaction journaled */
    uint32_t ntouched;
} run;

/* The slot a new key would take: the first free one (NO slot: UINT32_MAX). */
static inline uint32_t first_free(shared__region *r)
{
    for (uint32_t i = 0; i < SHARED_MAX_KEYS; i++) {
        if (LOAD(&r->hint[i]) == 0 && LOAD(&r->slot[i].img.meta) == 0)
            return i;
    }
    return UINT32_MAX;
}

/* Would journaling slot i overflow the journal? (a single change journals
 * one slot: never.) Records the slot. */
static inline int journal_full(run *x, uint32_t i)
{
    if (!x->in_tx)
        return 0;
    for (uint32_t j = 0; j < x->ntouched; j++) {
        if (x->touched[j] == i)
            return 0;
    }
    return x->ntouched == SHARED_JOURNAL_MAX;
}

static inline void journal_note(run *x, uint32_t i)
{
    if (!x->in_tx)
        return;
    for (uint32_t j = 0; j < x->ntouched; j++) {
        if (x->touched[j] == i)
            return;
    }
    x->touched[x->ntouched++] = i;
}

/* The slot key `id` lives in now (UINT32_MAX if missing). */
static inline uint32_t slot_of(shared__region *r, uint32_t id)
{
    char key[SHARED_KEY_MAX + 1];
    uint32_t kl = fz_key(id, key);
    shared__copy c;
    return shared__read_locked(r, key, kl, &c, NULL, 0) == 0 ? c.slot
                                                             : UINT32_MAX;
}

/* The part of a put or add that stores key `id`: its slot (its own, or the
 * first free one: SHARED_EFULL if none), journal room (SHARED_ETXFULL), a
 * new version; 0 when it is stored. */
static inline int model_store(run *x, model *m, uint32_t id)
{
    mkey *k = &m->k[id];
    uint32_t slot = k->exists ? slot_of(x->r, id) : first_free(x->r);
    if (slot == UINT32_MAX)
        return SHARED_EFULL;
    if (journal_full(x, slot))
        return SHARED_ETXFULL;
    journal_note(x, slot);
    k->version = model_draw(m, k->exists ? k->version : 0);
    k->exists = 1;
    return 0;
}

/* Predicts a put/cas/add/del of key `id` in the model; returns the code the
 * core must return. `expected` NULL for a plain put. */
static inline int predict_put(run *x, model *m, uint32_t id, uint32_t len,
                              uint32_t seed, const uint64_t *expected,
                              uint64_t *version)
{
    mkey *k = &m->k[id];
    if (expected && (k->exists ? k->version : 0) != *expected) {
        *version = k->exists ? k->version : 0;
        return SHARED_ECONFLICT;
    }
    int rc = model_store(x, m, id);
    if (rc)
        return rc;
    k->type = SHARED_TYPE_BYTES;
    k->len = len;
    k->seed = seed;
    k->n = 0;
    *version = k->version;
    return 0;
}

static inline int predict_add(run *x, model *m, uint32_t id, int64_t delta,
                              int64_t *result)
{
    mkey *k = &m->k[id];
    int64_t v = k->exists ? k->n : 0;
    if (k->exists && k->type != SHARED_TYPE_COUNTER)
        return SHARED_ETYPE;
    if ((delta > 0 && v > INT64_MAX - delta) ||
        (delta < 0 && v < INT64_MIN - delta))
        return SHARED_EOVERFLOW;
    int rc = model_store(x, m, id);
    if (rc)
        return rc;
    k->type = SHARED_TYPE_COUNTER;
    k->n = v + delta;
    k->len = 0;
    k->seed = 0;
    *result = k->n;
    return 0;
}

static inline int predict_del(run *x, model *m, uint32_t id)
{
    mkey *k = &m->k[id];
    if (!k->exists)
        return SHARED_ENOTFOUND;
    uint32_t slot = slot_of(x->r, id);
    if (journal_full(x, slot))
        return SHARED_ETXFULL;
    journal_note(x, slot);
    model_draw(m, k->version);
    memset(k, 0, sizeof *k);
    return 0;
}

enum {
    OP_GET,
    OP_PUT,
    OP_CAS,
    OP_ADD,
    OP_DEL,
    OP_TX,
    OP_ROLLBACK,
    OP_SEND,
    OP_RECV,
    OP_RESET,
    OP_FILL,
    OP_CHECK,
    OP_RECOVER,
    OP_COUNT
};

/* What a crash in the middle of one step may leave: the model before the
 * interrupted change, or after it. */
typedef struct outcome {
    model before;
    model after;
    int reset; /* a reset wipes key by key: any mix of before and gone */
} outcome;

static outcome g_out;

static inline void change_begin(run *x)
{
    if (!x->in_tx)
        shared__journal_begin(x->r, SHARED__J_SINGLE);
}

static inline void change_end(run *x)
{
    if (!x->in_tx)
        shared__journal_commit(x->r);
}

/*
 * Runs one operation, decoded from the input, on the region and on the
 * model, and checks that both agree. Before touching the region it fills
 * g_out with the two states a crash during this step may leave behind.
 */
static inline void step(run *x, fz *f)
{
    shared__region *r = x->r;
    model *m = &x->m;
    char key[SHARED_KEY_MAX + 1];
    unsigned char val[SHARED_VALUE_MAX + 8];
    uint32_t op = fz_u8(f) % OP_COUNT;
    uint32_t id = fz_u8(f) % FZ_NAMED;
    uint32_t kl = fz_key(id, key);
    model next = *m;
    g_out.before = x->in_tx ? x->tx_start : *m;
    g_out.after = g_out.before;
    g_out.reset = op == OP_RESET;

    switch (op) {
    case OP_GET:
        check_key(r, m, id, x->in_tx);
        break;
    case OP_PUT:
    case OP_CAS: {
        uint32_t len = fz_len(f, SHARED_VALUE_MAX), seed = fz_u8(f);
        uint64_t exp = 0, *pexp = NULL, v = 0, got_v = 0;
        if (op == OP_CAS) {
            uint32_t mode = fz_u8(f) % 4u;
            uint64_t now = m->k[id].exists ? m->k[id].version : 0;
            exp = mode == 0   ? now
                  : mode == 1 ? 0
                  : mode == 2 ? now + 1u
                              : fz_u64(f);
            pexp = &exp;
        }
        int want = predict_put(x, &next, id, len, seed, pexp, &v);
        g_out.after = x->in_tx ? x->tx_start : next;
        if (x->in_tx && want == 0)
            g_out.after = x->tx_start; /* undone with the transaction */
        fz_fill(val, len, seed);
        change_begin(x);
        int rc = shared__op_put(r, key, kl, val, len, pexp, &got_v);
        change_end(x);
        FZ_CHECK(rc == want, "put key %u: %s, model %s", id, shared_errname(rc),
                 shared_errname(want));
        if (rc == 0 || rc == SHARED_ECONFLICT)
            FZ_CHECK(got_v == v, "put key %u: version %llu, model %llu", id,
                     (unsigned long long)got_v, (unsigned long long)v);
        break;
    }
    case OP_ADD: {
        int64_t d = fz_delta(f), res = 0, got = 0;
        int want = predict_add(x, &next, id, d, &res);
        g_out.after = x->in_tx ? x->tx_start : next;
        change_begin(x);
        int rc = shared__op_add(r, key, kl, d, &got);
        change_end(x);
        FZ_CHECK(rc == want, "add key %u: %s, model %s", id, shared_errname(rc),
                 shared_errname(want));
        if (rc == 0)
            FZ_CHECK(got == res, "add key %u: %lld, model %lld", id,
                     (long long)got, (long long)res);
        break;
    }
    case OP_DEL: {
        int want = predict_del(x, &next, id);
        g_out.after = x->in_tx ? x->tx_start : next;
        change_begin(x);
        int rc = shared__op_del(r, key, kl);
        change_end(x);
        FZ_CHECK(rc == want, "del key %u: %s, model %s", id, shared_errname(rc),
                 shared_errname(want));
        break;
    }
    case OP_TX:
        if (!x->in_tx) {
            g_out.after = *m;
            shared__journal_begin(r, SHARED__J_TX);
            x->in_tx = 1;
            x->ntouched = 0;
            x->tx_start = *m;
        } else {
            g_out.after = *m; /* committed */
            shared__journal_commit(r);
            x->in_tx = 0;
        }
        break;
    case OP_ROLLBACK:
        if (x->in_tx) {
            /* Versions drawn inside stay drawn: the counter never goes
             * back, so a version is never reused. */
            next = x->tx_start;
            next.next = m->next;
            g_out.before = g_out.after = next;
            shared__journal_rollback(r);
            x->in_tx = 0;
        }
        break;
    case OP_SEND:
    case OP_RECV: {
        uint32_t ch = id % FZ_CHANS, idx, len = 0, got = 0;
        char name[SHARED_KEY_MAX + 1];
        uint32_t nl = fz_chan(ch, name);
        mchan *c = &next.c[ch];
        unsigned char msg[SHARED_MSG_MAX + 8];
        if (x->in_tx)
            break; /* the library refuses channels in a transaction */
        if (op == OP_SEND) {
            uint32_t seed = fz_u8(f);
            len = fz_len(f, SHARED_MSG_MAX);
            int want = c->count == SHARED_CHANNEL_DEPTH ? SHARED_ECHANFULL : 0;
            c->exists = 1;
            if (want == 0)
                c->q[c->count++] = (mmsg){len, seed};
            g_out.after = next;
            fz_fill(msg, len, seed);
            int rc = shared__chan_find(r, name, nl, 1, FZ_NOW_MS, &idx);
            FZ_CHECK(rc == 0, "channel %u: %s", ch, shared_errname(rc));
            /* Named before the message is written: a crash in the send
             * leaves the channel, without the message. */
            g_out.before = *m;
            g_out.before.c[ch].exists = 1;
            rc = shared__chan_send(r, idx, msg, len);
            FZ_CHECK(rc == want, "send %u: %s, model %s", ch,
                     shared_errname(rc), shared_errname(want));
        } else {
            uint32_t cap = fz_len(f, SHARED_MSG_MAX);
            int rc = shared__chan_find(r, name, nl, 0, FZ_NOW_MS, &idx);
            g_out.after = next;
            if (!c->exists) {
                FZ_CHECK(rc == SHARED_ENOTFOUND, "recv %u: %s", ch,
                         shared_errname(rc));
                break;
            }
            FZ_CHECK(rc == 0, "recv %u: find %s", ch, shared_errname(rc));
            int want = c->count == 0       ? SHARED_ENOTFOUND
                       : c->q[0].len > cap ? SHARED_ETOOBIG
                                           : 0;
            mmsg head = c->q[0];
            if (want == 0) {
                memmove(c->q, c->q + 1, (c->count - 1u) * sizeof c->q[0]);
                c->count--;
            }
            g_out.after = next;
            rc = shared__chan_recv(r, idx, msg, cap, &got);
            FZ_CHECK(rc == want, "recv %u: %s, model %s", ch,
                     shared_errname(rc), shared_errname(want));
            if (rc == 0 || rc == SHARED_ETOOBIG)
                FZ_CHECK(got == head.len, "recv %u: length %u, model %u", ch,
                         got, head.len);
            if (rc == 0) {
                unsigned char want_msg[SHARED_MSG_MAX + 8];
                fz_fill(want_msg, head.len, head.seed);
                FZ_CHECK(memcmp(msg, want_msg, got) == 0,
                         "recv %u: message differs", ch);
            }
        }
        break;
    }
    case OP_RESET:
        if (x->in_tx)
            break; /* the library refuses shared_reset in a transaction */
        memset(next.k, 0, sizeof next.k);
        memset(next.c, 0, sizeof next.c);
        g_out.after = next;
        shared__op_reset(r);
        break;
    case OP_FILL:
        /* Fills every free slot (a single change each): the next new key
         * gets SHARED_EFULL. */
        if (x->in_tx)
            break;
        for (uint32_t fid = FZ_NAMED; fid < FZ_KEYS; fid++) {
            uint64_t v;
            if (m->k[fid].exists)
                continue;
            next = *m;
            int want = predict_put(x, &next, fid, fid % 7u, fid, NULL, &v);
            g_out.before = *m;
            g_out.after = next;
            kl = fz_key(fid, key);
            fz_fill(val, fid % 7u, fid);
            change_begin(x);
            int rc = shared__op_put(r, key, kl, val, fid % 7u, NULL, NULL);
            change_end(x);
            FZ_CHECK(rc == want, "fill %u: %s, model %s", fid,
                     shared_errname(rc), shared_errname(want));
            *m = next;
            if (rc)
                break;
        }
        next = *m;
        break;
    case OP_CHECK:
        check_all(r, m, x->in_tx);
        break;
    case OP_RECOVER:
        /* Recovery with nothing to recover changes nothing (inside a
         * transaction it would undo it: that is the crash target's job). */
        if (x->in_tx)
            break;
        g_out.after = *m;
        shared__recover(r, 0);
        check_all(r, m, 0);
        break;
    }
    *m = next;
}

/* Matches the region with a model, without aborting: 1 if equal. Used after
 * a crash, where two models are possible. */
static inline int region_matches(shared__region *r, const model *m)
{
    if (setjmp(fz_soft_jmp)) {
        fz_soft = 0;
        return 0;
    }
    fz_soft = 1;
    check_all(r, m, 0);
    fz_soft = 0;
    return 1;
}

/* What recovery must leave behind, whatever it found. */
static inline void check_settled(shared__region *r)
{
    for (uint32_t i = 0; i < SHARED_MAX_KEYS; i++)
        FZ_CHECK((LOAD(&r->slot[i].seq) & 1u) == 0, "slot %u left odd", i);
    FZ_CHECK(LOAD(&r->hdr.jcount) == 0, "journal count %u",
             LOAD(&r->hdr.jcount));
    FZ_CHECK(LOAD(&r->hdr.jkind) == SHARED__J_NONE, "journal kind %u",
             LOAD(&r->hdr.jkind));
    FZ_CHECK((LOAD(&r->hdr.tx_gen) & 1u) == 0, "transaction left open");
    FZ_CHECK((LOAD(&r->hdr.struct_gen) & 1u) == 0, "struct_gen left odd");
}

#endif /* SHARED_FUZZ_COMMON_H */
