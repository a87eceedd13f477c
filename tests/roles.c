/*
 * roles.c - what a child process does when a multi-process test relaunches
 * this binary with `--role NAME ARG`. Exit code 0 means success; 100 + n
 * means a shared_* call failed with -n; 3 means the role ran out of time
 * (the parent was expected to kill it first).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "roles.h"

#define FAIL(rc) ROLE_FAIL(rc)

static void touch(const char *path)
{
    FILE *f = fopen(path, "w");
    if (f)
        fclose(f);
}

int role_park(const char *marker)
{
    touch(marker);
    proc_sleep_ms(60000);
    return 3;
}

/* set KEY=VALUE */
static int role_set(const char *arg)
{
    char key[SHARED_KEY_MAX + 2];
    const char *eq = strchr(arg, '=');
    if (!eq || (size_t)(eq - arg) > SHARED_KEY_MAX)
        return 2;
    memcpy(key, arg, (size_t)(eq - arg));
    key[eq - arg] = '\0';
    int rc = shared_set(key, eq + 1, (uint32_t)strlen(eq + 1));
    return rc ? FAIL(rc) : 0;
}

/* expect KEY=VALUE: succeed only if KEY holds VALUE. */
static int role_expect(const char *arg)
{
    static char buf[SHARED_VALUE_MAX];
    char key[SHARED_KEY_MAX + 2];
    uint32_t len = 0;
    const char *eq = strchr(arg, '=');
    if (!eq || (size_t)(eq - arg) > SHARED_KEY_MAX)
        return 2;
    memcpy(key, arg, (size_t)(eq - arg));
    key[eq - arg] = '\0';
    int rc = shared_get(key, buf, sizeof buf, &len, NULL);
    if (rc)
        return FAIL(rc);
    return len == strlen(eq + 1) && memcmp(buf, eq + 1, len) == 0 ? 0 : 1;
}

/* attach INSTANCE: attach under another SHARED_INSTANCE (POSIX; "" keeps
 * the inherited one). Exits 0 if it found the state, 10 if it created it. */
static int attach_with(const char *instance, uint32_t timeout_ms)
{
    shared_statistics st = {.size = sizeof st};
    if (*instance)
        proc_setenv("SHARED_INSTANCE", instance);
    shared_set_timeout(timeout_ms);
    int rc = shared_stats(&st);
    if (rc)
        return FAIL(rc);
    return st.created_here ? 10 : 0;
}

static int role_attach(const char *instance)
{
    return attach_with(instance, 300);
}

/* attach5s INSTANCE: as attach, with the default 5 s lock timeout. */
static int role_attach5s(const char *instance)
{
    return attach_with(instance, 5000);
}

/* linger INSTANCE: attach under INSTANCE, create the file
 * "linger-INSTANCE", and stay attached until killed. */
static int role_linger(const char *instance)
{
    char marker[96];
    shared_statistics st = {.size = sizeof st};
    proc_setenv("SHARED_INSTANCE", instance);
    int rc = shared_stats(&st);
    if (rc)
        return FAIL(rc);
    snprintf(marker, sizeof marker, "linger-%s", instance);
    return role_park(marker);
}

/* hold MARKER: take the lock, say so, and wait to be killed. */
static int role_hold(const char *marker)
{
    int rc = shared_lock(10000);
    if (rc)
        return FAIL(rc);
    return role_park(marker);
}

/* tx-die MARKER: change four keys inside a transaction, then wait to be
 * killed before committing. */
static int role_tx_die(const char *marker)
{
    int rc = shared_lock(10000);
    if (rc == 0)
        rc = shared_set("tx.a", "new-a", 5);
    if (rc == 0)
        rc = shared_set("tx.b", "new-b", 5);
    if (rc == 0)
        rc = shared_del("tx.c");
    if (rc == 0)
        rc = shared_add("tx.n", 5, NULL);
    if (rc == 0)
        rc = shared_set("tx.new", "created", 7);
    if (rc)
        return FAIL(rc);
    return role_park(marker);
}

int role_arg(const char *arg, char *key, int64_t *n, char *rest,
             size_t rest_cap)
{
    const char *c1 = strchr(arg, ':');
    if (!c1 || (size_t)(c1 - arg) > SHARED_KEY_MAX || c1 == arg)
        return -1;
    memcpy(key, arg, (size_t)(c1 - arg));
    key[c1 - arg] = '\0';
    char *end;
    long long v = strtoll(c1 + 1, &end, 10);
    if (end == c1 + 1 || v < 0)
        return -1;
    *n = v;
    if (rest) {
        if (*end != ':' || strlen(end + 1) >= rest_cap)
            return -1;
        strcpy(rest, end + 1);
    } else if (*end) {
        return -1;
    }
    return 0;
}

int role_pair_keys(const char *key, char *a, char *b)
{
    size_t n = strlen(key);
    if (n + 2 > SHARED_KEY_MAX)
        return -1;
    memcpy(a, key, n);
    memcpy(b, key, n);
    memcpy(a + n, ".a", 3);
    memcpy(b + n, ".b", 3);
    return 0;
}

uint64_t role_last_ack(const char *path)
{
    uint64_t v = 0, last = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    while (fread(&v, sizeof v, 1, f) == 1)
        last = v;
    fclose(f);
    return last;
}

typedef struct role_entry {
    const char *name;
    int (*run)(const char *arg);
} role_entry;

static const role_entry k_roles[] = {
    {"set", role_set},
    {"expect", role_expect},
    {"attach", role_attach},
    {"attach5s", role_attach5s},
    {"hold", role_hold},
    {"linger", role_linger},
    {"tx-die", role_tx_die},
    {"version", role_version},
    {"adder", role_adder},
    {"cas-inc", role_cas_inc},
    {"pair-writer", role_pair_writer},
    {"pair-reader", role_pair_reader},
    {"churn", role_churn},
    {"later", role_later},
    {"waiter", role_waiter},
    {"ponger", role_ponger},
    {"producer", role_producer},
    {"consumer", role_consumer},
    {"recv-one", role_recv_one},
    {"stay", role_stay},
    {"verify-churn", role_verify_churn},
#ifndef _WIN32
    {"fork-attach", role_fork_attach},
#endif
#ifdef SHARED_TEST_WIN
    {"wait-threads", role_wait_threads},
    {"nw-ro-view", role_nw_ro_view},
    {"xbit-driver", role_xbit_driver},
    {"xbit-peer", role_xbit_peer},
#endif
    {"tx-big", role_tx_big},
    {"threads", role_threads},
    {"hostile-user", role_hostile_user},
    {"scribble", role_scribble},
    {"named", role_named},
    {"named-retry", role_named_retry},
    {"named-race", role_named_race},
    {"named-env-open", role_named_env_open},
#ifndef _WIN32
    {"named-noleak", role_named_noleak},
    {"named-linked", role_named_linked},
#endif
};

int role_main(const char *role, const char *arg)
{
    if (strncmp(role, "attach", 6) != 0)
        shared_set_timeout(10000);
    for (size_t i = 0; i < sizeof k_roles / sizeof k_roles[0]; i++) {
        if (strcmp(k_roles[i].name, role) == 0)
            return k_roles[i].run(arg);
    }
    fprintf(stderr, "unknown role '%s'\n", role);
    return 2;
}
