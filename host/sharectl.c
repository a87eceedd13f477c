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
     "under KEY, replacing any value or counter. A VALUE that starts with\n"
     "'-' goes after `--`: `sharectl set -- KEY -v`."},
    {"get", ctl_get, 1, 1, "get KEY [--raw | --version | --json]",
     "Prints the value of KEY: a counter as a number, bytes as text (UTF-8\n"
     "as is) with \\xHH for control characters and bytes that are not UTF-8.\n"
     "--raw writes the exact bytes, --version prints the key's version\n"
     "instead, --json an object whose \"value\" is the text, or\n"
     "\"value_base64\" (the bytes in base64) when they are not UTF-8."},
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
     "Queues the message (at most SHARED_MSG_MAX bytes) on CHANNEL, waiting\n"
     "up to MS ms (default 5000) if the channel already holds\n"
     "SHARED_CHANNEL_DEPTH messages (then exit 5)."},
    {"recv", ctl_recv, 1, 1, "recv CHANNEL [--timeout MS] [--raw | --json]",
     "Takes the oldest message from CHANNEL and prints it, waiting up to MS\n"
     "ms (default 5000; 0: do not wait) for one (then exit 4). Every\n"
     "message is received exactly once, by one receiver."},
    {"peers", ctl_peers, 0, 0, "peers [--json]",
     "Lists the processes using the shared state (dead ones are removed\n"
     "first): pid, executable, when they attached and last took the lock."},
    {"hold", ctl_hold, 0, 0,
     "hold [--seconds S] [--background] | hold --stop PID",
     "Keeps the shared state alive until Ctrl-C or S seconds. The state\n"
     "lives only while some process uses it: on Windows while a process\n"
     "has shared.dll loaded; on POSIX the last process to leave removes the\n"
     "shared memory object. So `set` in one command and `get` in the next\n"
     "meet the same state only while a holder runs: `sharectl hold` in\n"
     "another window, or `sharectl hold --background`, which starts a\n"
     "detached holder, prints its pid and returns once it holds the state.\n"
     "`sharectl hold --stop PID` ends it (only a sharectl that uses the\n"
     "state), and with it the state if no other process uses it."},
    {"flush", ctl_flush, 0, 0, "flush",
     "For a state kept in a file (--file PATH): writes every change made\n"
     "so far to the file and waits until the storage reports it durable\n"
     "(msync + fsync; FlushViewOfFile + FlushFileBuffers). Exit 2 for any\n"
     "other home."},
    {"repair", ctl_repair, 0, 0, "repair --yes",
     "When every call times out or reports corruption because the lock\n"
     "is damaged (POSIX): takes the lock by force (re-initialises it),\n"
     "runs the crash recovery and keeps the keys. Needs --yes: safe only\n"
     "if no process really holds the lock."},
};

#define NCOMMANDS (sizeof k_commands / sizeof k_commands[0])

/* Options, and the commands that take them ("*": every command). */
typedef struct option {
    const char *name;
    int takes_value;
    const char *commands;
} option;

static const option k_options[] = {
    {"--json", 0, "get add cas list stats dump watch recv peers"},
    {"--raw", 0, "get recv"},
    {"--version", 0, "get"},
    {"--yes", 0, "reset repair"},
    {"--all", 0, "dump"},
    {"--file", 1, "set cas send"},
    {"--timeout", 1, "*"},
    {"--count", 1, "watch"},
    {"--seconds", 1, "watch hold"},
    {"--background", 0, "hold"},
    {"--stop", 1, "hold"},
    {"--help", 0, "*"},
    {"-h", 0, "*"},
};

#define NOPTIONS (sizeof k_options / sizeof k_options[0])

/* Ranges of the numeric options. */
#define CTL_TIMEOUT_MAX 4294967294LL /* the library takes a uint32_t */
#define CTL_COUNT_MAX 2147483647LL
#define CTL_SECONDS_MAX 2147483647LL /* x 1000 ms fits a uint64_t */
#define CTL_PID_MAX 4294967295LL

