/*
 * test_named.c - homes other than the default (shared_open): named
 * instances, published ones read by read-only processes, and file homes.
 * Every process here is a child role that chooses its home with
 * shared_open before anything else (`named FLAGS|NAME|CMD|ARG`); the test
 * process itself stays in its own home, which the children must not see.
 * Portable: under Wine the same roles open the Windows named mappings;
 * only the uid-changing case is POSIX (and needs root).
 */
#if !defined(_WIN32) && !defined(_GNU_SOURCE)
#  define _GNU_SOURCE /* setresuid */
#endif
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _WIN32
#  include <direct.h>
#  define make_dir(path) _mkdir(path)
#  define remove_dir(path) _rmdir(path)
#else
#  define make_dir(path) mkdir(path, 0700)
#  define remove_dir(path) rmdir(path)
#  include <signal.h>
#  include <spawn.h>
#  include <sys/mman.h>
#  include <sys/stat.h>
#  include <sys/wait.h>
#  include <unistd.h>
extern char **environ;
#endif

#include "roles.h"
#include "testutil.h"

/* Test-only flag of the role: drop to uid/gid 65534 before opening
 * (POSIX, root only). */
#define DROP_TO_NOBODY 0x100u

#define FAIL(rc) ROLE_FAIL(rc)

static char g_name[64], g_other[64], g_file[96], g_marker[96];

static void named_setup(void)
{
    unique_name(g_name, sizeof g_name, "nm");
    unique_name(g_other, sizeof g_other, "nm2");
    unique_name(g_file, sizeof g_file, "named-file");
    unique_name(g_marker, sizeof g_marker, "named-marker");
    remove(g_file);
    remove(g_marker);
}

static void named_teardown(void)
{
    static const char *const k_suffix[] = {
        ".stop", ".go", ".opened", ".check", ".waiting", ".tx", ".w"};
    char path[160];
    proc_kill_all();
    remove(g_file);
    remove(g_marker);
    /* A failed test leaves the markers it derived from g_marker. */
    for (size_t i = 0; i < sizeof k_suffix / sizeof k_suffix[0]; i++) {
        snprintf(path, sizeof path, "%s%s", g_marker, k_suffix[i]);
        remove(path);
    }
#ifndef _WIN32
    /* Instances whose holder was killed stay until their next user. */
    char obj[96];
    snprintf(obj, sizeof obj, "/shared.%s", g_name);
    shm_unlink(obj);
    snprintf(obj, sizeof obj, "/shared.%s", g_other);
    shm_unlink(obj);
#endif
}

/* k=v into key and value. */
static int split(const char *arg, char *key, const char **value)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || (size_t)(eq - arg) > SHARED_KEY_MAX)
        return -1;
    memcpy(key, arg, (size_t)(eq - arg));
    key[eq - arg] = '\0';
    *value = eq + 1;
    return 0;
}

static int holds(const char *key, const char *value)
{
    char buf[SHARED_VALUE_MAX];
    uint32_t len = 0;
    int rc = shared_get(key, buf, sizeof buf, &len, NULL);
    if (rc)
        return rc;
    return len == strlen(value) && memcmp(buf, value, len) == 0 ? 0 : 1;
}

static int count_visit(const shared_entry *e, void *ctx)
{
    (void)e;
    ++*(int *)ctx;
    return 0;
}

static int chan_visit(const shared_channel_info *c, void *ctx)
{
    (void)c, (void)ctx;
    return 0;
}

static int slot_visit(const shared_slot_info *i, void *ctx)
{
    (void)i, (void)ctx;
    return 0;
}

static int peer_visit(const shared_peer_info *p, void *ctx)
{
    *(int *)ctx += p->self != 0;
    return 0;
}

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "named role: %s failed (line %d)\n", #cond, __LINE__);   \
      return 1;                                                                \
    }                                                                          \
  } while (0)

/* A read-only process: every write is SHARED_EACCESS; reads work and the
 * state is left as it was. */
static int read_only_checks(const char *key, const char *value)
{
    uint32_t len = 0;
    char buf[16];
    int n = 0, self = 0;
    shared_statistics st = {.size = sizeof st};
    CHECK(shared_set(key, "x", 1) == SHARED_EACCESS);
    CHECK(shared_set("ro.new", "x", 1) == SHARED_EACCESS);
    CHECK(shared_cas(key, 0, "x", 1, NULL) == SHARED_EACCESS);
    CHECK(shared_add("ro.n", 1, NULL) == SHARED_EACCESS);
    CHECK(shared_del(key) == SHARED_EACCESS);
    CHECK(shared_lock(100) == SHARED_EACCESS);
    CHECK(shared_reset() == SHARED_EACCESS);
    CHECK(shared_repair(0) == SHARED_EACCESS);
    CHECK(shared_repair(SHARED_REPAIR_BREAK_LOCK) == SHARED_EACCESS);
    CHECK(shared_send("ro.ch", "m", 1, 0) == SHARED_EACCESS);
    CHECK(shared_recv("ro.ch", buf, sizeof buf, &len, 0) == SHARED_EACCESS);
    CHECK(holds(key, value) == 0);
    CHECK(shared_get("ro.new", buf, sizeof buf, &len, NULL) ==
          SHARED_ENOTFOUND);
    CHECK(shared_foreach(count_visit, &n) >= 1 && n >= 1);
    CHECK(shared_inspect(slot_visit, NULL) == (int)SHARED_MAX_KEYS);
    CHECK(shared_channels(chan_visit, NULL) >= 0);
    CHECK(shared_peers(peer_visit, &self) >= 0 && self == 0);
    CHECK(shared_stats(&st) == 0 && st.keys_used >= 1);
    return 0;
}

