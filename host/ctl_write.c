/*
 * ctl_write.c - sharectl's commands that change the state (set, del, add,
 * cas, reset) and `hold`, which keeps it alive.
 */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "proc.h"
#include "text.h"

/* Reads at most SHARED_VALUE_MAX bytes; more is an error, not a cut. */
static int read_stream(FILE *f, const char *name, unsigned char *buf,
                       uint32_t *len)
{
    size_t n = fread(buf, 1, SHARED_VALUE_MAX, f);
    if (ferror(f)) {
        fprintf(stderr, "sharectl: cannot read %s\n", name);
        return CTL_FAILED;
    }
    if (n == SHARED_VALUE_MAX && fgetc(f) != EOF)
        return ctl_usage("%s holds more than SHARED_VALUE_MAX (%u) bytes", name,
                         (unsigned)SHARED_VALUE_MAX);
    *len = (uint32_t)n;
    return CTL_OK;
}

/* The value of set / cas / send: the argument at pos[at], '-' for standard
 * input, or --file. Exactly one of them. */
int ctl_value_arg(ctl_opts *o, int at, unsigned char *buf, uint32_t *len)
{
    const char *arg = o->npos > at ? o->pos[at] : NULL;
    if ((arg != NULL) == (o->file != NULL))
        return ctl_usage("give the value as an argument, '-' or --file F");
    if (o->file) {
        FILE *f = fopen(o->file, "rb");
        if (!f) {
            fprintf(stderr, "sharectl: cannot open '%s'\n", o->file);
            return CTL_FAILED;
        }
        int rc = read_stream(f, o->file, buf, len);
        fclose(f);
        return rc;
    }
    if (strcmp(arg, "-") == 0)
        return read_stream(stdin, "standard input", buf, len);
    size_t n = strlen(arg);
    if (n > SHARED_VALUE_MAX)
        return ctl_usage("the value is %zu bytes, more than SHARED_VALUE_MAX "
                         "(%u)",
                         n, (unsigned)SHARED_VALUE_MAX);
    memcpy(buf, arg, n);
    *len = (uint32_t)n;
    return CTL_OK;
}

int ctl_set(ctl_opts *o)
{
    static unsigned char buf[SHARED_VALUE_MAX];
    uint32_t len = 0;
    int rc = ctl_value_arg(o, 1, buf, &len);
    if (rc)
        return rc;
    rc = shared_set(o->pos[0], buf, len);
    return rc ? ctl_fail(o->pos[0], rc) : CTL_OK;
}

int ctl_del(ctl_opts *o)
{
    int rc = shared_del(o->pos[0]);
    return rc ? ctl_fail(o->pos[0], rc) : CTL_OK;
}

int ctl_add(ctl_opts *o)
{
    int64_t delta, result = 0;
    if (text_parse_i64(o->pos[1], &delta) != 0)
        return ctl_usage("add needs an integer, not '%s'", o->pos[1]);
    int rc = shared_add(o->pos[0], delta, &result);
    if (rc)
        return ctl_fail(o->pos[0], rc);
    if (o->json) {
        printf("{\"key\":");
        text_json_string(stdout, o->pos[0], (uint32_t)strlen(o->pos[0]));
        printf(",\"value\":%lld}\n", (long long)result);
    } else {
        printf("%lld\n", (long long)result);
    }
    return CTL_OK;
}

int ctl_cas(ctl_opts *o)
{
    static unsigned char buf[SHARED_VALUE_MAX];
    uint64_t expected, version = 0;
    uint32_t len = 0;
    if (text_parse_u64(o->pos[1], &expected) != 0)
        return ctl_usage("cas needs a version number, not '%s'", o->pos[1]);
    int rc = ctl_value_arg(o, 2, buf, &len);
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
        printf("{\"key\":");
        text_json_string(stdout, o->pos[0], (uint32_t)strlen(o->pos[0]));
        printf(",\"ok\":%s,\"version\":%llu}\n", rc ? "false" : "true",
               (unsigned long long)version);
    } else if (rc == 0) {
        printf("%llu\n", (unsigned long long)version);
    }
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
    return rc ? ctl_fail("reset", rc) : CTL_OK;
}

int ctl_hold(ctl_opts *o)
{
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
    uint64_t end = o->seconds >= 0
                       ? proc_now_ms() + (uint64_t)o->seconds * 1000u
                       : UINT64_MAX;
    while (!proc_interrupted() && proc_now_ms() < end)
        proc_sleep_ms(50);
    printf("sharectl: released\n");
    return CTL_OK;
}
