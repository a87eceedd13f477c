/*
 * test_core.c - the portable core on a plain buffer: header validation,
 * a crash at every step of every kind of change, corrupt slots, and random
 * damage anywhere in the region.
 */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slot.h"
#include "testutil.h"

static shared__region *R;

static void core_setup(void)
{
    R = calloc(1, sizeof *R);
    ck_assert_ptr_nonnull(R);
    shared__region_format(R);
    shared__region_publish(R);
}

/* Wipes and formats the test region again. */
static void core_fresh(void)
{
    shared__region_format(R);
    shared__region_publish(R);
}

static void core_teardown(void)
{
    shared__crash_hook = NULL;
    free(R);
    R = NULL;
}

static uint32_t klen(const char *k)
{
    return (uint32_t)strlen(k);
}

/* One change as the library makes it: journaled, between begin and commit. */
static int put(const char *k, const char *v)
{
    shared__journal_begin(R, SHARED__J_SINGLE);
    int rc = shared__op_put(R, k, klen(k), v, klen(v), NULL, NULL);
    shared__journal_commit(R);
    return rc;
}

static int del(const char *k)
{
    shared__journal_begin(R, SHARED__J_SINGLE);
    int rc = shared__op_del(R, k, klen(k));
    shared__journal_commit(R);
    return rc;
}

static int add(const char *k, int64_t d)
{
    shared__journal_begin(R, SHARED__J_SINGLE);
    int rc = shared__op_add(R, k, klen(k), d, NULL);
    shared__journal_commit(R);
    return rc;
}

/* ---- header ---------------------------------------------------------- */

START_TEST(fresh_region_passes_the_header_check)
{
    ck_assert_code(shared__region_check(R), SHARED_OK);
    ck_assert_uint_eq(R->hdr.magic, SHARED__MAGIC);
    ck_assert_uint_eq(R->hdr.bitness, sizeof(void *) * 8);
}
END_TEST

