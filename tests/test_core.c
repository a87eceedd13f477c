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

/* Changing `field` of the header to `value` makes `check` refuse it
 * (SHARED_EVERSION); restoring it makes `check` accept it again. */
#define MISMATCH(check, field, value)                                          \
  do {                                                                         \
    R->hdr.field = (value);                                                    \
    ck_assert_msg(check(R) == SHARED_EVERSION, #field);                        \
    R->hdr.field = saved.field;                                                \
    ck_assert_code(check(R), SHARED_OK);                                       \
  } while (0)

START_TEST(any_header_mismatch_is_eversion)
{
    shared__header saved = R->hdr;
    MISMATCH(shared__region_check, magic, saved.magic ^ 1u);
    MISMATCH(shared__region_check, layout_version, saved.layout_version + 1u);
    MISMATCH(shared__region_check, header_size, saved.header_size + 8u);
    MISMATCH(shared__region_check, region_size, saved.region_size - 1u);
    MISMATCH(shared__region_check, bitness,
             saved.bitness == 32u ? 64u : 32u); /* the other one */
    MISMATCH(shared__region_check, max_keys, saved.max_keys + 1u);
    MISMATCH(shared__region_check, value_max, saved.value_max * 2u);
    MISMATCH(shared__region_check, journal_max, saved.journal_max + 1u);
    MISMATCH(shared__region_check, build_id, saved.build_id + 1u);
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
    MISMATCH(shared__region_check_named, magic, saved.magic ^ 1u);
    MISMATCH(shared__region_check_named, layout_version,
             saved.layout_version + 1u);
    MISMATCH(shared__region_check_named, header_size, saved.header_size + 8u);
    MISMATCH(shared__region_check_named, region_size, saved.region_size - 1u);
    MISMATCH(shared__region_check_named, max_keys, saved.max_keys + 1u);
    MISMATCH(shared__region_check_named, value_max, saved.value_max * 2u);
    MISMATCH(shared__region_check_named, journal_max, saved.journal_max + 1u);
    MISMATCH(shared__region_check_named, layout_id, saved.layout_id + 1u);
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

/* ---- the hint index ------------------------------------------------ */

/* The index position a hint's probe starts at (as region.c places it). */
static uint32_t home_of(const char *k)
{
    uint64_t h = shared__key_hint(k, klen(k));
    return (uint32_t)((h * SHARED__INDEX_SIZE) >> 32);
}

/* Reads key k lock-free and under the lock: both give code `want`, and a
 * found key has the value v. */
static void expect_key(const char *k, int want, const char *v)
{
    char buf[64];
    shared__copy c;
    ck_assert_msg(shared__read(R, k, klen(k), &c, buf, sizeof buf) == want,
                  "%s: lock-free read", k);
    ck_assert_msg(shared__read_locked(R, k, klen(k), &c, buf, sizeof buf) ==
                      want,
                  "%s: locked read", k);
    if (want == 0) {
        ck_assert_uint_eq(c.value_len, klen(v));
        ck_assert_mem_eq(buf, v, klen(v));
        ck_assert_uint_eq(c.key_len, klen(k));
        ck_assert_mem_eq(c.key, k, klen(k));
    }
}

/* Every entry of the index names a used slot carrying its hint, once, and
 * every used slot is reachable from its home before an empty entry. */
static void assert_index_exact(void)
{
    uint32_t entries = 0, used = 0;
    for (uint32_t e = 0; e < SHARED__INDEX_SIZE; e++) {
        uint64_t v = atomic_load(&R->index[e]);
        if (v == 0)
            continue;
        entries++;
        ck_assert_uint_lt((uint32_t)v, SHARED_MAX_KEYS);
        ck_assert_uint_eq(atomic_load(&R->hint[(uint32_t)v]), v >> 32);
    }
    for (uint32_t i = 0; i < SHARED_MAX_KEYS; i++) {
        uint32_t h = atomic_load(&R->hint[i]);
        if (h == 0)
            continue;
        used++;
        uint32_t e = (uint32_t)(((uint64_t)h * SHARED__INDEX_SIZE) >> 32);
        uint32_t p = 0;
        for (; p < SHARED__INDEX_SIZE; p++, e = (e + 1) % SHARED__INDEX_SIZE) {
            uint64_t v = atomic_load(&R->index[e]);
            ck_assert_msg(v != 0, "slot %u unreachable", i);
            if (v == ((uint64_t)h << 32 | i))
                break;
        }
        ck_assert_uint_lt(p, SHARED__INDEX_SIZE);
    }
    ck_assert_uint_eq(entries, used);
}

START_TEST(index_keeps_colliding_keys_through_delete_and_reinsert)
{
    /* Three keys with one home position: one probe chain. */
    char keys[3][16];
    uint32_t found = 0, home = 0;
    for (uint32_t n = 0; found < 3 && n < 1000000u; n++) {
        char k[16];
        snprintf(k, sizeof k, "c.%u", n);
        if (found == 0)
            home = home_of(k);
        if (home_of(k) == home)
            memcpy(keys[found++], k, sizeof k);
    }
    ck_assert_uint_eq(found, 3);
    for (int i = 0; i < 3; i++)
        ck_assert_code(put(keys[i], keys[i]), SHARED_OK);
    assert_index_exact();
    /* The middle of the chain goes: the last stays reachable. */
    ck_assert_code(del(keys[1]), SHARED_OK);
    assert_index_exact();
    expect_key(keys[0], 0, keys[0]);
    expect_key(keys[1], SHARED_ENOTFOUND, NULL);
    expect_key(keys[2], 0, keys[2]);
    ck_assert_code(put(keys[1], "again"), SHARED_OK);
    expect_key(keys[1], 0, "again");
    ck_assert_code(del(keys[0]), SHARED_OK);
    ck_assert_code(del(keys[2]), SHARED_OK);
    expect_key(keys[1], 0, "again");
    assert_index_exact();
    ck_assert_code(del(keys[1]), SHARED_OK);
    for (uint32_t e = 0; e < SHARED__INDEX_SIZE; e++)
        ck_assert_uint_eq(atomic_load(&R->index[e]), 0);
}
END_TEST

/*
 * Two keys with the same hint (c.24377, c.66249: a 31-bit hint collides
 * once in ~50000 keys) are two healthy keys: writing or deleting the one
 * while the other exists counts no corruption and changes no struct_gen
 * beyond the write's own (lock-free readers would retry for nothing).
 */
START_TEST(keys_sharing_a_hint_are_not_counted_corrupt)
{
    const char *a = "c.24377", *b = "c.66249";
    ck_assert_uint_eq(shared__key_hint(a, klen(a)),
                      shared__key_hint(b, klen(b)));
    ck_assert_code(put(a, "one"), SHARED_OK);
    uint64_t g = atomic_load(&R->hdr.struct_gen);
    ck_assert_code(put(b, "two"), SHARED_OK);
    ck_assert_uint_eq(atomic_load(&R->hdr.corrupt_seen), 0);
    ck_assert_uint_eq(atomic_load(&R->hdr.struct_gen), g + 2u);
    ck_assert_code(del(a), SHARED_OK);
    ck_assert_code(del(a), SHARED_ENOTFOUND); /* looked for, missing */
    ck_assert_code(put(a, "three"), SHARED_OK);
    ck_assert_uint_eq(atomic_load(&R->hdr.corrupt_seen), 0);
    expect_key(a, 0, "three");
    expect_key(b, 0, "two");
    assert_index_exact();
}
END_TEST

START_TEST(index_fills_the_table_and_churns)
{
    char k[16];
    for (uint32_t i = 0; i < SHARED_MAX_KEYS; i++) {
        snprintf(k, sizeof k, "f.%u", i);
        ck_assert_code(put(k, k), SHARED_OK);
    }
    ck_assert_code(put("f.one.more", "x"), SHARED_EFULL);
    assert_index_exact();
    /* Churn: delete every third key, insert others, reinsert. */
    for (int round = 0; round < 3; round++) {
        for (uint32_t i = (uint32_t)round; i < SHARED_MAX_KEYS; i += 3) {
            snprintf(k, sizeof k, "f.%u", i);
            ck_assert_code(del(k), SHARED_OK);
            expect_key(k, SHARED_ENOTFOUND, NULL);
        }
        assert_index_exact();
        for (uint32_t i = 0; i < SHARED_MAX_KEYS; i++) {
            snprintf(k, sizeof k, "f.%u", i);
            expect_key(k, (i % 3) == (uint32_t)round ? SHARED_ENOTFOUND : 0, k);
        }
        for (uint32_t i = (uint32_t)round; i < SHARED_MAX_KEYS; i += 3) {
            snprintf(k, sizeof k, "f.%u", i);
            ck_assert_code(put(k, k), SHARED_OK);
        }
        assert_index_exact();
    }
    for (uint32_t i = 0; i < SHARED_MAX_KEYS; i++) {
        snprintf(k, sizeof k, "f.%u", i);
        expect_key(k, 0, k);
    }
    ck_assert_uint_eq(atomic_load(&R->hdr.keys_used), SHARED_MAX_KEYS);
}
END_TEST

/* A slot holding key k, counted over the whole table. */
static uint32_t copies_of(const char *k)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < SHARED_MAX_KEYS; i++) {
        shared__copy c;
        if (shared__read_slot(R, i, 1, &c, NULL, 0) == 0 &&
            c.key_len == klen(k) && memcmp(c.key, k, klen(k)) == 0)
            n++;
    }
    return n;
}

