/*
 * ctl_write.c - sharectl's commands that change the state (set, del, add,
 * cas, reset) and `hold`, which keeps it alive.
 */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "proc.h"
#include "text.h"

/* Reads at most max bytes; more is an error, not a cut. */
static int read_stream(FILE *f, const char *name, unsigned char *buf,
                       uint32_t *len, uint32_t max, const char *limit)
{
    size_t n = fread(buf, 1, max, f);
    if (ferror(f)) {
        fprintf(stderr, "sharectl: cannot read %s\n", name);
        return CTL_FAILED;
    }
    if (n == max && fgetc(f) != EOF)
        return ctl_usage("%s holds more than %s (%u) bytes", name, limit,
                         (unsigned)max);
    *len = (uint32_t)n;
    return CTL_OK;
}

/* The value of set / cas / send: the argument at pos[at], '-' for standard
 * input, or --file. Exactly one of them. */
int ctl_value_arg(ctl_opts *o, int at, unsigned char *buf, uint32_t *len,
                  uint32_t max, const char *limit)
{
    const char *arg = o->npos > at ? o->pos[at] : NULL;
    if ((arg != NULL) == (o->file != NULL))
        return ctl_usage("give the value as an argument, '-' or --file F");
    if (o->file) {
        FILE *f = proc_fopen(o->file, "rb");
        if (!f) {
            fprintf(stderr, "sharectl: cannot open '%s'\n", o->file);
            return CTL_FAILED;
        }
        int rc = read_stream(f, o->file, buf, len, max, limit);
        fclose(f);
        return rc;
    }
    if (strcmp(arg, "-") == 0)
        return read_stream(stdin, "standard input", buf, len, max, limit);
    size_t n = strlen(arg);
    if (n > max)
        return ctl_usage("the value is %zu bytes, more than %s (%u)", n, limit,
                         (unsigned)max);
    memcpy(buf, arg, n);
    *len = (uint32_t)n;
    return CTL_OK;
}

int ctl_set(ctl_opts *o)
{
    static unsigned char buf[SHARED_VALUE_MAX];
    uint32_t len = 0;
    int rc =
        ctl_value_arg(o, 1, buf, &len, SHARED_VALUE_MAX, "SHARED_VALUE_MAX");
    if (rc)
        return rc;
    rc = shared_set(o->pos[0], buf, len);
    if (rc)
        return ctl_fail(o->pos[0], rc);
    ctl_warn_unheld();
    return CTL_OK;
}

int ctl_del(ctl_opts *o)
{
    int rc = shared_del(o->pos[0]);
    if (rc)
        return ctl_fail(o->pos[0], rc);
    ctl_warn_unheld();
    return CTL_OK;
}

int ctl_add(ctl_opts *o)
{
    int64_t delta, result = 0;
    if (text_parse_i64(o->pos[1], &delta) != 0)
        return ctl_usage("add needs an integer in %lld..%lld, not '%s'",
                         (long long)INT64_MIN, (long long)INT64_MAX, o->pos[1]);
    int rc = shared_add(o->pos[0], delta, &result);
    if (rc)
        return ctl_fail(o->pos[0], rc);
    if (o->json) {
        printf("{");
        text_json_field(stdout, "key", o->pos[0], (uint32_t)strlen(o->pos[0]));
        printf(",\"value\":%lld}\n", (long long)result);
    } else {
        printf("%lld\n", (long long)result);
    }
    ctl_warn_unheld();
    return CTL_OK;
}

int ctl_cas(ctl_opts *o)
{
    static unsigned char buf[SHARED_VALUE_MAX];
    uint64_t expected, version = 0;
    uint32_t len = 0;
    if (text_parse_u64(o->pos[1], &expected) != 0)
        return ctl_usage("cas needs a version number in 0..%llu, not '%s'",
                         (unsigned long long)UINT64_MAX, o->pos[1]);
    int rc =
        ctl_value_arg(o, 2, buf, &len, SHARED_VALUE_MAX, "SHARED_VALUE_MAX");
    if (rc)
        return rc;
    rc = shared_cas(o->pos[0], expected, buf, len, &version);
    if (rc == SHARED_ECONFLICT) {
        fprintf(stderr,
                "sharectl: %s: version conflict: expected %llu, current "
                "%llu%s\n",
                o->pos[0], (unsigned long long)expected,
                (unsigned long long)version,
                version ? "" : " (the key does not exist)");
    } else if (rc) {
        return ctl_fail(o->pos[0], rc);
    }
    if (o->json) {
        printf("{");
        text_json_field(stdout, "key", o->pos[0], (uint32_t)strlen(o->pos[0]));
        printf(",\"ok\":%s,\"version\":%llu}\n", rc ? "false" : "true",
               (unsigned long long)version);
    } else if (rc == 0) {
        printf("%llu\n", (unsigned long long)version);
    }
    if (rc == 0)
        ctl_warn_unheld();
    return ctl_exit_code(rc);
}