/*
 * named FLAGS|NAME|CMD|ARG: shared_open(NAME, FLAGS), then CMD:
 *   set K=V, expect K=V, absent K, readonly K=V (read_only_checks),
 *   wait K (wait for K to change from the version it has now; the marker
 *   file ARG2 says the wait started), hold MARKER (stay), tx-die MARKER
 *   (die inside a transaction), flush, open (nothing more), twice (the
 *   same open again is 0, any other EATTACHED).
 * Exits 100 + n if shared_open or a call fails with -n.
 */
int role_named(const char *arg)
{
    char name[SHARED_PATH_MAX + 1], cmd[16], rest[256], key[SHARED_KEY_MAX + 1];
    const char *value;
    unsigned flags = 0;
    const char *p1 = strchr(arg, '|'), *p2 = p1 ? strchr(p1 + 1, '|') : NULL;
    const char *p3 = p2 ? strchr(p2 + 1, '|') : NULL;
    if (!p3 || sscanf(arg, "%u", &flags) != 1 ||
        (size_t)(p2 - p1 - 1) > SHARED_PATH_MAX ||
        (size_t)(p3 - p2 - 1) >= sizeof cmd || strlen(p3 + 1) >= sizeof rest)
        return 2;
    memcpy(name, p1 + 1, (size_t)(p2 - p1 - 1));
    name[p2 - p1 - 1] = '\0';
    memcpy(cmd, p2 + 1, (size_t)(p3 - p2 - 1));
    cmd[p3 - p2 - 1] = '\0';
    strcpy(rest, p3 + 1);
#ifndef _WIN32
    if ((flags & DROP_TO_NOBODY) && (setresgid(65534, 65534, 65534) != 0 ||
                                     setresuid(65534, 65534, 65534) != 0))
        return 4;
#endif
    flags &= ~DROP_TO_NOBODY;
    int rc = shared_open(name, flags);
    if (rc)
        return FAIL(rc);
    if (strcmp(cmd, "set") == 0) {
        if (split(rest, key, &value))
            return 2;
        rc = shared_set(key, value, (uint32_t)strlen(value));
    } else if (strcmp(cmd, "expect") == 0) {
        if (split(rest, key, &value))
            return 2;
        rc = holds(key, value);
        if (rc > 0)
            return rc;
    } else if (strcmp(cmd, "absent") == 0) {
        uint32_t len;
        rc = shared_get(rest, NULL, 0, &len, NULL);
        return rc == SHARED_ENOTFOUND ? 0 : rc ? FAIL(rc) : 1;
    } else if (strcmp(cmd, "readonly") == 0) {
        if (split(rest, key, &value))
            return 2;
        return read_only_checks(key, value);
    } else if (strcmp(cmd, "wait") == 0) {
        uint64_t seen = 0, now = 0;
        char *marker = strchr(rest, ':');
        uint32_t len;
        if (!marker)
            return 2;
        *marker++ = '\0';
        rc = shared_get(rest, NULL, 0, &len, &seen);
        if (rc && rc != SHARED_ETOOBIG)
            return FAIL(rc);
        FILE *f = fopen(marker, "w");
        if (f)
            fclose(f);
        rc = shared_wait(rest, seen, 10000, &now);
        if (rc == 0 && now == seen)
            return 1;
    } else if (strcmp(cmd, "hold") == 0) {
        shared_statistics st = {.size = sizeof st};
        rc = shared_stats(&st);
        if (rc == 0)
            return role_park(rest);
    } else if (strcmp(cmd, "tx-die") == 0) {
        rc = shared_lock(10000);
        if (rc == 0)
            rc = shared_set("tx.a", "new-a", 5);
        if (rc == 0)
            rc = shared_del("tx.b");
        if (rc == 0)
            rc = shared_add("tx.n", 5, NULL);
        if (rc == 0)
            rc = shared_set("tx.new", "created", 7);
        if (rc == 0)
            return role_park(rest);
    } else if (strcmp(cmd, "ro-timeout") == 0) {
        /* A reader meeting an open transaction polls until its timeout. */
        uint32_t len;
        shared_set_timeout(300);
        uint64_t t0 = proc_now_ms();
        rc = shared_get(rest, NULL, 0, &len, NULL);
        uint64_t took = proc_now_ms() - t0;
        CHECK(rc == SHARED_ETIMEDOUT);
        CHECK(took >= 250 && took < 3000);
        return 0;
    } else if (strcmp(cmd, "flush") == 0) {
        rc = shared_flush();
    } else if (strcmp(cmd, "twice") == 0) {
        CHECK(shared_open(name, flags) == 0);
        CHECK(shared_open(name, flags ^ SHARED_OPEN_GLOBAL) ==
              SHARED_EATTACHED);
        CHECK(shared_open("another-name", flags) == SHARED_EATTACHED);
        CHECK(shared_open(NULL, flags) == SHARED_ENULL);
    } else if (strcmp(cmd, "open") != 0) {
        return 2;
    }
    return rc ? FAIL(rc) : 0;
}

/* Runs `named` in a child and returns its exit code. */
static int run(unsigned flags, const char *name, const char *cmd,
               const char *arg)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%u|%s|%s|%s", flags, name, cmd, arg);
    int h = role_start("named", buf);
    ck_assert_int_ge(h, 0);
    int code = proc_wait(h, 30000);
    ck_assert_int_ne(code, PROC_RUNNING);
    return code;
}

/* Starts `named CMD MARKER` (hold, tx-die, wait) and waits for MARKER. */
static int start(unsigned flags, const char *name, const char *cmd,
                 const char *arg, const char *marker)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%u|%s|%s|%s", flags, name, cmd, arg);
    int h = role_start("named", buf);
    ck_assert_int_ge(h, 0);
    ck_assert_msg(file_wait(marker, 15000), "%s never said it started", cmd);
    return h;
}

