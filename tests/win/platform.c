/*
 * platform.c (Windows) - what the tests need to know about the Windows
 * backend: the live region (the loaded shared.dll's .shared section, found
 * through its own PE headers) and the DLL's export directory.
 */
#include <windows.h>
#include <stdio.h>
#include <string.h>

#include "pe.h"
#include "testutil.h"

const IMAGE_NT_HEADERS *pe_nt(HMODULE m)
{
    uintptr_t base = (uintptr_t)m;
    const IMAGE_DOS_HEADER *dos = (const IMAGE_DOS_HEADER *)base;
    return (const IMAGE_NT_HEADERS *)(base + (uintptr_t)dos->e_lfanew);
}

const IMAGE_SECTION_HEADER *pe_section(HMODULE m, const char *name)
{
    char padded[8] = {0};
    size_t len = strlen(name);
    memcpy(padded, name, len < sizeof padded ? len : sizeof padded);
    const IMAGE_NT_HEADERS *nt = pe_nt(m);
    const IMAGE_SECTION_HEADER *sec = IMAGE_FIRST_SECTION(nt);
    for (WORD i = 0; i < nt->FileHeader.NumberOfSections; i++) {
        if (memcmp(sec[i].Name, padded, sizeof padded) == 0)
            return &sec[i];
    }
    return NULL;
}

shared__region *live_region(void)
{
    HMODULE m = GetModuleHandleW(L"shared.dll");
    const IMAGE_SECTION_HEADER *sec = m ? pe_section(m, ".shared") : NULL;
    if (!sec)
        return NULL;
    return (shared__region *)((uintptr_t)m + sec->VirtualAddress);
}

const char *library_path(void)
{
    static char path[MAX_PATH];
    HMODULE m = GetModuleHandleW(L"shared.dll");
    if (!m || !GetModuleFileNameA(m, path, MAX_PATH))
        return NULL;
    return path;
}

int library_exports(char (*names)[EXPORT_NAME_MAX], int max)
{
    HMODULE m = GetModuleHandleW(L"shared.dll");
    if (!m)
        return -1;
    uintptr_t base = (uintptr_t)m;
    const IMAGE_DATA_DIRECTORY *dir =
        &pe_nt(m)->OptionalHeader.DataDirectory[IMAGE_DIRECTORY_ENTRY_EXPORT];
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

void platform_init(void)
{
}

void platform_cleanup(void)
{
    proc_kill_all();
}

typedef struct stack_job {
    void (*fn)(void *);
    void *arg;
} stack_job;

static DWORD WINAPI stack_trampoline(LPVOID p)
{
    stack_job *j = p;
    j->fn(j->arg);
    return 0;
}

/* The stack is a reservation of exactly stack_bytes: the thread cannot
 * grow past it (a guard page stops it), as with pthread_attr_setstacksize. */
int run_on_stack(size_t stack_bytes, void (*fn)(void *), void *arg)
{
    stack_job j = {fn, arg};
    HANDLE t = CreateThread(NULL, stack_bytes, stack_trampoline, &j,
                            STACK_SIZE_PARAM_IS_A_RESERVATION, NULL);
    if (!t)
        return -1;
    DWORD w = WaitForSingleObject(t, 600000); /* bounded: ctest gives 300 s */
    CloseHandle(t);
    return w == WAIT_OBJECT_0 ? 0 : -1;
}

int run_parallel(int n, void (*fn)(void *), void *const *args)
{
    HANDLE t[64];
    stack_job j[64];
    int started = 0, rc = 0;
    if (n < 0 || n > 64)
        return -1;
    for (; started < n; started++) {
        j[started] = (stack_job){fn, args[started]};
        t[started] =
            CreateThread(NULL, 0, stack_trampoline, &j[started], 0, NULL);
        if (!t[started]) {
            rc = -1;
            break;
        }
    }
    for (int i = 0; i < started; i++) {
        /* bounded: every call in fn is bounded by its own timeout */
        if (WaitForSingleObject(t[i], 600000) != WAIT_OBJECT_0)
            rc = -1;
        CloseHandle(t[i]);
    }
    return rc;
}
