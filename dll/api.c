/*
 * api.c - the exported functions: argument checks, then the lock (or the
 * calling thread's transaction), then the core. OS specifics stay behind
 * backend.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

#if defined(_MSC_VER)
#  include <intrin.h>
#elif defined(__x86_64__) || defined(__i386__)
#  include <x86intrin.h>
#endif

/* The calling thread holds the lock in a transaction (shared_lock). */
static SHARED__TLS int tls_tx;
/* The transaction changed something: publish it on commit, to the wake
 * buckets of the keys it changed. */
static SHARED__TLS int tls_dirty;
static SHARED__TLS shared__wakeset tls_wake;
static SHARED__TLS uint32_t tls_os_error;
/* A read-only visit: its deadline, and SHARED_ETIMEDOUT once passed. */
static SHARED__TLS uint64_t tls_ro_deadline;
static SHARED__TLS int tls_ro_rc;
static _Atomic uint32_t g_timeout = SHARED_DEFAULT_TIMEOUT_MS;

void shared__set_os_error(uint32_t code)
{
    tls_os_error = code;
}

uint32_t shared_last_os_error(void)
{
    return tls_os_error;
}

/* The version string, built at compile time from the configured version and
 * SHARED_BUILD_ID (a variant's own id when it overrides the macro): char
 * arrays only, so the struct is one contiguous string. */
#define VERSION_HEAD SHARED_VERSION_STRING " (build "
#define HEX(n) /* hex digit n (0 = lowest) of the build id */                  \
  ((char)(((SHARED_BUILD_ID >> (4 * (n))) & 15u) < 10u                         \
              ? '0' + ((SHARED_BUILD_ID >> (4 * (n))) & 15u)                   \
              : 'a' + ((SHARED_BUILD_ID >> (4 * (n))) & 15u) - 10u))
static const struct {
    char head[sizeof VERSION_HEAD - 1];
    char id[16];
    char tail[2];
} k_version = {
    VERSION_HEAD,
    {HEX(15), HEX(14), HEX(13), HEX(12), HEX(11), HEX(10), HEX(9), HEX(8),
     HEX(7), HEX(6), HEX(5), HEX(4), HEX(3), HEX(2), HEX(1), HEX(0)},
    ")",
};
_Static_assert(sizeof k_version == sizeof VERSION_HEAD - 1 + 16 + 2,
               "the version string must have no padding");

const char *shared_version(void)
{
    return (const char *)&k_version;
}

uint32_t shared__timeout(void)
{
    return atomic_load(&g_timeout);
}

uint32_t shared_set_timeout(uint32_t timeout_ms)
{
    return atomic_exchange(&g_timeout, timeout_ms);
}

/*
 * The home (backend.h): chosen by shared_open, or at the first attach from
 * SHARED_INSTANCE / SHARED_INSTANCE_FLAGS, or the default. g_home_state
 * says how far: HOME_NONE (nothing chosen yet), HOME_OPENING (shared_open
 * is attaching; other threads wait for it), HOME_FIXED (chosen for good).
 * g_home_guard serialises the choice (a spin flag: held for a few
 * instructions, never across an attach).
 */
#define HOME_NONE 0
#define HOME_OPENING 1
#define HOME_FIXED 2
static shared__home g_home;
static _Atomic int g_home_state;
static atomic_flag g_home_guard = ATOMIC_FLAG_INIT;

static void guard_take(void)
{
    while (
        atomic_flag_test_and_set_explicit(&g_home_guard, memory_order_acquire))
        ;
}

static void guard_give(void)
{
    atomic_flag_clear_explicit(&g_home_guard, memory_order_release);
}

const shared__home *shared__home_get(void)
{
    return &g_home;
}

int shared__readonly(void)
{
    return atomic_load(&g_home_state) != HOME_NONE &&
           (g_home.flags & SHARED_OPEN_READONLY) != 0;
}

#define OPEN_FLAGS                                                             \
  (SHARED_OPEN_PUBLISHED | SHARED_OPEN_READONLY | SHARED_OPEN_GLOBAL |         \
   SHARED_OPEN_FILE)

/* Checks a name (or, with SHARED_OPEN_FILE, a path) and flags: 0 or
 * SHARED_EINVAL. */
