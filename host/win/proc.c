/*
 * proc.c (Windows) - host services: CreateProcessW of our own executable
 * with a properly quoted command line, TerminateProcess, waits with a
 * timeout, GetTickCount64, a console control handler.
 */
#include <windows.h>
#include <fcntl.h>
#include <io.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc.h"

static HANDLE g_procs[PROC_MAX];
static DWORD g_pids[PROC_MAX];
static volatile LONG g_interrupted;

/* Appends one argument, quoted the way CommandLineToArgvW and the C runtime
 * parse it back: backslashes are literal unless they precede a quote. */
static size_t quote_arg(wchar_t *out, size_t pos, size_t cap, const char *arg)
{
    wchar_t w[1024];
    int n = MultiByteToWideChar(CP_UTF8, 0, arg, -1, w, 1024);
    if (n <= 0)
        return cap;
    if (pos + 1 < cap)
        out[pos++] = L' ';
    if (pos + 1 < cap)
        out[pos++] = L'"';
    for (int i = 0; w[i] && pos + 4 < cap; i++) {
        int slashes = 0;
        while (w[i] == L'\\') {
            slashes++;
            i++;
        }
        if (w[i] == L'"' || w[i] == L'\0') {
            /* Double the backslashes before a quote or the closing quote. */
            for (int k = 0; k < slashes * 2 && pos + 4 < cap; k++)
                out[pos++] = L'\\';
            if (w[i] == L'\0')
                break;
            out[pos++] = L'\\';
            out[pos++] = L'"';
        } else {
            for (int k = 0; k < slashes && pos + 4 < cap; k++)
                out[pos++] = L'\\';
            out[pos++] = w[i];
        }
    }
    if (pos + 1 < cap)
        out[pos++] = L'"';
    out[pos] = L'\0';
    return pos;
}

int proc_start(int argc, const char *const *argv)
{
    wchar_t self[MAX_PATH];
    static wchar_t cmd[8192];
    DWORD n = GetModuleFileNameW(NULL, self, MAX_PATH);
    if (n == 0 || n >= MAX_PATH)
        return -1;
    size_t pos = 0, cap = sizeof cmd / sizeof cmd[0];
    cmd[pos++] = L'"';
    for (DWORD i = 0; i < n && pos + 2 < cap; i++)
        cmd[pos++] = self[i];
    cmd[pos++] = L'"';
    cmd[pos] = L'\0';
    for (int i = 0; i < argc; i++) {
        pos = quote_arg(cmd, pos, cap, argv[i]);
        if (pos >= cap - 1)
            return -1;
    }
    for (int h = 0; h < PROC_MAX; h++) {
        if (g_procs[h])
            continue;
        STARTUPINFOW si;
        PROCESS_INFORMATION pi;
        memset(&si, 0, sizeof si);
        si.cb = sizeof si;
        if (!CreateProcessW(self, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si,
                            &pi))
            return -1;
        CloseHandle(pi.hThread);
        g_procs[h] = pi.hProcess;
        g_pids[h] = pi.dwProcessId;
        return h;
    }
    return -1;
}

int proc_wait(int h, uint32_t timeout_ms)
{
    if (h < 0 || h >= PROC_MAX || !g_procs[h])
        return PROC_ERROR;
    DWORD ms = timeout_ms == INFINITE ? INFINITE - 1u : timeout_ms;
    DWORD w = WaitForSingleObject(g_procs[h], ms);
    if (w == WAIT_TIMEOUT)
        return PROC_RUNNING;
    DWORD code = 0;
    GetExitCodeProcess(g_procs[h], &code);
    CloseHandle(g_procs[h]);
    g_procs[h] = NULL;
    g_pids[h] = 0;
    return w == WAIT_OBJECT_0 ? (int)code : PROC_ERROR;
}

void proc_kill(int h)
{
    if (h < 0 || h >= PROC_MAX || !g_procs[h])
        return;
    TerminateProcess(g_procs[h], 137);
    proc_wait(h, 10000);
}

void proc_kill_all(void)
{
    for (int h = 0; h < PROC_MAX; h++)
        proc_kill(h);
}

uint32_t proc_pid(int h)
{
    return h >= 0 && h < PROC_MAX ? (uint32_t)g_pids[h] : 0;
}

uint32_t proc_id(void)
{
    return (uint32_t)GetCurrentProcessId();
}

void proc_sleep_ms(uint32_t ms)
{
    Sleep(ms);
}

uint64_t proc_now_ms(void)
{
    return (uint64_t)GetTickCount64();
}

int proc_stdout_is_tty(void)
{
    DWORD mode;
    return GetConsoleMode(GetStdHandle(STD_OUTPUT_HANDLE), &mode) != 0;
}

static BOOL WINAPI on_ctrl(DWORD type)
{
    (void)type;
    InterlockedExchange(&g_interrupted, 1);
    return TRUE;
}

void proc_catch_interrupt(void)
{
    SetConsoleCtrlHandler(on_ctrl, TRUE);
}

int proc_interrupted(void)
{
    return InterlockedCompareExchange(&g_interrupted, 0, 0) != 0;
}

void proc_setenv(const char *name, const char *value)
{
    SetEnvironmentVariableA(name, value);
    _putenv_s(name, value); /* the C runtime's copy, read by getenv */
}

void proc_binary_stdio(void)
{
    _setmode(_fileno(stdin), _O_BINARY);
    _setmode(_fileno(stdout), _O_BINARY);
}