START_TEST(any_header_mismatch_is_eversion)
{
    shared__header saved = R->hdr;
#define MISMATCH(field, value)                                                 \
  do {                                                                         \
    R->hdr.field = (value);                                                    \
    ck_assert_msg(shared__region_check(R) == SHARED_EVERSION, #field);         \
    R->hdr.field = saved.field;                                                \
    ck_assert_code(shared__region_check(R), SHARED_OK);                        \
  } while (0)
    MISMATCH(magic, saved.magic ^ 1u);
    MISMATCH(layout_version, saved.layout_version + 1u);
    MISMATCH(header_size, saved.header_size + 8u);
    MISMATCH(region_size, saved.region_size - 1u);
    MISMATCH(bitness, saved.bitness == 32u ? 64u : 32u); /* the other one */
    MISMATCH(max_keys, saved.max_keys + 1u);
    MISMATCH(value_max, saved.value_max * 2u);
    MISMATCH(journal_max, saved.journal_max + 1u);
    MISMATCH(build_id, saved.build_id + 1u);
#undef MISMATCH
}
END_TEST

/* A named instance is shared across bitness and compilers: its check
 * ignores bitness and build id, and compares the layout id instead. */
START_TEST(named_header_check_compares_the_layout_id)
{
    shared__header saved = R->hdr;
    ck_assert_uint_eq(R->hdr.layout_id, SHARED_LAYOUT_ID);
    ck_assert_code(shared__region_check_named(R), SHARED_OK);
    R->hdr.bitness = saved.bitness == 32u ? 64u : 32u;
    R->hdr.build_id = saved.build_id + 1u;
    ck_assert_code(shared__region_check_named(R), SHARED_OK);
    ck_assert_code(shared__region_check(R), SHARED_EVERSION);
    R->hdr = saved;
#define MISMATCH(field, value)                                                 \
  do {                                                                         \
    R->hdr.field = (value);                                                    \
    ck_assert_msg(shared__region_check_named(R) == SHARED_EVERSION, #field);   \
    R->hdr.field = saved.field;                                                \
    ck_assert_code(shared__region_check_named(R), SHARED_OK);                  \
  } while (0)
    MISMATCH(magic, saved.magic ^ 1u);
    MISMATCH(layout_version, saved.layout_version + 1u);
    MISMATCH(header_size, saved.header_size + 8u);
    MISMATCH(region_size, saved.region_size - 1u);
    MISMATCH(max_keys, saved.max_keys + 1u);
    MISMATCH(value_max, saved.value_max * 2u);
    MISMATCH(journal_max, saved.journal_max + 1u);
    MISMATCH(layout_id, saved.layout_id + 1u);
#undef MISMATCH
}
END_TEST

/* ---- crash at every step ---------------------------------------------- */

static jmp_buf g_jmp;
static int g_crash_at, g_crash_seen;

static void crash_hook(int point)
{
    (void)point;
    if (++g_crash_seen == g_crash_at)
        longjmp(g_jmp, 1);
}

/* The observable state: the four keys' values (or "-" when missing). */
typedef struct state {
    char v[4][32];
} state;

static const char *const k_keys[4] = {"k.old", "k.del", "k.n", "k.new"};

static state observe(void)
{
    state s;
    memset(&s, 0, sizeof s);
    for (int i = 0; i < 4; i++) {
        shared__copy c;
        char v[32];
        int rc = shared__read(R, k_keys[i], klen(k_keys[i]), &c, v, sizeof v);
        ck_assert_msg(rc == SHARED_OK || rc == SHARED_ENOTFOUND,
                      "%s unreadable after recovery: %s", k_keys[i],
                      shared_errname(rc));
        if (rc == SHARED_ENOTFOUND) {
            strcpy(s.v[i], "-");
        } else if (c.type == SHARED_TYPE_COUNTER) {
            int64_t n;
            memcpy(&n, v, sizeof n);
            snprintf(s.v[i], sizeof s.v[i], "#%lld", (long long)n);
        } else {
            ck_assert_uint_lt(c.value_len, sizeof s.v[i]);
            memcpy(s.v[i], v, c.value_len);
        }
    }
    return s;
}

static void initial(void)
{
    ck_assert_code(put("k.old", "old value"), SHARED_OK);
    ck_assert_code(put("k.del", "delete me"), SHARED_OK);
    ck_assert_code(add("k.n", 10), SHARED_OK);
}

static void sc_insert(void)
{
    put("k.new", "inserted");
}
static void sc_update(void)
{
    put("k.old", "the new, longer value");
}
static void sc_delete(void)
{
    del("k.del");
}
static void sc_add(void)
{
    add("k.n", 5);
}
static void sc_tx(void)
{
    shared__journal_begin(R, SHARED__J_TX);
    shared__op_put(R, "k.old", 5, "the new, longer value", 21, NULL, NULL);
    shared__op_del(R, "k.del", 5);
    shared__op_add(R, "k.n", 3, 5, NULL);
    shared__op_put(R, "k.new", 5, "inserted", 8, NULL, NULL);
    shared__journal_commit(R);
}

/* Region-wide invariants that recovery must leave behind. */
static void assert_settled(void)
{
    uint32_t used = 0;
    for (uint32_t i = 0; i < SHARED_MAX_KEYS; i++) {
        ck_assert_uint_eq(atomic_load(&R->slot[i].seq) & 1u, 0);
        shared__copy c;
        int rc = shared__read_slot(R, i, 0, &c, NULL, 0);
        ck_assert_msg(rc == SHARED_OK || rc == SHARED_ENOTFOUND, "slot %u: %s",
                      i, shared_errname(rc));
        used += rc == SHARED_OK;
    }
    ck_assert_uint_eq(atomic_load(&R->hdr.keys_used), used);
    ck_assert_uint_eq(atomic_load(&R->hdr.jcount), 0);
    ck_assert_uint_eq(atomic_load(&R->hdr.jkind), SHARED__J_NONE);
    ck_assert_uint_eq(atomic_load(&R->hdr.tx_gen) & 1u, 0);
    ck_assert_uint_eq(atomic_load(&R->hdr.struct_gen) & 1u, 0);
}

/* Runs `sc` once whole, then once per crash point, stopped there; after
 * recovery the state must be all old or all new, never a mix. Returns the
 * number of crash points the change passes. */
static int crash_everywhere(void (*sc)(void))
{
    state before, after;
    core_fresh();
    initial();
    before = observe();
    sc();
    after = observe();
    ck_assert(memcmp(&before, &after, sizeof before) != 0);

    int points = 0;
    for (g_crash_at = 1;; g_crash_at++) {
        core_fresh();
        initial();
        g_crash_seen = 0;
        shared__crash_hook = crash_hook;
        if (setjmp(g_jmp) == 0) {
            sc();
            shared__crash_hook = NULL;
            break; /* ran past the last crash point */
        }
        shared__crash_hook = NULL;
        points++;
        shared__recover(R, 1);
        assert_settled();
        state now = observe();
        ck_assert_msg(memcmp(&now, &before, sizeof now) == 0 ||
                          memcmp(&now, &after, sizeof now) == 0,
                      "crash point %d left a mix: %s %s %s %s", g_crash_at,
                      now.v[0], now.v[1], now.v[2], now.v[3]);
        ck_assert_uint_eq(atomic_load(&R->hdr.recoveries), 1);
    }
    return points;
}

START_TEST(crash_during_insert)
{
    ck_assert_int_ge(crash_everywhere(sc_insert), 4);
}
END_TEST

START_TEST(crash_during_update)
{
    ck_assert_int_ge(crash_everywhere(sc_update), 4);
}
END_TEST

START_TEST(crash_during_delete)
{
    ck_assert_int_ge(crash_everywhere(sc_delete), 2);
}
END_TEST

START_TEST(crash_during_add)
{
    ck_assert_int_ge(crash_everywhere(sc_add), 4);
}
END_TEST

START_TEST(crash_during_transaction)
{
    ck_assert_int_ge(crash_everywhere(sc_tx), 12);
}
END_TEST

START_TEST(torn_slot_is_restored_from_the_journal)
{
    /* Stop half-way through the value of an update: recovery must bring
     * back the old value, not keep the torn one. */
    initial();
    g_crash_seen = 0;
    g_crash_at = 3; /* 10 journaled, 21 seq odd, 20 half the value */
    shared__crash_hook = crash_hook;
    if (setjmp(g_jmp) == 0)
        sc_update();
    shared__crash_hook = NULL;
    ck_assert_uint_eq(atomic_load(&R->slot[0].seq) & 1u, 1);
    shared__copy c;
    char v[16];
    ck_assert_code(shared__read(R, "k.old", 5, &c, v, sizeof v), SHARED__RETRY);
    shared__recover(R, 1);
    ck_assert_code(shared__read(R, "k.old", 5, &c, v, sizeof v), SHARED_OK);
    ck_assert_uint_eq(c.value_len, 9);
    ck_assert_mem_eq(v, "old value", 9);
}
END_TEST

/* ---- lock-free reads ---------------------------------------------------- */

START_TEST(reads_wait_for_an_open_transaction)
{
    shared__copy c;
    initial();
    shared__journal_begin(R, SHARED__J_TX);
    ck_assert_code(shared__read(R, "k.old", 5, &c, NULL, 0), SHARED__RETRY);
    ck_assert_code(shared__read(R, "nothing", 7, &c, NULL, 0), SHARED__RETRY);
    ck_assert_code(shared__read_locked(R, "k.old", 5, &c, NULL, 0), SHARED_OK);
    shared__journal_commit(R);
    ck_assert_code(shared__read(R, "k.old", 5, &c, NULL, 0), SHARED_OK);
}
END_TEST

/* ---- corrupt slots ----------------------------------------------------- */

static uint32_t slot_of(const char *k)
{
    shared__copy c;
    ck_assert_code(shared__read(R, k, klen(k), &c, NULL, 0), SHARED_OK);
    return c.slot;
}

START_TEST(garbage_meta_is_ecorrupt)
{
    shared__copy c;
    initial();
    uint32_t i = slot_of("k.old");
    atomic_store(&R->slot[i].img.meta, 0xdeadbeefcafef00dull);
    ck_assert_code(shared__read(R, "k.old", 5, &c, NULL, 0), SHARED_ECORRUPT);
    ck_assert_code(add("k.old", 1), SHARED_ECORRUPT);
    ck_assert_uint_ge(atomic_load(&R->hdr.corrupt_seen), 2);
    /* Other keys are unaffected. */
    ck_assert_code(shared__read(R, "k.del", 5, &c, NULL, 0), SHARED_OK);
    ck_assert_code(put("k.other", "fine"), SHARED_OK);
    /* The key bytes survived: a put replaces the slot in place, a del
     * frees it (see ops.c). */
    ck_assert_code(put("k.old", "x"), SHARED_OK);
    ck_assert_uint_eq(slot_of("k.old"), i);
    atomic_store(&R->slot[i].img.meta, 0xdeadbeefcafef00dull);
    ck_assert_code(del("k.old"), SHARED_OK);
    ck_assert_code(shared__read(R, "k.old", 5, &c, NULL, 0), SHARED_ENOTFOUND);
    ck_assert_uint_eq(atomic_load(&R->hdr.keys_used), 3);
}
END_TEST

START_TEST(flipped_value_byte_is_ecorrupt)
{
    shared__copy c;
    initial();
    uint32_t i = slot_of("k.old");
    atomic_fetch_xor(&R->slot[i].img.value[0], 0x100u);
    ck_assert_code(shared__read(R, "k.old", 5, &c, NULL, 0), SHARED_ECORRUPT);
}
END_TEST

START_TEST(oversize_length_is_ecorrupt_not_an_overread)
{
    shared__copy c;
    initial();
    uint32_t i = slot_of("k.old");
    uint64_t m = atomic_load(&R->slot[i].img.meta);
    m = (m & 0xffffffffu) | ((uint64_t)UINT32_MAX << 32);
    atomic_store(&R->slot[i].img.meta, m);
    ck_assert_code(shared__read(R, "k.old", 5, &c, NULL, 0), SHARED_ECORRUPT);
}
END_TEST

START_TEST(damaged_hint_is_repaired_without_duplicate)
{
    shared__copy c;
    initial();
    uint32_t i = slot_of("k.old");
    atomic_store(&R->hint[i], 0);
    ck_assert_code(shared__read(R, "k.old", 5, &c, NULL, 0), SHARED_ENOTFOUND);
    ck_assert_code(put("k.old", "again"), SHARED_OK);
    ck_assert_uint_eq(slot_of("k.old"), i);
    ck_assert_uint_eq(atomic_load(&R->hdr.keys_used), 3);
    ck_assert_uint_ge(atomic_load(&R->hdr.corrupt_seen), 1);
}
END_TEST

START_TEST(garbage_journal_count_does_not_crash_recovery)
{
    initial();
    atomic_store(&R->hdr.jcount, 0xffffffffu);
    atomic_store(&R->hdr.jkind, SHARED__J_TX);
    shared__recover(R, 0);
    assert_settled();
    atomic_store(&R->hdr.jcount, 1);
    atomic_store(&R->journal[0].slot, 0x7fffffffu);
    atomic_store(&R->hdr.jkind, SHARED__J_SINGLE);
    shared__recover(R, 0);
    assert_settled();
}
END_TEST

static uint32_t rnd(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

START_TEST(random_damage_never_crashes)
{
    /* Damage anything after the immutable header block, then use the region
     * every way there is: any result is acceptable except a crash, a hang
     * or an unknown code. Run it under ASan/valgrind to catch overreads. */
    uint32_t seed = 0x9e3779b9u;
    unsigned char *bytes = (unsigned char *)R;
    size_t lo = offsetof(shared__header, ready), n = sizeof *R - lo;
    for (int round = 0; round < 300; round++) {
        core_fresh();
        initial();
        put("k.new", "inserted");
        int hits = 1 + (int)(rnd(&seed) % 64);
        for (int h = 0; h < hits; h++)
            bytes[lo + rnd(&seed) % n] = (unsigned char)rnd(&seed);
        if (round % 2)
            shared__recover(R, 0);
        for (int i = 0; i < 4; i++) {
            shared__copy c;
            int rc = shared__read(R, k_keys[i], klen(k_keys[i]), &c, NULL, 0);
            ck_assert(rc == 0 || rc == SHARED_ENOTFOUND ||
                      rc == SHARED_ECORRUPT || rc == SHARED__RETRY);
            rc =
                shared__read_locked(R, k_keys[i], klen(k_keys[i]), &c, NULL, 0);
            ck_assert(rc == 0 || rc == SHARED_ENOTFOUND ||
                      rc == SHARED_ECORRUPT);
            if (rc == 0)
                ck_assert_uint_le(c.value_len, SHARED_VALUE_MAX);
        }
        for (uint32_t i = 0; i < SHARED_MAX_KEYS; i++) {
            shared__copy c;
            (void)shared__read_slot(R, i, 1, &c, NULL, 0);
        }
        int rc = put("k.fuzz", "value");
        ck_assert(rc == 0 || rc == SHARED_EFULL || rc == SHARED_ECORRUPT ||
                  rc == SHARED_ETXFULL);
        rc = add("k.n", 1);
        ck_assert(rc == 0 || rc == SHARED_ECORRUPT || rc == SHARED_ETYPE ||
                  rc == SHARED_EOVERFLOW || rc == SHARED_EFULL ||
                  rc == SHARED_ETXFULL);
        (void)del("k.del");
        shared__recover(R, 0);
        shared__op_reset(R);
        ck_assert_code(put("k.after", "reset repairs"), SHARED_OK);
    }
}
END_TEST

Suite *core_suite(void)
{
    Suite *s = suite_create("core");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, core_setup, core_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, fresh_region_passes_the_header_check);
    tcase_add_test(tc, any_header_mismatch_is_eversion);
    tcase_add_test(tc, named_header_check_compares_the_layout_id);
    tcase_add_test(tc, crash_during_insert);
    tcase_add_test(tc, crash_during_update);
    tcase_add_test(tc, crash_during_delete);
    tcase_add_test(tc, crash_during_add);
    tcase_add_test(tc, crash_during_transaction);
    tcase_add_test(tc, torn_slot_is_restored_from_the_journal);
    tcase_add_test(tc, reads_wait_for_an_open_transaction);
    tcase_add_test(tc, garbage_meta_is_ecorrupt);
    tcase_add_test(tc, flipped_value_byte_is_ecorrupt);
    tcase_add_test(tc, oversize_length_is_ecorrupt_not_an_overread);
    tcase_add_test(tc, damaged_hint_is_repaired_without_duplicate);
    tcase_add_test(tc, garbage_journal_count_does_not_crash_recovery);
    tcase_add_test(tc, random_damage_never_crashes);
    suite_add_tcase(s, tc);
    return s;
}