static int home_check(const char *name, uint32_t flags)
{
    static const char ok[] = "abcdefghijklmnopqrstuvwxyz"
                             "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";
    if ((flags & ~OPEN_FLAGS) != 0 ||
        (flags & (SHARED_OPEN_PUBLISHED | SHARED_OPEN_READONLY)) ==
            (SHARED_OPEN_PUBLISHED | SHARED_OPEN_READONLY))
        return SHARED_EINVAL;
    size_t n = 0,
           max = flags & SHARED_OPEN_FILE ? SHARED_PATH_MAX : SHARED_NAME_MAX;
    while (n <= max && name[n] != '\0')
        n++;
    if (n == 0 || n > max)
        return SHARED_EINVAL;
    if (flags & SHARED_OPEN_FILE)
        return 0;
    if (name[0] == '.' || strspn(name, ok) != n)
        return SHARED_EINVAL;
    return 0;
}

/* SHARED_INSTANCE_FLAGS: comma-separated flag words; 0 or SHARED_EINVAL. */
static int env_flags(const char *text, uint32_t *flags)
{
    static const struct {
        const char *word;
        uint32_t flag;
    } words[] = {{"published", SHARED_OPEN_PUBLISHED},
                 {"readonly", SHARED_OPEN_READONLY},
                 {"global", SHARED_OPEN_GLOBAL},
                 {"file", SHARED_OPEN_FILE}};
    *flags = 0;
    while (text && *text) {
        size_t n = strcspn(text, ","), i;
        for (i = 0; i < sizeof words / sizeof words[0]; i++)
            if (strlen(words[i].word) == n &&
                strncmp(text, words[i].word, n) == 0)
                break;
        if (n > 0 && i == sizeof words / sizeof words[0])
            return SHARED_EINVAL;
        if (n > 0)
            *flags |= words[i].flag;
        text += n + (text[n] == ',');
    }
    return 0;
}

/* Fixes the home before the first attach (unless shared_open chose it):
 * from the environment, or the default. SHARED_EINVAL for a bad
 * SHARED_INSTANCE or SHARED_INSTANCE_FLAGS (nothing fixed then). */
static int home_fix(void)
{
    int rc = 0;
    while (atomic_load(&g_home_state) != HOME_FIXED) {
        guard_take();
        int state = atomic_load(&g_home_state);
        if (state == HOME_NONE) {
            const char *inst = getenv("SHARED_INSTANCE");
            uint32_t flags = 0;
            memset(&g_home, 0, sizeof g_home);
            rc = env_flags(getenv("SHARED_INSTANCE_FLAGS"), &flags);
            if (rc == 0 && flags && !(inst && *inst))
                rc = SHARED_EINVAL; /* flags, but no instance to apply to */
            if (rc == 0 && inst && *inst) {
                rc = home_check(inst, flags);
                if (rc == 0) {
                    g_home.named = 1;
                    g_home.flags = flags;
                    memcpy(g_home.name, inst, strlen(inst) + 1);
                }
            }
            if (rc == 0) {
                atomic_store(&shared__core_readonly,
                             (flags & SHARED_OPEN_READONLY) != 0);
                atomic_store(&g_home_state, HOME_FIXED);
            }
        }
        guard_give();
        if (rc)
            return rc;
        if (state == HOME_OPENING)
            shared__backend_sleep_ms(1); /* shared_open is attaching */
    }
    return 0;
}

/* Attaches to the home (fixing it first): what every call does before it
 * reaches the state. */
static int attach(shared__region **r)
{
    int rc = home_fix();
    return rc ? rc : shared__backend_attach(r);
}

/* attach() for a call that writes: SHARED_EACCESS in a read-only home. */
static int attach_rw(shared__region **r)
{
    int rc = attach(r);
    return rc == 0 && shared__readonly() ? SHARED_EACCESS : rc;
}

int shared__attach(shared__region **r)
{
    return attach(r);
}

int shared__attach_rw(shared__region **r)
{
    return attach_rw(r);
}

