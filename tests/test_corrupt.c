/*
 * test_corrupt.c - garbage written straight into the live shared region (as
 * a buggy or hostile process could) is SHARED_ECORRUPT, never a crash; a
 * header that does not match this build is SHARED_EVERSION for a process
 * that attaches to it.
 */
#include <stdio.h>
#include <string.h>

#include "slot.h"
#include "testutil.h"

static shared__region *live(void)
{
    shared__region *r = live_region();
    ck_assert_ptr_nonnull(r);
    ck_assert_uint_eq(r->hdr.magic, SHARED__MAGIC);
    return r;
}

static uint32_t live_slot_of(shared__region *r, const char *key)
{
    shared__copy c;
    ck_assert_code(shared__read(r, key, (uint32_t)strlen(key), &c, NULL, 0),
                   SHARED_OK);
    return c.slot;
}

/* Makes a free slot a damaged copy of `key`'s slot (its key bytes and
 * hint, a bad value), which the index does not hold; returns it. *a is
 * the key's own slot. */
static uint32_t damaged_copy(shared__region *r, const char *key, uint32_t *a)
{
    uint32_t b = 0;
    *a = live_slot_of(r, key);
    while (b < SHARED_MAX_KEYS &&
           (b == *a || atomic_load(&r->slot[b].img.meta)))
        b++;
    ck_assert_uint_lt(b, SHARED_MAX_KEYS);
    memcpy((void *)&r->slot[b].img, (void *)&r->slot[*a].img,
           sizeof r->slot[b].img);
    atomic_fetch_xor(&r->slot[b].img.value[0], 0xffu);
    atomic_store(&r->hint[b], atomic_load(&r->hint[*a]));
    return b;
}

/* Clears *ctx (a slot index) when shared_inspect reports it corrupt. */
static int find_corrupt(const shared_slot_info *s, void *ctx)
{
    uint32_t *want = ctx;
    if (s->index == *want && s->state == SHARED_SLOT_CORRUPT)
        *want = UINT32_MAX;
    return 0;
}

START_TEST(garbage_in_a_slot_is_ecorrupt)
{
    char buf[16];
    uint32_t len;
    shared_statistics st0 = {.size = sizeof st0}, st1 = {.size = sizeof st1};
    ck_assert_code(shared_set("cr.bad", "value", 5), SHARED_OK);
    ck_assert_code(shared_set("cr.good", "fine", 4), SHARED_OK);
    ck_assert_code(shared_stats(&st0), SHARED_OK);
    shared__region *r = live();
    uint32_t i = live_slot_of(r, "cr.bad");
    memset((void *)&r->slot[i].img, 0xa5, sizeof r->slot[i].img);

    ck_assert_code(shared_get("cr.bad", buf, sizeof buf, &len, NULL),
                   SHARED_ECORRUPT);
    ck_assert_code(shared_add("cr.bad", 1, NULL), SHARED_ECORRUPT);
    ck_assert_code(shared_cas("cr.bad", 1, "x", 1, NULL), SHARED_ECORRUPT);
    ck_assert_code(shared_get("cr.good", buf, sizeof buf, &len, NULL),
                   SHARED_OK);
    ck_assert_mem_eq(buf, "fine", 4);
    ck_assert_code(shared_stats(&st1), SHARED_OK);
    ck_assert_uint_ge(st1.corrupt_seen, st0.corrupt_seen + 3);
    uint32_t want = i;
    ck_assert_int_eq(shared_inspect(find_corrupt, &want), SHARED_MAX_KEYS);
    ck_assert_uint_eq(want, UINT32_MAX); /* the damaged slot was reported */
    /* An explicit write replaces it (set_and_del_replace_a_corrupt_key). */
    ck_assert_code(shared_set("cr.bad", "x", 1), SHARED_OK);
}
END_TEST

static int count_visit(const shared_entry *e, void *ctx)
{
    (void)e;
    ++*(int *)ctx;
    return 0;
}

