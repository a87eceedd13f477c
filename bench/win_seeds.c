/*
 * win_seeds.c (Windows) - the Windows floors and the seeds' techniques,
 * implemented the way the seed programs use them, each between two
 * processes of this executable:
 *   floors  named mutex pair (+ memcpy 64 B into a named mapping);
 *           InterlockedIncrement64 on a variable in a SHARED PE section;
 *   seeds   named file mapping + 2 named auto-reset events (request and
 *           answer, 64 B each way), anonymous pipe (the child's stdin and
 *           stdout), named pipe (message mode), WM_COPYDATA to a
 *           message-only window of the other process (answered with
 *           WM_COPYDATA), WriteProcessMemory + ReadProcessMemory 64 B.
 * The child is `--role win-seed KIND TAG`. Control (ready, stop, the child's
 * buffer address) goes through the named mapping.
 */
#include <windows.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#if defined(_MSC_VER) || defined(__clang__)
#  pragma data_seg(".bshared")
#  define BENCH_SECTION
#  pragma comment(linker, "/SECTION:.bshared,RWS")
#else
#  define BENCH_SECTION __attribute__((section(".bshared"), shared))
#endif
BENCH_SECTION static volatile LONG64 g_section_counter = 1;
#if defined(_MSC_VER) || defined(__clang__)
#  pragma data_seg()
#endif

enum seed { MAPEV, ANONPIPE, NAMEDPIPE, COPYDATA, RPM, SEEDS };
static const char *const g_kind[SEEDS] = {"mapev", "anonpipe", "namedpipe",
                                          "copydata", "rpm"};

/* The named mapping's layout. */
typedef struct ctl {
    volatile LONG ready, stop;
    volatile ULONG64 addr; /* rpm: the child's buffer */
    volatile ULONG64 hwnd; /* copydata: the child's window */
    char req[64], ans[64];
} ctl;

static char g_tag[32];
static char g_buf[64];
static char g_rpm_buf[64];
static HANDLE g_mutex;
static ctl *g_mutex_map;

static void name(char *out, size_t cap, const char *what)
{
    snprintf(out, cap, "Local\\%s-%s", g_tag, what);
}

/* ---- floors ------------------------------------------------------------- */

static int op_mutex64(void *ctx, uint64_t i)
{
    (void)ctx;
    if (WaitForSingleObject(g_mutex, 5000) != WAIT_OBJECT_0)
        return -1;
    memcpy(g_mutex_map->req, &i, sizeof i);
    memcpy(g_mutex_map->ans, g_buf, 64);
    return ReleaseMutex(g_mutex) ? 0 : -1;
}

static int op_interlocked(void *ctx, uint64_t i)
{
    (void)ctx, (void)i;
    InterlockedIncrement64(&g_section_counter);
    return 0;
}

static double loop_measure(void *ctx, uint32_t ms)
{
    return bench_loop((int (*)(void *, uint64_t))ctx, NULL, ms);
}

/* ---- the child ---------------------------------------------------------- */

static char g_got[64];
static volatile LONG g_copies;

static LRESULT CALLBACK wndproc(HWND w, UINT msg, WPARAM wp, LPARAM lp)
{
    if (msg == WM_COPYDATA) {
        const COPYDATASTRUCT *cds = (const COPYDATASTRUCT *)lp;
        if (cds->dwData == 0) { /* stop */
            PostQuitMessage(0);
            return TRUE;
        }
        memcpy(g_got, cds->lpData, cds->cbData < 64 ? cds->cbData : 64);
        g_copies++;
        if (cds->dwData == 1) { /* a request: answer the sender's window */
            COPYDATASTRUCT ans = {2, 64, g_got};
            SendMessageA((HWND)wp, WM_COPYDATA, (WPARAM)w, (LPARAM)&ans);
        }
        return TRUE;
    }
    return DefWindowProcA(w, msg, wp, lp);
}

static HWND make_window(const char *cls)
{
    WNDCLASSA wc;
    memset(&wc, 0, sizeof wc);
    wc.lpfnWndProc = wndproc;
    wc.hInstance = GetModuleHandleA(NULL);
    wc.lpszClassName = cls;
    if (!RegisterClassA(&wc))
        return NULL;
    return CreateWindowExA(0, cls, cls, 0, 0, 0, 0, 0, HWND_MESSAGE, NULL,
                           wc.hInstance, NULL);
}