START_TEST(open_rejects_bad_arguments)
{
    /* Argument checks come before any attach: this process may already
     * use its own home. */
    char long_name[SHARED_NAME_MAX + 2];
    memset(long_name, 'a', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    ck_assert_code(shared_open(NULL, 0), SHARED_ENULL);
    ck_assert_code(shared_open("", 0), SHARED_EINVAL);
    ck_assert_code(shared_open(".hidden", 0), SHARED_EINVAL);
    ck_assert_code(shared_open("a/b", 0), SHARED_EINVAL);
    ck_assert_code(shared_open("sp ace", 0), SHARED_EINVAL);
    ck_assert_code(shared_open("a\\b", 0), SHARED_EINVAL);
    ck_assert_code(shared_open(long_name, 0), SHARED_EINVAL);
    ck_assert_code(shared_open("", SHARED_OPEN_FILE), SHARED_EINVAL);
    ck_assert_code(shared_open("ok", 0x10), SHARED_EINVAL);
    ck_assert_code(shared_open("ok", 0x80000000u), SHARED_EINVAL);
    ck_assert_code(
        shared_open("ok", SHARED_OPEN_PUBLISHED | SHARED_OPEN_READONLY),
        SHARED_EINVAL);
    /* The longest name is accepted (checked in a fresh process). */
    long_name[SHARED_NAME_MAX] = '\0';
    memcpy(long_name, g_name, strlen(g_name));
    ck_assert_int_eq(run(0, long_name, "set", "k=v"), 0);
}
END_TEST

START_TEST(open_after_attach_is_eattached)
{
    shared_statistics st = {.size = sizeof st};
    ck_assert_code(shared_stats(&st), 0); /* attached to its own home */
    ck_assert_code(shared_open(g_name, 0), SHARED_EATTACHED);
    ck_assert_code(shared_flush(), SHARED_EINVAL); /* not a file home */
}
END_TEST

START_TEST(open_twice_same_is_ok_other_is_eattached)
{
    ck_assert_int_eq(run(0, g_name, "twice", ""), 0);
}
END_TEST

START_TEST(readonly_open_of_a_missing_instance_is_enoinstance)
{
    ck_assert_int_eq(run(SHARED_OPEN_READONLY, g_name, "open", ""),
                     100 - SHARED_ENOINSTANCE);
    /* ... and creates none. */
    ck_assert_int_eq(run(SHARED_OPEN_READONLY, g_name, "open", ""),
                     100 - SHARED_ENOINSTANCE);
}
END_TEST

/* role named-retry NAME|OTHER: a failed open chooses no home: the next
 * open of another name works. */
int role_named_retry(const char *arg)
{
    char name[64];
    const char *bar = strchr(arg, '|');
    if (!bar || (size_t)(bar - arg) >= sizeof name)
        return 2;
    memcpy(name, arg, (size_t)(bar - arg));
    name[bar - arg] = '\0';
    int rc = shared_open(name, SHARED_OPEN_READONLY);
    if (rc != SHARED_ENOINSTANCE)
        return 1;
    rc = shared_open(bar + 1, 0);
    if (rc == 0)
        rc = shared_set("retry", "yes", 3);
    if (rc)
        return FAIL(rc);
    return holds("retry", "yes");
}

/* role named-race NAME: 8 threads open NAME at once; every one gets 0
 * (the same open again), none SHARED_EATTACHED. */
static const char *g_race_name;

static void race_open(void *rc)
{
    *(int *)rc = shared_open(g_race_name, 0);
}

int role_named_race(const char *arg)
{
    int rc[8];
    void *args[8];
    g_race_name = arg;
    for (int i = 0; i < 8; i++)
        args[i] = &rc[i];
    if (run_parallel(8, race_open, args) != 0)
        return 2;
    for (int i = 0; i < 8; i++)
        if (rc[i])
            return FAIL(rc[i]);
    return shared_set("race", "ok", 2) == 0 ? holds("race", "ok") : 1;
}

START_TEST(threads_opening_the_same_instance_at_once_all_succeed)
{
    for (int round = 0; round < 20; round++) {
        int h = role_start("named-race", g_name);
        ck_assert_int_ge(h, 0);
        ck_assert_int_eq(proc_wait(h, 30000), 0);
    }
}
END_TEST

/* role named-env-open NAME: SHARED_INSTANCE=NAME, read-only and missing,
 * chose the home and its attach failed; shared_open of that same home
 * opens it now, so it reports the same error rather than 0. */
int role_named_env_open(const char *arg)
{
    shared_statistics st = {.size = sizeof st};
    proc_setenv("SHARED_INSTANCE", arg);
    proc_setenv("SHARED_INSTANCE_FLAGS", "readonly");
    int rc = shared_stats(&st);
    if (rc != SHARED_ENOINSTANCE)
        return FAIL(rc);
    rc = shared_open(arg, SHARED_OPEN_READONLY);
    if (rc != SHARED_ENOINSTANCE)
        return 10 + (rc == 0);
    return 0;
}

START_TEST(open_of_the_home_the_environment_failed_to_attach_is_its_error)
{
    int h = role_start("named-env-open", g_name);
    ck_assert_int_ge(h, 0);
    ck_assert_int_eq(proc_wait(h, 30000), 0);
}
END_TEST

START_TEST(a_failed_open_leaves_no_home_chosen)
{
    char arg[160];
    snprintf(arg, sizeof arg, "%s|%s", g_name, g_other);
    int h = role_start("named-retry", arg);
    ck_assert_int_ge(h, 0);
    ck_assert_int_eq(proc_wait(h, 30000), 0);
}
END_TEST

START_TEST(two_instances_and_the_default_do_not_see_each_other)
{
    uint32_t len = 0;
    char buf[32];
    ck_assert_code(shared_set("nm.k", "default", 7), 0);
    int h = start(0, g_name, "hold", g_marker, g_marker);
    ck_assert_int_eq(run(0, g_name, "set", "nm.k=one"), 0);
    ck_assert_int_eq(run(0, g_other, "absent", "nm.k"), 0);
    ck_assert_int_eq(run(0, g_other, "set", "nm.k=two"), 0);
    ck_assert_int_eq(run(0, g_name, "expect", "nm.k=one"), 0);
    ck_assert_code(shared_get("nm.k", buf, sizeof buf, &len, NULL), 0);
    ck_assert_int_eq(len, 7);
    ck_assert_int_eq(memcmp(buf, "default", 7), 0);
    proc_kill(h);
}
END_TEST

START_TEST(a_published_instance_is_read_only_for_readers)
{
    char arg[160];
    int h = start(SHARED_OPEN_PUBLISHED, g_name, "hold", g_marker, g_marker);
    ck_assert_int_eq(run(SHARED_OPEN_PUBLISHED, g_name, "set", "pub.k=v1"), 0);
    ck_assert_int_eq(run(SHARED_OPEN_READONLY, g_name, "readonly", "pub.k=v1"),
                     0);
    /* Nothing a reader tried reached the state. */
    ck_assert_int_eq(run(SHARED_OPEN_PUBLISHED, g_name, "expect", "pub.k=v1"),
                     0);
    ck_assert_int_eq(run(SHARED_OPEN_PUBLISHED, g_name, "absent", "ro.new"), 0);
    /* A reader waiting is woken by a writer's change. */
    char wmark[128];
    snprintf(wmark, sizeof wmark, "%s.w", g_marker);
    remove(wmark);
    snprintf(arg, sizeof arg, "pub.k:%s", wmark);
    int w = start(SHARED_OPEN_READONLY, g_name, "wait", arg, wmark);
    proc_sleep_ms(100);
    ck_assert_int_eq(proc_wait(w, 0), PROC_RUNNING);
    uint64_t t0 = proc_now_ms();
    ck_assert_int_eq(run(SHARED_OPEN_PUBLISHED, g_name, "set", "pub.k=v2"), 0);
    ck_assert_int_eq(proc_wait(w, 9000), 0);
    ck_assert_uint_lt(proc_now_ms() - t0, 9000);
    remove(wmark);
    proc_kill(h);
}
END_TEST

/* The last writer leaving keeps an instance a reader maps (its values
 * too, for later readers and writers); once nobody maps it, the last
 * writer leaving removes it. */
START_TEST(the_last_writer_leaving_keeps_the_instance_for_its_readers)
{
    ck_assert_int_eq(run(SHARED_OPEN_PUBLISHED, g_name, "set", "keep.k=v"), 0);
    ck_assert_int_eq(run(SHARED_OPEN_READONLY, g_name, "open", ""),
                     100 - SHARED_ENOINSTANCE);
    int h = start(SHARED_OPEN_PUBLISHED, g_name, "hold", g_marker, g_marker);
    ck_assert_int_eq(run(SHARED_OPEN_PUBLISHED, g_name, "set", "keep.k=v"), 0);
    remove(g_marker);
    int rd = start(SHARED_OPEN_READONLY, g_name, "hold", g_marker, g_marker);
    proc_kill(h); /* the writer dies: the next writer leaving is the last */
    ck_assert_int_eq(run(SHARED_OPEN_PUBLISHED, g_name, "expect", "keep.k=v"),
                     0);
    ck_assert_int_eq(run(SHARED_OPEN_READONLY, g_name, "expect", "keep.k=v"),
                     0);
    ck_assert_int_eq(run(SHARED_OPEN_PUBLISHED, g_name, "expect", "keep.k=v"),
                     0);
    proc_kill(rd); /* nobody left: the next writer leaving removes it */
    ck_assert_int_eq(run(SHARED_OPEN_PUBLISHED, g_name, "set", "keep.k=w"), 0);
    ck_assert_int_eq(run(SHARED_OPEN_READONLY, g_name, "open", ""),
                     100 - SHARED_ENOINSTANCE);
}
END_TEST

START_TEST(a_dead_writers_change_is_recovered_by_the_next_writer)
{
    int h = start(SHARED_OPEN_PUBLISHED, g_name, "hold", g_marker, g_marker);
    ck_assert_int_eq(run(SHARED_OPEN_PUBLISHED, g_name, "set", "tx.a=old-a"),
                     0);
    ck_assert_int_eq(run(SHARED_OPEN_PUBLISHED, g_name, "set", "tx.b=old-b"),
                     0);
    char tmark[128];
    snprintf(tmark, sizeof tmark, "%s.tx", g_marker);
    remove(tmark);
    int tx = start(SHARED_OPEN_PUBLISHED, g_name, "tx-die", tmark, tmark);
    /* Open transaction: a reader never takes the lock, it times out. */
    ck_assert_int_eq(run(SHARED_OPEN_READONLY, g_name, "ro-timeout", "tx.a"),
                     0);
    proc_kill(tx); /* dies holding the lock, the transaction open */
    ck_assert_int_eq(run(SHARED_OPEN_READONLY, g_name, "ro-timeout", "tx.a"),
                     0);
    /* The next writer takes the lock and undoes the dead one's change. */
    ck_assert_int_eq(run(SHARED_OPEN_PUBLISHED, g_name, "expect", "tx.a=old-a"),
                     0);
    ck_assert_int_eq(
        run(SHARED_OPEN_READONLY, g_name, "readonly", "tx.a=old-a"), 0);
    remove(tmark);
    proc_kill(h);
}
END_TEST

#ifndef _WIN32
START_TEST(another_user_reads_a_published_instance_only)
{
    if (geteuid() != 0)
        return; /* needs root to become another user */
    int h = start(SHARED_OPEN_PUBLISHED, g_name, "hold", g_marker, g_marker);
    ck_assert_int_eq(run(SHARED_OPEN_PUBLISHED, g_name, "set", "pub.k=v1"), 0);
    ck_assert_int_eq(run(DROP_TO_NOBODY | SHARED_OPEN_READONLY, g_name,
                         "readonly", "pub.k=v1"),
                     0);
    /* Writing needs write access to the object: refused at open. */
    ck_assert_int_eq(run(DROP_TO_NOBODY | SHARED_OPEN_PUBLISHED, g_name, "set",
                         "pub.k=evil"),
                     100 - SHARED_EACCESS);
    ck_assert_int_eq(run(SHARED_OPEN_PUBLISHED, g_name, "expect", "pub.k=v1"),
                     0);
    proc_kill(h);
    remove(g_marker);
    /* A private instance can not be opened by another user at all. */
    h = start(0, g_other, "hold", g_marker, g_marker);
    ck_assert_int_eq(
        run(DROP_TO_NOBODY | SHARED_OPEN_READONLY, g_other, "open", ""),
        100 - SHARED_EACCESS);
    proc_kill(h);
}
END_TEST
#endif

START_TEST(a_file_home_outlives_its_processes)
{
    ck_assert_int_eq(run(SHARED_OPEN_FILE, g_file, "set", "f.k=kept"), 0);
    ck_assert_int_eq(run(SHARED_OPEN_FILE, g_file, "set", "f.j=too"), 0);
    ck_assert_int_eq(run(SHARED_OPEN_FILE, g_file, "expect", "f.k=kept"), 0);
    ck_assert_int_eq(run(SHARED_OPEN_FILE, g_file, "flush", ""), 0);
    ck_assert_int_eq(run(SHARED_OPEN_FILE | SHARED_OPEN_READONLY, g_file,
                         "readonly", "f.j=too"),
                     0);
    FILE *f = fopen(g_file, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    ck_assert_int_eq(ftell(f), (long)sizeof(shared__region));
    fclose(f);
}
END_TEST

START_TEST(a_file_home_recovers_a_transaction_killed_half_way)
{
    ck_assert_int_eq(run(SHARED_OPEN_FILE, g_file, "set", "tx.a=old-a"), 0);
    ck_assert_int_eq(run(SHARED_OPEN_FILE, g_file, "set", "tx.b=old-b"), 0);
    int h = start(SHARED_OPEN_FILE, g_file, "tx-die", g_marker, g_marker);
    proc_kill(h); /* inside the transaction, holding the lock */
    ck_assert_int_eq(run(SHARED_OPEN_FILE, g_file, "expect", "tx.a=old-a"), 0);
    ck_assert_int_eq(run(SHARED_OPEN_FILE, g_file, "expect", "tx.b=old-b"), 0);
    ck_assert_int_eq(run(SHARED_OPEN_FILE, g_file, "absent", "tx.new"), 0);
    ck_assert_int_eq(run(SHARED_OPEN_FILE, g_file, "absent", "tx.n"), 0);
    ck_assert_int_eq(run(SHARED_OPEN_FILE, g_file, "set", "tx.a=after"), 0);
}
END_TEST

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    fclose(f);
#ifndef _WIN32
    chmod(path, 0600);
#endif
}

START_TEST(a_scribbled_closed_flag_does_not_lock_writers_out_of_a_file)
{
    uint32_t one = 1;
    int h = start(SHARED_OPEN_FILE, g_file, "hold", g_marker, g_marker);
    FILE *f = fopen(g_file, "r+b");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fseek(f, (long)offsetof(shared__header, closed), 0), 0);
    ck_assert_uint_eq(fwrite(&one, sizeof one, 1, f), 1);
    fclose(f);
    ck_assert_int_eq(run(SHARED_OPEN_FILE, g_file, "set", "c.k=v"), 0);
    ck_assert_int_eq(run(SHARED_OPEN_FILE, g_file, "expect", "c.k=v"), 0);
    proc_kill(h);
}
END_TEST