START_TEST(foreach_reports_corruption_after_visiting_the_rest)
{
    int seen = 0;
    ck_assert_code(shared_set("cr.a", "1", 1), SHARED_OK);
    ck_assert_code(shared_set("cr.b", "2", 1), SHARED_OK);
    ck_assert_code(shared_set("cr.c", "3", 1), SHARED_OK);
    shared__region *r = live();
    uint32_t i = live_slot_of(r, "cr.b");
    atomic_fetch_xor(&r->slot[i].img.value[0], 0xffu); /* one flipped byte */
    ck_assert_code(shared_foreach(count_visit, &seen), SHARED_ECORRUPT);
    ck_assert_int_eq(seen, 2);
}
END_TEST

/* Counts the slots shared_inspect reports corrupt. */
static int count_corrupt(const shared_slot_info *s, void *ctx)
{
    *(int *)ctx += s->state == SHARED_SLOT_CORRUPT;
    return 0;
}

static int corrupt_slots(void)
{
    int n = 0;
    ck_assert_int_eq(shared_inspect(count_corrupt, &n), SHARED_MAX_KEYS);
    return n;
}

/* A set (or del) that must write two slots, a key's valid slot and its own
 * damaged copy, fails before it writes either when the transaction's
 * journal has room for only one of them: nothing changes on failure. */
START_TEST(a_two_slot_replace_fails_whole_when_the_journal_is_full)
{
    char buf[16], key[16];
    uint32_t len;
    ck_assert_code(shared_set("cr.d", "old", 3), SHARED_OK);
    shared__region *r = live();
    uint32_t a, b = damaged_copy(r, "cr.d", &a); /* cr.d's own, in slot b */
    shared__index_add(r, b, atomic_load(&r->hint[a])); /* lookups reach it */

    ck_assert_code(shared_lock(5000), SHARED_OK);
    for (unsigned i = 0; i < SHARED_JOURNAL_MAX - 1u; i++) {
        snprintf(key, sizeof key, "cr.t%u", i);
        ck_assert_code(shared_set(key, "t", 1), SHARED_OK);
    }
    ck_assert_code(shared_set("cr.d", "new", 3), SHARED_ETXFULL);
    ck_assert_code(shared_get("cr.d", buf, sizeof buf, &len, NULL), SHARED_OK);
    ck_assert_uint_eq(len, 3);
    ck_assert_mem_eq(buf, "old", 3);
    ck_assert_code(shared_rollback(), SHARED_OK);
    ck_assert_code(shared_get("cr.d", buf, sizeof buf, &len, NULL), SHARED_OK);
    ck_assert_mem_eq(buf, "old", 3);
    ck_assert_code(shared_reset(), SHARED_OK);
}
END_TEST

/* A damaged copy of a key (its key bytes and hint, a bad value) that the
 * index does not hold: a set of the key leaves it (a set settles the
 * copies its lookup reaches), and when an index rebuild then adds it to
 * the key's chain, ahead of the key's valid slot, reads still give the
 * valid slot: a valid slot holding exactly the key wins over a damaged
 * copy. */
