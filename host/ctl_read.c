/*
 * ctl_read.c - sharectl's read commands: get, list, stats, dump, watch.
 * They read through shared_foreach / shared_inspect snapshots, so a value,
 * its type and its version always come from the same instant.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "proc.h"
#include "text.h"

#define PREVIEW 48 /* bytes of a value shown by list and watch */

typedef struct find_ctx {
    const char *key;
    ctl_entry *e;
} find_ctx;

static int find_visit(const shared_entry *e, void *ctx)
{
    find_ctx *f = ctx;
    if (strcmp(e->key, f->key) != 0)
        return 0;
    f->e->found = 1;
    f->e->type = e->type;
    f->e->len = e->value_len;
    f->e->version = e->version;
    memcpy(f->e->value, e->value, e->value_len);
    return 1;
}

int ctl_lookup(const char *key, ctl_entry *e)
{
    size_t klen = strlen(key);
    if (klen == 0)
        return SHARED_EKEYEMPTY;
    if (klen > SHARED_KEY_MAX)
        return SHARED_EKEYTOOLONG;
    find_ctx f = {key, e};
    e->found = 0;
    int rc = shared_foreach(find_visit, &f);
    if (rc < 0 && rc != SHARED_ECORRUPT)
        return rc;
    if (!e->found)
        return rc == SHARED_ECORRUPT ? rc : SHARED_ENOTFOUND;
    return 0;
}

static const char *type_name(uint32_t type)
{
    return type == SHARED_TYPE_COUNTER ? "counter" : "bytes";
}

void ctl_print_value(uint32_t type, const void *v, uint32_t len, int json)
{
    if (type == SHARED_TYPE_COUNTER && len == 8) {
        int64_t n;
        memcpy(&n, v, sizeof n);
        printf("%s%lld", json ? "\"value\":" : "", (long long)n);
    } else if (json) {
        text_json_field(stdout, "value", v, len);
    } else {
        text_escaped(stdout, v, len, UINT32_MAX);
    }
}

static void print_json_entry(const char *key, uint32_t type, const void *v,
                             uint32_t len, uint64_t version)
{
    printf("{");
    text_json_field(stdout, "key", key, (uint32_t)strlen(key));
    printf(",\"type\":\"%s\",\"version\":%llu,\"length\":%u,", type_name(type),
           (unsigned long long)version, (unsigned)len);
    ctl_print_value(type, v, len, 1);
    printf("}");
}

int ctl_get(ctl_opts *o)
{
    static ctl_entry e;
    int rc = ctl_lookup(o->pos[0], &e);
    if (rc)
        return ctl_fail(o->pos[0], rc);
    if (o->version) {
        printf("%llu\n", (unsigned long long)e.version);
    } else if (o->raw) {
        fwrite(e.value, 1, e.len, stdout);
    } else if (o->json) {
        print_json_entry(o->pos[0], e.type, e.value, e.len, e.version);
        printf("\n");
    } else {
        ctl_print_value(e.type, e.value, e.len, 0);
        printf("\n");
    }
    return CTL_OK;
}

typedef struct list_ctx {
    int json, n;
} list_ctx;

static int list_visit(const shared_entry *e, void *ctx)
{
    list_ctx *l = ctx;
    if (l->json) {
        printf("%s\n  ", l->n ? "," : "");
        print_json_entry(e->key, e->type, e->value, e->value_len, e->version);
    } else {
        text_escaped(stdout, e->key, e->key_len, UINT32_MAX);
        printf("\t%s\t%u\tv%llu\t", type_name(e->type), (unsigned)e->value_len,
               (unsigned long long)e->version);
        if (e->type == SHARED_TYPE_COUNTER)
            ctl_print_value(e->type, e->value, e->value_len, 0);
        else
            text_escaped(stdout, e->value, e->value_len, PREVIEW);
        printf("\n");
    }
    l->n++;
    return 0;
}

int ctl_list(ctl_opts *o)
{
    list_ctx l = {o->json, 0};
    if (o->json)
        printf("[");
    int rc = shared_foreach(list_visit, &l);
    if (o->json)
        printf("%s]\n", l.n ? "\n" : "");
    if (rc == SHARED_ECORRUPT) {
        /* Every readable key was listed; only damaged slots were skipped. */
        fprintf(stderr, "sharectl: warning: corrupt slots were skipped (see "
                        "`sharectl dump`; `set` or `del` of a key\nreplaces "
                        "its damaged slot, `reset --yes` clears them all)\n");
        return CTL_OK;
    }
    if (rc < 0)
        return ctl_fail("list", rc);
    if (l.n == 0)
        ctl_note_fresh();
    return CTL_OK;
}

