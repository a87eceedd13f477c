/*
 * platform.c (Windows) - child processes, files and the live region for the
 * tests: CreateProcessW of our own executable, TerminateProcess, and the
 * DLL's .shared section found through its own PE headers.
 */
#include <windows.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"

#define MAX_PROCS 64

static HANDLE g_procs[MAX_PROCS];

int proc_start(const char *role, const char *arg)
{
    for (int h = 0; h < MAX_PROCS; h++) {
        if (g_procs[h])
            continue;
        wchar_t self[MAX_PATH], cmd[2 * MAX_PATH];
        if (!GetModuleFileNameW(NULL, self, MAX_PATH))
            return -1;
        _snwprintf(cmd, 2 * MAX_PATH, L"\"%ls\" --role %hs \"%hs\"", self, role,
                   arg);
        cmd[2 * MAX_PATH - 1] = L'\0';
        STARTUPINFOW si;
        PROCESS_INFORMATION pi;
        memset(&si, 0, sizeof si);
        si.cb = sizeof si;
        if (!CreateProcessW(self, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si,
                            &pi))
            return -1;
        CloseHandle(pi.hThread);
        g_procs[h] = pi.hProcess;
        return h;
    }
    return -1;
}

int proc_wait(int h, uint32_t timeout_ms)
{
    if (h < 0 || h >= MAX_PROCS || !g_procs[h])
        return -2;
    DWORD w = WaitForSingleObject(g_procs[h], timeout_ms);
    if (w == WAIT_TIMEOUT)
        return -1;
    DWORD code = 0;
    GetExitCodeProcess(g_procs[h], &code);
    CloseHandle(g_procs[h]);
    g_procs[h] = NULL;
    return w == WAIT_OBJECT_0 ? (int)code : -2;
}

void proc_kill(int h)
{
    if (h < 0 || h >= MAX_PROCS || !g_procs[h])
        return;
    TerminateProcess(g_procs[h], 137);
    proc_wait(h, 10000);
}

void proc_kill_all(void)
{
    for (int h = 0; h < MAX_PROCS; h++)
        proc_kill(h);
}

void proc_sleep_ms(uint32_t ms)
{
    Sleep(ms);
}

uint32_t proc_id(void)
{
    return (uint32_t)GetCurrentProcessId();
}

int file_wait(const char *path, uint32_t timeout_ms)
{
    for (uint32_t waited = 0; waited <= timeout_ms; waited += 2) {
        if (GetFileAttributesA(path) != INVALID_FILE_ATTRIBUTES)
            return 1;
        Sleep(2);
    }
    return 0;
}

/* The loaded shared.dll's .shared section: the live region. */
shared__region *live_region(void)
{
    HMODULE m = GetModuleHandleW(L"shared.dll");
    if (!m)
        return NULL;
    const unsigned char *base = (const unsigned char *)m;
    const IMAGE_DOS_HEADER *dos = (const IMAGE_DOS_HEADER *)base;
    const IMAGE_NT_HEADERS *nt =
        (const IMAGE_NT_HEADERS *)(base + dos->e_lfanew);
    const IMAGE_SECTION_HEADER *sec = IMAGE_FIRST_SECTION(nt);
    for (WORD i = 0; i < nt->FileHeader.NumberOfSections; i++) {
        if (memcmp(sec[i].Name, ".shared", 8) == 0)
            return (shared__region *)(base + sec[i].VirtualAddress);
    }
    return NULL;
}

const char *library_path(void)
{
    static char path[MAX_PATH];
    HMODULE m = GetModuleHandleW(L"shared.dll");
    if (!m || !GetModuleFileNameA(m, path, MAX_PATH))
        return NULL;
    return path;
}

void platform_init(void)
{
}

void platform_setenv(const char *name, const char *value)
{
    SetEnvironmentVariableA(name, value);
}

void platform_cleanup(void)
{
    proc_kill_all();
}

/* Reads the export directory of the loaded shared.dll. */
int library_exports(char (*names)[EXPORT_NAME_MAX], int max)
{
    HMODULE m = GetModuleHandleW(L"shared.dll");
    if (!m)
        return -1;
    const unsigned char *base = (const unsigned char *)m;
    const IMAGE_DOS_HEADER *dos = (const IMAGE_DOS_HEADER *)base;
    const IMAGE_NT_HEADERS *nt =
        (const IMAGE_NT_HEADERS *)(base + dos->e_lfanew);
    const IMAGE_DATA_DIRECTORY *dir =
        &nt->OptionalHeader.DataDirectory[IMAGE_DIRECTORY_ENTRY_EXPORT];
    if (!dir->VirtualAddress)
        return -1;
    const IMAGE_EXPORT_DIRECTORY *ex =
        (const IMAGE_EXPORT_DIRECTORY *)(base + dir->VirtualAddress);
    const DWORD *rvas = (const DWORD *)(base + ex->AddressOfNames);
    int n = 0;
    for (DWORD i = 0; i < ex->NumberOfNames && n < max; i++)
        snprintf(names[n++], EXPORT_NAME_MAX, "%s",
                 (const char *)(base + rvas[i]));
    return n;
}