int shared_open(const char *name, uint32_t flags)
{
    shared__region *r;
    if (!name)
        return SHARED_ENULL;
    int rc = home_check(name, flags);
    if (rc)
        return rc;
    guard_take();
    while (atomic_load(&g_home_state) == HOME_OPENING) {
        guard_give(); /* another thread's open is attaching: its outcome */
        shared__backend_sleep_ms(1);
        guard_take();
    }
    if (atomic_load(&g_home_state) == HOME_FIXED) {
        /* Chosen already: the same open again is fine, and attaches if the
         * first attach failed (SHARED_INSTANCE chose it), so that its
         * error shows here as well. */
        rc = g_home.named && g_home.flags == flags &&
                     strcmp(g_home.name, name) == 0
                 ? 0
                 : SHARED_EATTACHED;
        guard_give();
        return rc ? rc : shared__backend_attach(&r);
    }
    g_home.named = 1;
    g_home.flags = flags;
    memcpy(g_home.name, name, strlen(name) + 1);
    atomic_store(&shared__core_readonly, (flags & SHARED_OPEN_READONLY) != 0);
    atomic_store(&g_home_state, HOME_OPENING);
    guard_give();
    /* Other threads reaching the state see HOME_OPENING and wait: the
     * attach runs without the guard (it may wait up to the timeout). */
    rc = shared__backend_attach(&r);
    if (rc == 0) {
        atomic_store(&g_home_state, HOME_FIXED);
    } else {
        guard_take();
        memset(&g_home, 0, sizeof g_home);
        atomic_store(&shared__core_readonly, 0);
        atomic_store(&g_home_state, HOME_NONE);
        guard_give();
    }
    return rc;
}

/* This process's entry in the peer registry (UINT32_MAX: none). */
static _Atomic uint32_t g_self_peer = UINT32_MAX;

void shared__set_self_peer(uint32_t idx)
{
    atomic_store(&g_self_peer, idx);
}

uint32_t shared__self_peer(void)
{
    return atomic_load(&g_self_peer);
}

/* What this process registered with (shared__join): to register again. */
static char g_exe[64];
static _Atomic uint64_t g_self_start;
/* The pid it registered with: no getpid (a system call) per lock. A forked
 * child has no entry (shared__set_self_peer(UINT32_MAX) after fork) until it
 * joins with its own pid. */
static _Atomic uint32_t g_self_pid;

uint64_t shared__self_start(void)
{
    return atomic_load(&g_self_start);
}

/*
 * (locked) Keeps this process registered as it registered at attach. The
 * registry is untrusted: a hostile write can unregister a live process, and
 * the next process to attach would then find no live peer and wipe the
 * state (POSIX) or reap entries still in use. Checked at every lock
 * acquisition: cheap (a few loads), and it mends the entry at the latest with
 * this process's next change. Nothing before the first join.
 */
static void keep_registered(shared__region *r)
{
    uint32_t me = shared__self_peer(), pid = atomic_load(&g_self_pid), idx;
    uint64_t start = atomic_load(&g_self_start);
    if (me == UINT32_MAX || start == 0 || pid == 0)
        return;
    if (me < SHARED_MAX_PEERS &&
        atomic_load(&r->peer[me].owner) == shared__owner_word(pid)) {
        if (atomic_load(&r->peer[me].start_time) == start)
            return;
        atomic_store(&r->peer[me].start_time, start);
    } else if (shared__peer_join(r, pid, start, g_exe,
                                 shared__backend_unix_ms(), &idx) == 0) {
        shared__set_self_peer(idx);
    } else {
        /* Registry full: stay unregistered (and count it once). */
        shared__set_self_peer(UINT32_MAX);
    }
    shared__count_corrupt(r);
}

/*
 * Whether this process's active_ms is due for a refresh: the clock is read
 * for it at most about once a millisecond, not at every lock. On x86 the
 * time-stamp counter tells (one instruction; 2^21 ticks are under 1 ms
 * from 2.1 GHz, ~21 ms at 100 MHz); a counter running backwards (another
 * core, a migrated VM) counts as due. Elsewhere: always.
 */
#if defined(__x86_64__) || defined(__i386__) || defined(_M_X64) ||             \
    defined(_M_IX86)
