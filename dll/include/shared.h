/*
 * shared.h - the public API of shared.dll / libshared.so.
 *
 * A small key/value store that lives in memory every process loading the same
 * library build can see: on Windows the DLL's own `.shared` PE section (READ
 * WRITE SHARED), on Linux a POSIX shared memory object. Every writer is
 * guarded by one named, crash-safe lock; reads are lock-free when they can be.
 *
 * Caveats
 * -------
 * - Lifetime (Windows): a shared section exists only while at least one
 *   process has the DLL loaded. When the last one unloads it, the state is
 *   gone; the next process starts with an empty section. A DLL loaded from
 *   another file path is another image with its own, separate section.
 * - Lifetime (POSIX): the state lives in a shared memory object named
 *   `/shared-<uid>-<build id>`, created mode 0600: only the same user
 *   shares it (SHARED_INSTANCE chooses a named instance instead: see
 *   shared_open). It mirrors Windows: every process registers as a peer on its
 *   first call and leaves at exit; the last one to leave removes the object,
 *   so the next first user starts empty. If every registered process died
 *   without leaving (killed), the next process to attach finds no live peer
 *   and wipes the state before using it.
 * - Bitness (Windows): 32- and 64-bit builds of shared.dll are different
 *   images with different sections, and the section's header records the
 *   bitness: 32- and 64-bit processes never share the section (a named
 *   instance they do share: see shared_open). Likewise only
 *   processes that load the same DLL file share it: ship one shared.dll in
 *   one folder for every program of a product, or load it by full path.
 * - Peers: a process that dies without leaving is removed from the registry
 *   by any live process (shared_peers, the next attach); its pid and start
 *   time tell a reused pid apart.
 * - Security: a shared section is writable by every process that loads the
 *   DLL, whichever user runs it. Any such process can read every value and
 *   can write any byte of the section, bypassing this API. The library treats
 *   the section as untrusted input (a damaged slot is SHARED_ECORRUPT, never a
 *   crash), but it cannot keep secrets or stop a hostile process from
 *   destroying the state. Do not store secrets; do not load the DLL into
 *   processes of different trust levels.
 * - Lock damage (POSIX): the lock is a robust pthread mutex inside the
 *   shared object, so a hostile write can damage it. A lock word naming a
 *   thread that is gone, or one of a live process that is not a registered
 *   peer, is taken over by the next caller whose wait (of at least 100 ms)
 *   times out: that one call costs its timeout, later ones are normal. A
 *   lock word naming a live peer or the calling process makes every call
 *   time out (SHARED_ETIMEDOUT), other damage to the mutex makes them fail
 *   with SHARED_ECORRUPT, until shared_repair(SHARED_REPAIR_BREAK_LOCK)
 *   (`sharectl repair --yes`). On Windows the lock is a kernel object that
 *   writes to the section cannot touch.
 * - Names: on Windows the lock is the named mutex
 *   `Global\shared-<build id>-<instance id>-lock` with an explicit DACL
 *   (SYSTEM and Administrators full access, authenticated users
 *   wait/release); the instance id is a random number stored in the section
 *   by its first user, so two copies of the DLL at two paths never share an
 *   OS object. Creating a named mutex in `Global\` needs no privilege. If an
 *   object of another type already holds the name, calls fail with
 *   SHARED_ENAMECLASH.
 * - Limits are fixed when the library is built (see shared_config.h):
 *   SHARED_MAX_KEYS keys, values of 0..SHARED_VALUE_MAX bytes, keys of
 *   1..SHARED_KEY_MAX bytes without NUL, transactions touching at most
 *   SHARED_JOURNAL_MAX slots, SHARED_MAX_PEERS processes, SHARED_CHANNELS
 *   channels of SHARED_CHANNEL_DEPTH messages of 0..SHARED_MSG_MAX bytes,
 *   and (Windows) 256 threads blocked in waits at once.
 *   Each limit has its own error: SHARED_EFULL (keys), SHARED_ETXFULL
 *   (journal), SHARED_ECHANFULL (one channel), SHARED_ECHANNELS (the
 *   channel table), SHARED_EPEERS (processes), SHARED_EWAITERS (Windows
 *   waiters). No key is ever evicted.
 * - Every call that waits for the lock gives up after the timeout set with
 *   shared_set_timeout() (default SHARED_DEFAULT_TIMEOUT_MS) and returns
 *   SHARED_ETIMEDOUT. No call waits forever. A call that takes a timeout of
 *   its own (shared_wait, shared_send, shared_recv) returns within that
 *   timeout plus SHARED_WAIT_MARGIN_MS, also while another thread or
 *   process holds the lock.
 * - Reads (shared_get, shared_foreach) take no lock when they can: they are
 *   consistent per key and never show a transaction that has not committed.
 *   Under contention they fall back to the lock, so they can time out too.
 * - Threads: every function is thread-safe. A transaction (shared_lock) is
 *   owned by the calling thread. Do not fork() while holding it.
 *
 * All functions return 0 (SHARED_OK) or a negative SHARED_E* code unless
 * documented otherwise. Nothing is changed when a call fails.
 *
 * "Attach errors", which every function that reaches the state can return
 * (attaching happens on a process's first call, and again after the state
 * was closed): SHARED_EVERSION, SHARED_ENOTSHARED, SHARED_ENAMECLASH,
 * SHARED_EACCESS, SHARED_ESYSTEM, SHARED_EINVAL (bad SHARED_INSTANCE or
 * SHARED_INSTANCE_FLAGS, or flags without SHARED_INSTANCE),
 * SHARED_ETIMEDOUT, SHARED_ECORRUPT (a lock that is not usable),
 * SHARED_EPEERS (SHARED_MAX_PEERS processes already registered), and for a
 * named instance chosen by SHARED_INSTANCE: SHARED_ENOINSTANCE (and, for a
 * file home on Windows, SHARED_ENOMEM). A process
 * that opened its home read-only gets SHARED_EACCESS from every write.
 */
