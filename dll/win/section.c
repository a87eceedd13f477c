/*
 * section.c (Windows) - the region is one initialized object in the DLL's
 * `.shared` PE section, marked READ WRITE SHARED, so every process that loads
 * this DLL file sees the same bytes.
 *
 * - MSVC and clang: `#pragma data_seg(".shared")` plus the linker directive
 *   /SECTION:.shared,RWS (shared.def's SECTIONS block says the same to MSVC's
 *   link.exe). Only initialized data goes into a data_seg section, which is
 *   why the region carries a constant header initializer.
 * - MinGW GCC ignores data_seg: it needs __attribute__((section, shared)).
 *
 * Before first use the DLL reads its own section table and refuses to work
 * (SHARED_ENOTSHARED) if the section holding the region lacks
 * IMAGE_SCN_MEM_SHARED: a misbuilt DLL must fail loudly rather than give
 * every process a private copy. SHARED_TEST_MISBUILT builds such a DLL on
 * purpose, for the test of that check.
 */
#include <windows.h>

#include "win.h"

#if defined(_MSC_VER) || defined(__clang__)
#  pragma data_seg(".shared")
#  define SHARED_SECTION
#  ifndef SHARED_TEST_MISBUILT
#    pragma comment(linker, "/SECTION:.shared,RWS")
#  endif
#elif defined(SHARED_TEST_MISBUILT)
#  define SHARED_SECTION __attribute__((section(".shared")))
#else
#  define SHARED_SECTION __attribute__((section(".shared"), shared))
#endif

SHARED_SECTION static shared__region g_region = {.hdr = SHARED__HEADER_INIT};

#if defined(_MSC_VER) || defined(__clang__)
#  pragma data_seg()
#endif

/* The image this code belongs to (a linker-provided symbol). */
extern IMAGE_DOS_HEADER __ImageBase;

static INIT_ONCE g_once = INIT_ONCE_STATIC_INIT;
static int g_created;

const char *shared__backend_name(void)
{
    return "win32";
}

/* Finds the section holding the region in our own loaded image. */
static int self_check(void)
{
    /* Address arithmetic on integers: the headers lie beyond the DOS header
     * object the symbol names. */
    uintptr_t base = (uintptr_t)&__ImageBase;
    const IMAGE_DOS_HEADER *dos = (const IMAGE_DOS_HEADER *)base;
    if (dos->e_magic != IMAGE_DOS_SIGNATURE)
        return SHARED_ENOTSHARED;
    const IMAGE_NT_HEADERS *nt =
        (const IMAGE_NT_HEADERS *)(base + (uintptr_t)dos->e_lfanew);
    if (nt->Signature != IMAGE_NT_SIGNATURE)
        return SHARED_ENOTSHARED;
    uintptr_t start = (uintptr_t)&g_region - base;
    uintptr_t end = start + sizeof g_region;
    const IMAGE_SECTION_HEADER *sec = IMAGE_FIRST_SECTION(nt);
    for (WORD i = 0; i < nt->FileHeader.NumberOfSections; i++) {
        uintptr_t lo = sec[i].VirtualAddress;
        uintptr_t hi = lo + sec[i].Misc.VirtualSize;
        if (start < lo || end > hi)
            continue;
        if (memcmp(sec[i].Name, ".shared", 8) != 0 ||
            !(sec[i].Characteristics & IMAGE_SCN_MEM_SHARED))
            return SHARED_ENOTSHARED;
        return 0;
    }
    return SHARED_ENOTSHARED;
}

/* Runs once per process on the first API call (never in DllMain). A failed
 * attempt returns FALSE, so the next call tries again. */
static BOOL CALLBACK attach_once(PINIT_ONCE once, PVOID param, PVOID *ctx)
{
    int *rc = param;
    (void)once;
    (void)ctx;
    *rc = self_check();
    if (*rc == 0)
        *rc = shared__region_check(&g_region);
    if (*rc == 0 && atomic_load(&g_region.hdr.ready) != SHARED__READY)
        *rc = SHARED_EVERSION;
    if (*rc == 0)
        *rc = shared__win_lock_open();
    if (*rc == 0) {
        /* The section starts with creator_pid 0 whenever no process holds
         * it: the first process to attach claims it. */
        uint32_t none = 0;
        char exe[64];
        int wiped = 0;
        g_created = atomic_compare_exchange_strong(
            &g_region.hdr.creator_pid, &none, (uint32_t)GetCurrentProcessId());
        shared__win_exe_name(exe, sizeof exe);
        /* No wipe here: the section itself dies with its last process. */
        *rc = shared__join(&g_region, exe, 0, &wiped);
    }
    return *rc == 0;
}

/* Leaving the registry is one CAS: nothing here waits (loader lock). */
BOOL WINAPI DllMain(HINSTANCE dll, DWORD reason, LPVOID reserved)
{
    (void)dll;
    (void)reserved;
    uint32_t me = shared__self_peer();
    if (reason == DLL_PROCESS_DETACH && me != UINT32_MAX)
        shared__peer_leave(&g_region, me, (uint32_t)GetCurrentProcessId());
    return TRUE;
}

int shared__backend_created_here(void)
{
    return g_created;
}

int shared__backend_attach(shared__region **region)
{
    int rc = 0;
    if (!InitOnceExecuteOnce(&g_once, attach_once, &rc, NULL))
        return rc ? rc : SHARED_ESYSTEM;
    *region = &g_region;
    return 0;
}