static int child_loop(int kind, ctl *c, HANDLE req, HANDLE ans)
{
    DWORD n;
    char buf[64];
    switch (kind) {
    case MAPEV:
        InterlockedExchange(&c->ready, 1);
        for (;;) {
            if (WaitForSingleObject(req, 10000) != WAIT_OBJECT_0)
                return 3;
            if (c->stop)
                return 0;
            memcpy(buf, c->req, 64);
            memcpy(c->ans, buf, 64);
            SetEvent(ans);
        }
    case ANONPIPE: {
        HANDLE in = GetStdHandle(STD_INPUT_HANDLE);
        HANDLE out = GetStdHandle(STD_OUTPUT_HANDLE);
        InterlockedExchange(&c->ready, 1);
        for (;;) {
            DWORD got = 0;
            while (got < 64) {
                if (!ReadFile(in, buf + got, 64 - got, &n, NULL) || n == 0)
                    return 0; /* the parent closed the pipe */
                got += n;
            }
            if (!WriteFile(out, buf, 64, &n, NULL) || n != 64)
                return 4;
        }
    }
    case NAMEDPIPE: {
        char pn[64];
        snprintf(pn, sizeof pn, "\\\\.\\pipe\\%s", g_tag);
        HANDLE p = CreateFileA(pn, GENERIC_READ | GENERIC_WRITE, 0, NULL,
                               OPEN_EXISTING, 0, NULL);
        if (p == INVALID_HANDLE_VALUE)
            return 3;
        DWORD mode = PIPE_READMODE_MESSAGE;
        SetNamedPipeHandleState(p, &mode, NULL, NULL);
        InterlockedExchange(&c->ready, 1);
        for (;;) {
            if (!ReadFile(p, buf, 64, &n, NULL) || n == 0)
                return 0;
            if (!WriteFile(p, buf, n, &n, NULL))
                return 4;
        }
    }
    case COPYDATA: {
        char cls[48];
        snprintf(cls, sizeof cls, "%s-child", g_tag);
        HWND w = make_window(cls);
        if (!w)
            return 3;
        c->hwnd = (ULONG64)(uintptr_t)w;
        InterlockedExchange(&c->ready, 1);
        MSG m;
        while (GetMessageA(&m, NULL, 0, 0) > 0)
            DispatchMessageA(&m);
        return 0;
    }
    case RPM:
        c->addr = (ULONG64)(uintptr_t)g_rpm_buf;
        InterlockedExchange(&c->ready, 1);
        while (!c->stop)
            Sleep(5);
        return 0;
    }
    return 2;
}

int role_win_seed(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    int kind = 0;
    while (kind < SEEDS && strcmp(g_kind[kind], argv[0]) != 0)
        kind++;
    snprintf(g_tag, sizeof g_tag, "%s", argv[1]);
    char n[64];
    name(n, sizeof n, "map");
    HANDLE m = OpenFileMappingA(FILE_MAP_ALL_ACCESS, FALSE, n);
    ctl *c = m ? MapViewOfFile(m, FILE_MAP_ALL_ACCESS, 0, 0, 0) : NULL;
    name(n, sizeof n, "req");
    HANDLE req = OpenEventA(EVENT_ALL_ACCESS, FALSE, n);
    name(n, sizeof n, "ans");
    HANDLE ans = OpenEventA(EVENT_ALL_ACCESS, FALSE, n);
    if (!c || !req || !ans)
        return 3;
    return child_loop(kind, c, req, ans);
}

/* ---- the parent --------------------------------------------------------- */

typedef struct seed_run {
    int kind;
    ctl *c;
    HANDLE map, req, ans, proc;
    HANDLE to_child, from_child; /* pipes */
    HWND self, child;
} seed_run;

static int start_child(seed_run *s, HANDLE in, HANDLE out)
{
    char self[MAX_PATH], cmd[MAX_PATH + 96];
    GetModuleFileNameA(NULL, self, sizeof self);
    snprintf(cmd, sizeof cmd, "\"%s\" --role win-seed %s %s", self,
             g_kind[s->kind], g_tag);
    STARTUPINFOA si;
    PROCESS_INFORMATION pi;
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    if (in) {
        si.dwFlags = STARTF_USESTDHANDLES;
        si.hStdInput = in;
        si.hStdOutput = out;
        si.hStdError = GetStdHandle(STD_ERROR_HANDLE);
    }
    if (!CreateProcessA(self, cmd, NULL, NULL, in != NULL, 0, NULL, NULL, &si,
                        &pi))
        return -1;
    CloseHandle(pi.hThread);
    s->proc = pi.hProcess;
    return 0;
}