static _Atomic uint64_t g_active_tsc;
static int active_due(void)
{
    uint64_t now = (uint64_t)__rdtsc();
    uint64_t last = atomic_load_explicit(&g_active_tsc, memory_order_relaxed);
    if (now - last < (1u << 21) && now >= last)
        return 0;
    atomic_store_explicit(&g_active_tsc, now, memory_order_relaxed);
    return 1;
}
#else
static int active_due(void)
{
    return 1;
}
#endif

/*
 * (locked) Adds 1 to a word only lock holders write: a plain load and a
 * release store, not a locked read-modify-write, which costs tens of
 * nanoseconds here and more when the line was last written by another
 * core (every change bumps four such words). Only where the exclusion is
 * already broken (shared_repair's SHARED_REPAIR_BREAK_LOCK while a live
 * process holds the lock) can two bumps meet and one be lost: a count off
 * by one, or a wake word that a read-only poller sees move only at the
 * next change (a sleeping waiter is still woken by the wake call).
 */
#define BUMP(w)                                                                \
  atomic_store_explicit((w),                                                   \
                        atomic_load_explicit((w), memory_order_relaxed) + 1u,  \
                        memory_order_release)

/*
 * The lock was just taken, with `taken` the backend's result (0 or
 * SHARED__OWNER_DIED). Here, and only here, a lock taken over from a dead
 * holder, a journal a holder left open, or a repair (`force`) goes through
 * the one recovery path; then the acquisition is counted and this process's
 * registration kept.
 */
static void locked(shared__region *r, int taken, int force)
{
    int died = taken == SHARED__OWNER_DIED;
    if (force || died || atomic_load(&r->hdr.jcount) != 0 ||
        atomic_load(&r->hdr.jkind) != SHARED__J_NONE ||
        (atomic_load(&r->hdr.tx_gen) & 1u)) {
        shared__recover(r, died);
        if (died)
            shared__backend_consistent();
        /* Recovery may have completed a dead writer's change, which no
         * one published: every waiter looks again (rare, so all of them,
         * woken now rather than at the unlock, which has many paths). */
        shared__notify(r, NULL);
        shared__backend_wake(r, NULL);
    }
    BUMP(&r->hdr.lock_acquisitions);
    keep_registered(r);
    uint32_t me = shared__self_peer();
    if (me < SHARED_MAX_PEERS && active_due())
        atomic_store_explicit(&r->peer[me].active_ms, shared__backend_unix_ms(),
                              memory_order_relaxed);
}

/* Takes the lock (see locked()). */
int shared__acquire(shared__region *r, uint32_t timeout_ms)
{
    int rc = shared__backend_lock(timeout_ms);
    if (rc == SHARED_ETIMEDOUT)
        atomic_fetch_add(&r->hdr.lock_timeouts, 1);
    if (rc < 0)
        return rc;
    locked(r, rc, 0);
    return 0;
}

int shared__in_tx(void)
{
    return tls_tx;
}

/* (locked) Publishes a committed change: counted for shared_wait(NULL),
 * and waiters are woken by wake() once the lock is released. The words are
 * bumped with plain stores (only lock holders write them); the fence then
 * orders them before the waiter counts the wake-up reads: a waiter counts
 * itself (a seq_cst read-modify-write) before it reads its word, so either
 * it reads the new word or the wake-up sees it counted. */
void shared__notify(shared__region *r, const shared__wakeset *set)
{
    BUMP(&r->hdr.changes);
    for (uint32_t word = 0; word < SHARED__WAKESET_WORDS; word++) {
        uint64_t bits = set ? set->bits[word] : ~(uint64_t)0;
        for (; bits; bits &= bits - 1u) { /* each set bit, lowest first */
            uint32_t b = word * 64u + shared__lowest_bit(bits);
            if (b < SHARED__WAKE_ANY)
                BUMP(&r->wake[b].seq);
        }
    }
    BUMP(&r->wake[SHARED__WAKE_ANY].seq);
    atomic_thread_fence(memory_order_seq_cst);
}