static void general_help(FILE *out)
{
    fprintf(out, "usage: sharectl [HOME] COMMAND [ARGS] [OPTIONS] [--] "
                 "[ARGS]\n\n"
                 "State shared between processes through shared.dll /\n"
                 "libshared.so. Commands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  %s\n", k_commands[i].usage);
    fprintf(
        out,
        "\nOptions come after the command; each command takes only its own\n"
        "(see `sharectl help COMMAND`), plus --timeout MS (lock timeout, "
        "default %u)\nand --help. `--` ends the options: arguments after it "
        "may start with '-'.\n\n"
        "Lifetime: the state lives only while at least one process uses it.\n"
        "On Windows it is the DLL's shared section, gone when the last "
        "process\nunloads shared.dll. On POSIX it is a shared memory object; "
        "the last process to leave removes it\n(and if all its users were "
        "killed, the next one wipes it). Keep `sharectl hold`\nrunning in "
        "another window, or `sharectl hold --background`, between "
        "commands.\nA writing command that had to create the state itself "
        "warns on stderr.\n\n"
        "Text: keys and values given as arguments are UTF-8 (on Windows read "
        "from\nthe Unicode command line); JSON output is UTF-8, with "
        "\"value_base64\" for\nbytes that are not UTF-8.\n\n"
        "HOME (before the command) chooses where the state lives instead "
        "of the default\n(the DLL's section / the build's shared memory "
        "object):\n"
        "  --instance NAME  a named instance (NAME: 1..%d characters from "
        "A-Z a-z\n                   0-9 . _ -, not starting with '.')\n"
        "  --file PATH      a state kept in a file: outlives every process\n"
        "  --published      the creator writes; other users may read "
        "(--readonly)\n"
        "  --readonly       open an existing instance for reading only: "
        "writes exit 7\n"
        "  --global         Windows: Global\\ instead of Local\\ (all "
        "sessions)\n"
        "Environment: SHARED_INSTANCE=NAME (1..32 characters, as "
        "--instance; a path\nwith SHARED_INSTANCE_FLAGS=file) and "
        "SHARED_INSTANCE_FLAGS=published,readonly,\nglobal,file do the same "
        "for every program using the library.\n\n"
        "Exit codes: 0 ok, 1 other failure, 2 invalid input, 3 not "
        "found,\n4 timed out, 5 full, 6 corrupt section, 7 system error, "
        "8 version\nconflict (cas), 9 wrong type or overflow (add).\n",
        SHARED_DEFAULT_TIMEOUT_MS, SHARED_NAME_MAX);
}

static void command_help(const command *c)
{
    printf("usage: sharectl %s\n\n%s\n", c->usage, c->help);
}

/* The home chosen with --instance / --file (NULL: the default) and its
 * SHARED_OPEN_* flags. */
static const char *g_home;
static uint32_t g_home_flags;