static int wait_ready(seed_run *s)
{
    for (int i = 0; i < 3000 && !s->c->ready; i++) {
        if (WaitForSingleObject(s->proc, 0) == WAIT_OBJECT_0)
            return -1;
        Sleep(5);
    }
    return s->c->ready ? 0 : -1;
}

static int setup(seed_run *s)
{
    char n[64];
    name(n, sizeof n, "map");
    s->map = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0,
                                4096, n);
    s->c = s->map ? MapViewOfFile(s->map, FILE_MAP_ALL_ACCESS, 0, 0, 0) : NULL;
    name(n, sizeof n, "req");
    s->req = CreateEventA(NULL, FALSE, FALSE, n); /* auto-reset */
    name(n, sizeof n, "ans");
    s->ans = CreateEventA(NULL, FALSE, FALSE, n);
    if (!s->c || !s->req || !s->ans)
        return -1;
    memset(s->c, 0, sizeof *s->c);
    HANDLE cin = NULL, cout = NULL;
    if (s->kind == ANONPIPE) {
        SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
        if (!CreatePipe(&cin, &s->to_child, &sa, 0) ||
            !CreatePipe(&s->from_child, &cout, &sa, 0))
            return -1;
        SetHandleInformation(s->to_child, HANDLE_FLAG_INHERIT, 0);
        SetHandleInformation(s->from_child, HANDLE_FLAG_INHERIT, 0);
    } else if (s->kind == NAMEDPIPE) {
        snprintf(n, sizeof n, "\\\\.\\pipe\\%s", g_tag);
        s->to_child = CreateNamedPipeA(
            n, PIPE_ACCESS_DUPLEX, PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE, 1,
            4096, 4096, 0, NULL);
        if (s->to_child == INVALID_HANDLE_VALUE)
            return -1;
    } else if (s->kind == COPYDATA) {
        char cls[48];
        snprintf(cls, sizeof cls, "%s-parent", g_tag);
        static HWND parent_window; /* one for every round */
        if (!parent_window)
            parent_window = make_window(cls);
        s->self = parent_window;
        if (!s->self)
            return -1;
    }
    int rc = start_child(s, cin, cout);
    if (cin) {
        CloseHandle(cin);
        CloseHandle(cout);
    }
    if (rc != 0)
        return -1;
    if (s->kind == NAMEDPIPE && !ConnectNamedPipe(s->to_child, NULL) &&
        GetLastError() != ERROR_PIPE_CONNECTED)
        return -1;
    if (wait_ready(s) != 0)
        return -1;
    s->child = (HWND)(uintptr_t)s->c->hwnd;
    return 0;
}

static int one(seed_run *s, uint64_t i)
{
    DWORD n;
    char buf[64];
    memcpy(g_buf, &i, sizeof i);
    switch (s->kind) {
    case MAPEV:
        memcpy(s->c->req, g_buf, 64);
        SetEvent(s->req);
        if (WaitForSingleObject(s->ans, 10000) != WAIT_OBJECT_0)
            return -1;
        memcpy(buf, s->c->ans, 64);
        return memcmp(buf, g_buf, 64) ? -1 : 0;
    case ANONPIPE: {
        if (!WriteFile(s->to_child, g_buf, 64, &n, NULL) || n != 64)
            return -1;
        DWORD got = 0;
        while (got < 64) {
            if (!ReadFile(s->from_child, buf + got, 64 - got, &n, NULL) || !n)
                return -1;
            got += n;
        }
        return 0;
    }
    case NAMEDPIPE:
        if (!WriteFile(s->to_child, g_buf, 64, &n, NULL) || n != 64)
            return -1;
        return ReadFile(s->to_child, buf, 64, &n, NULL) && n == 64 ? 0 : -1;
    case COPYDATA: {
        COPYDATASTRUCT cds = {1, 64, g_buf};
        LONG before = g_copies;
        SendMessageA(s->child, WM_COPYDATA, (WPARAM)s->self, (LPARAM)&cds);
        return g_copies == before + 1 ? 0 : -1;
    }
    case RPM: {
        SIZE_T done;
        void *addr = (void *)(uintptr_t)s->c->addr;
        if (!WriteProcessMemory(s->proc, addr, g_buf, 64, &done) ||
            !ReadProcessMemory(s->proc, addr, buf, 64, &done))
            return -1;
        return 0;
    }
    }
    return -1;
}