int shared__join(shared__region *r, const char *exe, int wipe_if_alone,
                 int *wiped)
{
    uint32_t idx, pid = shared__backend_pid();
    int rc = shared__acquire(r, shared__timeout());
    if (rc)
        return rc;
    if (atomic_load(&r->hdr.closed)) {
        shared__backend_unlock();
        return SHARED__RETRY; /* its last peer is removing it */
    }
    uint32_t others = shared__peer_reap(r, shared__backend_alive, pid);
    *wiped = 0;
    if (wipe_if_alone && others == 0) {
        shared__op_reset(r);
        atomic_store(&r->hdr.creator_pid, pid);
        shared__notify(r, NULL);
        *wiped = 1;
    }
    uint64_t start = shared__backend_start_time();
    rc = shared__peer_join(r, pid, start, exe, shared__backend_unix_ms(), &idx);
    if (rc == 0) {
        snprintf(g_exe, sizeof g_exe, "%s", exe);
        atomic_store(&g_self_start, start);
        atomic_store(&g_self_pid, pid);
        shared__set_self_peer(idx);
    }
    shared__backend_unlock();
    return rc;
}

/* Checks the key, then enters a change: under the thread's transaction, or
 * a single journaled change under a freshly taken lock. */
static int change_begin(const char *key, uint32_t *klen, shared__region **r)
{
    int rc = shared__key_check(key, klen);
    if (rc == 0)
        rc = attach_rw(r);
    if (rc || tls_tx)
        return rc;
    rc = shared__acquire(*r, shared__timeout());
    if (rc == 0)
        shared__journal_begin(*r, SHARED__J_SINGLE);
    return rc;
}

/* Ends a change of `key`: publishes it to the key's waiters (in a
 * transaction: at commit). */
static int change_end(shared__region *r, int rc, const char *key, uint32_t klen)
{
    shared__wakeset set = {{0}};
    if (tls_tx) {
        if (rc == 0)
            shared__wakeset_add(&tls_wake, key, klen, SHARED__WAKE_KEY);
        tls_dirty |= rc == 0;
        return rc;
    }
    shared__journal_commit(r);
    if (rc == 0) {
        shared__wakeset_add(&set, key, klen, SHARED__WAKE_KEY);
        shared__notify(r, &set);
    }
    shared__backend_unlock();
    shared__backend_test_stop("wake"); /* published, nobody woken yet */
    if (rc == 0)
        shared__backend_wake(r, &set);
    return rc;
}

static int value_check(const void *value, uint32_t len)
{
    if (!value && len)
        return SHARED_ENULL;
    if (len > SHARED_VALUE_MAX)
        return SHARED_EVALTOOLONG;
    return 0;
}

static int put(const char *key, const void *value, uint32_t len,
               const uint64_t *expected, uint64_t *version)
{
    uint32_t klen = 0;
    shared__region *r;
    int rc = value_check(value, len);
    if (rc == 0)
        rc = change_begin(key, &klen, &r);
    if (rc)
        return rc;
    rc = shared__op_put(r, key, klen, value, len, expected, version);
    return change_end(r, rc, key, klen);
}

int shared_set(const char *key, const void *value, uint32_t len)
{
    return put(key, value, len, NULL, NULL);
}

int shared_cas(const char *key, uint64_t expected_version, const void *value,
               uint32_t len, uint64_t *new_version)
{
    return put(key, value, len, &expected_version, new_version);
}

int shared_add(const char *key, int64_t delta, int64_t *result)
{
    uint32_t klen = 0;
    shared__region *r;
    int rc = change_begin(key, &klen, &r);
    if (rc)
        return rc;
    rc = shared__op_add(r, key, klen, delta, result);
    return change_end(r, rc, key, klen);
}

int shared_del(const char *key)
{
    uint32_t klen = 0;
    shared__region *r;
    int rc = change_begin(key, &klen, &r);
    if (rc)
        return rc;
    rc = shared__op_del(r, key, klen);
    return change_end(r, rc, key, klen);
}

/*
 * Read-only processes never lock: where a writer would take the lock to
 * read (a transaction open, a key changing under every lock-free attempt),
 * they sleep and try again, 1 ms at first, doubling up to RO_BACKOFF_MAX_MS,
 * until `deadline` (monotonic ms), then SHARED_ETIMEDOUT. *ms is the next
 * sleep (start at 0).
 */
#define RO_BACKOFF_MAX_MS 16u

