/*
 * exchange.c - two processes exchange a value through `shared`, and each
 * waits for the other's change with shared_wait.
 *
 *   exchange                  the first process: publishes a question,
 *                             starts itself again as the second process,
 *                             waits for the answer, acknowledges it and
 *                             checks that the second process succeeded
 *   exchange --answer KEY VER the second process: reads the question,
 *                             answers it with a compare-and-swap on version
 *                             VER, waits for the acknowledgement
 *
 * Every wait is bounded; the exit code is 0 only if every step worked. Both
 * processes load the same library file (on Windows the same shared.dll, not
 * two copies), so they see the same state.
 */
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#  define _POSIX_C_SOURCE 200809L /* posix_spawn, nanosleep */
#endif
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared.h"

#ifdef _WIN32
#  include <windows.h>
typedef HANDLE child;
#else
#  include <signal.h>
#  include <spawn.h>
#  include <sys/wait.h>
#  include <time.h>
#  include <unistd.h>
extern char **environ;
typedef pid_t child;
#endif

#define TIMEOUT_MS 10000u

static int fail(const char *who, const char *what, int rc)
{
    fprintf(stderr, "exchange (%s): %s: %s\n", who, what, shared_strerror(rc));
    return 1;
}

/* Starts this program again as `exchange --answer KEY VERSION`. */
static int start_second(const char *self, const char *key, uint64_t version,
                        child *c)
{
    char ver[32];
    snprintf(ver, sizeof ver, "%" PRIu64, version);
#ifdef _WIN32
    (void)self;
    char exe[MAX_PATH], cmd[MAX_PATH + 128];
    DWORD n = GetModuleFileNameA(NULL, exe, MAX_PATH);
    if (n == 0 || n == MAX_PATH)
        return -1;
    snprintf(cmd, sizeof cmd, "\"%s\" --answer %s %s", exe, key, ver);
    STARTUPINFOA si = {.cb = sizeof si};
    PROCESS_INFORMATION pi;
    if (!CreateProcessA(exe, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi))
        return -1;
    CloseHandle(pi.hThread);
    *c = pi.hProcess;
    return 0;
#else
    char *argv[] = {(char *)self, "--answer", (char *)key, ver, NULL};
    return posix_spawn(c, "/proc/self/exe", NULL, NULL, argv, environ) == 0
               ? 0
               : -1;
#endif
}

/* Waits at most ms for the second process; its exit code, or -1 (then it
 * has been killed). */
static int finish_second(child c, uint32_t ms)
{
#ifdef _WIN32
    DWORD code = (DWORD)-1;
    if (WaitForSingleObject(c, ms) != WAIT_OBJECT_0)
        TerminateProcess(c, (UINT)-1);
    else if (!GetExitCodeProcess(c, &code))
        code = (DWORD)-1;
    CloseHandle(c);
    return (int)code;
#else
    int status = 0;
    for (uint32_t waited = 0; waited < ms; waited += 10) {
        if (waitpid(c, &status, WNOHANG) == c)
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
    }
    kill(c, SIGKILL);
    waitpid(c, &status, 0);
    return -1;
#endif
}

/* The first process. */
static int ask(const char *self)
{
    char key[SHARED_KEY_MAX + 1], ack[SHARED_KEY_MAX + 8], buf[32];
    uint64_t asked, now;
    uint32_t len;
    child second;
#ifdef _WIN32
    unsigned long pid = GetCurrentProcessId();
#else
    unsigned long pid = (unsigned long)getpid();
#endif
    /* Keys of our own: other users of the same state are left alone. */
    snprintf(key, sizeof key, "example-%lu", pid);
    snprintf(ack, sizeof ack, "%s-ack", key);

    printf("exchange: library %s, compiled against %s\n", shared_version(),
           SHARED_VERSION_STRING);
    int rc = shared_cas(key, 0, "21", 2, &asked); /* 0: create */
    if (rc != 0)
        return fail("first", "publishing the question", rc);
    printf("exchange: first process asked 21 (version %" PRIu64 ")\n", asked);

    fflush(stdout); /* before the second process writes to it too */
    if (start_second(self, key, asked, &second) != 0) {
        fprintf(stderr, "exchange: cannot start the second process\n");
        return 1;
    }
    /* Sleep until the second process changes the key. */
    rc = shared_wait(key, asked, TIMEOUT_MS, &now);
    if (rc == 0)
        rc = shared_get(key, buf, sizeof buf - 1, &len, &now);
    if (rc == 0)
        rc = shared_set(ack, "thanks", 6);
    int code = finish_second(second, TIMEOUT_MS + 5000);
    shared_del(key);
    shared_del(ack);
    if (rc != 0)
        return fail("first", "waiting for the answer", rc);
    buf[len] = '\0';
    printf("exchange: first process got %s (version %" PRIu64 ")\n", buf, now);
    if (strcmp(buf, "42") != 0) {
        fprintf(stderr, "exchange: expected 42\n");
        return 1;
    }
    if (code != 0) {
        fprintf(stderr, "exchange: the second process failed (%d)\n", code);
        return 1;
    }
    printf("exchange: ok\n");
    return 0;
}

/* The second process: answers the question stored at `key` in `version`. */
static int answer(const char *key, const char *version)
{
    char buf[32], ack[SHARED_KEY_MAX + 8];
    uint32_t len;
    uint64_t seen, now;
    int rc = shared_get(key, buf, sizeof buf - 1, &len, &seen);
    if (rc != 0)
        return fail("second", "reading the question", rc);
    buf[len] = '\0';
    if (seen != strtoull(version, NULL, 10)) {
        fprintf(stderr, "exchange (second): question changed\n");
        return 1;
    }
    char reply[32];
    snprintf(reply, sizeof reply, "%ld", 2 * strtol(buf, NULL, 10));
    printf("exchange: second process read %s, answers %s\n", buf, reply);
    /* Only if nobody changed the question since we read it. */
    rc = shared_cas(key, seen, reply, (uint32_t)strlen(reply), &now);
    if (rc != 0)
        return fail("second", "answering", rc);
    /* The acknowledgement key does not exist yet: version 0. */
    snprintf(ack, sizeof ack, "%s-ack", key);
    rc = shared_wait(ack, 0, TIMEOUT_MS, &now);
    if (rc != 0)
        return fail("second", "waiting for the acknowledgement", rc);
    printf("exchange: second process was acknowledged\n");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--answer") == 0)
        return answer(argv[2], argv[3]);
    if (argc != 1) {
        fprintf(stderr, "usage: exchange\n");
        return 2;
    }
    return ask(argv[0]);
}