START_TEST(a_foreign_or_short_file_is_eversion)
{
    write_file(g_file, "not a state file\n", 17);
    ck_assert_int_eq(run(SHARED_OPEN_FILE, g_file, "set", "k=v"),
                     100 - SHARED_EVERSION);
    /* Of the right size, but someone else's bytes: never formatted. */
    unsigned char *junk = malloc(sizeof(shared__region));
    ck_assert_ptr_nonnull(junk);
    for (size_t i = 0; i < sizeof(shared__region); i++)
        junk[i] = (unsigned char)(i * 7u + 1u);
    write_file(g_file, junk, sizeof(shared__region));
    ck_assert_int_eq(run(SHARED_OPEN_FILE, g_file, "set", "k=v"),
                     100 - SHARED_EVERSION);
    FILE *f = fopen(g_file, "rb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fread(junk, 1, 16, f), 16);
    fclose(f);
    ck_assert_uint_eq(junk[0], 1u); /* left as it was */
    ck_assert_uint_eq(junk[15], (unsigned char)(15u * 7u + 1u));
    free(junk);
}
END_TEST

START_TEST(a_directory_at_the_path_is_not_a_state_file)
{
    /* Not a regular file: SHARED_EVERSION, for writers and readers. */
    ck_assert_int_eq(make_dir(g_file), 0);
    int rw = run(SHARED_OPEN_FILE, g_file, "set", "k=v");
    int ro = run(SHARED_OPEN_FILE | SHARED_OPEN_READONLY, g_file, "open", "");
    remove_dir(g_file);
    ck_assert_int_eq(rw, 100 - SHARED_EVERSION);
    ck_assert_int_eq(ro, 100 - SHARED_EVERSION);
#ifdef _WIN32
    /* A device (NUL) likewise. */
    ck_assert_int_eq(run(SHARED_OPEN_FILE, "NUL", "set", "k=v"),
                     100 - SHARED_EVERSION);
#else
    ck_assert_int_eq(run(SHARED_OPEN_FILE, "/dev/null", "set", "k=v"),
                     100 - SHARED_EVERSION);
#endif
}
END_TEST

/* Overwrites len bytes at offset of the file with `byte`. */
static void scribble(const char *path, long offset, size_t len, int byte)
{
    FILE *f = fopen(path, "r+b");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fseek(f, offset, SEEK_SET), 0);
    for (size_t i = 0; i < len; i++)
        fputc(byte, f);
    fclose(f);
}

