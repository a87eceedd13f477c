/*
 * proc.c (POSIX) - host services: posix_spawn of /proc/self/exe (or argv[0]'s
 * resolved path), SIGKILL, waitpid with a deadline, CLOCK_MONOTONIC.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proc.h"

extern char **environ;

static pid_t g_procs[PROC_MAX];
static volatile sig_atomic_t g_interrupted;

/* This executable's path and args[] for it; -1 if it cannot be had. */
static int self_args(char *self, size_t cap, char **args, int argc,
                     const char *const *argv)
{
    if (argc < 0 || argc > 30)
        return -1;
    ssize_t n = readlink("/proc/self/exe", self, cap - 1);
    if (n <= 0)
        return -1;
    self[n] = '\0';
    args[0] = self;
    for (int i = 0; i < argc; i++)
        args[i + 1] = (char *)argv[i];
    args[argc + 1] = NULL;
    return 0;
}

int proc_start(int argc, const char *const *argv)
{
    char self[4096];
    char *args[32];
    if (self_args(self, sizeof self, args, argc, argv) != 0)
        return -1;
    for (int h = 0; h < PROC_MAX; h++) {
        if (g_procs[h])
            continue;
        pid_t pid;
        if (posix_spawn(&pid, self, NULL, NULL, args, environ) != 0)
            return -1;
        g_procs[h] = pid;
        return h;
    }
    return -1;
}

int proc_wait(int h, uint32_t timeout_ms)
{
    if (h < 0 || h >= PROC_MAX || !g_procs[h])
        return PROC_ERROR;
    uint64_t deadline = proc_now_ms() + timeout_ms;
    for (;;) {
        int status;
        pid_t r = waitpid(g_procs[h], &status, WNOHANG);
        if (r == g_procs[h]) {
            g_procs[h] = 0;
            if (WIFEXITED(status))
                return WEXITSTATUS(status);
            return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
        }
        if (r < 0 && errno != EINTR)
            return PROC_ERROR;
        if (proc_now_ms() >= deadline)
            return PROC_RUNNING;
        proc_sleep_ms(1);
    }
}

void proc_kill(int h)
{
    if (h < 0 || h >= PROC_MAX || !g_procs[h])
        return;
    kill(g_procs[h], SIGKILL);
    proc_wait(h, 10000);
    g_procs[h] = 0;
}

void proc_kill_all(void)
{
    for (int h = 0; h < PROC_MAX; h++)
        proc_kill(h);
}

uint32_t proc_pid(int h)
{
    return h >= 0 && h < PROC_MAX ? (uint32_t)g_procs[h] : 0;
}

uint32_t proc_id(void)
{
    return (uint32_t)getpid();
}

void proc_sleep_ms(uint32_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !g_interrupted)
        ;
}

uint64_t proc_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int proc_stdout_is_tty(void)
{
    return isatty(STDOUT_FILENO);
}

static void on_signal(int sig)
{
    (void)sig;
    g_interrupted = 1;
}

void proc_catch_interrupt(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

int proc_interrupted(void)
{
    return g_interrupted != 0;
}

void proc_setenv(const char *name, const char *value)
{
    setenv(name, value, 1);
}

void proc_binary_stdio(void)
{
}

uint32_t proc_start_detached(int argc, const char *const *argv)
{
    char self[4096];
    char *args[32];
    if (self_args(self, sizeof self, args, argc, argv) != 0)
        return 0;
    pid_t pid = fork();
    if (pid < 0)
        return 0;
    if (pid == 0) {
        setsid();
        int fd = open("/dev/null", O_RDWR);
        if (fd >= 0) {
            dup2(fd, 0);
            dup2(fd, 1);
            dup2(fd, 2);
            if (fd > 2)
                close(fd);
        }
        execv(self, args);
        _exit(127);
    }
    return (uint32_t)pid;
}

int proc_terminate(uint32_t pid)
{
    return pid > 1 && kill((pid_t)pid, SIGTERM) == 0 ? 0 : -1;
}

char **proc_utf8_argv(int *argc, char **argv)
{
    (void)argc;
    return argv;
}

FILE *proc_fopen(const char *path, const char *mode)
{
    return fopen(path, mode);
}

void proc_console_utf8(void)
{
}

const char *proc_instance_error(void)
{
    static char msg[200];
    const char *inst = getenv("SHARED_INSTANCE");
    const char *flags = getenv("SHARED_INSTANCE_FLAGS");
    if (!inst || !*inst)
        return NULL;
    size_t len = strlen(inst);
    if (flags && strstr(flags, "file"))
        return NULL; /* a path: the library checks it */
    if (len <= 32 && inst[0] != '.' &&
        strspn(inst, "abcdefghijklmnopqrstuvwxyz"
                     "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == len)
        return NULL;
    snprintf(
        msg, sizeof msg,
        "SHARED_INSTANCE='%.40s%s' is not a valid instance name: use 1..32 "
        "characters from A-Z a-z 0-9 . _ -, not starting with '.'",
        inst, len > 40 ? "..." : "");
    return msg;
}
