/*
 * messaging.c - the exported functions that wait: shared_wait, shared_send,
 * shared_recv; and the registries they come with: shared_channels,
 * shared_peers. Every wait reads the wake word of the bucket of what it
 * waits for (a key, a channel's messages or room, or any change) before
 * checking its condition, and then blocks only while that word is
 * unchanged, so a change published in between is never missed (the
 * backend's wait re-checks after it has registered as a waiter). A change
 * bumps the words of its own buckets and of "any change" only, so a
 * waiter sleeps through the changes of other keys and channels. A wait
 * first spins a few microseconds on its word, and sleeps at most
 * WAIT_SLICE_MS at a time (a writer killed between its unlock and its
 * wake-up wakes nobody: its change is seen at the end of the slice).
 *
 * Time: each call here has a deadline, the caller's timeout. Whenever it
 * takes the lock it waits for it at most the time left, but at least
 * SHARED_WAIT_MARGIN_MS (so a 0 ms call is not failed by a lock held for a
 * moment), and never longer than the process lock timeout: a call returns
 * within its timeout plus SHARED_WAIT_MARGIN_MS (plus scheduling delays).
 */
#include <string.h>

#include "api.h"

uint32_t shared__wake_bucket(const char *name, uint32_t len, uint32_t kind)
{
    uint32_t h = 2166136261u ^ kind; /* FNV-1a */
    for (uint32_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)name[i]) * 16777619u;
    h ^= h >> 15;
    return (h * 0x2c1b3c6du >> 16) % SHARED__WAKE_BUCKETS;
}

void shared__wakeset_add(shared__wakeset *set, const char *name, uint32_t len,
                         uint32_t kind)
{
    uint32_t b = shared__wake_bucket(name, len, kind);
    set->bits[b / 64u] |= (uint64_t)1 << (b % 64u);
}

static uint32_t wake_word(shared__region *r, uint32_t bucket)
{
    return atomic_load(&r->wake[bucket].seq);
}

/*
 * Before a wait sleeps, it polls its bucket's wake word WAKE_SPIN times, a
 * CPU pause apart (a few microseconds: a pause is 10-50 ns). A change that
 * comes meanwhile (the answer of a round trip, a stream's next message,
 * from a process on another core) is then taken without a system call on
 * either side: the waker finds nobody asleep and wakes nobody. Bounded by
 * a count, never by the clock; the caller's timeout is checked by the
 * wait that follows, which a spin only ever shortens.
 */
#define WAKE_SPIN 256u

/*
 * A writer publishes a change (bumps the wake word), unlocks, and only then
 * wakes the sleepers: one killed in between wakes nobody. So no wait sleeps
 * longer than WAIT_SLICE_MS at a time; its caller then looks again (its
 * key's version, the channel) and sees such a change within a slice.
 */
#define WAIT_SLICE_MS 250u

/*
 * Waits until r->wake[bucket].seq moves on from `seq`: spins (above), then
 * sleeps for at most ms, and at most WAIT_SLICE_MS. May return early: the
 * caller re-checks its condition and deadline. 0 or a backend error.
 */
static int sleep_on(shared__region *r, uint32_t bucket, uint32_t seq,
                    uint32_t ms)
{
    for (uint32_t i = 0; i < WAKE_SPIN; i++) {
        if (wake_word(r, bucket) != seq)
            return 0;
        SHARED__PAUSE();
    }
    return shared__backend_wait(r, bucket, seq,
                                ms < WAIT_SLICE_MS ? ms : WAIT_SLICE_MS);
}

/* Milliseconds left until `deadline` (0 when past). */
static uint32_t left(uint64_t deadline)
{
    uint64_t now = shared__backend_ticks_ms();
    return now >= deadline ? 0 : (uint32_t)(deadline - now);
}

static uint64_t deadline_of(uint32_t timeout_ms)
{
    return shared__backend_ticks_ms() + timeout_ms;
}

/* How long to wait for the lock with `deadline` ahead (see above). */
static uint32_t lock_ms(uint64_t deadline)
{
    uint32_t ms = left(deadline), limit = shared__timeout();
    if (ms < SHARED_WAIT_MARGIN_MS)
        ms = SHARED_WAIT_MARGIN_MS;
    return ms < limit ? ms : limit;
}

/* The version shared_wait compares: a key's (0 if missing) or the
 * section's change count. */
static int current(shared__region *r, const char *key, uint32_t klen,
                   uint64_t *v, uint64_t deadline)
{
    shared__copy c;
    if (!key) {
        *v = atomic_load(&r->hdr.changes);
        return 0;
    }
    int rc = shared__read_key(r, key, klen, &c, NULL, 0, lock_ms(deadline));
    if (rc == SHARED_ENOTFOUND) {
        *v = 0;
        return 0;
    }
    *v = rc == 0 ? c.version : 0;
    return rc;
}

