/*
 * channel.c - named message channels: a bounded ring per channel, changed
 * only under the lock. A message is written whole before `tail` moves past
 * it and copied out before `head` does, so a sender or receiver that dies
 * at any point leaves every other message in place, once. Messages move
 * word by word between the ring and the caller's memory (each word loaded
 * once, checksummed and stored), never through a buffer on the stack.
 */
#include <string.h>

#include "slot.h"

/* The checksum of a message starts from its length; each word follows. */
static uint64_t msg_check_start(uint32_t len)
{
    return shared__mix(0x452821e638d01377ull, len);
}

/* Reads a channel's name into buf (NUL-terminated); its length or 0. */
static uint32_t chan_name(shared__channel *c, char *buf)
{
    uint64_t words[SHARED__NAME_WORDS];
    uint32_t n = LOAD(&c->name_len);
    if (n == 0 || n > SHARED_KEY_MAX)
        return 0;
    for (uint32_t i = 0; i < SHARED__NAME_WORDS; i++)
        words[i] = LOAD(&c->name[i]);
    memcpy(buf, words, n);
    buf[n] = '\0';
    return n;
}

/*
 * Receivers. shared_recv never creates a channel: on a name that does not
 * exist it waits, as on an empty channel, for a sender to create it. A
 * receiver about to block on an existing channel registers in it under the
 * lock (receivers + 1, rx_until = max(rx_until, its lease's end)) and takes
 * the registration off under the lock when it wakes; it renews the lease
 * at least every SHARED__RX_LEASE_MAX_MS. A registration is live while
 * now <= rx_until <= now + SHARED__RX_LEASE_MAX_MS, so one left behind by a
 * receiver that died, or that could not get the lock back, lapses within a
 * lease; a hostile rx_until far ahead counts as lapsed.
 */
static int has_receivers(shared__channel *c, uint64_t now_ms)
{
    uint64_t until = LOAD(&c->rx_until);
    return LOAD(&c->receivers) != 0 && now_ms <= until &&
           until - now_ms <= SHARED__RX_LEASE_MAX_MS;
}

void shared__chan_rx_enter(shared__region *r, uint32_t idx, uint64_t until_ms,
                           uint32_t *gen)
{
    shared__channel *c = &r->channel[idx];
    uint32_t n = LOAD(&c->receivers);
    if (n != UINT32_MAX)
        STORE(&c->receivers, n + 1u);
    if (LOAD(&c->rx_until) < until_ms || n == 0)
        STORE(&c->rx_until, until_ms);
    *gen = LOAD(&c->rx_gen);
}

void shared__chan_rx_leave(shared__region *r, uint32_t idx, uint32_t gen)
{
    shared__channel *c = &r->channel[idx];
    uint32_t n = LOAD(&c->receivers);
    if (LOAD(&c->rx_gen) == gen && n != 0)
        STORE(&c->receivers, n - 1u);
}

/*
 * A full table recycles an empty channel on which no receiver waits:
 * nothing queued, so nothing is lost, and no one is waiting to get it.
 */
int shared__chan_find(shared__region *r, const char *name, uint32_t nlen,
                      int create, uint64_t now_ms, uint32_t *idx)
{
    char buf[SHARED__NAME_WORDS * 8u + 1];
    uint32_t free_idx = UINT32_MAX, empty_idx = UINT32_MAX;
    for (uint32_t i = 0; i < SHARED_CHANNELS; i++) {
        shared__channel *c = &r->channel[i];
        uint32_t n = chan_name(c, buf);
        if (n == nlen && memcmp(buf, name, n) == 0) {
            *idx = i;
            return 0;
        }
        if (n == 0 && free_idx == UINT32_MAX)
            free_idx = i;
        if (n != 0 && empty_idx == UINT32_MAX &&
            LOAD(&c->head) == LOAD(&c->tail) && !has_receivers(c, now_ms))
            empty_idx = i;
    }
    if (!create)
        return SHARED_ENOTFOUND;
    if (free_idx == UINT32_MAX)
        free_idx = empty_idx;
    if (free_idx == UINT32_MAX)
        return SHARED_ECHANNELS;
    STORE(&r->channel[free_idx].name_len, 0);
    shared__channel *c = &r->channel[free_idx];
    uint64_t words[SHARED__NAME_WORDS] = {0};
    memcpy(words, name, nlen);
    for (uint32_t i = 0; i < SHARED__NAME_WORDS; i++)
        STORE(&c->name[i], words[i]);
    STORE(&c->head, 0);
    STORE(&c->tail, 0);
    STORE(&c->sent, 0);
    STORE(&c->received, 0);
    STORE(&c->receivers, 0);
    STORE(&c->rx_until, 0);
    STORE(&c->rx_gen, LOAD(&c->rx_gen) + 1u);
    /* Named last: a creator that dies before this leaves the entry free. */
    atomic_store_explicit(&c->name_len, nlen, memory_order_release);
    *idx = free_idx;
    return 0;
}