/* Prints the statistics as "name: value" lines or one JSON object. */
static void print_stats(const shared_statistics *s, int json)
{
    const struct {
        const char *name;
        unsigned long long v;
    } f[] = {
        {"max_keys", s->max_keys},
        {"keys_used", s->keys_used},
        {"value_max", s->value_max},
        {"journal_max", s->journal_max},
        {"bytes_used", s->bytes_used},
        {"section_size", s->section_size},
        {"layout_version", s->layout_version},
        {"lock_acquisitions", s->lock_acquisitions},
        {"lock_timeouts", s->lock_timeouts},
        {"owner_died_recoveries", s->owner_died_recoveries},
        {"corrupt_seen", s->corrupt_seen},
        {"next_version", s->next_version},
        {"creator_pid", s->creator_pid},
        {"created_here", s->created_here},
        {"tx_open", s->tx_open},
        {"journal_entries", s->journal_entries},
        {"changes", s->changes},
        {"peers", s->peers},
        {"max_peers", s->max_peers},
        {"peers_reaped", s->peers_reaped},
        {"channels_used", s->channels_used},
        {"waiters", s->waiters},
    };
    if (json) {
        printf("{\"backend\":\"%s\",", s->backend);
        text_json_field(stdout, "object_name", s->object_name,
                        (uint32_t)strlen(s->object_name));
        printf(",\"build_id\":\"%016llx\"", (unsigned long long)s->build_id);
        for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
            printf(",\"%s\":%llu", f[i].name, f[i].v);
        printf(",\"channels\":");
        ctl_print_channels(1);
        printf("}\n");
        return;
    }
    printf("backend: %s\nobject_name: %s\nbuild_id: %016llx\n", s->backend,
           s->object_name, (unsigned long long)s->build_id);
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        printf("%s: %llu\n", f[i].name, f[i].v);
    ctl_print_channels(0);
}

int ctl_stats(ctl_opts *o)
{
    shared_statistics s = {.size = sizeof s};
    int rc = shared_stats(&s);
    if (rc)
        return ctl_fail("stats", rc);
    print_stats(&s, o->json);
    ctl_note_fresh();
    return CTL_OK;
}

typedef struct dump_ctx {
    int json, all, n, corrupt;
} dump_ctx;

static const char *state_name(uint32_t state)
{
    return state == SHARED_SLOT_FREE   ? "free"
           : state == SHARED_SLOT_USED ? "used"
                                       : "CORRUPT";
}

static int dump_visit(const shared_slot_info *s, void *ctx)
{
    dump_ctx *d = ctx;
    d->corrupt += s->state == SHARED_SLOT_CORRUPT;
    if (s->state == SHARED_SLOT_FREE && !d->all && s->hint == 0 &&
        s->seq % 2 == 0)
        return 0;
    if (d->json) {
        printf("%s\n  {\"slot\":%u,\"state\":\"%s\",\"seq\":%u,\"hint\":%u",
               d->n ? "," : "", (unsigned)s->index, state_name(s->state),
               (unsigned)s->seq, (unsigned)s->hint);
        if (s->state == SHARED_SLOT_USED) {
            printf(",");
            text_json_field(stdout, "key", s->key, s->key_len);
            printf(",\"type\":\"%s\",\"length\":%u,\"version\":%llu",
                   type_name(s->type), (unsigned)s->value_len,
                   (unsigned long long)s->version);
        }
        printf("}");
    } else {
        printf("slot %4u  %-7s seq %-10u hint %08x", (unsigned)s->index,
               state_name(s->state), (unsigned)s->seq, (unsigned)s->hint);
        if (s->state == SHARED_SLOT_USED) {
            printf("  v%-8llu %-7s %4u  ", (unsigned long long)s->version,
                   type_name(s->type), (unsigned)s->value_len);
            text_escaped(stdout, s->key, s->key_len, UINT32_MAX);
        }
        if (s->seq % 2)
            printf("  (sequence odd: a write was cut short)");
        printf("\n");
    }
    d->n++;
    return 0;
}

int ctl_dump(ctl_opts *o)
{
    shared_statistics s = {.size = sizeof s};
    dump_ctx d = {o->json, o->all, 0, 0};
    int rc = shared_stats(&s);
    if (rc)
        return ctl_fail("dump", rc);
    if (o->json) {
        printf("{\"header\":");
        print_stats(&s, 1);
        printf(",\"peers\":");
        ctl_print_peers(1);
        printf(",\"slots\":[");
    } else {
        print_stats(&s, 0);
        ctl_print_peers(0);
        printf("\n");
    }
    rc = shared_inspect(dump_visit, &d);
    if (o->json)
        printf("%s]}\n", d.n ? "\n" : "");
    else
        printf("%d slot(s) shown, %d corrupt\n", d.n, d.corrupt);
    if (rc < 0)
        return ctl_fail("dump", rc);
    if (d.corrupt)
        fprintf(stderr,
                "sharectl: warning: %d corrupt slot(s) (`set` or "
                "`del` of a key replaces its damaged\nslot, `reset "
                "--yes` clears them all)\n",
                d.corrupt);
    return CTL_OK;
}
