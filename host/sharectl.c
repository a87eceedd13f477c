/*
 * sharectl.c - the command-line host of shared.dll / libshared.so: option
 * parsing, help, error reporting and exit codes. The commands are in
 * ctl_read.c and ctl_write.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "proc.h"
#include "text.h"

typedef struct command {
    const char *name;
    int (*run)(ctl_opts *);
    int min_args, max_args;
    const char *usage;
    const char *help;
} command;

static const command k_commands[] = {
    {"set", ctl_set, 1, 2, "set KEY VALUE | set KEY --file F | set KEY -",
     "Stores VALUE (its bytes), the bytes of file F, or standard input ('-')\n"
     "under KEY, replacing any value or counter."},
    {"get", ctl_get, 1, 1, "get KEY [--raw] [--version] [--json]",
     "Prints the value of KEY: a counter as a number, bytes as text with\n"
     "\\xHH for what is not printable ASCII. --raw writes the exact bytes,\n"
     "--version prints the key's version instead, --json an object."},
    {"del", ctl_del, 1, 1, "del KEY", "Removes KEY."},
    {"add", ctl_add, 2, 2, "add KEY N [--json]",
     "Adds the integer N (may be negative) to the 64-bit counter KEY,\n"
     "creating it at 0, and prints the new value. Exit 9 if KEY holds\n"
     "bytes or the sum overflows."},
    {"cas", ctl_cas, 2, 3, "cas KEY VERSION VALUE | --file F | -  [--json]",
     "Stores VALUE under KEY only if KEY's version is VERSION (0: only if\n"
     "KEY does not exist) and prints the new version. Exit 8, with the\n"
     "current version on stderr, if it does not match."},
    {"list", ctl_list, 0, 0, "list [--json]",
     "Prints every key: name, type, length, version, value (shortened)."},
    {"stats", ctl_stats, 0, 0, "stats [--json]",
     "Prints capacity, usage, lock statistics, sizes and names."},
    {"reset", ctl_reset, 0, 0, "reset --yes",
     "Removes every key. Needs --yes. Versions still never repeat."},
    {"dump", ctl_dump, 0, 0, "dump [--all] [--json]",
     "The inspector for when something looks wrong: the header, the\n"
     "transaction and journal state, and every used or corrupt slot (--all:\n"
     "free slots too) with its sequence number, hint and version."},
    {"watch", ctl_watch, 0, CTL_MAX_ARGS,
     "watch [KEY...] [--count N] [--seconds S] [--json]",
     "Prints the keys (all, or the ones named), then a line for every\n"
     "change, until Ctrl-C, N changes or S seconds. It sleeps in\n"
     "shared_wait and wakes when another process changes the section;\n"
     "changes made in quick succession may show as one."},
    {"send", ctl_send, 1, 2, "send CHANNEL MSG | --file F | -  [--timeout MS]",
     "Queues the message on CHANNEL, waiting up to MS ms (default 5000) if\n"
     "the channel is full (then exit 5)."},
    {"recv", ctl_recv, 1, 1, "recv CHANNEL [--timeout MS] [--raw] [--json]",
     "Takes the oldest message from CHANNEL and prints it, waiting up to MS\n"
     "ms (default 5000; 0: do not wait) for one (then exit 4). Every\n"
     "message is received exactly once, by one receiver."},
    {"peers", ctl_peers, 0, 0, "peers [--json]",
     "Lists the processes using the shared state (dead ones are removed\n"
     "first): pid, executable, when they attached and last took the lock."},
    {"hold", ctl_hold, 0, 0, "hold [--seconds S]",
     "Keeps the shared state alive until Ctrl-C or S seconds. On Windows\n"
     "the state exists only while some process has shared.dll loaded: run\n"
     "`sharectl hold` in one window, and `set` in one command and `get` in\n"
     "the next will meet the same state. (On POSIX the state persists in\n"
     "its shared memory object until removed or reboot.)"},
};

#define NCOMMANDS (sizeof k_commands / sizeof k_commands[0])

static void general_help(FILE *out)
{
    fprintf(out, "usage: sharectl COMMAND [ARGS] [OPTIONS]\n\n"
                 "State shared between processes through shared.dll /\n"
                 "libshared.so. Commands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  %s\n", k_commands[i].usage);
    fprintf(out,
            "\nOptions for every command: --timeout MS (lock timeout, default "
            "%u),\n--json (read commands), --help. `sharectl help COMMAND` "
            "explains one.\n\n"
            "Lifetime: on Windows the state lives only while at least one "
            "process has\nthe DLL loaded; keep `sharectl hold` running to "
            "keep it between commands.\n\n"
            "Exit codes: 0 ok, 1 other failure, 2 invalid input, 3 not "
            "found,\n4 timed out, 5 full, 6 corrupt section, 7 system error, "
            "8 version\nconflict (cas), 9 wrong type or overflow (add).\n",
            SHARED_DEFAULT_TIMEOUT_MS);
}

static void command_help(const command *c)
{
    printf("usage: sharectl %s\n\n%s\n", c->usage, c->help);
}

int ctl_fail(const char *what, int err)
{
    fprintf(stderr, "sharectl: %s: %s (%s)", what, shared_strerror(err),
            shared_errname(err));
    if (err == SHARED_ESYSTEM || err == SHARED_EACCESS ||
        err == SHARED_ENAMECLASH)
        fprintf(stderr, " [os error %u]", (unsigned)shared_last_os_error());
    fputc('\n', stderr);
    if (err == SHARED_ENOTFOUND)
        ctl_note_fresh();
    return ctl_exit_code(err);
}

int ctl_usage(const char *fmt, ...)
{
    va_list ap;
    fputs("sharectl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs(" (see sharectl --help)\n", stderr);
    return CTL_USAGE;
}

void ctl_note_fresh(void)
{
    shared_statistics st = {.size = sizeof st};
    if (shared_stats(&st) != 0 || !st.created_here || st.keys_used != 0)
        return;
    if (strcmp(st.backend, "win32") == 0)
        fprintf(stderr,
                "sharectl: note: this command created the shared section: no "
                "other process\nhas shared.dll loaded, so it is empty. The "
                "state lives only while some\nprocess holds the DLL: run "
                "`sharectl hold` in another window.\n");
    else
        fprintf(stderr,
                "sharectl: note: the shared state did not exist; this "
                "command created it, empty\n(%s).\n",
                st.object_name);
}

/* Parses a non-negative integer option value. */
static int parse_count(const char *name, const char *v, int64_t *out)
{
    if (text_parse_i64(v, out) != 0 || *out < 0)
        return ctl_usage("%s needs a non-negative integer, not '%s'", name,
                         v ? v : "");
    return 0;
}

