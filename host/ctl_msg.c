/*
 * ctl_msg.c - sharectl's commands for channels and peers: send, recv,
 * peers, and the channel and peer listings that stats and dump print.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "text.h"

int ctl_send(ctl_opts *o)
{
    static unsigned char buf[SHARED_VALUE_MAX];
    uint32_t len = 0;
    int rc = ctl_value_arg(o, 1, buf, &len, SHARED_MSG_MAX, "SHARED_MSG_MAX");
    if (rc)
        return rc;
    /* A full channel is SHARED_ECHANFULL, whose message names the limit. */
    rc = shared_send(o->pos[0], buf, len, ctl_wait_ms(o));
    if (rc)
        return ctl_fail(o->pos[0], rc);
    ctl_warn_unheld();
    return CTL_OK;
}

int ctl_recv(ctl_opts *o)
{
    static unsigned char buf[SHARED_MSG_MAX];
    uint32_t len = 0;
    int rc = shared_recv(o->pos[0], buf, sizeof buf, &len, ctl_wait_ms(o));
    if (rc)
        return ctl_fail(o->pos[0], rc);
    if (o->raw) {
        fwrite(buf, 1, len, stdout);
    } else if (o->json) {
        printf("{");
        text_json_field(stdout, "channel", o->pos[0],
                        (uint32_t)strlen(o->pos[0]));
        printf(",\"length\":%u,", (unsigned)len);
        text_json_field(stdout, "message", buf, len);
        printf("}\n");
    } else {
        text_escaped(stdout, buf, len, UINT32_MAX);
        printf("\n");
    }
    return CTL_OK;
}

typedef struct list_ctx {
    int json, n;
} list_ctx;

/* Seconds between a Unix time in ms and now (0 if in the future). */
static long long ago(uint64_t ms)
{
    long long now = (long long)time(NULL);
    long long then = (long long)(ms / 1000u);
    return now > then ? now - then : 0;
}

static int peer_visit(const shared_peer_info *p, void *ctx)
{
    list_ctx *l = ctx;
    if (l->json) {
        printf("%s\n  {\"pid\":%u,\"self\":%s,", l->n ? "," : "",
               (unsigned)p->pid, p->self ? "true" : "false");
        text_json_field(stdout, "exe", p->exe, (uint32_t)strlen(p->exe));
        printf(",\"start_time\":%llu,\"attach_ms\":%llu,\"active_ms\":%llu}",
               (unsigned long long)p->start_time,
               (unsigned long long)p->attach_ms,
               (unsigned long long)p->active_ms);
    } else {
        printf("pid %-8u %-24s attached %llds ago, active %llds ago%s\n",
               (unsigned)p->pid, p->exe, ago(p->attach_ms), ago(p->active_ms),
               p->self ? "  (this sharectl)" : "");
    }
    l->n++;
    return 0;
}

int ctl_print_peers(int json)
{
    list_ctx l = {json, 0};
    if (json)
        printf("[");
    int rc = shared_peers(peer_visit, &l);
    if (json)
        printf("%s]", l.n ? "\n" : "");
    return rc;
}

int ctl_peers(ctl_opts *o)
{
    int rc = ctl_print_peers(o->json);
    if (o->json)
        printf("\n");
    return rc < 0 ? ctl_fail("peers", rc) : CTL_OK;
}

static int channel_visit(const shared_channel_info *c, void *ctx)
{
    list_ctx *l = ctx;
    if (l->json) {
        printf("%s\n  {", l->n ? "," : "");
        text_json_field(stdout, "channel", c->name, (uint32_t)strlen(c->name));
        printf(",\"depth\":%u,\"capacity\":%u,\"sent\":%llu,\"received\":%llu}",
               (unsigned)c->depth, (unsigned)c->capacity,
               (unsigned long long)c->sent, (unsigned long long)c->received);
    } else {
        printf("channel ");
        text_escaped(stdout, c->name, (uint32_t)strlen(c->name), UINT32_MAX);
        printf(": depth %u/%u, sent %llu, received %llu\n", (unsigned)c->depth,
               (unsigned)c->capacity, (unsigned long long)c->sent,
               (unsigned long long)c->received);
    }
    l->n++;
    return 0;
}

int ctl_print_channels(int json)
{
    list_ctx l = {json, 0};
    if (json)
        printf("[");
    int rc = shared_channels(channel_visit, &l);
    if (json)
        printf("%s]", l.n ? "\n" : "");
    return rc;
}