int ctl_fail(const char *what, int err)
{
    fprintf(stderr, "sharectl: %s: %s (%s)", what, shared_strerror(err),
            shared_errname(err));
    if (err == SHARED_EACCESS && (g_home_flags & SHARED_OPEN_READONLY))
        fprintf(stderr, " [opened --readonly: writes are refused]");
    else if (err == SHARED_ESYSTEM || err == SHARED_EACCESS ||
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

void ctl_warn_unheld(void)
{
    shared_statistics st = {.size = sizeof st};
    if (g_home_flags & SHARED_OPEN_FILE)
        return; /* a file keeps the state without a holder */
    if (shared_stats(&st) != 0 || !st.created_here || st.peers > 1)
        return;
    fprintf(stderr,
            "sharectl: warning: this command created the shared state and no "
            "other process\nuses it, so the change is lost when sharectl "
            "exits. Keep a holder running\nfirst: `sharectl hold` in another "
            "window, or `sharectl hold --background`.\n");
}

/* Parses the value of a numeric option in [min, max]. */
static int parse_range(const char *name, const char *v, int64_t min,
                       int64_t max, int64_t *out)
{
    if (text_parse_i64(v, out) != 0 || *out < min || *out > max)
        return ctl_usage("%s takes an integer in %lld..%lld, not '%s'", name,
                         (long long)min, (long long)max, v ? v : "");
    return 0;
}

/* 1 if `name` is a word of the space-separated list (or the list is "*"). */
static int in_list(const char *list, const char *name)
{
    size_t n = strlen(name);
    if (strcmp(list, "*") == 0)
        return 1;
    for (const char *p = list; (p = strstr(p, name)) != NULL; p += n) {
        if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
            return 1;
    }
    return 0;
}

/* An argument that is an option: starts with '-', but is not "-" (standard
 * input) nor a negative number. */
static int is_option(const char *a)
{
    return a[0] == '-' && a[1] != '\0' && !(a[1] >= '0' && a[1] <= '9');
}

static int set_option(const char *name, const char *v, ctl_opts *o)
{
    int64_t n;
    if (strcmp(name, "--json") == 0)
        o->json = 1;
    else if (strcmp(name, "--raw") == 0)
        o->raw = 1;
    else if (strcmp(name, "--version") == 0)
        o->version = 1;
    else if (strcmp(name, "--yes") == 0)
        o->yes = 1;
    else if (strcmp(name, "--all") == 0)
        o->all = 1;
    else if (strcmp(name, "--background") == 0)
        o->background = 1;
    else if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0)
        o->help = 1;
    else if (strcmp(name, "--file") == 0)
        o->file = v;
    else if (strcmp(name, "--timeout") == 0) {
        if (parse_range(name, v, 0, CTL_TIMEOUT_MAX, &n))
            return CTL_USAGE;
        shared_set_timeout((uint32_t)n);
        o->timeout = n;
    } else if (strcmp(name, "--count") == 0)
        return parse_range(name, v, 0, CTL_COUNT_MAX, &o->count);
    else if (strcmp(name, "--seconds") == 0)
        return parse_range(name, v, 0, CTL_SECONDS_MAX, &o->seconds);
    else if (strcmp(name, "--stop") == 0)
        return parse_range(name, v, 1, CTL_PID_MAX, &o->stop);
    return 0;
}

/* Flags that contradict each other. */
static int check_conflicts(const ctl_opts *o)
{
    const struct {
        int a, b;
        const char *names;
    } k[] = {
        {o->json, o->raw, "--json and --raw"},
        {o->json, o->version, "--json and --version"},
        {o->raw, o->version, "--raw and --version"},
        {o->stop >= 0, o->background, "--stop and --background"},
        {o->stop >= 0, o->seconds >= 0, "--stop and --seconds"},
    };
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        if (k[i].a && k[i].b)
            return ctl_usage("%s cannot be combined", k[i].names);
    }
    return 0;
}

static int parse_args(const char *cmd, int argc, char **argv, ctl_opts *o)
{
    int options = 1;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (options && strcmp(a, "--") == 0) {
            options = 0;
            continue;
        }
        if (!options || !is_option(a)) {
            if (o->npos == CTL_MAX_ARGS)
                return ctl_usage("too many arguments");
            o->pos[o->npos++] = a;
            continue;
        }
        const option *opt = NULL;
        for (size_t k = 0; k < NOPTIONS && !opt; k++) {
            if (strcmp(k_options[k].name, a) == 0)
                opt = &k_options[k];
        }
        if (!opt)
            return ctl_usage("unknown option '%s' (a value that starts with "
                             "'-' goes after --)",
                             a);
        if (!in_list(opt->commands, cmd))
            return ctl_usage("%s does not take %s", cmd, a);
        const char *v = NULL;
        if (opt->takes_value) {
            if (i + 1 == argc)
                return ctl_usage("%s needs a value", a);
            v = argv[++i];
        }
        if (set_option(a, v, o))
            return CTL_USAGE;
    }
    return check_conflicts(o);
}