int shared__ro_backoff(uint32_t *ms, uint64_t deadline)
{
    uint64_t now = shared__backend_ticks_ms();
    if (now >= deadline)
        return SHARED_ETIMEDOUT;
    *ms = *ms == 0 ? 1 : *ms < RO_BACKOFF_MAX_MS ? *ms * 2 : *ms;
    uint64_t nap = deadline - now < *ms ? deadline - now : *ms;
    shared__backend_sleep_ms((uint32_t)nap);
    return 0;
}

/* Reads `key` (its value into buf when it fits cap) lock-free, or under
 * the lock (waiting at most lock_ms) when that is not possible; read-only,
 * by polling for at most lock_ms (see shared__ro_backoff). */
int shared__read_key(shared__region *r, const char *key, uint32_t klen,
                     shared__copy *c, void *buf, uint32_t cap, uint32_t lock_ms)
{
    if (tls_tx)
        return shared__read_locked(r, key, klen, c, buf, cap);
    int rc = shared__read(r, key, klen, c, buf, cap);
    if (rc != SHARED__RETRY)
        return rc;
    if (shared__readonly()) {
        uint64_t deadline = shared__backend_ticks_ms() + lock_ms;
        uint32_t ms = 0;
        while (rc == SHARED__RETRY) {
            int late = shared__ro_backoff(&ms, deadline);
            if (late)
                return late;
            rc = shared__read(r, key, klen, c, buf, cap);
        }
        return rc;
    }
    rc = shared__acquire(r, lock_ms);
    if (rc)
        return rc;
    rc = shared__read_locked(r, key, klen, c, buf, cap);
    shared__backend_unlock();
    return rc;
}

int shared_get(const char *key, void *buf, uint32_t cap, uint32_t *len,
               uint64_t *version)
{
    uint32_t klen = 0;
    shared__region *r;
    shared__copy c;
    int rc = shared__key_check(key, &klen);
    if (rc == 0 && (!len || (!buf && cap)))
        rc = SHARED_ENULL;
    if (rc == 0)
        rc = attach(&r);
    if (rc == 0)
        rc = shared__read_key(r, key, klen, &c, buf, cap, shared__timeout());
    if (rc)
        return rc;
    *len = c.value_len;
    if (version)
        *version = c.version;
    /* The value went straight into buf, if it fit. */
    return c.value_len > cap ? SHARED_ETOOBIG : 0;
}

int shared__visit(const shared__visitor *v, void (*fn)(void), void *ctx)
{
    shared__region *r;
    if (!fn)
        return SHARED_ENULL;
    int rc = attach(&r);
    if (rc)
        return rc;
    unsigned char *snap = malloc(v->size * v->count);
    if (!snap)
        return SHARED_ENOMEM;
    int n = 0, corrupt = 0, visited = 0, ro = shared__readonly();
    /* Read-only: no lock; each item is copied consistently on its own
     * (fill polls, until the process timeout for the whole visit). */
    tls_ro_deadline = shared__backend_ticks_ms() + shared__timeout();
    tls_ro_rc = 0;
    rc = tls_tx || ro ? 0 : shared__acquire(r, shared__timeout());
    if (rc == 0) {
        for (uint32_t i = 0; i < v->count && tls_ro_rc == 0; i++)
            n += v->fill(r, i, snap + (size_t)n * v->size, &corrupt);
        if (!tls_tx && !ro)
            shared__backend_unlock();
        rc = tls_ro_rc;
    }
    for (int i = 0; rc == 0 && i < n; i++) {
        visited++;
        if (v->call(snap + (size_t)i * v->size, fn, ctx))
            break;
    }
    free(snap);
    if (rc)
        return rc;
    return corrupt ? SHARED_ECORRUPT : visited;
}

/* One key of a shared_foreach snapshot (on the heap, with the others). */
typedef struct entry_item {
    shared__copy c;
    uint64_t value[SHARED__VALUE_WORDS];
} entry_item;

static int fill_entry(shared__region *r, uint32_t i, void *item, int *corrupt)
{
    entry_item *it = item;
    int ro = shared__readonly();
    int rc = shared__read_slot(r, i, !ro, &it->c, it->value, sizeof it->value);
    for (uint32_t ms = 0; rc == SHARED__RETRY;) {
        tls_ro_rc = shared__ro_backoff(&ms, tls_ro_deadline);
        if (tls_ro_rc)
            return 0;
        rc = shared__read_slot(r, i, 0, &it->c, it->value, sizeof it->value);
    }
    *corrupt |= rc == SHARED_ECORRUPT;
    return rc == 0;
}