START_TEST(a_damaged_file_is_refused_or_reported_never_a_crash)
{
    ck_assert_int_eq(run(SHARED_OPEN_FILE, g_file, "set", "d.k=value"), 0);
    /* The layout id: another build's file. */
    scribble(g_file, (long)offsetof(shared__header, layout_id), 8, 0x5a);
    ck_assert_int_eq(run(SHARED_OPEN_FILE, g_file, "set", "k=v"),
                     100 - SHARED_EVERSION);
    ck_assert_int_eq(
        run(SHARED_OPEN_FILE | SHARED_OPEN_READONLY, g_file, "open", ""),
        100 - SHARED_EVERSION);
#ifndef _WIN32
    /* POSIX: the robust mutex is laid out per bitness, so a file of the
     * other bitness is refused (Windows shares it: a kernel mutex). */
    remove(g_file);
    ck_assert_int_eq(run(SHARED_OPEN_FILE, g_file, "set", "d.k=value"), 0);
    uint32_t other = sizeof(void *) == 8 ? 32u : 64u;
    FILE *f = fopen(g_file, "r+b");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fseek(f, (long)offsetof(shared__header, bitness), 0), 0);
    ck_assert_uint_eq(fwrite(&other, sizeof other, 1, f), 1);
    fclose(f);
    ck_assert_int_eq(run(SHARED_OPEN_FILE, g_file, "expect", "d.k=value"),
                     100 - SHARED_EVERSION);
