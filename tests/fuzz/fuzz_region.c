/*
 * fuzz_region.c - libFuzzer target (a): arbitrary region bytes. Any byte of
 * the shared state can be written by anyone, so the core must survive any
 * region: no crash, no out-of-bounds access, no unbounded loop, only
 * documented codes, and after recovery and a reset the region works again.
 *
 * The region is ~390 KB and an input a few hundred bytes, so the input is a
 * list of patches over a formatted and populated region (keys, a counter, a
 * channel with messages, peers, an open transaction), which reaches deep
 * states far better than raw bytes: each patch is an area byte (header,
 * hints, a slot, the journal, a peer, a waiter, a channel, anywhere), an
 * offset into the area, a length and the bytes. A zero area byte ends the
 * patches; the rest of the input picks the operations run afterwards.
 */
#include "fuzz_common.h"

#define OK_OR(rc, ...) ok_or((rc), (const int[]){0, __VA_ARGS__, 0})

/* Checks that rc is 0 or one of the listed codes (a 0-terminated list). */
static void ok_or(int rc, const int *allowed)
{
    for (int i = 0; i == 0 || allowed[i] != 0; i++) {
        if (rc == allowed[i])
            return;
    }
    FZ_CHECK(0, "unexpected code %d (%s)", rc, shared_errname(rc));
}

static void populate(shared__region *r)
{
    char key[SHARED_KEY_MAX + 1];
    unsigned char val[SHARED_VALUE_MAX];
    uint32_t idx;
    for (uint32_t id = 0; id < 12; id++) {
        uint32_t kl = fz_key(id, key), len = (id * 97u) % SHARED_VALUE_MAX;
        fz_fill(val, len, id);
        shared__journal_begin(r, SHARED__J_SINGLE);
        if (id % 3u == 2u)
            shared__op_add(r, key, kl, (int64_t)id * 1000, NULL);
        else
            shared__op_put(r, key, kl, val, len, NULL, NULL);
        shared__journal_commit(r);
    }
    for (uint32_t ch = 0; ch < 3; ch++) {
        uint32_t nl = fz_chan(ch, key);
        shared__chan_find(r, key, nl, 1, FZ_NOW_MS, &idx);
        for (uint32_t m = 0; m < 5u * ch; m++) {
            fz_fill(val, m * 13u % SHARED_MSG_MAX, m);
            shared__chan_send(r, idx, val, m * 13u % SHARED_MSG_MAX);
        }
    }
    for (uint32_t p = 0; p < 4; p++)
        shared__peer_join(r, 1000u + p, 77u + p, "fuzz.exe", 5, &idx);
}

/* Start of an area and its size. */
static void area(shared__region *r, uint32_t a, uint32_t i, size_t *off,
                 size_t *size)
{
    unsigned char *base = (unsigned char *)r;
    switch (a % 8u) {
    case 0:
        *off = 0;
        *size = sizeof r->hdr;
        break;
    case 1:
        *off = offsetof(shared__region, hint);
        *size = sizeof r->hint;
        break;
    case 2:
        *off = (size_t)((unsigned char *)&r->slot[i % SHARED_MAX_KEYS] - base);
        *size = sizeof r->slot[0];
        break;
    case 3:
        *off = (size_t)((unsigned char *)&r->journal[i % SHARED_JOURNAL_MAX] -
                        base);
        *size = sizeof r->journal[0];
        break;
    case 4:
        *off = (size_t)((unsigned char *)&r->peer[i % SHARED_MAX_PEERS] - base);
        *size = sizeof r->peer[0];
        break;
    case 5:
        *off = offsetof(shared__region, waiter);
        *size = sizeof r->waiter;
        break;
    case 6:
        *off =
            (size_t)((unsigned char *)&r->channel[i % SHARED_CHANNELS] - base);
        *size = sizeof r->channel[0];
        break;
    default:
        *off = 0;
        *size = sizeof *r;
        break;
    }
}

static void patch(shared__region *r, fz *f)
{
    unsigned char *base = (unsigned char *)r;
    for (int n = 0; n < 64 && f->n > 0; n++) {
        uint32_t a = fz_u8(f);
        if (a == 0)
            return;
        size_t off, size;
        area(r, a, fz_u8(f), &off, &size);
        size_t at = (size > 0xffffu ? fz_u32(f) : fz_u16(f)) % size;
        uint32_t len = 1u + fz_u8(f) % 16u;
        uint8_t how = fz_u8(f);
        for (uint32_t k = 0; k < len && at + k < size; k++) {
            /* bytes from the input, or a run of 0x00 / 0xff / an odd
             * number, the values that break counters and sequences */
            uint8_t b = how < 0xc0   ? fz_u8(f)
                        : how < 0xe0 ? 0xff
                        : how < 0xf0 ? 0x00
                                     : (uint8_t)(how | 1u);
            base[off + at + k] = b;
        }
    }
}