static int call_entry(const void *item, void (*fn)(void), void *ctx)
{
    const entry_item *it = item;
    const shared__copy *c = &it->c;
    shared_entry e;
    e.key = c->key;
    e.key_len = c->key_len;
    e.type = c->type;
    e.value = it->value;
    e.value_len = c->value_len;
    e.reserved = 0;
    e.version = c->version;
    return ((shared_foreach_fn)fn)(&e, ctx);
}

int shared_foreach(shared_foreach_fn fn, void *ctx)
{
    static const shared__visitor v = {SHARED_MAX_KEYS, sizeof(entry_item),
                                      fill_entry, call_entry};
    return shared__visit(&v, (void (*)(void))fn, ctx);
}

static int fill_slot(shared__region *r, uint32_t i, void *item, int *corrupt)
{
    (void)corrupt; /* reported per slot, not as an error */
    if (!shared__readonly()) {
        shared__slot_info(r, i, item);
        return 1;
    }
    /* Without the lock: a copy made while the slot's sequence stayed even
     * and no transaction was open (a seqlock read of the whole slot). */
    for (uint32_t ms = 0;;) {
        uint32_t q =
            atomic_load_explicit(&r->slot[i].seq, memory_order_acquire);
        uint32_t tx =
            atomic_load_explicit(&r->hdr.tx_gen, memory_order_acquire);
        if (((q | tx) & 1u) == 0) {
            shared__slot_info(r, i, item);
            atomic_thread_fence(memory_order_acquire);
            if (atomic_load(&r->slot[i].seq) == q &&
                atomic_load(&r->hdr.tx_gen) == tx)
                return 1;
        }
        tls_ro_rc = shared__ro_backoff(&ms, tls_ro_deadline);
        if (tls_ro_rc)
            return 0;
    }
}

static int call_slot(const void *item, void (*fn)(void), void *ctx)
{
    return ((shared_inspect_fn)fn)(item, ctx);
}

int shared_inspect(shared_inspect_fn fn, void *ctx)
{
    static const shared__visitor v = {SHARED_MAX_KEYS, sizeof(shared_slot_info),
                                      fill_slot, call_slot};
    return shared__visit(&v, (void (*)(void))fn, ctx);
}

int shared_lock(uint32_t timeout_ms)
{
    shared__region *r;
    if (tls_tx)
        return SHARED_EINTX;
    int rc = attach_rw(&r);
    if (rc == 0)
        rc = shared__acquire(r, timeout_ms);
    if (rc)
        return rc;
    shared__journal_begin(r, SHARED__J_TX);
    tls_tx = 1;
    tls_dirty = 0;
    memset(&tls_wake, 0, sizeof tls_wake);
    return 0;
}

static int tx_end(int commit)
{
    shared__region *r;
    if (!tls_tx || shared__backend_attach(&r) != 0)
        return SHARED_ENOTLOCKED;
    int publish = commit && tls_dirty;
    shared__wakeset set = tls_wake;
    if (commit)
        shared__journal_commit(r);
    else
        shared__journal_rollback(r);
    if (publish)
        shared__notify(r, &set);
    tls_tx = 0;
    tls_dirty = 0;
    shared__backend_unlock();
    if (publish)
        shared__backend_wake(r, &set);
    return 0;
}

int shared_unlock(void)
{
    return tx_end(1);
}

int shared_rollback(void)
{
    return tx_end(0);
}

int shared_reset(void)
{
    shared__region *r;
    if (tls_tx)
        return SHARED_EINTX;
    int rc = attach_rw(&r);
    if (rc == 0)
        rc = shared__acquire(r, shared__timeout());
    if (rc)
        return rc;
    shared__op_reset(r);
    shared__notify(r, NULL);
    shared__backend_unlock();
    shared__backend_wake(r, NULL);
    return 0;
}

