/*
 * process.c (Windows) - who we are and whether another process still runs:
 * pid plus creation time (GetProcessTimes), so a reused pid is not taken
 * for the process that had it before.
 */
#include <windows.h>
#include <string.h>

#include "win.h"

static uint64_t filetime(FILETIME ft)
{
    return ((uint64_t)ft.dwHighDateTime << 32) | ft.dwLowDateTime;
}

/* The creation time of an open process handle, or 0. */
static uint64_t created(HANDLE h)
{
    FILETIME c, e, k, u;
    return GetProcessTimes(h, &c, &e, &k, &u) ? filetime(c) : 0;
}

int shared__backend_alive(uint32_t pid, uint64_t start_time)
{
    HANDLE h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid);
    if (!h) /* gone, or another user's: trust only "gone" */
        return GetLastError() != ERROR_INVALID_PARAMETER;
    DWORD code = 0;
    int alive = GetExitCodeProcess(h, &code) && code == STILL_ACTIVE;
    if (alive && start_time != 0) {
        uint64_t now = created(h);
        alive = now == 0 || now == start_time;
    }
    CloseHandle(h);
    return alive;
}

uint32_t shared__backend_pid(void)
{
    return (uint32_t)GetCurrentProcessId();
}

uint64_t shared__backend_start_time(void)
{
    return created(GetCurrentProcess());
}

uint64_t shared__backend_unix_ms(void)
{
    FILETIME ft;
    GetSystemTimeAsFileTime(&ft);
    /* 100 ns ticks since 1601 -> ms since 1970. */
    return (filetime(ft) - 116444736000000000ull) / 10000u;
}

uint64_t shared__backend_ticks_ms(void)
{
    return (uint64_t)GetTickCount64();
}

void shared__win_exe_name(char *buf, size_t cap)
{
    wchar_t path[MAX_PATH];
    DWORD n = GetModuleFileNameW(NULL, path, MAX_PATH);
    const wchar_t *base = path;
    for (DWORD i = 0; i < n; i++) {
        if (path[i] == L'\\' || path[i] == L'/')
            base = path + i + 1;
    }
    if (n == 0 ||
        !WideCharToMultiByte(CP_UTF8, 0, base, -1, buf, (int)cap, NULL, NULL))
        buf[0] = '\0';
}

void shared__backend_sleep_ms(uint32_t ms)
{
    Sleep(ms);
}