uint32_t ctl_wait_ms(const ctl_opts *o)
{
    return o->timeout >= 0 ? (uint32_t)o->timeout : SHARED_DEFAULT_TIMEOUT_MS;
}

int ctl_reset(ctl_opts *o)
{
    if (!o->yes)
        return ctl_usage("reset removes every key: add --yes to confirm");
    int rc = shared_reset();
    if (rc)
        return ctl_fail("reset", rc);
    ctl_warn_unheld();
    return CTL_OK;
}

typedef struct find_peer {
    uint32_t pid;
    int found, sharectl;
} find_peer;

static int peer_visit(const shared_peer_info *p, void *ctx)
{
    find_peer *f = ctx;
    if (p->pid != f->pid || p->self)
        return 0;
    f->found = 1;
    f->sharectl = strstr(p->exe, "sharectl") != NULL;
    return 1;
}

/* 1 if process `pid` is registered with the state (dead ones are reaped
 * first); *sharectl: and it is a sharectl. */
static int is_peer(uint32_t pid, int *sharectl)
{
    find_peer f = {pid, 0, 0};
    int rc = shared_peers(peer_visit, &f);
    if (rc < 0)
        return rc;
    if (sharectl)
        *sharectl = f.sharectl;
    return f.found;
}

/* hold --background: starts a detached `sharectl hold` and returns once it
 * holds the state, so the next command meets it. */
static int hold_background(ctl_opts *o)
{
    char secs[24];
    const char *argv[] = {"hold", "--seconds", secs};
    snprintf(secs, sizeof secs, "%lld", (long long)o->seconds);
    uint32_t pid = proc_start_detached(o->seconds >= 0 ? 3 : 1, argv);
    if (pid == 0) {
        fprintf(stderr, "sharectl: hold: cannot start a background process\n");
        return CTL_SYSTEM;
    }
    uint64_t end = proc_now_ms() + 10000u;
    int rc;
    while ((rc = is_peer(pid, NULL)) == 0 && proc_now_ms() < end)
        proc_sleep_ms(20);
    if (rc < 0)
        return ctl_fail("hold", rc);
    if (rc == 0) {
        fprintf(stderr,
                "sharectl: hold: the background holder (pid %u) did "
                "not attach within 10 s\n",
                (unsigned)pid);
        return CTL_FAILED;
    }
    printf("sharectl: holding the shared state in the background (pid %u",
           (unsigned)pid);
    if (o->seconds >= 0)
        printf(", for %lld s", (long long)o->seconds);
    printf(");\n          stop it with `sharectl hold --stop %u`\n",
           (unsigned)pid);
    return CTL_OK;
}

/* hold --stop PID: ends a holder, but only a sharectl registered with this
 * state (never an unrelated process that reused the pid). */
static int hold_stop(ctl_opts *o)
{
    uint32_t pid = (uint32_t)o->stop;
    int sharectl = 0;
    int rc = is_peer(pid, &sharectl);
    if (rc < 0)
        return ctl_fail("hold", rc);
    if (rc == 0 || !sharectl) {
        fprintf(stderr,
                "sharectl: hold --stop: no sharectl with pid %u uses the "
                "shared state\n",
                (unsigned)pid);
        return CTL_NOTFOUND;
    }
    if (proc_terminate(pid) != 0) {
        fprintf(stderr, "sharectl: hold --stop: cannot end pid %u\n",
                (unsigned)pid);
        return CTL_SYSTEM;
    }
    uint64_t end = proc_now_ms() + 10000u;
    while ((rc = is_peer(pid, NULL)) > 0 && proc_now_ms() < end)
        proc_sleep_ms(20);
    if (rc != 0) {
        fprintf(stderr, "sharectl: hold --stop: pid %u is still there\n",
                (unsigned)pid);
        return CTL_TIMEOUT;
    }
    printf("sharectl: stopped the holder (pid %u)\n", (unsigned)pid);
    return CTL_OK;
}

int ctl_hold(ctl_opts *o)
{
    if (o->stop >= 0)
        return hold_stop(o);
    if (o->background)
        return hold_background(o);
    shared_statistics st = {.size = sizeof st};
    proc_catch_interrupt();
    int rc = shared_stats(&st);
    if (rc)
        return ctl_fail("hold", rc);
    printf("sharectl: holding the shared state (pid %u, %s, %u keys%s);\n"
           "          Ctrl-C to release",
           (unsigned)proc_id(), st.object_name, (unsigned)st.keys_used,
           st.created_here ? ", created now" : "");
    if (o->seconds >= 0)
        printf(" (or %lld s)", (long long)o->seconds);
    printf("\n");
    fflush(stdout);
    /* --seconds is at most CTL_SECONDS_MAX: the product cannot overflow. */
    uint64_t end = o->seconds >= 0
                       ? proc_now_ms() + (uint64_t)o->seconds * 1000u
                       : UINT64_MAX;
    while (!proc_interrupted() && proc_now_ms() < end)
        proc_sleep_ms(50);
    printf("sharectl: released\n");
    return CTL_OK;
}