START_TEST(a_damaged_copy_never_hides_the_valid_key_after_a_rebuild)
{
    char buf[16];
    uint32_t len;
    ck_assert_code(shared_set("cr.x", "1", 1), SHARED_OK);
    ck_assert_code(shared_set("cr.u", "old", 3), SHARED_OK);
    shared__region *r = live();
    uint32_t x = live_slot_of(r, "cr.x"), a;
    ck_assert_code(shared_del("cr.x"), SHARED_OK); /* slot x is free */
    uint32_t b = damaged_copy(r, "cr.u", &a);
    ck_assert_uint_eq(b, x);
    ck_assert_uint_lt(b, a); /* a rebuild puts b first in the chain */
    ck_assert_code(shared_set("cr.u", "new", 3), SHARED_OK);
    ck_assert_code(shared_get("cr.u", buf, sizeof buf, &len, NULL), SHARED_OK);
    ck_assert_mem_eq(buf, "new", 3);
    ck_assert_code(shared_repair(0), SHARED_OK); /* rebuilds the index */
    ck_assert_code(shared_get("cr.u", buf, sizeof buf, &len, NULL), SHARED_OK);
    ck_assert_uint_eq(len, 3);
    ck_assert_mem_eq(buf, "new", 3);
    int64_t n = 0;
    ck_assert_code(shared_set("cr.u", "newer", 5), SHARED_OK); /* settles b */
    ck_assert_int_eq(corrupt_slots(), 0);
    ck_assert_code(shared_get("cr.u", buf, sizeof buf, &len, NULL), SHARED_OK);
    ck_assert_mem_eq(buf, "newer", 5);
    ck_assert_code(shared_add("cr.n", 1, &n), SHARED_OK);
    ck_assert_code(shared_reset(), SHARED_OK);
}
END_TEST

/* del of a key removes its damaged copies, those the index lacks too:
 * afterwards the key is missing for every operation, and a set, add or
 * cas creates it anew. */
START_TEST(del_removes_the_damaged_copies_the_index_lacks)
{
    char buf[16];
    uint32_t len;
    uint64_t v = 0;
    ck_assert_code(shared_set("cr.u", "old", 3), SHARED_OK);
    shared__region *r = live();
    uint32_t a;
    damaged_copy(r, "cr.u", &a); /* not indexed */
    ck_assert_code(shared_set("cr.u", "new", 3), SHARED_OK);
    ck_assert_code(shared_del("cr.u"), SHARED_OK);
    ck_assert_int_eq(corrupt_slots(), 0);
    ck_assert_code(shared_get("cr.u", buf, sizeof buf, &len, NULL),
                   SHARED_ENOTFOUND);
    ck_assert_code(shared_cas("cr.u", 0, "c", 1, &v), SHARED_OK);
    ck_assert_code(shared_del("cr.u"), SHARED_OK);
    ck_assert_code(shared_add("cr.u", 1, NULL), SHARED_OK);
    shared_statistics st = {.size = sizeof st};
    ck_assert_code(shared_stats(&st), SHARED_OK);
    ck_assert_uint_eq(st.keys_used, 1);
    ck_assert_code(shared_reset(), SHARED_OK);
}
END_TEST

/* More than CHAIN_MAX (16) slots under a key's hint: set scans every hint,
 * so it also settles a damaged copy that only its hint names. */
START_TEST(set_scans_every_hint_when_many_slots_share_the_key_hint)
{
    char key[16];
    ck_assert_code(shared_set("cr.f", "old", 3), SHARED_OK);
    shared__region *r = live();
    uint32_t a = live_slot_of(r, "cr.f"), h = atomic_load(&r->hint[a]);
    for (unsigned i = 0; i < 17; i++) {
        snprintf(key, sizeof key, "cr.o%u", i);
        ck_assert_code(shared_set(key, "o", 1), SHARED_OK);
        shared__hint_set(r, live_slot_of(r, key), h); /* indexed under h */
    }
    damaged_copy(r, "cr.f", &a); /* hint h, not indexed */
    ck_assert_int_eq(corrupt_slots(), 1);
    ck_assert_code(shared_set("cr.f", "new", 3), SHARED_OK);
    ck_assert_int_eq(corrupt_slots(), 0);
    ck_assert_code(shared_reset(), SHARED_OK);
}
END_TEST

