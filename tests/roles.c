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

#define FAIL(rc) (100 - (rc))

static void touch(const char *path)
{
    FILE *f = fopen(path, "w");
    if (f)
        fclose(f);
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
    char key[SHARED_KEY_MAX + 2], buf[SHARED_VALUE_MAX];
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
static int role_attach(const char *instance)
{
    shared_statistics st = {.size = sizeof st};
    if (*instance)
        proc_setenv("SHARED_INSTANCE", instance);
    shared_set_timeout(300);
    int rc = shared_stats(&st);
    if (rc)
        return FAIL(rc);
    return st.created_here ? 10 : 0;
}

/* hold MARKER: take the lock, say so, and wait to be killed. */
static int role_hold(const char *marker)
{
    int rc = shared_lock(10000);
    if (rc)
        return FAIL(rc);
    touch(marker);
    proc_sleep_ms(60000);
    return 3;
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
    touch(marker);
    proc_sleep_ms(60000);
    return 3;
}

/* churn KEY: rewrite KEY with self-checking values of varying length, and
 * KEY.a / KEY.b together in transactions, until killed. */
static int role_churn(const char *key)
{
    char ka[SHARED_KEY_MAX + 1], kb[SHARED_KEY_MAX + 1];
    static unsigned char buf[SHARED_VALUE_MAX];
    snprintf(ka, sizeof ka, "%s.a", key);
    snprintf(kb, sizeof kb, "%s.b", key);
    for (uint64_t i = 1; i < 100000000u; i++) {
        uint32_t len = churn_value(buf, i);
        int rc = shared_set(key, buf, len);
        if (rc == 0)
            rc = shared_lock(10000);
        if (rc == 0) {
            rc = shared_set(ka, &i, sizeof i);
            if (rc == 0)
                rc = shared_set(kb, &i, sizeof i);
            int rc2 = shared_unlock();
            rc = rc ? rc : rc2;
        }
        if (rc)
            return FAIL(rc);
    }
    return 3;
}

uint32_t churn_value(unsigned char *buf, uint64_t i)
{
    uint32_t len = (uint32_t)(16u + (i * 37u) % (SHARED_VALUE_MAX - 15u));
    memcpy(buf, &i, sizeof i);
    memcpy(buf + 8, &len, sizeof len);
    memset(buf + 12, (int)(i & 0xffu), len - 12u);
    return len;
}

int churn_check(const unsigned char *buf, uint32_t len, uint64_t *i)
{
    uint32_t stored;
    if (len < 16 || len > SHARED_VALUE_MAX)
        return 0;
    memcpy(i, buf, sizeof *i);
    memcpy(&stored, buf + 8, sizeof stored);
    if (stored != len)
        return 0;
    for (uint32_t k = 12; k < len; k++) {
        if (buf[k] != (unsigned char)(*i & 0xffu))
            return 0;
    }
    return 1;
}

int role_main(const char *role, const char *arg)
{
    if (strcmp(role, "attach") != 0)
        shared_set_timeout(10000);
    if (strcmp(role, "set") == 0)
        return role_set(arg);
    if (strcmp(role, "expect") == 0)
        return role_expect(arg);
    if (strcmp(role, "attach") == 0)
        return role_attach(arg);
    if (strcmp(role, "hold") == 0)
        return role_hold(arg);
    if (strcmp(role, "tx-die") == 0)
        return role_tx_die(arg);
    if (strcmp(role, "churn") == 0)
        return role_churn(arg);
    fprintf(stderr, "unknown role '%s'\n", role);
    return 2;
}
