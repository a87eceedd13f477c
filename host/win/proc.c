/*
 * proc.c (Windows) - host services: CreateProcessW of our own executable
 * with a properly quoted command line, TerminateProcess, waits with a
 * timeout, GetTickCount64, a console control handler.
 */
#include <windows.h>
#include <fcntl.h>
#include <shellapi.h>
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

/* This executable's path and a command line running it with argv. */
static int self_cmd(wchar_t *self, wchar_t *cmd, size_t cap, int argc,
                    const char *const *argv)
{
    DWORD n = GetModuleFileNameW(NULL, self, MAX_PATH);
    if (n == 0 || n >= MAX_PATH)
        return -1;
    size_t pos = 0;
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
    return 0;
}

int proc_start(int argc, const char *const *argv)
{
    wchar_t self[MAX_PATH];
    static wchar_t cmd[8192];
    if (self_cmd(self, cmd, sizeof cmd / sizeof cmd[0], argc, argv) != 0)
        return -1;
    for (int h = 0; h < PROC_MAX; h++) {
        if (g_procs[h])
            continue;
        STARTUPINFOW si;
        PROCESS_INFORMATION pi;
        memset(&si, 0, sizeof si);
        si.cb = sizeof si;
        /* Wine's CreateProcess now and then fails under load: say why, and
         * try again a few times before giving up. */
        BOOL ok = FALSE;
        for (int attempt = 0; !ok && attempt < 4; attempt++) {
            ok = CreateProcessW(self, cmd, NULL, NULL, FALSE, 0, NULL, NULL,
                                &si, &pi);
            if (!ok) {
                fprintf(stderr,
                        "proc_start: CreateProcess failed (error %lu)\n",
                        (unsigned long)GetLastError());
                if (attempt < 3)
                    Sleep(50u << attempt);
            }
        }
        if (!ok)
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

uint32_t proc_start_detached(int argc, const char *const *argv)
{
    wchar_t self[MAX_PATH];
    static wchar_t cmd[8192];
    if (self_cmd(self, cmd, sizeof cmd / sizeof cmd[0], argc, argv) != 0)
        return 0;
    STARTUPINFOW si;
    PROCESS_INFORMATION pi;
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    if (!CreateProcessW(self, cmd, NULL, NULL, FALSE,
                        DETACHED_PROCESS | CREATE_NEW_PROCESS_GROUP, NULL, NULL,
                        &si, &pi))
        return 0;
    CloseHandle(pi.hThread);
    CloseHandle(pi.hProcess);
    return (uint32_t)pi.dwProcessId;
}

int proc_terminate(uint32_t pid)
{
    HANDLE h = OpenProcess(PROCESS_TERMINATE, FALSE, pid);
    if (!h)
        return -1;
    BOOL ok = TerminateProcess(h, 0);
    CloseHandle(h);
    return ok ? 0 : -1;
}

/* A UTF-16 string as a new UTF-8 string (NULL on failure). */
static char *to_utf8(const wchar_t *w)
{
    int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, NULL, 0, NULL, NULL);
    char *s = n > 0 ? malloc((size_t)n) : NULL;
    if (s && WideCharToMultiByte(CP_UTF8, 0, w, -1, s, n, NULL, NULL) != n) {
        free(s);
        s = NULL;
    }
    return s;
}

/* A UTF-8 string as a new UTF-16 string (NULL on failure). */
static wchar_t *to_wide(const char *s)
{
    int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, NULL, 0);
    wchar_t *w = n > 0 ? malloc((size_t)n * sizeof *w) : NULL;
    if (w &&
        MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, w, n) != n) {
        free(w);
        w = NULL;
    }
    return w;
}

char **proc_utf8_argv(int *argc, char **argv)
{
    int n = 0;
    wchar_t **w = CommandLineToArgvW(GetCommandLineW(), &n);
    if (!w)
        return argv;
    char **out = calloc((size_t)n + 1, sizeof *out);
    for (int i = 0; out && i < n; i++) {
        out[i] = to_utf8(w[i]);
        if (!out[i]) {
            for (int k = 0; k < i; k++)
                free(out[k]);
            free(out);
            out = NULL;
        }
    }
    LocalFree(w);
    if (!out)
        return argv;
    *argc = n;
    return out; /* lives as long as the process */
}

