/*
 * process.c (POSIX) - who we are and whether another process still runs:
 * pid plus the start time from /proc/<pid>/stat (field 22, clock ticks
 * after boot), so a pid reused by a new process is not taken for the old.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "posix.h"

/* The start time of `pid`, or 0 if it can not be read. */
static uint64_t start_time_of(uint32_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%u/stat", (unsigned)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* Field 2 is "(comm)" and may hold spaces: count from the last ')'. */
    char *p = strrchr(buf, ')');
    unsigned long long start = 0;
    if (!p || sscanf(p + 1,
                     " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d"
                     " %*d %*d %*d %*d %*d %llu",
                     &start) != 1)
        return 0;
    return start;
}

int shared__backend_alive(uint32_t pid, uint64_t start_time)
{
    if (pid == 0)
        return 0;
    if (kill((pid_t)pid, 0) != 0 && errno == ESRCH)
        return 0;
    if (start_time == 0)
        return 1;
    uint64_t now = start_time_of(pid);
    return now == 0 || now == start_time; /* no /proc: trust the pid */
}

uint32_t shared__backend_pid(void)
{
    return (uint32_t)getpid();
}

uint64_t shared__backend_start_time(void)
{
    return start_time_of((uint32_t)getpid());
}

uint64_t shared__backend_unix_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t shared__backend_ticks_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void shared__posix_exe_name(char *buf, size_t cap)
{
    FILE *f = fopen("/proc/self/comm", "r");
    buf[0] = '\0';
    if (f) {
        if (fgets(buf, (int)cap, f))
            buf[strcspn(buf, "\n")] = '\0';
        fclose(f);
    }
    if (!buf[0])
        snprintf(buf, cap, "pid%u", (unsigned)getpid());
}
