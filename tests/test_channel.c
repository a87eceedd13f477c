/*
 * test_channel.c - message channels: order, sizes, full and empty with and
 * without waiting, the channel table's bound; across processes, P producers
 * x K messages reach the consumers exactly once, in order per producer, and
 * killing a producer and a consumer mid-stream loses and duplicates nothing
 * that was acknowledged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "roles.h"
#include "testutil.h"

#ifdef SHARED_TEST_WIN
#  define K_MSGS 60 /* a send or receive is a few wineserver round trips */
#  define KILL_AFTER_MS 400
#else
#  define K_MSGS 1000
#  define KILL_AFTER_MS 30
#endif
#define PRODUCERS 3
#define CONSUMERS 2
#define LONG_MS 30000

typedef struct record {
    uint32_t producer;
    uint32_t reserved;
    uint64_t seq;
} record;

/* CH:K:ID,ACKFILE - sends K records; after each, appends seq to ACKFILE
 * ("-": none). */
int role_producer(const char *arg)
{
    char ch[SHARED_KEY_MAX + 1], rest[256];
    int64_t k;
    if (role_arg(arg, ch, &k, rest, sizeof rest))
        return 2;
    char *comma = strchr(rest, ',');
    if (!comma)
        return 2;
    *comma = '\0';
    record m = {(uint32_t)atoi(rest), 0, 0};
    FILE *ack = strcmp(comma + 1, "-") ? fopen(comma + 1, "wb") : NULL;
    for (m.seq = 1; m.seq <= (uint64_t)k; m.seq++) {
        int rc = shared_send(ch, &m, sizeof m, LONG_MS);
        if (rc)
            return ROLE_FAIL(rc);
        if (ack) {
            fwrite(&m.seq, sizeof m.seq, 1, ack);
            fflush(ack);
        }
    }
    if (ack)
        fclose(ack);
    return 0;
}

/* CH:0:FILE - receives records into FILE until a 4-byte "stop". */
int role_consumer(const char *arg)
{
    char ch[SHARED_KEY_MAX + 1], path[256];
    int64_t unused;
    if (role_arg(arg, ch, &unused, path, sizeof path))
        return 2;
    FILE *f = fopen(path, "wb");
    if (!f)
        return 2;
    for (;;) {
        record m;
        uint32_t len = 0;
        int rc = shared_recv(ch, &m, sizeof m, &len, LONG_MS);
        if (rc)
            return ROLE_FAIL(rc);
        if (len == 4)
            break;
        if (len != sizeof m)
            return 1;
        fwrite(&m, sizeof m, 1, f);
        fflush(f);
    }
    fclose(f);
    return 0;
}

/* recv-one CH:MS:WANT - receives one message (waiting up to MS ms); exits
 * 0 if it is WANT. */
int role_recv_one(const char *arg)
{
    char ch[SHARED_KEY_MAX + 1], want[64], buf[64];
    int64_t ms;
    uint32_t len = 0;
    if (role_arg(arg, ch, &ms, want, sizeof want))
        return 2;
    int rc = shared_recv(ch, buf, sizeof buf, &len, (uint32_t)ms);
    if (rc)
        return ROLE_FAIL(rc);
    return len == strlen(want) && memcmp(buf, want, len) == 0 ? 0 : 1;
}

static int count_only(const shared_channel_info *c, void *ctx)
{
    (void)c;
    ++*(int *)ctx;
    return 0;
}

static int channels_used(void)
{
    int n = 0;
    ck_assert_int_ge(shared_channels(count_only, &n), 0);
    return n;
}

START_TEST(receiving_never_creates_a_channel)
{
    char buf[16], name[16];
    uint32_t len;
    ck_assert_code(shared_recv("c.typo", buf, sizeof buf, &len, 0),
                   SHARED_ETIMEDOUT);
    ck_assert_code(shared_recv("c.typo", buf, sizeof buf, &len, 50),
                   SHARED_ETIMEDOUT);
    ck_assert_int_eq(channels_used(), 0);
    /* With every channel holding a message, a typo is still just "no
     * message", not SHARED_ECHANNELS. */
    for (uint32_t i = 0; i < SHARED_CHANNELS; i++) {
        snprintf(name, sizeof name, "c.%u", (unsigned)i);
        ck_assert_code(shared_send(name, "x", 1, 0), SHARED_OK);
    }
    ck_assert_code(shared_recv("c.typo", buf, sizeof buf, &len, 0),
                   SHARED_ETIMEDOUT);
    ck_assert_int_eq(channels_used(), SHARED_CHANNELS);
}
END_TEST

