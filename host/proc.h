/*
 * proc.h - the few OS services the host programs and the tests need, behind
 * one portable interface (host/win/proc.c, host/posix/proc.c): start copies
 * of this executable, kill them, wait for them with a timeout, sleep, read a
 * monotonic clock, and notice Ctrl-C. Not part of the library's API.
 */
#ifndef SHARED_HOST_PROC_H
#define SHARED_HOST_PROC_H

#include <stdint.h>
#include <stdio.h>

/* Most children one process can have running at once. */
#define PROC_MAX 64

/* proc_wait: the child is still running after the timeout. */
#define PROC_RUNNING (-1)
/* proc_wait: no such child, or the wait itself failed. */
#define PROC_ERROR (-2)

/* Starts this executable again with argv[0..argc) as its arguments (not
 * counting the program name). Returns a handle >= 0, or -1. */
int proc_start(int argc, const char *const *argv);

/* Waits at most timeout_ms for child `h`: its exit code (128 + signal if
 * killed by a POSIX signal), PROC_RUNNING or PROC_ERROR. The handle is
 * released once the child has been reaped. */
int proc_wait(int h, uint32_t timeout_ms);

/* Kills child `h` at once (SIGKILL / TerminateProcess) and reaps it. */
void proc_kill(int h);

/* Kills every child still running. */
void proc_kill_all(void);

/* The OS process id of child `h` (0 if none). */
uint32_t proc_pid(int h);

/* This process's id. */
uint32_t proc_id(void);

void proc_sleep_ms(uint32_t ms);

/* Milliseconds from a monotonic clock. */
uint64_t proc_now_ms(void);

/* 1 if standard output is a terminal. */
int proc_stdout_is_tty(void);

/* From now on Ctrl-C (and SIGTERM / console close) only sets a flag that
 * proc_interrupted() returns. */
void proc_catch_interrupt(void);
int proc_interrupted(void);

/* Puts stdin and stdout in binary mode (Windows: no CRLF translation). */
void proc_binary_stdio(void);

/* Sets an environment variable for this process and its future children. */
void proc_setenv(const char *name, const char *value);

/* Starts this executable again, detached: its own session (POSIX setsid) or
 * DETACHED_PROCESS (Windows), standard streams on the null device, not a
 * child to wait for. Returns its OS process id, 0 on failure. */
uint32_t proc_start_detached(int argc, const char *const *argv);

/* Asks process `pid` to end (SIGTERM; Windows: TerminateProcess). 0 if the
 * request was made, -1 if not. */
int proc_terminate(uint32_t pid);

/* The command-line arguments as UTF-8. POSIX: argv as given. Windows: read
 * from the wide command line (GetCommandLineW, CommandLineToArgvW) and
 * converted, so no argument depends on the ANSI code page. */
char **proc_utf8_argv(int *argc, char **argv);

/* fopen of a UTF-8 path (Windows: _wfopen of its UTF-16 form). */
FILE *proc_fopen(const char *path, const char *mode);

/* Makes UTF-8 written to stdout and stderr show as text on a console.
 * POSIX: nothing to do. Windows: when a stream is a console, its bytes go
 * through a pipe to a thread that writes them as UTF-16 with WriteConsoleW
 * (flushed at exit); a redirected stream gets the UTF-8 bytes unchanged. */
void proc_console_utf8(void);

/* POSIX: a message if SHARED_INSTANCE is set but not 1..32 characters from
 * A-Z a-z 0-9 . _ - not starting with '.' (the library's rule; any path
 * when SHARED_INSTANCE_FLAGS says file), else NULL. Windows: always NULL
 * (the library reports a bad name as SHARED_EINVAL). */
const char *proc_instance_error(void);

#endif /* SHARED_HOST_PROC_H */