START_TEST(scribbled_index_hides_keys_at_worst_and_recovery_rebuilds_it)
{
    char k[16];
    uint32_t seed = 0x2545f491u, n = SHARED_MAX_KEYS / 2;
    for (int round = 0; round < 40; round++) {
        core_fresh();
        for (uint32_t i = 0; i < n; i++) {
            snprintf(k, sizeof k, "s.%u", i);
            ck_assert_code(put(k, k), SHARED_OK);
        }
        /* Garbage: random words, entries naming the wrong slot with a
         * real key's hint, or (every fourth round) no empty entry at all. */
        for (uint32_t e = 0; e < SHARED__INDEX_SIZE; e++) {
            uint32_t x = rnd(&seed), y = rnd(&seed) % SHARED_MAX_KEYS;
            uint64_t v = atomic_load(&R->index[e]);
            if (round % 4 == 3)
                v = ((uint64_t)x << 32 | y) | 1u << 31;
            else if (x % 5 == 0)
                v = (uint64_t)atomic_load(&R->hint[y]) << 32 | (x % 7);
            else if (x % 5 == 1)
                v = (uint64_t)x << 32 | rnd(&seed);
            else if (x % 5 == 2)
                v = 0;
            atomic_store(&R->index[e], v);
        }
        for (uint32_t i = 0; i < n; i++) {
            char buf[16];
            shared__copy c;
            snprintf(k, sizeof k, "s.%u", i);
            int rc = shared__read(R, k, klen(k), &c, buf, sizeof buf);
            ck_assert_msg(rc == 0 || rc == SHARED_ENOTFOUND, "%s: %s", k,
                          shared_errname(rc));
            if (rc == 0) /* found means the right key and value */
                ck_assert_mem_eq(buf, k, klen(k));
        }
        /* A write never makes a second copy of a key it could not find. */
        ck_assert_code(put("s.0", "s.0"), SHARED_OK);
        ck_assert_uint_eq(copies_of("s.0"), 1);
        ck_assert_code(add("s.n", 1), SHARED_OK);
        ck_assert_uint_eq(atomic_load(&R->hdr.keys_used), n + 1);
        shared__recover(R, 0);
        assert_index_exact();
        for (uint32_t i = 0; i < n; i++) {
            snprintf(k, sizeof k, "s.%u", i);
            expect_key(k, 0, k);
        }
    }
}
END_TEST