int shared_wait(const char *key, uint64_t seen_version, uint32_t timeout_ms,
                uint64_t *new_version)
{
    shared__region *r;
    uint32_t klen = 0;
    int rc = key ? shared__key_check(key, &klen) : 0;
    if (rc == 0 && shared__in_tx())
        rc = SHARED_EINTX;
    if (rc == 0)
        rc = shared__attach(&r);
    if (rc)
        return rc;
    uint64_t deadline = deadline_of(timeout_ms), v = 0;
    int ro = shared__readonly();
    uint32_t nap = 0;
    uint32_t bucket = key ? shared__wake_bucket(key, klen, SHARED__WAKE_KEY)
                          : SHARED__WAKE_ANY;
    for (;;) {
        uint32_t seq = wake_word(r, bucket);
        rc = current(r, key, klen, &v, deadline);
        if (new_version)
            *new_version = v;
        if (rc)
            return rc;
        if (v != seen_version)
            return 0;
        uint32_t ms = left(deadline);
        if (ms == 0)
            return SHARED_ETIMEDOUT;
        if (ro) {
            /* Read-only: never registered as a waiter (that writes); polls
             * its bucket's wake word with back-off, within the caller's
             * timeout. */
            while (wake_word(r, bucket) == seq)
                if (shared__ro_backoff(&nap, deadline))
                    return SHARED_ETIMEDOUT;
            nap = 0;
            continue;
        }
        rc = sleep_on(r, bucket, seq, ms);
        if (rc)
            return rc;
    }
}

/* Checks a channel call's arguments and attaches. */
static int chan_begin(const char *channel, uint32_t *nlen, shared__region **r)
{
    int rc = shared__key_check(channel, nlen);
    if (rc == 0 && shared__in_tx())
        rc = SHARED_EINTX;
    if (rc == 0)
        rc = shared__attach_rw(r); /* send and recv both write */
    return rc;
}

/*
 * The loop shared by send and recv: under the lock, `op` either succeeds,
 * fails for good, or returns `again` (full / empty); then it waits for a
 * change and tries again until the deadline, when `again` becomes
 * `timeout_rc`. A sender creates the channel; a receiver (!create) never
 * does: a channel that does not exist is waited on like an empty one.
 * While it waits on an existing channel a receiver is registered in it
 * (see channel.c), so the channel is not recycled under it: registered in
 * the critical section that found the channel empty, taken off in the
 * next, and renewed at least every RX_SLICE_MS; the lease runs RX_SLACK_MS
 * past the slice, time enough to take the lock back. A receiver waits on
 * the channel's message bucket, which a sent message wakes; a sender on
 * its room bucket, which a taken message wakes.
 *
 * A receiver that is not registered first looks without the lock
 * (nothing_to_receive): finding nothing, it waits unregistered, at most
 * PEEK_SLICE_MS, without taking the lock at all (on Windows a lock is two
 * wineserver requests; on Linux it would meet the sender that just woke
 * it). That is only done while the channel table has a free entry, as
 * only a full table recycles a channel; a slice that passes with no change
 * sends the receiver down the locked path, which registers it.
 */
#define PEEK_SLICE_MS 50u
#define RX_SLICE_MS 1000u
#define RX_SLACK_MS (SHARED__RX_LEASE_MAX_MS - RX_SLICE_MS)
#define NO_CHANNEL UINT32_MAX

typedef int (*chan_op)(shared__region *r, uint32_t idx, void *ctx);

/* 1 if a look without the lock finds nothing to receive on `name`: no
 * channel of that name, or an empty one while the table has a free entry.
 * Every load is atomic and bounded; a wrong answer (a damaged or changing
 * table) only sends the caller to the lock, or makes it wait one slice
 * for a wake-up that a message sent after it read its wake word brings. */
static int nothing_to_receive(shared__region *r, const char *name,
                              uint32_t nlen)
{
    uint64_t words[SHARED__NAME_WORDS] = {0};
    int found = 0, empty = 0, has_free = 0;
    memcpy(words, name, nlen); /* as shared__chan_find names a channel */
    for (uint32_t i = 0; i < SHARED_CHANNELS; i++) {
        shared__channel *c = &r->channel[i];
        uint32_t n = atomic_load(&c->name_len), w = 0;
        if (n == 0)
            has_free = 1;
        if (n != nlen || found)
            continue;
        while (w < SHARED__NAME_WORDS && atomic_load(&c->name[w]) == words[w])
            w++;
        if (w == SHARED__NAME_WORDS) {
            found = 1;
            empty = atomic_load(&c->head) == atomic_load(&c->tail);
        }
    }
    return !found || (empty && has_free);
}