#endif
    /* A fresh file, its slots then overwritten. */
    remove(g_file);
    ck_assert_int_eq(run(SHARED_OPEN_FILE, g_file, "set", "d.k=value"), 0);
    scribble(g_file, (long)offsetof(shared__region, slot), 4096, 0xa5);
    int code = run(SHARED_OPEN_FILE, g_file, "expect", "d.k=value");
    ck_assert_msg(code == 100 - SHARED_ECORRUPT ||
                      code == 100 - SHARED_ENOTFOUND,
                  "exit %d", code);
    /* The whole header, the lock included. */
    scribble(g_file, 0, sizeof(shared__header), 0xff);
    ck_assert_int_eq(run(SHARED_OPEN_FILE, g_file, "expect", "d.k=value"),
                     100 - SHARED_EVERSION);
}
END_TEST

#ifndef _WIN32
/* Runs `named` in a child that must end within 10 s: its exit code. */
static int run_bounded(unsigned flags, const char *name, const char *cmd)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%u|%s|%s|", flags, name, cmd);
    int h = role_start("named", buf);
    ck_assert_int_ge(h, 0);
    int code = proc_wait(h, 10000);
    ck_assert_msg(code != PROC_RUNNING, "%s of a FIFO hangs", cmd);
    return code;
}

START_TEST(a_fifo_in_place_of_the_home_is_refused_never_a_hang)
{
    /* A FIFO at a file home's path, or squatting a named instance's
     * object (anyone may make one in /dev/shm): opening it for reading
     * must not block until some writer opens the FIFO. */
    char obj[128];
    snprintf(obj, sizeof obj, "/dev/shm/shared.%s", g_name);
    ck_assert_int_eq(mkfifo(g_file, 0600), 0);
    ck_assert_int_eq(mkfifo(obj, 0600), 0);
    ck_assert_int_eq(
        run_bounded(SHARED_OPEN_FILE | SHARED_OPEN_READONLY, g_file, "open"),
        100 - SHARED_EVERSION);
    ck_assert_int_eq(run_bounded(SHARED_OPEN_FILE, g_file, "open"),
                     100 - SHARED_EVERSION);
    ck_assert_int_eq(run_bounded(SHARED_OPEN_READONLY, g_name, "open"),
                     100 - SHARED_EVERSION);
    ck_assert_int_eq(run_bounded(0, g_name, "open"), 100 - SHARED_EVERSION);
    struct stat st;
    ck_assert_int_eq(stat(obj, &st), 0);
    ck_assert(S_ISFIFO(st.st_mode)); /* left as it was */
    unlink(obj);
}
END_TEST
#endif

#ifndef _WIN32
/* The descriptor of process `pid` (0: this one) that names
 * /dev/shm/shared.NAME (a removed object's link ends in " (deleted)"), or
 * -1. */
static int object_fd(unsigned pid, const char *name)
{
    char want[160], path[64], link[256];
    snprintf(want, sizeof want, "/dev/shm/shared.%s", name);
    for (int fd = 0; fd < 1024; fd++) {
        if (pid)
            snprintf(path, sizeof path, "/proc/%u/fd/%d", pid, fd);
        else
            snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(path, link, sizeof link - 1);
        if (n <= 0)
            continue;
        link[n] = '\0';
        if (strncmp(link, want, strlen(want)) == 0)
            return fd;
    }
    return -1;
}

/* role named-noleak NAME: shared_open(NAME) must fail (its object is
 * marked closed under a live holder); then no descriptor of this process
 * may still name the object (it would hold an attach lock on it). */
int role_named_noleak(const char *arg)
{
    if (shared_open(arg, 0) == 0)
        return 3;
    return object_fd(0, arg) >= 0 ? 10 : 0;
}

START_TEST(a_failed_open_keeps_no_descriptor_of_the_object)
{
    uint32_t one = 1;
    char obj[128];
    int h = start(0, g_name, "hold", g_marker, g_marker);
    snprintf(obj, sizeof obj, "/dev/shm/shared.%s", g_name);
    FILE *f = fopen(obj, "r+b");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fseek(f, (long)offsetof(shared__header, closed), 0), 0);
    ck_assert_uint_eq(fwrite(&one, sizeof one, 1, f), 1);
    fclose(f);
    int c = role_start("named-noleak", g_name);
    ck_assert_int_ge(c, 0);
    ck_assert_int_eq(proc_wait(c, 60000), 0);
    proc_kill(h);
}
END_TEST
#endif