/* Head and tail, validated: a ring can not hold more than its depth. */
static int ring_state(shared__region *r, shared__channel *c, uint64_t *head,
                      uint64_t *tail)
{
    *head = LOAD(&c->head);
    *tail = LOAD(&c->tail);
    if (*tail < *head || *tail - *head > SHARED_CHANNEL_DEPTH) {
        shared__count_corrupt(r);
        return SHARED_ECORRUPT;
    }
    return 0;
}

int shared__chan_send(shared__region *r, uint32_t idx, const void *msg,
                      uint32_t len)
{
    shared__channel *c = &r->channel[idx];
    uint64_t head, tail;
    int rc = ring_state(r, c, &head, &tail);
    if (rc)
        return rc;
    if (tail - head == SHARED_CHANNEL_DEPTH)
        return SHARED_ECHANFULL;
    shared__msg *m = &c->ring[tail % SHARED_CHANNEL_DEPTH];
    uint32_t n = (len + 7u) / 8u;
    uint64_t sum = msg_check_start(len);
    STORE(&m->len, len);
    for (uint32_t i = 0; i < n; i++) {
        uint64_t w = shared__bytes_word(msg, len, i);
        sum = shared__mix(sum, w);
        STORE(&m->data[i], w);
    }
    STORE(&m->check, sum);
    SHARED__CRASH_POINT(40); /* written, not yet queued */
    atomic_store_explicit(&c->tail, tail + 1u, memory_order_release);
    STORE(&c->sent, LOAD(&c->sent) + 1u);
    return 0;
}

int shared__chan_recv(shared__region *r, uint32_t idx, void *buf, uint32_t cap,
                      uint32_t *len)
{
    shared__channel *c = &r->channel[idx];
    uint64_t head, tail;
    int rc = ring_state(r, c, &head, &tail);
    if (rc)
        return rc;
    if (head == tail)
        return SHARED_ENOTFOUND;
    shared__msg *m = &c->ring[head % SHARED_CHANNEL_DEPTH];
    uint32_t n = LOAD(&m->len);
    unsigned char *dst = n <= cap ? buf : NULL;
    uint64_t sum = shared__load_mix(m->data, n <= SHARED_MSG_MAX ? n : 0, dst,
                                    msg_check_start(n));
    if (n > SHARED_MSG_MAX || LOAD(&m->check) != sum) {
        shared__count_corrupt(r);
        STORE(&c->head, head + 1u); /* drop it: the channel goes on */
        return SHARED_ECORRUPT;
    }
    *len = n;
    if (n > cap)
        return SHARED_ETOOBIG;
    SHARED__CRASH_POINT(41); /* copied out, not yet taken */
    atomic_store_explicit(&c->head, head + 1u, memory_order_release);
    STORE(&c->received, LOAD(&c->received) + 1u);
    return 0;
}

int shared__chan_info(shared__region *r, uint32_t idx, shared_channel_info *out)
{
    shared__channel *c = &r->channel[idx];
    uint64_t head, tail;
    memset(out, 0, sizeof *out);
    if (chan_name(c, out->name) == 0)
        return SHARED_ENOTFOUND;
    if (ring_state(r, c, &head, &tail) == 0)
        out->depth = (uint32_t)(tail - head);
    out->capacity = SHARED_CHANNEL_DEPTH;
    out->sent = LOAD(&c->sent);
    out->received = LOAD(&c->received);
    return 0;
}

void shared__chan_reset(shared__region *r)
{
    for (uint32_t i = 0; i < SHARED_CHANNELS; i++) {
        STORE(&r->channel[i].name_len, 0);
        STORE(&r->channel[i].head, 0);
        STORE(&r->channel[i].tail, 0);
        STORE(&r->channel[i].receivers, 0);
        STORE(&r->channel[i].rx_gen, LOAD(&r->channel[i].rx_gen) + 1u);
    }
}