static int parse_args(int argc, char **argv, ctl_opts *o)
{
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        int64_t n;
        if (strcmp(a, "--json") == 0) {
            o->json = 1;
        } else if (strcmp(a, "--raw") == 0) {
            o->raw = 1;
        } else if (strcmp(a, "--version") == 0) {
            o->version = 1;
        } else if (strcmp(a, "--yes") == 0) {
            o->yes = 1;
        } else if (strcmp(a, "--all") == 0) {
            o->all = 1;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            o->help = 1;
        } else if (strcmp(a, "--file") == 0) {
            if (!next)
                return ctl_usage("--file needs a file name");
            o->file = argv[++i];
        } else if (strcmp(a, "--timeout") == 0) {
            if (parse_count("--timeout", next, &n) || n > UINT32_MAX - 1)
                return CTL_USAGE;
            shared_set_timeout((uint32_t)n);
            o->timeout = n;
            i++;
        } else if (strcmp(a, "--count") == 0) {
            if (parse_count("--count", next, &o->count))
                return CTL_USAGE;
            i++;
        } else if (strcmp(a, "--seconds") == 0) {
            if (parse_count("--seconds", next, &o->seconds))
                return CTL_USAGE;
            i++;
        } else if (a[0] == '-' && a[1] == '-' && a[2] != '\0') {
            return ctl_usage("unknown option '%s'", a);
        } else {
            if (o->npos == CTL_MAX_ARGS)
                return ctl_usage("too many arguments");
            o->pos[o->npos++] = a;
        }
    }
    return 0;
}

static const command *find_command(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (strcmp(k_commands[i].name, name) == 0)
            return &k_commands[i];
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0) {
        general_help(argc < 2 ? stderr : stdout);
        return argc < 2 ? CTL_USAGE : CTL_OK;
    }
    if (strcmp(argv[1], "help") == 0) {
        const command *c = argc > 2 ? find_command(argv[2]) : NULL;
        if (argc > 2 && !c)
            return ctl_usage("no command '%s'", argv[2]);
        if (c)
            command_help(c);
        else
            general_help(stdout);
        return CTL_OK;
    }
    const command *c = find_command(argv[1]);
    if (!c)
        return ctl_usage("no command '%s'", argv[1]);
    ctl_opts o;
    memset(&o, 0, sizeof o);
    o.count = -1;
    o.timeout = -1;
    o.seconds = -1;
    int rc = parse_args(argc, argv, &o);
    if (rc)
        return rc;
    if (o.help) {
        command_help(c);
        return CTL_OK;
    }
    if (o.npos < c->min_args || o.npos > c->max_args)
        return ctl_usage("usage: sharectl %s", c->usage);
    proc_binary_stdio();
    rc = c->run(&o);
    fflush(stdout);
    return rc;
}