#ifndef _WIN32

/* role named-linked NAME|OPENED|CHECK: opens NAME read-only, creates
 * OPENED, waits (at most 20 s) for CHECK, then checks that what it opened
 * is still the object named NAME: SHARED_ENOINSTANCE is fine, a successful
 * open of an object since removed (mapped for ever, never seeing a writer
 * again) is not (exit 1). */
int role_named_linked(const char *arg)
{
    char name[128], opened[128], check[128], obj[160];
    struct stat mine, linked;
    if (sscanf(arg, "%127[^|]|%127[^|]|%127s", name, opened, check) != 3)
        return 2;
    shared_set_timeout(20000); /* longer than the writer stops */
    int rc = shared_open(name, SHARED_OPEN_READONLY);
    FILE *f = fopen(opened, "w");
    if (f)
        fclose(f);
    if (!file_wait(check, 20000))
        return 3;
    fprintf(stderr, "named-linked: shared_open: %s\n", shared_errname(rc));
    if (rc == SHARED_ENOINSTANCE)
        return 0;
    if (rc)
        return FAIL(rc);
    int fd = object_fd(0, name);
    snprintf(obj, sizeof obj, "/dev/shm/shared.%s", name);
    if (fd < 0 || fstat(fd, &mine) != 0) {
        fprintf(stderr, "named-linked: no descriptor of %s\n", obj);
        return 1;
    }
    if (stat(obj, &linked) != 0 || linked.st_ino != mine.st_ino ||
        linked.st_dev != mine.st_dev) {
        fprintf(stderr, "named-linked: opened inode %lu, %s is %s\n",
                (unsigned long)mine.st_ino, obj,
                stat(obj, &linked) != 0 ? "gone" : "another object");
        return 1;
    }
    return 0;
}

/* Touches an empty file. */
static void touch(const char *path)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
}

/* Starts shared_detach_writer NAME (beside this binary; linked against
 * libshared_hooks.so) stopped at `step` (detach: as it leaves, before it
 * removes the object; wake: in its set, after the unlock and before the
 * wake-up) until GO exists; returns its pid once it says it stopped
 * (MARKER). */
static pid_t start_stopped_writer(const char *name, const char *step,
                                  const char *marker, const char *go)
{
    char exe[4096], *slash;
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 32);
    ck_assert_int_gt(n, 0);
    exe[n] = '\0';
    slash = strrchr(exe, '/');
    ck_assert_ptr_nonnull(slash);
    strcpy(slash + 1, "shared_detach_writer");
    setenv("SHARED_TEST_STOP", step, 1);
    setenv("SHARED_TEST_MARKER", marker, 1);
    setenv("SHARED_TEST_GO", go, 1);
    pid_t pid;
    char *argv[] = {exe, (char *)name, NULL};
    int rc = posix_spawn(&pid, exe, NULL, NULL, argv, environ);
    unsetenv("SHARED_TEST_STOP");
    unsetenv("SHARED_TEST_MARKER");
    unsetenv("SHARED_TEST_GO");
    ck_assert_int_eq(rc, 0);
    if (!file_wait(marker, 15000)) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        ck_abort_msg("shared_detach_writer never stopped at %s", step);
    }
    return pid;
}