static const command *find_command(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (strcmp(k_commands[i].name, name) == 0)
            return &k_commands[i];
    }
    return NULL;
}

/* The HOME options before the command: consumed from argv (argv[0] is
 * moved up). Returns 0, or CTL_USAGE. */
static int parse_home(int *argc, char ***argv)
{
    char **a = *argv;
    int i = 1;
    uint32_t flags = 0;
    for (; i < *argc; i++) {
        if (strcmp(a[i], "--instance") == 0 || strcmp(a[i], "--file") == 0) {
            if (i + 1 == *argc)
                return ctl_usage("%s needs a value", a[i]);
            if (g_home)
                return ctl_usage("give one --instance or --file");
            if (a[i][2] == 'f')
                flags |= SHARED_OPEN_FILE;
            g_home = a[++i];
        } else if (strcmp(a[i], "--published") == 0) {
            flags |= SHARED_OPEN_PUBLISHED;
        } else if (strcmp(a[i], "--readonly") == 0) {
            flags |= SHARED_OPEN_READONLY;
        } else if (strcmp(a[i], "--global") == 0) {
            flags |= SHARED_OPEN_GLOBAL;
        } else {
            break;
        }
    }
    if (flags && !g_home)
        return ctl_usage("--published, --readonly and --global need "
                         "--instance NAME or --file PATH");
    g_home_flags = flags;
    a[i - 1] = a[0];
    *argv = a + (i - 1);
    *argc -= i - 1;
    return 0;
}

/* Opens the home chosen with parse_home, and passes it on to the programs
 * sharectl starts (hold --background) through the environment. */
static int open_home(void)
{
    static const struct {
        uint32_t flag;
        const char *word;
    } k[] = {{SHARED_OPEN_PUBLISHED, "published"},
             {SHARED_OPEN_READONLY, "readonly"},
             {SHARED_OPEN_GLOBAL, "global"},
             {SHARED_OPEN_FILE, "file"}};
    char words[64] = "";
    if (!g_home)
        return 0;
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        if (g_home_flags & k[i].flag) {
            if (words[0])
                strcat(words, ",");
            strcat(words, k[i].word);
        }
    }
    int rc = shared_open(g_home, g_home_flags);
    if (rc == SHARED_EINVAL)
        return ctl_usage("'%.80s' is not a valid %s", g_home,
                         g_home_flags & SHARED_OPEN_FILE
                             ? "path"
                             : "instance name (1..32 characters from A-Z "
                               "a-z 0-9 . _ -, not starting with '.')");
    if (rc)
        return ctl_fail(g_home, rc);
    proc_setenv("SHARED_INSTANCE", g_home);
    proc_setenv("SHARED_INSTANCE_FLAGS", words);
    return 0;
}

int main(int argc, char **argv)
{
    argv = proc_utf8_argv(&argc, argv);
    proc_console_utf8();
    if (parse_home(&argc, &argv))
        return CTL_USAGE;
    if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0) {
        general_help(argc < 2 ? stderr : stdout);
        return argc < 2 ? CTL_USAGE : CTL_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("sharectl %s\n", shared_version());
        return CTL_OK;
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
    o.stop = -1;
    int rc = parse_args(c->name, argc, argv, &o);
    if (rc)
        return rc;
    if (o.help) {
        command_help(c);
        return CTL_OK;
    }
    if (o.npos < c->min_args || o.npos > c->max_args)
        return ctl_usage("usage: sharectl %s", c->usage);
    const char *bad = g_home ? NULL : proc_instance_error();
    if (bad)
        return ctl_usage("%s", bad);
    if ((rc = open_home()) != 0)
        return rc;
    proc_binary_stdio();
    rc = c->run(&o);
    fflush(stdout);
    return rc;
}
