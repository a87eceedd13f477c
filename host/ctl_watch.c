/*
 * ctl_watch.c - `sharectl watch`: prints the keys, then every change. It
 * sleeps in shared_wait(NULL, ...) until the section's change count moves,
 * then compares the versions of a new snapshot with the last one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "proc.h"
#include "text.h"

#define PREVIEW 64

typedef struct item {
    char key[SHARED_KEY_MAX + 1];
    uint32_t type, len;
    uint64_t version;
    unsigned char value[PREVIEW];
} item;

typedef struct snap {
    int n;
    item *items; /* SHARED_MAX_KEYS of them */
    ctl_opts *o; /* the keys to watch (none: all) */
} snap;

static int wanted(const ctl_opts *o, const char *key)
{
    if (o->npos == 0)
        return 1;
    for (int i = 0; i < o->npos; i++) {
        if (strcmp(o->pos[i], key) == 0)
            return 1;
    }
    return 0;
}

static int take_visit(const shared_entry *e, void *ctx)
{
    snap *s = ctx;
    if (!wanted(s->o, e->key) || s->n == SHARED_MAX_KEYS)
        return 0;
    item *it = &s->items[s->n++];
    memcpy(it->key, e->key, e->key_len + 1u);
    it->type = e->type;
    it->len = e->value_len;
    it->version = e->version;
    memcpy(it->value, e->value,
           e->value_len < PREVIEW ? e->value_len : PREVIEW);
    return 0;
}

/* Takes a snapshot; *changes is the change count it includes at least. */
static int take(snap *s, uint64_t *changes)
{
    shared_statistics st = {.size = sizeof st};
    int rc = shared_stats(&st);
    if (rc)
        return rc;
    *changes = st.changes;
    s->n = 0;
    rc = shared_foreach(take_visit, s);
    return rc < 0 && rc != SHARED_ECORRUPT ? rc : 0;
}

static const item *find(const snap *s, const char *key)
{
    for (int i = 0; i < s->n; i++) {
        if (strcmp(s->items[i].key, key) == 0)
            return &s->items[i];
    }
    return NULL;
}

static void print_item(const char *event, const item *it, const char *key,
                       int json)
{
    uint32_t shown = it && it->len < PREVIEW ? it->len : PREVIEW;
    if (json) {
        printf("{\"event\":\"%s\",", event);
        text_json_field(stdout, "key", key, (uint32_t)strlen(key));
        if (it) {
            printf(",\"version\":%llu,\"length\":%u,",
                   (unsigned long long)it->version, (unsigned)it->len);
            ctl_print_value(it->type, it->value, shown, 1);
        }
        printf("}\n");
    } else {
        text_escaped(stdout, key, (uint32_t)strlen(key), UINT32_MAX);
        if (it) {
            printf(" = ");
            if (it->type == SHARED_TYPE_COUNTER)
                ctl_print_value(it->type, it->value, it->len, 0);
            else
                text_escaped(stdout, it->value, it->len, shown);
            printf("  (v%llu)\n", (unsigned long long)it->version);
        } else {
            printf(" %s\n", event);
        }
    }
    fflush(stdout);
}

/* Prints what changed from `old` to `now`; returns the number of changes. */
static int diff(const snap *old, const snap *now, int json)
{
    int changes = 0;
    for (int i = 0; i < now->n; i++) {
        const item *was = find(old, now->items[i].key);
        if (!was || was->version != now->items[i].version) {
            print_item("set", &now->items[i], now->items[i].key, json);
            changes++;
        }
    }
    for (int i = 0; i < old->n; i++) {
        if (!find(now, old->items[i].key)) {
            print_item("deleted", NULL, old->items[i].key, json);
            changes++;
        }
    }
    return changes;
}

int ctl_watch(ctl_opts *o)
{
    snap a = {0, calloc(SHARED_MAX_KEYS, sizeof(item)), o};
    snap b = {0, calloc(SHARED_MAX_KEYS, sizeof(item)), o};
    snap *old = &a, *now = &b;
    int rc = CTL_OK, err;
    if (!a.items || !b.items) {
        rc = ctl_fail("watch", SHARED_ENOMEM);
        goto out;
    }
    uint64_t changes = 0;
    proc_catch_interrupt();
    if ((err = take(old, &changes)) != 0) {
        rc = ctl_fail("watch", err);
        goto out;
    }
    for (int i = 0; i < old->n; i++)
        print_item("initial", &old->items[i], old->items[i].key, o->json);
    for (int i = 0; i < o->npos; i++) {
        if (!find(old, o->pos[i]))
            print_item("missing", NULL, o->pos[i], o->json);
    }
    uint64_t end = o->seconds >= 0
                       ? proc_now_ms() + (uint64_t)o->seconds * 1000u
                       : UINT64_MAX;
    int64_t seen = 0;
    while (!proc_interrupted() && proc_now_ms() < end &&
           (o->count < 0 || seen < o->count)) {
        /* Short waits, so that Ctrl-C and --seconds are noticed. */
        err = shared_wait(NULL, changes, 500, NULL);
        if (err == SHARED_ETIMEDOUT)
            continue;
        if (err == 0)
            err = take(now, &changes);
        if (err != 0) {
            /* A lock held too long is worth a line, not the end of watch. */
            if (err != SHARED_ETIMEDOUT) {
                rc = ctl_fail("watch", err);
                break;
            }
            fprintf(stderr, "sharectl: watch: %s\n", shared_strerror(err));
            continue;
        }
        seen += diff(old, now, o->json);
        snap *t = old;
        old = now;
        now = t;
    }
out:
    free(a.items);
    free(b.items);
    return rc;
}