#ifndef SHARED_H
#define SHARED_H

#include <stdint.h>

#include "shared_config.h"

#ifdef __cplusplus
extern "C" {
#endif

/* SHARED_API marks every exported function (and nothing else). */
#if defined(_WIN32) || defined(__CYGWIN__)
#  ifdef SHARED_BUILDING_DLL
#    define SHARED_API __declspec(dllexport)
#  elif defined(SHARED_STATIC)
#    define SHARED_API
#  else
#    define SHARED_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__) && defined(SHARED_BUILDING_DLL)
#  define SHARED_API __attribute__((visibility("default")))
#else
#  define SHARED_API
#endif

/* Longest key in bytes (not counting the terminating NUL). */
#define SHARED_KEY_MAX 63

/* Default lock timeout in milliseconds (see shared_set_timeout). */
#define SHARED_DEFAULT_TIMEOUT_MS 5000u

/*
 * The most a call given its own timeout (shared_wait, shared_send,
 * shared_recv) may take beyond it, in milliseconds, besides scheduling
 * delays: such a call waits for the lock at most the time it has left, but
 * at least this long (so that 0 ms is not failed by a lock held for an
 * instant), and never longer than the process lock timeout.
 */
#define SHARED_WAIT_MARGIN_MS 10u

/* Value types, as reported in shared_entry.type. */
#define SHARED_TYPE_BYTES 1u   /* set with shared_set / shared_cas */
#define SHARED_TYPE_COUNTER 2u /* created by shared_add: an int64_t */

/*
 * The one error list. XX(name, value, message); 0 is success. Codes are
 * stable: new ones are only ever appended.
 */
#define SHARED_ERRNO_MAP(XX)                                                   \
  XX(ENULL, -1, "a required pointer argument is NULL")                         \
  XX(EKEYEMPTY, -2, "key is empty")                                            \
  XX(EKEYTOOLONG, -3, "key is longer than SHARED_KEY_MAX bytes")               \
  XX(EVALTOOLONG, -4, "value is longer than SHARED_VALUE_MAX bytes")           \
  XX(ETOOBIG, -5, "buffer too small for the value (needed length reported)")   \
  XX(ENOTFOUND, -6, "no such key")                                             \
  XX(ECONFLICT, -7, "version does not match (compare-and-swap lost)")          \
  XX(ETYPE, -8, "operation does not fit the key's type")                       \
  XX(EOVERFLOW, -9, "counter would overflow int64")                            \
  XX(EFULL, -10, "table is full (SHARED_MAX_KEYS keys in use)")                \
  XX(ETIMEDOUT, -11, "timed out (no lock, change or message in time)")         \
  XX(ECORRUPT, -12, "shared section holds corrupt data")                       \
  XX(EVERSION, -13, "shared section header does not match this build")         \
  XX(ENOTSHARED, -14, "the DLL's .shared section is not marked SHARED")        \
  XX(ENOTLOCKED, -15, "this thread holds no transaction")                      \
  XX(EINTX, -16, "not allowed inside a transaction of this thread")            \
  XX(ETXFULL, -17, "transaction touches more than SHARED_JOURNAL_MAX slots")   \
  XX(ENAMECLASH, -18, "a named OS object of another type holds the name")      \
  XX(EACCESS, -19, "access to the named OS object is denied")                  \
  XX(ESYSTEM, -20, "an operating system call failed (shared_last_os_error)")   \
  XX(EINVAL, -21, "invalid argument")                                          \
  XX(ENOMEM, -22, "out of memory")                                             \
  XX(ECHANNELS, -23, "every channel holds messages (SHARED_CHANNELS)")         \
  XX(ECHANFULL, -24, "channel holds SHARED_CHANNEL_DEPTH messages")            \
  XX(EPEERS, -25, "SHARED_MAX_PEERS processes already attached")               \
  XX(EWAITERS, -26, "256 threads already wait (Windows waiter table)")         \
  XX(EATTACHED, -27, "this process already uses another home (shared_open)")   \
  XX(ENOINSTANCE, -28, "no such named instance (read-only opens create none)")

typedef enum shared_error {
    SHARED_OK = 0,
#define SHARED__XX(name, value, msg) SHARED_##name = (value),
    SHARED_ERRNO_MAP(SHARED__XX)
#undef SHARED__XX
} shared_error;

/*
 * One key as seen by shared_foreach. Every pointer refers to a private copy
 * owned by the library and valid only during the callback. `key` is
 * NUL-terminated. For SHARED_TYPE_COUNTER, `value` holds an int64_t in host
 * byte order (value_len 8).
 */
typedef struct shared_entry {
    const char *key;
    uint32_t key_len;
    uint32_t type;
    const void *value;
    uint32_t value_len;
    uint32_t reserved;
    uint64_t version;
} shared_entry;

/*
 * Statistics. Set `size` to sizeof(shared_statistics) before the call; the
 * library fills at most that many bytes, so old callers keep working when the
 * struct grows (fields are only ever appended).
 */
typedef struct shared_statistics {
    uint32_t size; /* in: sizeof(shared_statistics); out: filled */
    uint32_t layout_version;
    uint32_t max_keys; /* capacity */
    uint32_t keys_used;
    uint32_t value_max;    /* SHARED_VALUE_MAX of the library build */
    uint32_t journal_max;  /* SHARED_JOURNAL_MAX of the library build */
    uint64_t bytes_used;   /* sum of key and value lengths */
    uint64_t section_size; /* bytes of shared state */
    uint64_t build_id;     /* names the OS objects; equal => compatible */
    uint64_t lock_acquisitions;
    uint64_t lock_timeouts;
    uint64_t owner_died_recoveries; /* locks taken over from a dead holder */
    uint64_t corrupt_seen;          /* corrupt slots met by any operation */
    uint64_t next_version;          /* version the next change will get */
    char backend[16];               /* "win32" or "posix" */
    char object_name[96]; /* mutex (Windows) or shm object (POSIX) name */
    /* 1: this process created the state, finding no other process holding
     * it, so it started empty. */
    uint32_t created_here;
    uint32_t creator_pid;     /* process that created the state */
    uint32_t tx_open;         /* 1: some thread holds a transaction open */
    uint32_t journal_entries; /* slots in the open change's undo journal */
    uint64_t changes;         /* committed changes (see shared_wait) */
    uint32_t peers;           /* registered processes (see shared_peers) */
    uint32_t max_peers;       /* SHARED_MAX_PEERS of the library build */
    uint64_t peers_reaped;    /* dead processes removed from the registry */
    uint32_t channels_used;   /* channels created, of SHARED_CHANNELS */
    uint32_t waiters;         /* threads blocked in a wait right now */
    /* Blocked waits (shared_wait, send, recv) ended by a wake-up, not by
     * their timeout: a change wakes only the waiters of what changed. */
    uint64_t wakeups;
} shared_statistics;

/* A registered process, as seen by shared_peers. */
typedef struct shared_peer_info {
    uint32_t pid;
    uint32_t self;       /* 1: the calling process */
    uint64_t start_time; /* OS start time (Linux: clock ticks after boot;
                            Windows: FILETIME); tells a reused pid apart */
    uint64_t attach_ms;  /* when it attached, Unix time in ms */
    uint64_t active_ms;  /* when it last took the lock, Unix time in ms
                            (to within about a millisecond) */
    char exe[64];        /* executable name, NUL-terminated */
} shared_peer_info;

/* A channel, as seen by shared_channels. */
typedef struct shared_channel_info {
    char name[SHARED_KEY_MAX + 1];
    uint32_t depth;    /* messages queued now */
    uint32_t capacity; /* SHARED_CHANNEL_DEPTH */
    uint64_t sent;     /* messages ever sent */
    uint64_t received; /* messages ever received */
} shared_channel_info;

typedef int (*shared_peer_fn)(const shared_peer_info *peer, void *ctx);
typedef int (*shared_channel_fn)(const shared_channel_info *chan, void *ctx);

/* Slot states, as reported in shared_slot_info.state. */
#define SHARED_SLOT_FREE 0u
#define SHARED_SLOT_USED 1u
#define SHARED_SLOT_CORRUPT 2u

/*
 * One slot of the section as seen by shared_inspect: what a diagnostic tool
 * needs, not the value itself (use shared_get for that).
 */
typedef struct shared_slot_info {
    uint32_t index;     /* 0 .. SHARED_MAX_KEYS-1 */
    uint32_t state;     /* SHARED_SLOT_* */
    uint32_t seq;       /* sequence counter: odd while being written */
    uint32_t hint;      /* lookup hint: 0 if free, else a hash of the key */
    uint32_t type;      /* SHARED_TYPE_* (used slots) */
    uint32_t key_len;   /* (used slots) */
    uint32_t value_len; /* (used slots) */
    uint32_t reserved;
    uint64_t version;             /* (used slots) */
    char key[SHARED_KEY_MAX + 1]; /* NUL-terminated; "" unless used */
} shared_slot_info;

/* Visitor for shared_inspect: return 0 to continue, non-zero to stop. */
typedef int (*shared_inspect_fn)(const shared_slot_info *slot, void *ctx);

/*
 * Visitor for shared_foreach: return 0 to continue, non-zero to stop.
 */
typedef int (*shared_foreach_fn)(const shared_entry *entry, void *ctx);

/*
 * Stores `len` bytes at `value` under `key`, replacing any previous value or
 * counter. The key gets a new version (see shared_cas).
 *   key    NUL-terminated, 1..SHARED_KEY_MAX bytes.
 *   value  may be NULL only when len is 0.
 *   len    0..SHARED_VALUE_MAX.
 * A key whose slot is damaged (reads of it are SHARED_ECORRUPT) is replaced:
 * if the slot still holds the key's bytes it is overwritten, else the key
 * is stored anew and the damaged slot no longer answers for it (it stays,
 * listed by shared_inspect, until shared_reset). See dll/core/ops.c.
 * Errors: SHARED_ENULL, SHARED_EKEYEMPTY, SHARED_EKEYTOOLONG,
 * SHARED_EVALTOOLONG, SHARED_EFULL (new key, table full), SHARED_ETIMEDOUT,
 * SHARED_ETXFULL (inside a transaction), SHARED_ECORRUPT (the journal
 * holds garbage, or the lock is damaged: see shared_repair), attach errors.
 */
SHARED_API int shared_set(const char *key, const void *value, uint32_t len);

/*
 * Copies the value of `key` into `buf` (capacity `cap` bytes).
 *   len      required: receives the value's length, also when the buffer is
 *            too small (then SHARED_ETOOBIG).
 * The value is copied straight from the shared state into buf (the library
 * keeps no copy of it on its stack, whatever SHARED_VALUE_MAX): after any
 * error the first `cap` bytes of buf hold nothing meaningful.
 *   version  optional (may be NULL): receives the key's version.
 *   buf      may be NULL only when cap is 0.
 * A counter reads as 8 bytes holding an int64_t in host byte order.
 * Errors: SHARED_ENULL, SHARED_EKEYEMPTY, SHARED_EKEYTOOLONG,
 * SHARED_ENOTFOUND, SHARED_ETOOBIG, SHARED_ETIMEDOUT, SHARED_ECORRUPT, attach
 * errors.
 */
SHARED_API int shared_get(const char *key, void *buf, uint32_t cap,
                          uint32_t *len, uint64_t *version);

/*
 * Removes `key`. Its version is never reused: a re-created key gets a larger
 * one. A key whose slot is damaged is removed as well (as in shared_set).
 * Errors: SHARED_ENULL, SHARED_EKEYEMPTY, SHARED_EKEYTOOLONG,
 * SHARED_ENOTFOUND (nothing answered for the key), SHARED_ETIMEDOUT,
 * SHARED_ETXFULL, SHARED_ECORRUPT (the journal holds garbage), attach
 * errors.
 */
SHARED_API int shared_del(const char *key);

/*
 * Compare-and-swap: stores `value` under `key` only if the key's current
 * version is `expected_version`; expected_version 0 means "the key must not
 * exist". Every change of any key draws its version from one 64-bit counter
 * of the section, so a version never repeats, even across shared_del and
 * re-creation, or shared_reset.
 *   new_version  optional: on success the new version; on SHARED_ECONFLICT
 *                the current version (0 if the key does not exist).
 * Errors: as shared_set, plus SHARED_ECONFLICT; a key whose slot is damaged
 * is SHARED_ECORRUPT (its version can not be compared; shared_set or
 * shared_del replace it).
 */
SHARED_API int shared_cas(const char *key, uint64_t expected_version,
                          const void *value, uint32_t len,
                          uint64_t *new_version);

/*
 * Adds `delta` to the 64-bit signed counter `key`, creating it with value
 * `delta` if the key does not exist.
 *   result  optional: receives the value after the addition.
 * Errors: SHARED_ETYPE (the key holds bytes, not a counter; nothing changes),
 * SHARED_EOVERFLOW (the sum does not fit int64_t; nothing changes),
 * SHARED_ECORRUPT (the key's slot is damaged: its value is unknown), and
 * the errors of shared_set.
 */
SHARED_API int shared_add(const char *key, int64_t delta, int64_t *result);

/*
 * Calls `fn` once for every key, in slot order, with a private copy of a
 * snapshot of all keys taken at one instant under the lock. The lock is not
 * held during the callbacks: they may call any shared_* function (changes
 * they make are not in the snapshot). The snapshot buffer (about
 * SHARED_MAX_KEYS * SHARED_VALUE_MAX bytes) is allocated per call.
 * Damaged slots are skipped (and counted in corrupt_seen): every readable
 * key is still visited, and then SHARED_ECORRUPT is returned instead of the
 * count, so the caller knows the listing lacks the damaged keys.
 * Returns the number of keys visited (>= 0; fewer than the number of keys if
 * the callback stopped early), or a negative error: SHARED_ENULL,
 * SHARED_ENOMEM, SHARED_ETIMEDOUT, SHARED_ECORRUPT (after every readable key
 * was visited, see above), attach errors.
 */
SHARED_API int shared_foreach(shared_foreach_fn fn, void *ctx);

/*
 * Diagnostics: calls `fn` for every slot of the section, free, used or
 * corrupt, in index order, from one snapshot taken under the lock (the lock
 * is not held during the callbacks). Returns the number of slots visited, or
 * SHARED_ENULL, SHARED_ENOMEM, SHARED_ETIMEDOUT, attach errors.
 */
SHARED_API int shared_inspect(shared_inspect_fn fn, void *ctx);

/*
 * Waits until `key`'s version differs from `seen_version`, at most
 * `timeout_ms` milliseconds. A deleted or missing key has version 0, so
 * seen_version 0 waits for the key to be created and a deletion ends a wait.
 * With key NULL, waits for any change to the section: seen_version is then
 * the section's change count (shared_statistics.changes, or the
 * new_version of a previous wait).
 * A change made after the caller read seen_version is never missed, every
 * waiter on that key (and every waiter on NULL) of every process wakes,
 * and waiters on other keys sleep on. A waiting thread first spins a few
 * microseconds (a change from another core then costs no system call),
 * then sleeps, looking again every 250 ms (so a change whose writer was
 * killed before it woke anyone is seen within 250 ms); shared_send and
 * shared_recv wait the same way.
 *   new_version  optional: the version (or change count) now.
 * Returns within timeout_ms plus SHARED_WAIT_MARGIN_MS, also while another
 * process holds the lock or a transaction.
 * Returns 0 on a change, SHARED_ETIMEDOUT (no change in time, or the lock
 * not had in time; new_version still reported), SHARED_EINTX (waiting
 * inside a transaction would block everyone), SHARED_EWAITERS (Windows: 256
 * threads already wait), SHARED_ENULL, SHARED_EKEYEMPTY, SHARED_EKEYTOOLONG,
 * SHARED_ECORRUPT (the key's slot is damaged), attach errors.
 */
SHARED_API int shared_wait(const char *key, uint64_t seen_version,
                           uint32_t timeout_ms, uint64_t *new_version);

/*
 * Queues a message of `len` bytes (0..SHARED_MSG_MAX) on the channel named
 * `channel` (1..SHARED_KEY_MAX bytes; created on first use). Each message is
 * received exactly once, by one receiver, in the order it was sent (per
 * sender). If the channel is full, waits up to timeout_ms for room
 * (0: does not wait for room; see SHARED_WAIT_MARGIN_MS for the lock).
 * When all SHARED_CHANNELS are in use, creating one recycles a channel that
 * holds no message and on which no receiver waits (its counts restart).
 * Errors: SHARED_ECHANFULL (the channel still holds SHARED_CHANNEL_DEPTH
 * messages at the timeout), SHARED_ECHANNELS (no channel of that name, and
 * every channel holds messages or has a waiting receiver),
 * SHARED_EVALTOOLONG, SHARED_ENULL, SHARED_EKEYEMPTY and SHARED_EKEYTOOLONG
 * (the name), SHARED_EINTX (not inside a transaction), SHARED_ETIMEDOUT (the
 * lock not had in time), SHARED_ECORRUPT (the channel's ring is damaged),
 * SHARED_EWAITERS (Windows: 256 threads already wait), attach errors.
 */
SHARED_API int shared_send(const char *channel, const void *msg, uint32_t len,
                           uint32_t timeout_ms);

/*
 * Takes the oldest message from the channel into `buf` (capacity `cap`),
 * waiting up to timeout_ms for one (0: does not wait for a message; see
 * SHARED_WAIT_MARGIN_MS for the lock). `len` receives its length.
 * Receiving never creates a channel: on a name no sender has created yet
 * it waits, as on an empty channel, until a sender creates it and sends.
 * While a receiver waits on a channel, that channel is not recycled for
 * another name (a receiver that dies stops counting within 2 s).
 * Errors: SHARED_ETIMEDOUT (no message in time, or the lock not had in
 * time), SHARED_ETOOBIG (buffer too small: the message stays queued, len
 * tells its size), SHARED_ECORRUPT (a damaged message: it is dropped, the
 * next call gets the next one), SHARED_ENULL, SHARED_EKEYEMPTY and
 * SHARED_EKEYTOOLONG (the name), SHARED_EINTX, SHARED_EWAITERS (Windows:
 * 256 threads already wait), attach errors. After an error buf's contents
 * are unspecified.
 */
SHARED_API int shared_recv(const char *channel, void *buf, uint32_t cap,
                           uint32_t *len, uint32_t timeout_ms);

/*
 * Calls `fn` for every channel created so far (a snapshot under the lock).
 * Returns the number visited or a negative error.
 */
SHARED_API int shared_channels(shared_channel_fn fn, void *ctx);

/*
 * Calls `fn` for every registered process, after removing those that died
 * without detaching (their pid is gone, or now belongs to a process with
 * another start time). Returns the number visited or a negative error.
 */
SHARED_API int shared_peers(shared_peer_fn fn, void *ctx);

/*
 * Starts a transaction in the calling thread: takes the lock, waiting at most
 * `timeout_ms` milliseconds. Until shared_unlock or shared_rollback, every
 * call in this thread works under the lock without taking it again, and
 * other processes' reads wait. If the process dies inside the transaction,
 * none of its changes survive: the next lock holder rolls them back.
 * Errors: SHARED_EINTX (this thread already holds it), SHARED_ETIMEDOUT,
 * SHARED_ECORRUPT (POSIX: the lock itself is damaged; see shared_repair),
 * attach errors.
 */
SHARED_API int shared_lock(uint32_t timeout_ms);

/*
 * Commits the calling thread's transaction and releases the lock.
 * Errors: SHARED_ENOTLOCKED.
 */
SHARED_API int shared_unlock(void);

/*
 * Undoes every change of the calling thread's transaction and releases the
 * lock. Errors: SHARED_ENOTLOCKED.
 */
SHARED_API int shared_rollback(void);

/*
 * Fills `stats` (see shared_statistics). Errors: SHARED_ENULL, SHARED_EINVAL
 * (stats->size smaller than the first two fields), attach errors (they
 * include SHARED_ETIMEDOUT and SHARED_ECORRUPT: see shared_set).
 */
SHARED_API int shared_stats(shared_statistics *stats);

/*
 * Wipes every key (an administrative operation, under the lock). Statistics
 * and the version counter are kept, so versions still never repeat.
 * Errors: SHARED_EINTX, SHARED_ETIMEDOUT, SHARED_ECORRUPT (POSIX: the lock
 * is damaged; see shared_repair), attach errors.
 */
SHARED_API int shared_reset(void);

/* shared_repair flag: take the lock by force (see shared_repair). */
#define SHARED_REPAIR_BREAK_LOCK 1u

/*
 * The administrator's way out of a damaged section (an administrative
 * operation, like shared_reset; `sharectl repair`). Takes the lock, runs
 * the recovery that follows a crash (an open journal settled or rolled
 * back, the key index and counters rebuilt from the slots; slots that fail
 * their checksum stay SHARED_ECORRUPT), releases it and registers this
 * process. Keys are kept.
 *   flags  0, or SHARED_REPAIR_BREAK_LOCK: do not wait for the lock but
 *          take it by force. POSIX: the mutex is re-initialised in place,
 *          which is the only way past a lock damaged so that no automatic
 *          check can prove it unowned (see Caveats). RISK: if a process
 *          really holds the lock at that moment, it and this call both
 *          believe they own it and the state can be damaged: use it only
 *          when calls keep failing with SHARED_ETIMEDOUT or SHARED_ECORRUPT
 *          and no process is inside a transaction. Windows: the named mutex
 *          cannot be damaged through the section; the flag waits for it
 *          as without it.
 * Errors: SHARED_EINVAL (unknown flag), SHARED_EINTX, SHARED_ETIMEDOUT
 * (without the flag, or on Windows), SHARED_ECORRUPT (without the flag:
 * the lock is damaged), attach errors.
 */
SHARED_API int shared_repair(uint32_t flags);

/*
 * Homes. By default a process's state lives in the DLL's .shared section
 * (Windows) or the build's own shared memory object (POSIX): drop in the
 * library and call shared_set. shared_open chooses a *named instance*
 * instead, before the process's first other call: a named file mapping
 * (Windows: Local\shared.<name>, or Global\shared.<name> with
 * SHARED_OPEN_GLOBAL) or POSIX shared memory object (/shared.<name>), or,
 * with SHARED_OPEN_FILE, a file at a path the caller gives, which outlives
 * every process. Every operation, wait, channel, peer and recovery works the
 * same in every home. A named instance has one layout for 32- and 64-bit
 * builds (i686 and x86_64 processes share it); its header records the
 * layout (SHARED_LAYOUT_ID: layout version and limits), and a process whose
 * library was built with other limits gets SHARED_EVERSION.
 */
/* Creator writes; processes of other users may open it read-only
 * (SHARED_OPEN_READONLY). Without it an instance is private: only the
 * creating user (and SYSTEM / root, which the OS never stops) can open it
 * at all. POSIX: mode 0644 instead of 0600; a writer must open a published
 * instance with this flag (a private open refuses an object others can
 * read, SHARED_EACCESS). */
#define SHARED_OPEN_PUBLISHED 0x1u
/* Open an existing instance for reading only: get, foreach, inspect, wait,
 * stats, channels and peers work; every call that would write (set, cas,
 * add, del, lock, send, recv, reset, repair, flush) returns
 * SHARED_EACCESS. The process is not registered as a peer and never takes
 * the lock: where a writer would read under the lock (a transaction open,
 * a key changing under every lock-free attempt) it polls, backing off
 * from 1 to 16 ms, until the process timeout (SHARED_ETIMEDOUT); a wait
 * polls within its own timeout. A writer that died mid-change is
 * recovered by the next writer, never by a reader. It never creates an
 * instance (SHARED_ENOINSTANCE). */
#define SHARED_OPEN_READONLY 0x2u
/* Windows: the mapping lives in Global\ (all sessions) instead of Local\
 * (this session); creating it needs SeCreateGlobalPrivilege (a service
 * creates it, programs open it). POSIX: accepted, no effect (one namespace
 * per machine). */
#define SHARED_OPEN_GLOBAL 0x4u
/* `name` is a file path (UTF-8): the state is kept in that file, created
 * if missing (mode 0600, or 0644 with SHARED_OPEN_PUBLISHED). See
 * shared_flush for what is guaranteed against power loss. */
#define SHARED_OPEN_FILE 0x8u

/* Longest instance name, in bytes (characters A-Z a-z 0-9 . _ -, not
 * starting with '.'), and longest file path in bytes. */
#define SHARED_NAME_MAX 32
#define SHARED_PATH_MAX 1024

/*
 * Chooses this process's home: the named instance `name` (or, with
 * SHARED_OPEN_FILE, the file at path `name`), opened (created unless
 * SHARED_OPEN_READONLY) and attached now, so that every error shows here.
 * Call it before any other call that reaches the state. The environment
 * variables SHARED_INSTANCE (a name, or a path with "file" in the flags)
 * and SHARED_INSTANCE_FLAGS (comma-separated: published, readonly, global,
 * file) do the same for programs that cannot be changed; they are read at
 * the first call that reaches the state, unless shared_open came first.
 * Calling it again with the same name and flags returns 0.
 *   flags  SHARED_OPEN_* (PUBLISHED and READONLY exclude each other).
 * Errors: SHARED_ENULL, SHARED_EINVAL (unknown flag, a bad name or path),
 * SHARED_EATTACHED (this process already uses another home: the default,
 * or another name or flags), SHARED_ENOINSTANCE (READONLY and no such
 * instance), SHARED_EACCESS (not allowed to open it: private to another
 * user, or written by a non-creator), SHARED_EVERSION (another layout or
 * limits, or not a state file), attach errors. After an error no home is
 * chosen: the process may call shared_open again.
 */
SHARED_API int shared_open(const char *name, uint32_t flags);

/*
 * For a home kept in a file (SHARED_OPEN_FILE): writes every change
 * committed so far to the file and waits until the storage reports it
 * durable (FlushViewOfFile + FlushFileBuffers; msync + fsync). Without it
 * the OS writes changes back when it chooses: every change is atomic
 * against a crash of a process (the journal), but after a power loss only
 * what was flushed is guaranteed, and a later change may be lost or leave
 * its key SHARED_ECORRUPT (never a crash). Takes the lock, so no change is
 * half-made while the file is written.
 * Errors: SHARED_EINVAL (this home is not kept in a file), SHARED_EACCESS
 * (opened read-only), SHARED_EINTX (the calling thread holds a
 * transaction), SHARED_ESYSTEM, SHARED_ETIMEDOUT, attach errors.
 */
SHARED_API int shared_flush(void);

/*
 * Sets the lock timeout in milliseconds used by every call of this process
 * that takes the lock (not shared_lock, which takes its own). 0 means "do not
 * wait". Returns the previous value.
 */
SHARED_API uint32_t shared_set_timeout(uint32_t timeout_ms);

/*
 * Returns a static English message for an error code; never NULL.
 */
SHARED_API const char *shared_strerror(int err);

/*
 * Returns the code's name, e.g. "SHARED_ETIMEDOUT"; never NULL.
 */
SHARED_API const char *shared_errname(int err);

/*
 * Returns the OS error code (GetLastError() or errno) behind the calling
 * thread's most recent SHARED_ESYSTEM, SHARED_EACCESS or SHARED_ENAMECLASH;
 * 0 if none.
 */
SHARED_API uint32_t shared_last_os_error(void);

/*
 * Returns the version of the loaded library and its build id, e.g.
 * "0.2.0 (build c6bd65f706270704)": SHARED_VERSION_STRING of the library's
 * own build, then the build id (16 hex digits) that names its OS objects
 * (shared_statistics.build_id). Compare with the SHARED_VERSION_* macros of
 * the header you compiled against to detect a different DLL at run time.
 * A static string owned by the library; never NULL; needs no attach and
 * cannot fail.
 */
SHARED_API const char *shared_version(void);

#ifdef __cplusplus
}
#endif

#endif /* SHARED_H */
