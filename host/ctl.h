/*
 * ctl.h - what sharectl's files share: parsed options, the commands, and
 * the mapping from library errors to the tool's stable exit codes.
 */
#ifndef SHARED_HOST_CTL_H
#define SHARED_HOST_CTL_H

#include <stdint.h>

#include "shared.h"

/* Exit codes: stable, documented in `sharectl --help` and the README. */
enum {
    CTL_OK = 0,
    CTL_FAILED = 1,   /* anything not listed below (I/O error, ...) */
    CTL_USAGE = 2,    /* invalid input: arguments, key, value or buffer size */
    CTL_NOTFOUND = 3, /* no such key */
    CTL_TIMEOUT = 4,  /* the lock was not obtained in time */
    CTL_FULL = 5,     /* a limit: keys, journal, channel(s), peers, waiters */
    CTL_CORRUPT = 6,  /* corrupt section, other layout, misbuilt DLL */
    CTL_SYSTEM = 7,   /* OS error, access denied, name clash, memory */
    CTL_CONFLICT = 8, /* cas: the version did not match */
    CTL_TYPE = 9      /* add: not a counter, or overflow */
};

#define CTL_MAX_ARGS 16

typedef struct ctl_opts {
    int json, raw, version, yes, all, help, background;
    const char *file;
    int64_t count;   /* watch: stop after this many changes (-1: never) */
    int64_t seconds; /* hold, watch: stop after this long (-1: never) */
    int64_t timeout; /* --timeout MS (-1: not given) */
    int64_t stop;    /* hold --stop PID (-1: not given) */
    int npos;
    const char *pos[CTL_MAX_ARGS];
} ctl_opts;

/* Commands: each returns an exit code. */
int ctl_set(ctl_opts *o);
int ctl_get(ctl_opts *o);
int ctl_del(ctl_opts *o);
int ctl_add(ctl_opts *o);
int ctl_cas(ctl_opts *o);
int ctl_list(ctl_opts *o);
int ctl_stats(ctl_opts *o);
int ctl_reset(ctl_opts *o);
int ctl_dump(ctl_opts *o);
int ctl_watch(ctl_opts *o);
int ctl_hold(ctl_opts *o);
int ctl_send(ctl_opts *o);
int ctl_recv(ctl_opts *o);
int ctl_peers(ctl_opts *o);
int ctl_repair(ctl_opts *o); /* ctl_repair.c */
int ctl_flush(ctl_opts *o);  /* ctl_repair.c */

/* Listings shared by stats, dump and peers (JSON: an array, no newline).
 * Return the library's result. */
int ctl_print_peers(int json);
int ctl_print_channels(int json);

/* The value argument of set / cas / send: pos[at], '-' for stdin, or
 * --file; at most `max` bytes, the limit called `limit` in messages. */
int ctl_value_arg(ctl_opts *o, int at, unsigned char *buf, uint32_t *len,
                  uint32_t max, const char *limit);

/* How long send and recv may wait: --timeout, else the default. */
uint32_t ctl_wait_ms(const ctl_opts *o);

/* Reports a failed call on stderr ("sharectl: WHAT: message (NAME)") and
 * returns the exit code for it. */
int ctl_fail(const char *what, int err);

/* Exit code for a library error. */
int ctl_exit_code(int err);

/* Prints a usage error and returns CTL_USAGE. */
int ctl_usage(const char *fmt, ...);

/* Tells the user (stderr) when the state they are reading was created by
 * this very command, hence empty: no other process holds it. */
void ctl_note_fresh(void);

/* After a successful writing command: warns (stderr) when this command
 * created the state and no other process holds it, so the change is lost
 * as soon as sharectl exits. */
void ctl_warn_unheld(void);

/* One key of a snapshot, found with shared_foreach. */
typedef struct ctl_entry {
    int found;
    uint32_t type, len;
    uint64_t version;
    unsigned char value[SHARED_VALUE_MAX];
} ctl_entry;

/* Looks `key` up in one consistent snapshot (value, type and version). */
int ctl_lookup(const char *key, ctl_entry *e);

/* Prints a value for a person (counters as numbers) or as the JSON member
 * "value": a number, a UTF-8 string, or "value_base64" for other bytes. */
void ctl_print_value(uint32_t type, const void *v, uint32_t len, int json);

#endif /* SHARED_HOST_CTL_H */