static void finish(seed_run *s)
{
    if (s->c) {
        s->c->stop = 1;
        if (s->kind == MAPEV)
            SetEvent(s->req);
        if (s->kind == COPYDATA && s->child) {
            COPYDATASTRUCT cds = {0, 0, NULL};
            SendMessageTimeoutA(s->child, WM_COPYDATA, (WPARAM)s->self,
                                (LPARAM)&cds, SMTO_ABORTIFHUNG, 5000, NULL);
        }
    }
    if (s->to_child)
        CloseHandle(s->to_child); /* ends the pipe children */
    if (s->from_child)
        CloseHandle(s->from_child);
    if (s->proc) {
        if (WaitForSingleObject(s->proc, 10000) != WAIT_OBJECT_0)
            TerminateProcess(s->proc, 9);
        CloseHandle(s->proc);
    }
    if (s->c)
        UnmapViewOfFile(s->c);
    if (s->map)
        CloseHandle(s->map);
    if (s->req)
        CloseHandle(s->req);
    if (s->ans)
        CloseHandle(s->ans);
}

static double seed_measure(void *ctx, uint32_t ms)
{
    seed_run s;
    memset(&s, 0, sizeof s);
    s.kind = (int)(intptr_t)ctx;
    double r = -1;
    if (setup(&s) == 0 && one(&s, 0) == 0) {
        uint64_t n = 0, start = bench_now_ns(), now = start;
        uint64_t end = start + (uint64_t)ms * 1000000u;
        int rc = 0;
        while (rc == 0) {
            for (int k = 0; k < 4 && rc == 0; k++, n++)
                rc = one(&s, n);
            now = bench_now_ns();
            if (now >= end)
                break;
        }
        if (rc == 0)
            r = (double)(now - start) / (double)n;
    }
    finish(&s);
    return r;
}

/* The file mapping + events round trip with a child started on first use
 * (for --count). */
static seed_run g_lazy;

static void stop_lazy(void)
{
    finish(&g_lazy);
}

static int op_mapev(void *ctx, uint64_t i)
{
    (void)ctx;
    if (!g_lazy.proc) {
        g_lazy.kind = MAPEV;
        atexit(stop_lazy);
        if (setup(&g_lazy) != 0)
            return -1;
    }
    return one(&g_lazy, i);
}

void win_seeds_register(void)
{
    static const struct {
        const char *id, *name;
    } seeds[SEEDS] = {
        {"seed.mapev", "named file mapping + 2 auto-reset events, 64 B rt"},
        {"seed.anonpipe", "anonymous pipe (child stdin/stdout), 64 B rt"},
        {"seed.namedpipe", "named pipe (message mode), 64 B rt"},
        {"seed.copydata", "WM_COPYDATA to a message-only window, 64 B rt"},
        {"seed.rpm", "WriteProcessMemory + ReadProcessMemory 64 B"},
    };
    snprintf(g_tag, sizeof g_tag, "%s", bench_tag());
    char n[64];
    name(n, sizeof n, "mutex");
    g_mutex = CreateMutexA(NULL, FALSE, n);
    name(n, sizeof n, "mutexmap");
    HANDLE m = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0,
                                  4096, n);
    g_mutex_map = m ? MapViewOfFile(m, FILE_MAP_ALL_ACCESS, 0, 0, 0) : NULL;
    if (g_mutex && g_mutex_map) {
        bench_case c = {.id = "win.mutex64",
                        .name = "named mutex pair + memcpy 64 B",
                        .kind = BENCH_FLOOR,
                        .measure = loop_measure,
                        .op = op_mutex64,
                        .ctx = (void *)op_mutex64};
        bench_add(&c);
    } else {
        bench_skip("named mutex floor", "CreateMutex/CreateFileMapping");
    }
    bench_case c = {.id = "win.interlocked",
                    .name = "InterlockedIncrement64 in a SHARED section",
                    .kind = BENCH_FLOOR,
                    .measure = loop_measure,
                    .ctx = (void *)op_interlocked};
    bench_add(&c);
    for (int i = 0; i < SEEDS; i++) {
        bench_case s = {.id = seeds[i].id,
                        .name = seeds[i].name,
                        .kind = BENCH_PEER,
                        .measure = seed_measure,
                        .ctx = (void *)(intptr_t)i,
                        .op = i == MAPEV ? op_mapev : NULL};
        bench_add(&s);
    }
}