START_TEST(set_and_del_replace_a_corrupt_key)
{
    char buf[16];
    uint32_t len;
    uint64_t v;
    shared_statistics st0 = {.size = sizeof st0}, st1 = {.size = sizeof st1};
    ck_assert_code(shared_set("cr.a", "value", 5), SHARED_OK);
    ck_assert_code(shared_set("cr.b", "other", 5), SHARED_OK);
    ck_assert_code(shared_stats(&st0), SHARED_OK);
    shared__region *r = live();

    /* Damage with the key intact: the slot is still recognisably cr.a's.
     * Reads and the read-modify-writes report it; set replaces it. */
    uint32_t i = live_slot_of(r, "cr.a");
    atomic_fetch_xor(&r->slot[i].img.value[0], 0xffu);
    ck_assert_code(shared_get("cr.a", buf, sizeof buf, &len, NULL),
                   SHARED_ECORRUPT);
    ck_assert_code(shared_add("cr.a", 1, NULL), SHARED_ECORRUPT);
    ck_assert_code(shared_cas("cr.a", 1, "x", 1, &v), SHARED_ECORRUPT);
    ck_assert_code(shared_set("cr.a", "new", 3), SHARED_OK);
    ck_assert_code(shared_get("cr.a", buf, sizeof buf, &len, NULL), SHARED_OK);
    ck_assert_uint_eq(len, 3);
    ck_assert_mem_eq(buf, "new", 3);
    ck_assert_int_eq(corrupt_slots(), 0);
    ck_assert_code(shared_stats(&st1), SHARED_OK);
    ck_assert_uint_eq(st1.keys_used, 2);
    ck_assert_uint_eq(st1.bytes_used, st0.bytes_used - 2);
    ck_assert_uint_gt(st1.corrupt_seen, st0.corrupt_seen);

    /* ... and del removes it. */
    i = live_slot_of(r, "cr.a");
    atomic_fetch_xor(&r->slot[i].img.value[0], 0xffu);
    ck_assert_code(shared_del("cr.a"), SHARED_OK);
    ck_assert_code(shared_get("cr.a", buf, sizeof buf, &len, NULL),
                   SHARED_ENOTFOUND);
    ck_assert_int_eq(corrupt_slots(), 0);
    ck_assert_code(shared_stats(&st1), SHARED_OK);
    ck_assert_uint_eq(st1.keys_used, 1);

    /* Damage that takes the key bytes too: the slot can no longer be shown
     * to be cr.b's. A set of cr.b stores it anew and the damaged slot stops
     * answering for cr.b; it stays (corrupt) until shared_reset. */
    i = live_slot_of(r, "cr.b");
    memset((void *)&r->slot[i].img, 0xa5, sizeof r->slot[i].img);
    ck_assert_code(shared_get("cr.b", buf, sizeof buf, &len, NULL),
                   SHARED_ECORRUPT);
    ck_assert_code(shared_set("cr.b", "again", 5), SHARED_OK);
    ck_assert_code(shared_get("cr.b", buf, sizeof buf, &len, NULL), SHARED_OK);
    ck_assert_mem_eq(buf, "again", 5);
    ck_assert_int_eq(corrupt_slots(), 1);
    ck_assert_code(shared_del("cr.b"), SHARED_OK);
    ck_assert_code(shared_get("cr.b", buf, sizeof buf, &len, NULL),
                   SHARED_ENOTFOUND);
    ck_assert_code(shared_stats(&st1), SHARED_OK);
    ck_assert_uint_eq(st1.keys_used, 0);
    ck_assert_code(shared_reset(), SHARED_OK);
    ck_assert_int_eq(corrupt_slots(), 0);

    /* A del of a key whose only trace is such a slot also succeeds. */
    ck_assert_code(shared_set("cr.c", "c", 1), SHARED_OK);
    i = live_slot_of(r, "cr.c");
    memset((void *)&r->slot[i].img, 0x5a, sizeof r->slot[i].img);
    ck_assert_code(shared_del("cr.c"), SHARED_OK);
    ck_assert_code(shared_get("cr.c", buf, sizeof buf, &len, NULL),
                   SHARED_ENOTFOUND);
    ck_assert_code(shared_del("cr.c"), SHARED_ENOTFOUND);
}
END_TEST