START_TEST(rollback_restores_slots_counters_and_index)
{
    initial();
    state before = observe();
    uint32_t keys = atomic_load(&R->hdr.keys_used);
    uint64_t bytes = atomic_load(&R->hdr.bytes_used);
    shared__journal_begin(R, SHARED__J_TX);
    shared__op_put(R, "k.old", 5, "the new, longer value", 21, NULL, NULL);
    shared__op_del(R, "k.del", 5);
    shared__op_add(R, "k.n", 3, 5, NULL);
    shared__op_put(R, "k.new", 5, "inserted", 8, NULL, NULL);
    shared__op_put(R, "k.new2", 6, "also", 4, NULL, NULL);
    shared__op_del(R, "k.new2", 6);
    shared__journal_rollback(R);
    state now = observe();
    ck_assert_mem_eq(&now, &before, sizeof now);
    ck_assert_uint_eq(atomic_load(&R->hdr.keys_used), keys);
    ck_assert_uint_eq(atomic_load(&R->hdr.bytes_used), bytes);
    assert_settled();
    assert_index_exact();
    expect_key("k.new", SHARED_ENOTFOUND, NULL);
    expect_key("k.new2", SHARED_ENOTFOUND, NULL);
    expect_key("k.del", 0, "delete me");
}
END_TEST