/* Waits until at least one thread is blocked in a wait. */
static void await_a_waiter(void)
{
    shared_statistics st = {.size = sizeof st};
    for (int i = 0; i < 3000; i++) {
        ck_assert_code(shared_stats(&st), SHARED_OK);
        if (st.waiters >= 1)
            return;
        proc_sleep_ms(10);
    }
    ck_abort_msg("the receiver never blocked");
}

/* c.0 empty, every other channel holding a message. */
static void fill_but_the_first(void)
{
    char name[16];
    uint32_t len;
    for (uint32_t i = 0; i < SHARED_CHANNELS; i++) {
        snprintf(name, sizeof name, "c.%u", (unsigned)i);
        ck_assert_code(shared_send(name, "x", 1, 0), SHARED_OK);
    }
    ck_assert_code(shared_recv("c.0", name, sizeof name, &len, 0), SHARED_OK);
}

START_TEST(a_waiting_receivers_channel_is_not_recycled)
{
    char arg[64];
    fill_but_the_first();
    snprintf(arg, sizeof arg, "c.0:%d:hello", LONG_MS);
    int h = role_start("recv-one", arg);
    ck_assert_int_ge(h, 0);
    await_a_waiter();
    /* c.0 is empty, but a receiver waits on it. */
    ck_assert_code(shared_send("c.new", "x", 1, 0), SHARED_ECHANNELS);
    ck_assert_code(shared_send("c.0", "hello", 5, 0), SHARED_OK);
    ck_assert_int_eq(proc_wait(h, LONG_MS), 0);
    /* No one waits now: the empty c.0 may go to a new name. */
    ck_assert_code(shared_send("c.new", "x", 1, 0), SHARED_OK);
}
END_TEST

START_TEST(a_dead_receiver_does_not_hold_its_channel)
{
    char arg[64];
    fill_but_the_first();
    snprintf(arg, sizeof arg, "c.0:%d:hello", LONG_MS);
    int h = role_start("recv-one", arg);
    ck_assert_int_ge(h, 0);
    await_a_waiter();
    proc_kill(h);
    /* Its registration lapses within a lease (see messaging.c). */
    uint64_t t0 = proc_now_ms();
    int rc;
    while ((rc = shared_send("c.new", "x", 1, 0)) == SHARED_ECHANNELS &&
           proc_now_ms() - t0 < 10000)
        proc_sleep_ms(50);
    ck_assert_code(rc, SHARED_OK);
}
END_TEST

START_TEST(messages_come_out_in_order)
{
    char buf[16];
    uint32_t len = 0;
    ck_assert_code(shared_send("c.q", "one", 3, 0), SHARED_OK);
    ck_assert_code(shared_send("c.q", "", 0, 0), SHARED_OK);
    ck_assert_code(shared_send("c.q", "three", 5, 0), SHARED_OK);
    ck_assert_code(shared_recv("c.q", buf, sizeof buf, &len, 0), SHARED_OK);
    ck_assert_uint_eq(len, 3);
    ck_assert_mem_eq(buf, "one", 3);
    ck_assert_code(shared_recv("c.q", buf, sizeof buf, &len, 0), SHARED_OK);
    ck_assert_uint_eq(len, 0);
    ck_assert_code(shared_recv("c.q", buf, sizeof buf, &len, 0), SHARED_OK);
    ck_assert_mem_eq(buf, "three", 5);
    ck_assert_code(shared_recv("c.q", buf, sizeof buf, &len, 0),
                   SHARED_ETIMEDOUT);
    ck_assert_code(shared_recv("c.q", buf, sizeof buf, &len, 100),
                   SHARED_ETIMEDOUT);
}
END_TEST