START_TEST(reset_repairs_a_corrupt_section)
{
    char buf[8];
    uint32_t len;
    ck_assert_code(shared_set("cr.bad", "value", 5), SHARED_OK);
    shared__region *r = live();
    uint32_t i = live_slot_of(r, "cr.bad");
    atomic_store(&r->slot[i].img.meta, 0x0102030405060708ull);
    ck_assert_code(shared_get("cr.bad", buf, sizeof buf, &len, NULL),
                   SHARED_ECORRUPT);
    ck_assert_code(shared_reset(), SHARED_OK);
    ck_assert_code(shared_set("cr.bad", "again", 5), SHARED_OK);
    ck_assert_code(shared_get("cr.bad", buf, sizeof buf, &len, NULL),
                   SHARED_OK);
    ck_assert_mem_eq(buf, "again", 5);
}
END_TEST

START_TEST(random_garbage_in_the_slots_never_crashes)
{
    static unsigned char buf[SHARED_VALUE_MAX];
    uint32_t len, seed = 12345u;
    char key[16];
    for (int k = 0; k < 16; k++) {
        snprintf(key, sizeof key, "cr.%d", k);
        ck_assert_code(shared_set(key, key, (uint32_t)strlen(key)), SHARED_OK);
    }
    shared__region *r = live();
    unsigned char *slots = (unsigned char *)r->slot;
    for (int h = 0; h < 2000; h++) {
        seed = seed * 1103515245u + 12345u;
        slots[(seed >> 8) % (16 * sizeof r->slot[0])] = (unsigned char)seed;
    }
    for (int k = 0; k < 20; k++) {
        snprintf(key, sizeof key, "cr.%d", k);
        int rc = shared_get(key, buf, sizeof buf, &len, NULL);
        ck_assert_msg(rc == SHARED_OK || rc == SHARED_ENOTFOUND ||
                          rc == SHARED_ECORRUPT,
                      "%s: %s", key, shared_errname(rc));
        rc = shared_set(key, "new", 3);
        ck_assert_msg(rc == SHARED_OK || rc == SHARED_ECORRUPT, "%s: %s", key,
                      shared_errname(rc));
    }
    int n = 0;
    int rc = shared_foreach(count_visit, &n);
    ck_assert(rc == SHARED_ECORRUPT || rc >= 0);
}
END_TEST

START_TEST(mismatched_header_is_eversion_for_a_new_process)
{
    shared__region *r = live();
    uint32_t saved = r->hdr.layout_version;
    r->hdr.layout_version = saved + 100u;
    int h = role_start("expect", "cr.any=x");
    ck_assert_int_ge(h, 0);
    int code = proc_wait(h, 30000);
    r->hdr.layout_version = saved;
    ck_assert_int_eq(code, 100 - SHARED_EVERSION);
}
END_TEST

Suite *corrupt_suite(void)
{
    Suite *s = suite_create("corrupt");
    TCase *tc = tcase_with_fixture("corrupt");
    tcase_add_test(tc, garbage_in_a_slot_is_ecorrupt);
    tcase_add_test(tc, foreach_reports_corruption_after_visiting_the_rest);
    tcase_add_test(tc,
                   a_damaged_copy_never_hides_the_valid_key_after_a_rebuild);
    tcase_add_test(tc, del_removes_the_damaged_copies_the_index_lacks);
    tcase_add_test(tc, set_scans_every_hint_when_many_slots_share_the_key_hint);
    tcase_add_test(tc, set_and_del_replace_a_corrupt_key);
    tcase_add_test(tc, a_two_slot_replace_fails_whole_when_the_journal_is_full);
    tcase_add_test(tc, reset_repairs_a_corrupt_section);
    tcase_add_test(tc, random_garbage_in_the_slots_never_crashes);
    tcase_add_test(tc, mismatched_header_is_eversion_for_a_new_process);
    suite_add_tcase(s, tc);
    return s;
}