FILE *proc_fopen(const char *path, const char *mode)
{
    wchar_t *wp = to_wide(path), *wm = to_wide(mode);
    FILE *f = wp && wm ? _wfopen(wp, wm) : NULL;
    free(wp);
    free(wm);
    return f;
}

/* A console stream redirected through a pipe to a thread that writes it
 * with WriteConsoleW. */
typedef struct pump {
    int fd;
    HANDLE console, read, thread;
} pump;

static pump g_pumps[2] = {{1, NULL, NULL, NULL}, {2, NULL, NULL, NULL}};

static DWORD WINAPI pump_run(LPVOID arg)
{
    pump *p = arg;
    char buf[4096 + 4];
    wchar_t w[4096 + 4];
    DWORD have = 0, n, written;
    while (ReadFile(p->read, buf + have, 4096, &n, NULL) && n > 0) {
        DWORD total = have + n, cut = total, back = 0;
        /* Keep an unfinished UTF-8 sequence for the next read. */
        while (back < 3 && back < total &&
               ((unsigned char)buf[total - 1 - back] & 0xc0) == 0x80)
            back++;
        if (back < total) {
            unsigned char lead = (unsigned char)buf[total - 1 - back];
            DWORD need = lead >= 0xf0   ? 4
                         : lead >= 0xe0 ? 3
                         : lead >= 0xc0 ? 2
                                        : 1;
            if (need > back + 1)
                cut = total - back - 1;
        }
        int wn = MultiByteToWideChar(CP_UTF8, 0, buf, (int)cut, w, 4096 + 4);
        if (wn > 0)
            WriteConsoleW(p->console, w, (DWORD)wn, &written, NULL);
        memmove(buf, buf + cut, total - cut);
        have = total - cut;
    }
    return 0;
}

static void pumps_done(void)
{
    fflush(stdout);
    fflush(stderr);
    for (int i = 0; i < 2; i++) {
        if (!g_pumps[i].thread)
            continue;
        _close(g_pumps[i].fd); /* the pipe's last writer: the thread sees EOF */
        WaitForSingleObject(g_pumps[i].thread, 5000);
    }
}

void proc_console_utf8(void)
{
    static const DWORD std[2] = {STD_OUTPUT_HANDLE, STD_ERROR_HANDLE};
    int started = 0;
    for (int i = 0; i < 2; i++) {
        pump *p = &g_pumps[i];
        HANDLE h = GetStdHandle(std[i]);
        DWORD mode;
        HANDLE wr;
        if (h == NULL || h == INVALID_HANDLE_VALUE || !GetConsoleMode(h, &mode))
            continue; /* redirected: UTF-8 bytes as they are */
        /* Our own handle: _dup2 below closes the one the stream had. */
        if (!DuplicateHandle(GetCurrentProcess(), h, GetCurrentProcess(), &h, 0,
                             FALSE, DUPLICATE_SAME_ACCESS))
            continue;
        if (!CreatePipe(&p->read, &wr, NULL, 0)) {
            CloseHandle(h);
            continue;
        }
        int fd = _open_osfhandle((intptr_t)wr, _O_BINARY);
        if (fd < 0 || _dup2(fd, p->fd) != 0) {
            CloseHandle(p->read);
            CloseHandle(h);
            if (fd >= 0)
                _close(fd);
            else
                CloseHandle(wr);
            continue;
        }
        _close(fd);
        p->console = h;
        p->thread = CreateThread(NULL, 0, pump_run, p, 0, NULL);
        if (!p->thread) {
            /* Nobody reads the pipe: give the stream its console back. */
            int cfd = _open_osfhandle((intptr_t)h, _O_BINARY);
            if (cfd >= 0)
                _dup2(cfd, p->fd);
            CloseHandle(p->read);
            continue;
        }
        setvbuf(i ? stderr : stdout, NULL, _IONBF, 0);
        started = 1;
    }
    if (started)
        atexit(pumps_done);
}

const char *proc_instance_error(void)
{
    return NULL;
}