/*
 * Repairs the section: takes the lock (or, with SHARED_REPAIR_BREAK_LOCK,
 * breaks it: shared__backend_break_lock), runs the one recovery path
 * (journal settled or rolled back, counters and indexes rebuilt from the
 * slots), then registers this process as attach does.
 */
int shared_repair(uint32_t flags)
{
    shared__region *r;
    int rc;
    if (flags & ~(uint32_t)SHARED_REPAIR_BREAK_LOCK)
        return SHARED_EINVAL;
    if (tls_tx)
        return SHARED_EINTX;
    rc = home_fix();
    if (rc)
        return rc;
    if (shared__readonly())
        return SHARED_EACCESS;
    if (flags & SHARED_REPAIR_BREAK_LOCK) {
        rc = shared__backend_break_lock(&r);
    } else {
        rc = shared__backend_attach(&r);
        if (rc == 0)
            rc = shared__backend_lock(shared__timeout());
    }
    if (rc < 0)
        return rc;
    locked(r, rc, 1); /* recovers, publishes and wakes */
    shared__backend_unlock();
    return shared__backend_attach(&r);
}

/* Writes the file home's changes to the file, under the lock, so that no
 * change is half made in what is written (see shared_flush). */
int shared_flush(void)
{
    shared__region *r;
    if (tls_tx)
        return SHARED_EINTX;
    int rc = attach(&r);
    if (rc)
        return rc;
    if (!g_home.named || !(g_home.flags & SHARED_OPEN_FILE))
        return SHARED_EINVAL;
    if (shared__readonly())
        return SHARED_EACCESS;
    rc = shared__acquire(r, shared__timeout());
    if (rc)
        return rc;
    rc = shared__backend_flush();
    shared__backend_unlock();
    return rc;
}

static void copy_name(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

int shared_stats(shared_statistics *stats)
{
    shared__region *r;
    shared_statistics s;
    if (!stats)
        return SHARED_ENULL;
    uint32_t size = stats->size;
    if (size < 2 * sizeof(uint32_t))
        return SHARED_EINVAL;
    int rc = attach(&r);
    if (rc)
        return rc;
    memset(&s, 0, sizeof s);
    s.size = size < sizeof s ? size : (uint32_t)sizeof s;
    s.layout_version = SHARED__LAYOUT_VERSION;
    s.max_keys = SHARED_MAX_KEYS;
    s.keys_used = atomic_load(&r->hdr.keys_used);
    s.value_max = SHARED_VALUE_MAX;
    s.journal_max = SHARED_JOURNAL_MAX;
    s.bytes_used = atomic_load(&r->hdr.bytes_used);
    s.section_size = sizeof(shared__region);
    s.build_id = SHARED_BUILD_ID;
    s.lock_acquisitions = atomic_load(&r->hdr.lock_acquisitions);
    s.lock_timeouts = atomic_load(&r->hdr.lock_timeouts);
    s.owner_died_recoveries = atomic_load(&r->hdr.recoveries);
    s.corrupt_seen = atomic_load(&r->hdr.corrupt_seen);
    s.next_version = atomic_load(&r->hdr.next_version);
    copy_name(s.backend, sizeof s.backend, shared__backend_name());
    copy_name(s.object_name, sizeof s.object_name,
              shared__backend_object_name());
    s.created_here = (uint32_t)shared__backend_created_here();
    s.creator_pid = atomic_load(&r->hdr.creator_pid);
    s.tx_open = atomic_load(&r->hdr.tx_gen) & 1u;
    s.journal_entries = atomic_load(&r->hdr.jcount);
    s.changes = atomic_load(&r->hdr.changes);
    s.max_peers = SHARED_MAX_PEERS;
    for (uint32_t i = 0; i < SHARED_MAX_PEERS; i++)
        s.peers += atomic_load(&r->peer[i].owner) != 0;
    s.peers_reaped = atomic_load(&r->hdr.peers_reaped);
    for (uint32_t i = 0; i < SHARED_CHANNELS; i++)
        s.channels_used += atomic_load(&r->channel[i].name_len) != 0;
    s.waiters = shared__backend_waiters(r);
    s.wakeups = atomic_load(&r->hdr.wakeups);
    memcpy(stats, &s, s.size);
    return 0;
}