static int chan_loop(shared__region *r, const char *name, uint32_t nlen,
                     uint32_t timeout_ms, chan_op op, void *ctx, int again,
                     int timeout_rc, int create)
{
    uint64_t deadline = deadline_of(timeout_ms);
    uint32_t rx_idx = NO_CHANNEL, rx_gen = 0;
    uint32_t bucket = shared__wake_bucket(
        name, nlen, create ? SHARED__WAKE_ROOM : SHARED__WAKE_MSG);
    shared__wakeset wake = {{0}}; /* the other side's */
    shared__wakeset_add(&wake, name, nlen,
                        create ? SHARED__WAKE_MSG : SHARED__WAKE_ROOM);
    int peek = !create;
    for (;;) {
        uint32_t idx = NO_CHANNEL, seq = wake_word(r, bucket);
        if (peek && rx_idx == NO_CHANNEL && nothing_to_receive(r, name, nlen)) {
            uint32_t ms = left(deadline);
            if (ms == 0)
                return timeout_rc;
            int rc = sleep_on(r, bucket, seq,
                              ms < PEEK_SLICE_MS ? ms : PEEK_SLICE_MS);
            if (rc)
                return rc;
            peek = wake_word(r, bucket) != seq; /* else: register */
            continue;
        }
        /* A registration left if this fails lapses with its lease. */
        int rc = shared__acquire(r, lock_ms(deadline));
        if (rc)
            return rc;
        uint64_t now = shared__backend_ticks_ms();
        if (rx_idx != NO_CHANNEL)
            shared__chan_rx_leave(r, rx_idx, rx_gen);
        rx_idx = NO_CHANNEL;
        rc = shared__chan_find(r, name, nlen, create, now, &idx);
        if (rc == 0)
            rc = op(r, idx, ctx);
        else if (rc == SHARED_ENOTFOUND && !create)
            rc = again; /* not created yet: as good as empty */
        uint32_t ms = left(deadline);
        if (rc == again && ms > 0 && !create && idx != NO_CHANNEL) {
            if (ms > RX_SLICE_MS)
                ms = RX_SLICE_MS;
            shared__chan_rx_enter(r, idx, now + ms + RX_SLACK_MS, &rx_gen);
            rx_idx = idx;
        }
        if (rc == 0)
            shared__notify(r, &wake);
        shared__backend_unlock();
        if (rc == 0)
            shared__backend_wake(r, &wake);
        if (rc != again)
            return rc;
        if (ms == 0)
            return timeout_rc;
        rc = sleep_on(r, bucket, seq, ms);
        if (rc)
            return rc;
    }
}

typedef struct send_ctx {
    const void *msg;
    uint32_t len;
} send_ctx;

static int send_op(shared__region *r, uint32_t idx, void *ctx)
{
    send_ctx *s = ctx;
    return shared__chan_send(r, idx, s->msg, s->len);
}

int shared_send(const char *channel, const void *msg, uint32_t len,
                uint32_t timeout_ms)
{
    shared__region *r;
    uint32_t nlen = 0;
    if (!msg && len)
        return SHARED_ENULL;
    if (len > SHARED_MSG_MAX)
        return SHARED_EVALTOOLONG;
    int rc = chan_begin(channel, &nlen, &r);
    if (rc)
        return rc;
    send_ctx s = {msg, len};
    return chan_loop(r, channel, nlen, timeout_ms, send_op, &s,
                     SHARED_ECHANFULL, SHARED_ECHANFULL, 1);
}

typedef struct recv_ctx {
    void *buf;
    uint32_t cap;
    uint32_t *len;
} recv_ctx;

static int recv_op(shared__region *r, uint32_t idx, void *ctx)
{
    recv_ctx *c = ctx;
    return shared__chan_recv(r, idx, c->buf, c->cap, c->len);
}

int shared_recv(const char *channel, void *buf, uint32_t cap, uint32_t *len,
                uint32_t timeout_ms)
{
    shared__region *r;
    uint32_t nlen = 0;
    if (!len || (!buf && cap))
        return SHARED_ENULL;
    int rc = chan_begin(channel, &nlen, &r);
    if (rc)
        return rc;
    recv_ctx c = {buf, cap, len};
    return chan_loop(r, channel, nlen, timeout_ms, recv_op, &c,
                     SHARED_ENOTFOUND, SHARED_ETIMEDOUT, 0);
}

static int fill_channel(shared__region *r, uint32_t i, void *item, int *corrupt)
{
    (void)corrupt;
    return shared__chan_info(r, i, item) == 0;
}

static int call_channel(const void *item, void (*fn)(void), void *ctx)
{
    return ((shared_channel_fn)fn)(item, ctx);
}

int shared_channels(shared_channel_fn fn, void *ctx)
{
    static const shared__visitor v = {SHARED_CHANNELS,
                                      sizeof(shared_channel_info), fill_channel,
                                      call_channel};
    return shared__visit(&v, (void (*)(void))fn, ctx);
}

/* Reaps dead peers (before the first entry), then copies each live one. */
static int fill_peer(shared__region *r, uint32_t i, void *item, int *corrupt)
{
    uint32_t pid = shared__backend_pid();
    (void)corrupt;
    if (i == 0 && !shared__readonly()) /* read-only: writes nothing */
        shared__peer_reap(r, shared__backend_alive, pid);
    return shared__peer_info(r, i, pid, item) == 0;
}

static int call_peer(const void *item, void (*fn)(void), void *ctx)
{
    return ((shared_peer_fn)fn)(item, ctx);
}

int shared_peers(shared_peer_fn fn, void *ctx)
{
    static const shared__visitor v = {
        SHARED_MAX_PEERS, sizeof(shared_peer_info), fill_peer, call_peer};
    return shared__visit(&v, (void (*)(void))fn, ctx);
}