START_TEST(small_buffer_keeps_the_message)
{
    char buf[8];
    uint32_t len = 0;
    ck_assert_code(shared_send("c.q", "hello", 5, 0), SHARED_OK);
    ck_assert_code(shared_recv("c.q", buf, 2, &len, 0), SHARED_ETOOBIG);
    ck_assert_uint_eq(len, 5);
    ck_assert_code(shared_recv("c.q", buf, sizeof buf, &len, 0), SHARED_OK);
    ck_assert_mem_eq(buf, "hello", 5);
}
END_TEST

START_TEST(bad_arguments)
{
    static unsigned char big[SHARED_MSG_MAX + 1];
    char buf[4], long_name[SHARED_KEY_MAX + 2];
    uint32_t len;
    memset(long_name, 'c', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    ck_assert_code(shared_send("c.q", big, SHARED_MSG_MAX + 1, 0),
                   SHARED_EVALTOOLONG);
    ck_assert_code(shared_send("c.q", NULL, 1, 0), SHARED_ENULL);
    ck_assert_code(shared_send(NULL, "x", 1, 0), SHARED_ENULL);
    ck_assert_code(shared_send("", "x", 1, 0), SHARED_EKEYEMPTY);
    ck_assert_code(shared_send(long_name, "x", 1, 0), SHARED_EKEYTOOLONG);
    ck_assert_code(shared_recv("c.q", buf, sizeof buf, NULL, 0), SHARED_ENULL);
    ck_assert_code(shared_recv("c.q", NULL, 4, &len, 0), SHARED_ENULL);
    ck_assert_code(shared_lock(1000), SHARED_OK);
    ck_assert_code(shared_send("c.q", "x", 1, 0), SHARED_EINTX);
    ck_assert_code(shared_recv("c.q", buf, sizeof buf, &len, 0), SHARED_EINTX);
    ck_assert_code(shared_unlock(), SHARED_OK);
    ck_assert_code(shared_send("c.q", big, SHARED_MSG_MAX, 0), SHARED_OK);
}
END_TEST

START_TEST(full_channel_is_echanfull_and_frees_up)
{
    uint32_t len;
    uint64_t i;
    for (i = 0; i < SHARED_CHANNEL_DEPTH; i++)
        ck_assert_code(shared_send("c.full", &i, sizeof i, 0), SHARED_OK);
    ck_assert_code(shared_send("c.full", &i, sizeof i, 0), SHARED_ECHANFULL);
    ck_assert_code(shared_send("c.full", &i, sizeof i, 100), SHARED_ECHANFULL);
    ck_assert_ptr_nonnull(
        strstr(shared_strerror(SHARED_ECHANFULL), "SHARED_CHANNEL_DEPTH"));
    ck_assert_code(shared_recv("c.full", &i, sizeof i, &len, 0), SHARED_OK);
    ck_assert_uint_eq(i, 0);
    ck_assert_code(shared_send("c.full", &i, sizeof i, 0), SHARED_OK);
}
END_TEST

typedef struct chan_count {
    int n;
    uint32_t depth_of_a;
} chan_count;

static int count_channels(const shared_channel_info *c, void *ctx)
{
    chan_count *cc = ctx;
    cc->n++;
    if (strcmp(c->name, "c.0") == 0)
        cc->depth_of_a = c->depth;
    ck_assert_uint_eq(c->capacity, SHARED_CHANNEL_DEPTH);
    return 0;
}

START_TEST(channel_table_has_a_bound)
{
    char name[16];
    uint32_t len;
    chan_count cc = {0, 0};
    for (uint32_t i = 0; i < SHARED_CHANNELS; i++) {
        snprintf(name, sizeof name, "c.%u", (unsigned)i);
        ck_assert_code(shared_send(name, "x", 1, 0), SHARED_OK);
    }
    /* Every channel holds a message: none can be recycled. */
    ck_assert_code(shared_send("c.extra", "x", 1, 0), SHARED_ECHANNELS);
    ck_assert_code(shared_recv("c.extra", name, sizeof name, &len, 0),
                   SHARED_ETIMEDOUT); /* receiving never creates */
    ck_assert_code(shared_send("c.0", "y", 1, 0), SHARED_OK);
    ck_assert_int_eq(shared_channels(count_channels, &cc), SHARED_CHANNELS);
    ck_assert_int_eq(cc.n, SHARED_CHANNELS);
    ck_assert_uint_eq(cc.depth_of_a, 2);
    /* Emptied, a channel may be recycled for a new name; queued messages
     * elsewhere are untouched. */
    ck_assert_code(shared_recv("c.1", name, sizeof name, &len, 0), SHARED_OK);
    ck_assert_code(shared_send("c.extra", "z", 1, 0), SHARED_OK);
    ck_assert_code(shared_recv("c.extra", name, sizeof name, &len, 0),
                   SHARED_OK);
    ck_assert_mem_eq(name, "z", 1);
    ck_assert_code(shared_recv("c.0", name, sizeof name, &len, 0), SHARED_OK);
    ck_assert_mem_eq(name, "x", 1);
    ck_assert_code(shared_reset(), SHARED_OK); /* reset frees them all */
    cc.n = 0;
    ck_assert_int_eq(shared_channels(count_channels, &cc), 0);
}
END_TEST

START_TEST(receiver_is_woken_by_another_process)
{
    record m;
    uint32_t len = 0;
    int h = role_start("producer", "c.wake:1:7,-");
    ck_assert_int_ge(h, 0);
    ck_assert_code(shared_recv("c.wake", &m, sizeof m, &len, LONG_MS),
                   SHARED_OK);
    ck_assert_uint_eq(m.producer, 7);
    ck_assert_uint_eq(m.seq, 1);
    ck_assert_int_eq(proc_wait(h, LONG_MS), 0);
}
END_TEST

/* Reads a file of records; returns how many. */
static int read_records(const char *path, record *out, int max)
{
    FILE *f = fopen(path, "rb");
    int n = 0;
    if (!f)
        return 0;
    while (n < max && fread(&out[n], sizeof out[n], 1, f) == 1)
        n++;
    fclose(f);
    return n;
}

/* Every (producer, seq) in the streams: counted, in order per producer
 * within each stream. Returns the number of duplicates. */
static int tally(record **streams, const int *lens, int nstreams,
                 unsigned char seen[][K_MSGS + 1])
{
    int dups = 0;
    for (int s = 0; s < nstreams; s++) {
        uint64_t last[PRODUCERS] = {0};
        for (int i = 0; i < lens[s]; i++) {
            record m = streams[s][i];
            ck_assert_uint_lt(m.producer, PRODUCERS);
            ck_assert_uint_le(m.seq, K_MSGS);
            ck_assert_msg(m.seq > last[m.producer],
                          "producer %u out of order: %llu after %llu",
                          m.producer, (unsigned long long)m.seq,
                          (unsigned long long)last[m.producer]);
            last[m.producer] = m.seq;
            dups += seen[m.producer][m.seq]++ != 0;
        }
    }
    return dups;
}

static void start_consumers(int *h, char files[][64], const char *ch)
{
    char arg[128];
    for (int c = 0; c < CONSUMERS; c++) {
        unique_name(files[c], 64, "cons");
        snprintf(arg, sizeof arg, "%s:0:%s", ch, files[c]);
        h[c] = role_start("consumer", arg);
        ck_assert_int_ge(h[c], 0);
    }
}

static void stop_consumers(const int *h, const char *ch, int alive)
{
    for (int c = 0; c < alive; c++)
        ck_assert_code(shared_send(ch, "stop", 4, LONG_MS), SHARED_OK);
    for (int c = 0; c < CONSUMERS; c++) {
        if (h[c] >= 0)
            ck_assert_int_eq(proc_wait(h[c], LONG_MS), 0);
    }
}

START_TEST(producers_and_consumers_exchange_exactly_once)
{
    static unsigned char seen[PRODUCERS][K_MSGS + 1];
    static record rec[CONSUMERS][PRODUCERS * K_MSGS];
    char files[CONSUMERS][64], arg[128];
    int hc[CONSUMERS], hp[PRODUCERS], lens[CONSUMERS];
    record *streams[CONSUMERS];
    memset(seen, 0, sizeof seen);
    start_consumers(hc, files, "c.pc");
    for (int p = 0; p < PRODUCERS; p++) {
        snprintf(arg, sizeof arg, "c.pc:%d:%d,-", K_MSGS, p);
        hp[p] = role_start("producer", arg);
        ck_assert_int_ge(hp[p], 0);
    }
    for (int p = 0; p < PRODUCERS; p++)
        ck_assert_int_eq(proc_wait(hp[p], LONG_MS * 4), 0);
    stop_consumers(hc, "c.pc", CONSUMERS);
    int total = 0;
    for (int c = 0; c < CONSUMERS; c++) {
        streams[c] = rec[c];
        lens[c] = read_records(files[c], rec[c], PRODUCERS * K_MSGS);
        total += lens[c];
        remove(files[c]);
    }
    ck_assert_int_eq(tally(streams, lens, CONSUMERS, seen), 0);
    ck_assert_int_eq(total, PRODUCERS * K_MSGS);
}
END_TEST

START_TEST(killed_producer_and_consumer_lose_nothing_acknowledged)
{
    static unsigned char seen[PRODUCERS][K_MSGS + 1];
    static record rec[CONSUMERS + 1][PRODUCERS * K_MSGS];
    char files[CONSUMERS][64], acks[PRODUCERS][64], arg[256];
    int hc[CONSUMERS], hp[PRODUCERS], lens[CONSUMERS + 1];
    record *streams[CONSUMERS + 1];
    memset(seen, 0, sizeof seen);
    start_consumers(hc, files, "c.kill");
    for (int p = 0; p < PRODUCERS; p++) {
        unique_name(acks[p], sizeof acks[p], "ack");
        snprintf(arg, sizeof arg, "c.kill:%d:%d,%s", K_MSGS, p, acks[p]);
        hp[p] = role_start("producer", arg);
        ck_assert_int_ge(hp[p], 0);
    }
    proc_sleep_ms(KILL_AFTER_MS);
    proc_kill(hp[0]);
    proc_kill(hc[0]);
    hc[0] = -1;
    for (int p = 1; p < PRODUCERS; p++)
        ck_assert_int_eq(proc_wait(hp[p], LONG_MS * 4), 0);
    stop_consumers(hc, "c.kill", CONSUMERS - 1);
    /* What is still queued counts as delivered, too. */
    int n = 0;
    record m;
    uint32_t len;
    while (shared_recv("c.kill", &m, sizeof m, &len, 0) == SHARED_OK)
        if (len == sizeof m)
            rec[CONSUMERS][n++] = m;
    lens[CONSUMERS] = n;
    streams[CONSUMERS] = rec[CONSUMERS];
    for (int c = 0; c < CONSUMERS; c++) {
        streams[c] = rec[c];
        lens[c] = read_records(files[c], rec[c], PRODUCERS * K_MSGS);
        remove(files[c]);
    }
    ck_assert_int_eq(tally(streams, lens, CONSUMERS + 1, seen), 0);
    /* Every acknowledged message arrived, except at most the one the killed
     * consumer had taken but not yet written down. */
    int missing = 0;
    for (int p = 0; p < PRODUCERS; p++) {
        uint64_t acked = p == 0 ? role_last_ack(acks[p]) : K_MSGS;
        for (uint64_t s = 1; s <= acked; s++)
            missing += seen[p][s] == 0;
        remove(acks[p]);
    }
    ck_assert_int_le(missing, 1);
}
END_TEST

Suite *channel_suite(void)
{
    Suite *s = suite_create("channel");
    TCase *tc = tcase_with_fixture("channel");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, messages_come_out_in_order);
    tcase_add_test(tc, small_buffer_keeps_the_message);
    tcase_add_test(tc, bad_arguments);
    tcase_add_test(tc, full_channel_is_echanfull_and_frees_up);
    tcase_add_test(tc, channel_table_has_a_bound);
    tcase_add_test(tc, receiving_never_creates_a_channel);
    tcase_add_test(tc, a_waiting_receivers_channel_is_not_recycled);
    tcase_add_test(tc, a_dead_receiver_does_not_hold_its_channel);
    tcase_add_test(tc, receiver_is_woken_by_another_process);
    tcase_add_test(tc, producers_and_consumers_exchange_exactly_once);
    tcase_add_test(tc, killed_producer_and_consumer_lose_nothing_acknowledged);
    suite_add_tcase(s, tc);
    return s;
}