/* The exit code of `pid` within timeout_ms, or -1 (then killed). */
static int wait_pid(pid_t pid, uint32_t timeout_ms)
{
    int status;
    uint64_t end = proc_now_ms() + timeout_ms;
    for (;;) {
        pid_t got = waitpid(pid, &status, WNOHANG);
        if (got == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
        if (got < 0 || proc_now_ms() >= end)
            break;
        proc_sleep_ms(5);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

/* The last writer leaves while a reader opens: the reader either gets
 * SHARED_ENOINSTANCE or keeps the object alive; it never maps an object
 * removed under it (it would read stale values for ever, while the next
 * writer makes a new one). The writer stops after deciding to remove the
 * object (no reader then); the reader opens in that window. */
START_TEST(a_reader_opening_as_the_last_writer_leaves_is_never_orphaned)
{
    char stop[128], go[128], opened[128], check[128], arg[512];
    snprintf(stop, sizeof stop, "%s.stop", g_marker);
    snprintf(go, sizeof go, "%s.go", g_marker);
    snprintf(opened, sizeof opened, "%s.opened", g_marker);
    snprintf(check, sizeof check, "%s.check", g_marker);
    remove(stop);
    remove(go);
    remove(opened);
    remove(check);
    pid_t w = start_stopped_writer(g_name, "detach", stop, go);
    snprintf(arg, sizeof arg, "%s|%s|%s", g_name, opened, check);
    int r = role_start("named-linked", arg);
    ck_assert_int_ge(r, 0);
    /* The reader opens the object while the writer is stopped (then it
     * takes its lock and checks the flag; or it waits for the writer to
     * finish): seen in its descriptors, then 2 s is plenty. */
    uint64_t end = proc_now_ms() + 15000;
    while (object_fd(proc_pid(r), g_name) < 0 && proc_now_ms() < end &&
           !file_wait(opened, 0))
        proc_sleep_ms(10);
    file_wait(opened, 2000);
    touch(go);
    ck_assert_int_eq(wait_pid(w, 15000), 0);
    touch(check);
    ck_assert_int_eq(proc_wait(r, 30000), 0);
    remove(stop);
    remove(go);
    remove(opened);
    remove(check);
}
END_TEST

/* A writer killed after its change was published and the lock released,
 * but before it woke anyone: the waiters of that key still see the change
 * within a wait slice, not at the end of their timeout (10 s here). */
START_TEST(a_writer_killed_before_its_wake_up_still_wakes_the_waiters)
{
    char waiting[128], stop[128], go[128], arg[256];
    snprintf(waiting, sizeof waiting, "%s.waiting", g_marker);
    snprintf(stop, sizeof stop, "%s.stop", g_marker);
    snprintf(go, sizeof go, "%s.go", g_marker);
    remove(waiting);
    remove(stop);
    remove(go);
    int h = start(SHARED_OPEN_PUBLISHED, g_name, "hold", g_marker, g_marker);
    ck_assert_int_eq(run(SHARED_OPEN_PUBLISHED, g_name, "set", "detach.k=0"),
                     0);
    snprintf(arg, sizeof arg, "detach.k:%s", waiting);
    int wt = start(SHARED_OPEN_PUBLISHED, g_name, "wait", arg, waiting);
    proc_sleep_ms(300); /* asleep in its wait by now */
    uint64_t t0 = proc_now_ms();
    pid_t w = start_stopped_writer(g_name, "wake", stop, go);
    kill(w, SIGKILL);
    waitpid(w, NULL, 0);
    int code = proc_wait(wt, 30000);
    uint64_t took = proc_now_ms() - t0;
    ck_assert_int_eq(code, 0);
    ck_assert_msg(took < 5000,
                  "the waiter slept %llu ms: only its timeout ended the wait",
                  (unsigned long long)took);
    proc_kill(h);
    remove(waiting);
    remove(stop);
    remove(go);
}
END_TEST
#endif

START_TEST(the_environment_chooses_the_home_too)
{
    const char *old = getenv("SHARED_INSTANCE_FLAGS");
    char saved[64] = "";
    if (old)
        snprintf(saved, sizeof saved, "%s", old);
    /* A bad flag word is SHARED_EINVAL at the first call. */
    proc_setenv("SHARED_INSTANCE_FLAGS", "published,bogus");
    int h = role_start("attach", g_name);
    ck_assert_int_ge(h, 0);
    ck_assert_int_eq(proc_wait(h, 30000), 100 - SHARED_EINVAL);
    /* "file": SHARED_INSTANCE is a path; the file home is created there
     * (exit 10: created here) and then found by the next process. */
    proc_setenv("SHARED_INSTANCE_FLAGS", "file");
    h = role_start("attach", g_file);
    ck_assert_int_ge(h, 0);
    ck_assert_int_eq(proc_wait(h, 30000), 10);
    h = role_start("attach", g_file);
    ck_assert_int_ge(h, 0);
    ck_assert_int_eq(proc_wait(h, 30000), 0);
    /* "readonly" of a missing instance: SHARED_ENOINSTANCE. */
    proc_setenv("SHARED_INSTANCE_FLAGS", "readonly");
    h = role_start("attach", g_other);
    ck_assert_int_ge(h, 0);
    ck_assert_int_eq(proc_wait(h, 30000), 100 - SHARED_ENOINSTANCE);
    /* Flags without an instance: SHARED_EINVAL, not the default home
     * opened writable behind the caller's back. */
    char inst[SHARED_PATH_MAX + 1] = "";
    if (getenv("SHARED_INSTANCE"))
        snprintf(inst, sizeof inst, "%s", getenv("SHARED_INSTANCE"));
    proc_setenv("SHARED_INSTANCE", "");
    h = role_start("attach", "");
    ck_assert_int_ge(h, 0);
    int code = proc_wait(h, 30000);
    proc_setenv("SHARED_INSTANCE", inst);
    ck_assert_int_eq(code, 100 - SHARED_EINVAL);
    proc_setenv("SHARED_INSTANCE_FLAGS", saved);
    FILE *f = fopen(g_file, "rb");
    ck_assert_ptr_nonnull(f);
    fclose(f);
}
END_TEST

Suite *named_suite(void)
{
    Suite *s = suite_create("named");
    TCase *tc = tcase_create("named");
    tcase_add_checked_fixture(tc, named_setup, named_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, open_rejects_bad_arguments);
    tcase_add_test(tc, open_after_attach_is_eattached);
    tcase_add_test(tc, open_twice_same_is_ok_other_is_eattached);
    tcase_add_test(tc, readonly_open_of_a_missing_instance_is_enoinstance);
    tcase_add_test(tc, a_failed_open_leaves_no_home_chosen);
    tcase_add_test(
        tc, open_of_the_home_the_environment_failed_to_attach_is_its_error);
    tcase_add_test(tc, threads_opening_the_same_instance_at_once_all_succeed);
    tcase_add_test(tc, two_instances_and_the_default_do_not_see_each_other);
    tcase_add_test(tc, a_published_instance_is_read_only_for_readers);
    tcase_add_test(tc,
                   the_last_writer_leaving_keeps_the_instance_for_its_readers);
    tcase_add_test(tc, a_dead_writers_change_is_recovered_by_the_next_writer);
#ifndef _WIN32
    tcase_add_test(tc, another_user_reads_a_published_instance_only);
#endif
    tcase_add_test(tc, a_file_home_outlives_its_processes);
    tcase_add_test(tc, a_file_home_recovers_a_transaction_killed_half_way);
    tcase_add_test(tc,
                   a_scribbled_closed_flag_does_not_lock_writers_out_of_a_file);
    tcase_add_test(tc, a_foreign_or_short_file_is_eversion);
    tcase_add_test(tc, a_directory_at_the_path_is_not_a_state_file);
    tcase_add_test(tc, a_damaged_file_is_refused_or_reported_never_a_crash);
    tcase_add_test(tc, the_environment_chooses_the_home_too);
#ifndef _WIN32
    tcase_add_test(tc, a_fifo_in_place_of_the_home_is_refused_never_a_hang);
    tcase_add_test(tc, a_failed_open_keeps_no_descriptor_of_the_object);
    tcase_add_test(
        tc, a_reader_opening_as_the_last_writer_leaves_is_never_orphaned);
    tcase_add_test(tc,
                   a_writer_killed_before_its_wake_up_still_wakes_the_waiters);
#endif
    suite_add_tcase(s, tc);
    return s;
}