/*
 * The checksum and the key hint are stored in the region, so every build
 * sharing it (i686 and x86_64; GCC, clang, MSVC) must compute them alike:
 * fixed values, the same in every build that runs this test (computed
 * independently from the definitions in slot.c).
 */
START_TEST(checksum_and_hint_are_the_same_in_every_build)
{
    static const unsigned char value[37] =
        "0123456789abcdefghijklmnopqrstuvwxyz";
    shared__copy c;
    memset(&c, 0, sizeof c);
    memcpy(c.key, "golden.key", 10);
    c.key_len = 10;
    c.type = SHARED_TYPE_BYTES;
    c.value_len = sizeof value;
    c.version = 0x0123456789abcdefull;
    shared__slot_write(R, 3, &c, value);
    ck_assert_uint_eq(atomic_load(&R->slot[3].img.check),
                      0x16c78e998186feb3ull);
    ck_assert_uint_eq(shared__key_hint("golden.key", 10), 0x573e1073u);
    ck_assert_uint_eq(shared__key_hint("k", 1), 0xc4a3e885u);
    char k64[SHARED_KEY_MAX + 1];
    memset(k64, 'z', SHARED_KEY_MAX);
    k64[SHARED_KEY_MAX] = '\0';
    ck_assert_uint_eq(shared__key_hint(k64, SHARED_KEY_MAX), 0xd4e3019du);
}
END_TEST

/* The bulk hint scan finds what a plain scan finds. */
START_TEST(hint_scan_matches_a_plain_scan)
{
    uint32_t seed = 77u;
    for (int round = 0; round < 200; round++) {
        uint32_t a = rnd(&seed) % 4u, b = round % 3 ? a : rnd(&seed) % 4u;
        for (uint32_t i = 0; i < SHARED_MAX_KEYS; i++)
            atomic_store(&R->hint[i], rnd(&seed) % (round % 7 ? 64u : 5u));
        uint32_t from = rnd(&seed) % (SHARED_MAX_KEYS + 1u);
        uint32_t want = from;
        while (want < SHARED_MAX_KEYS && atomic_load(&R->hint[want]) != a &&
               atomic_load(&R->hint[want]) != b)
            want++;
        ck_assert_uint_eq(shared__hint_scan(R, from, a, b), want);
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
    tcase_add_test(tc, index_keeps_colliding_keys_through_delete_and_reinsert);
    tcase_add_test(tc, keys_sharing_a_hint_are_not_counted_corrupt);
    tcase_add_test(tc, index_fills_the_table_and_churns);
    tcase_add_test(tc, rollback_restores_slots_counters_and_index);
    tcase_add_test(tc, checksum_and_hint_are_the_same_in_every_build);
    tcase_add_test(tc, hint_scan_matches_a_plain_scan);
    tcase_add_test(
        tc, scribbled_index_hides_keys_at_worst_and_recovery_rebuilds_it);
    suite_add_tcase(s, tc);
    return s;
}