static int alive_bits;
static int fz_alive(uint32_t pid, uint64_t start)
{
    return (alive_bits >> ((pid ^ (uint32_t)start) & 7u)) & 1;
}

/* Every operation, with only documented results accepted. */
static void use(shared__region *r, fz *f)
{
    char key[SHARED_KEY_MAX + 1];
    unsigned char val[SHARED_VALUE_MAX + 8];
    shared__copy c;
    uint32_t idx, len;
    for (int n = 0; n < 64 && f->n > 0; n++) {
        uint32_t op = fz_u8(f) % 12u, id = fz_u8(f) % FZ_NAMED;
        uint32_t kl = fz_key(id, key);
        int rc = 0;
        int tx = op >= 2 && op <= 4 && (fz_u8(f) & 1u);
        if (op >= 2 && op <= 4)
            shared__journal_begin(r, tx ? SHARED__J_TX : SHARED__J_SINGLE);
        switch (op) {
        case 0:
            rc = shared__read(r, key, kl, &c, val, SHARED_VALUE_MAX);
            OK_OR(rc, SHARED_ENOTFOUND, SHARED_ECORRUPT, SHARED__RETRY);
            if (rc == 0)
                FZ_CHECK(c.value_len <= SHARED_VALUE_MAX && c.key_len == kl &&
                             memcmp(c.key, key, kl) == 0,
                         "read returned a wrong key or length");
            break;
        case 1:
            rc = shared__read_locked(r, key, kl, &c, val, SHARED_VALUE_MAX);
            OK_OR(rc, SHARED_ENOTFOUND, SHARED_ECORRUPT);
            if (rc == 0)
                FZ_CHECK(c.value_len <= SHARED_VALUE_MAX && c.key_len == kl &&
                             memcmp(c.key, key, kl) == 0,
                         "locked read returned a wrong key or length");
            break;
        case 2: {
            uint64_t exp = fz_u64(f);
            len = fz_len(f, SHARED_VALUE_MAX);
            fz_fill(val, len, id);
            rc = shared__op_put(r, key, kl, val, len, (exp & 1u) ? &exp : NULL,
                                NULL);
            OK_OR(rc, SHARED_EFULL, SHARED_ECORRUPT, SHARED_ETXFULL,
                  SHARED_ECONFLICT);
            break;
        }
        case 3:
            rc = shared__op_add(r, key, kl, fz_delta(f), NULL);
            OK_OR(rc, SHARED_EFULL, SHARED_ECORRUPT, SHARED_ETXFULL,
                  SHARED_ETYPE, SHARED_EOVERFLOW);
            break;
        case 4:
            rc = shared__op_del(r, key, kl);
            OK_OR(rc, SHARED_ENOTFOUND, SHARED_ECORRUPT, SHARED_ETXFULL);
            break;
        case 5:
        case 6: {
            uint32_t nl = fz_chan(id % 4u, key);
            rc = shared__chan_find(r, key, nl, op == 5,
                                   FZ_NOW_MS + fz_u8(f) * 16u, &idx);
            OK_OR(rc, SHARED_ENOTFOUND, SHARED_ECHANNELS, SHARED_ECORRUPT);
            if (rc)
                break;
            FZ_CHECK(idx < SHARED_CHANNELS, "channel index %u", idx);
            if (op == 5) {
                len = fz_len(f, SHARED_MSG_MAX);
                rc = shared__chan_send(r, idx, val, len);
                OK_OR(rc, SHARED_ECHANFULL, SHARED_ECORRUPT);
            } else {
                uint32_t cap = fz_len(f, SHARED_MSG_MAX);
                len = 0;
                rc = shared__chan_recv(r, idx, val, cap, &len);
                OK_OR(rc, SHARED_ENOTFOUND, SHARED_ETOOBIG, SHARED_ECORRUPT);
                if (rc == 0)
                    FZ_CHECK(len <= cap, "message of %u in %u", len, cap);
            }
            break;
        }
        case 7:
            for (uint32_t i = 0; i < SHARED_MAX_KEYS; i++) {
                shared_slot_info si;
                rc = shared__read_slot(r, i, fz_u8(f) & 1u, &c, val,
                                       SHARED_VALUE_MAX);
                OK_OR(rc, SHARED_ENOTFOUND, SHARED_ECORRUPT, SHARED__RETRY);
                if (rc == 0)
                    FZ_CHECK(c.value_len <= SHARED_VALUE_MAX &&
                                 c.key_len <= SHARED_KEY_MAX,
                             "slot %u: lengths %u/%u", i, c.key_len,
                             c.value_len);
                shared__slot_info(r, i, &si);
                FZ_CHECK(memchr(si.key, 0, sizeof si.key) != NULL,
                         "slot info key not terminated");
            }
            break;
        case 8:
            for (uint32_t i = 0; i < SHARED_CHANNELS; i++) {
                shared_channel_info ci;
                rc = shared__chan_info(r, i, &ci);
                OK_OR(rc, SHARED_ENOTFOUND);
                FZ_CHECK(memchr(ci.name, 0, sizeof ci.name) != NULL &&
                             ci.depth <= SHARED_CHANNEL_DEPTH,
                         "channel info %u", i);
            }
            break;
        case 9: {
            alive_bits = fz_u8(f);
            uint32_t live = shared__peer_reap(r, fz_alive, 1000);
            FZ_CHECK(live <= SHARED_MAX_PEERS, "%u live peers", live);
            rc = shared__peer_join(r, 2000u + id, 5, "again.exe", 9, &idx);
            OK_OR(rc, SHARED_EPEERS);
            if (rc == 0)
                shared__peer_leave(r, idx, 2000u + id);
            for (uint32_t i = 0; i < SHARED_MAX_PEERS; i++) {
                shared_peer_info pi;
                rc = shared__peer_info(r, i, 1000, &pi);
                OK_OR(rc, SHARED_ENOTFOUND);
                FZ_CHECK(memchr(pi.exe, 0, sizeof pi.exe) != NULL,
                         "peer exe not terminated");
            }
            break;
        }
        case 10:
            shared__recover(r, fz_u8(f) & 1u);
            break;
        default:
            shared__journal_begin(r, SHARED__J_TX);
            shared__op_del(r, key, kl);
            shared__journal_rollback(r);
            break;
        }
        if (op >= 2 && op <= 4) {
            if (tx && (fz_u8(f) & 1u))
                shared__journal_rollback(r);
            else
                shared__journal_commit(r);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz f = {data, size};
    shared__region *r = fz_region();
    char key[SHARED_KEY_MAX + 1];
    shared__copy c;
    shared__crash_hook = NULL;
    populate(r);
    uint8_t setup = fz_u8(&f);
    if (setup & 1u) { /* a transaction left open by its dead owner */
        shared__journal_begin(r, SHARED__J_TX);
        shared__op_put(r, "k1", 2, "open", 4, NULL, NULL);
        shared__op_del(r, "k3", 2);
    }
    patch(r, &f);
    if (setup & 2u)
        shared__recover(r, 1);
    use(r, &f);

    /* The documented repair: recovery, then a reset, and the region works:
     * a key written reads back, a message sent is received. */
    shared__recover(r, 1);
    check_settled(r);
    shared__op_reset(r);
    uint32_t kl = fz_key(5, key), idx, len = 0;
    shared__journal_begin(r, SHARED__J_SINGLE);
    int rc = shared__op_put(r, key, kl, "repaired", 8, NULL, NULL);
    shared__journal_commit(r);
    FZ_CHECK(rc == 0, "put after reset: %s", shared_errname(rc));
    unsigned char got[SHARED_VALUE_MAX];
    rc = shared__read(r, key, kl, &c, got, sizeof got);
    FZ_CHECK(rc == 0 && c.value_len == 8 && memcmp(got, "repaired", 8) == 0,
             "read after reset: %s", shared_errname(rc));
    rc = shared__chan_find(r, "ch0", 3, 1, FZ_NOW_MS, &idx);
    FZ_CHECK(rc == 0, "channel after reset: %s", shared_errname(rc));
    rc = shared__chan_send(r, idx, "m", 1);
    FZ_CHECK(rc == 0, "send after reset: %s", shared_errname(rc));
    char m[4];
    rc = shared__chan_recv(r, idx, m, sizeof m, &len);
    FZ_CHECK(rc == 0 && len == 1 && m[0] == 'm', "recv after reset: %s",
             shared_errname(rc));
    return 0;
}
