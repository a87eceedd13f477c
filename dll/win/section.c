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
 *
 * Identity: a DLL loaded from another path is another image with another
 * section, but the same build id. So the section names its own OS objects:
 * the first process to attach draws a random 64-bit instance id (never 0)
 * and publishes it in the header with one CAS from 0; a process that loses
 * the race takes the winner's value from the failed CAS. Every process
 * attached to this section hence names its lock and events
 * shared-<build id>-<instance id>-..., and a copy of the DLL elsewhere draws
 * another id. The id lives as long as the section (until the last process
 * unloads the DLL), and a process reads it once, at attach.
 */
#include <windows.h>
#include <ntsecapi.h>

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

/* A random 64-bit value, never 0: RtlGenRandom (advapi32, in MinGW, clang
 * and MSVC alike), mixed with the clock and the process and thread ids so
 * that even a failed RtlGenRandom gives distinct ids. */
uint64_t shared__win_random_id(void)
{
    uint64_t x = 0;
    LARGE_INTEGER qpc;
    if (!RtlGenRandom(&x, sizeof x))
        x = 0;
    QueryPerformanceCounter(&qpc);
    x ^= (uint64_t)qpc.QuadPart ^ ((uint64_t)GetCurrentProcessId() << 32) ^
         ((uint64_t)GetCurrentThreadId() << 16);
    /* splitmix64's finalizer: spreads the fallback's few varying bits. */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x ? x : 1;
}

/* The region's instance id, publishing one if there is none yet. Only a
 * hostile writer can put 0 back between our CAS attempts; after a few
 * rounds that is SHARED_ESYSTEM with ERROR_INVALID_DATA (an attach error
 * every function documents). */
static int instance_id(shared__region *r, uint64_t *id)
{
    uint64_t seen = atomic_load(&r->hdr.instance_id);
    for (int i = 0; seen == 0 && i < 4; i++) {
        uint64_t fresh = shared__win_random_id();
        if (atomic_compare_exchange_strong(&r->hdr.instance_id, &seen, fresh))
            seen = fresh;
    }
    *id = seen;
    if (seen)
        return 0;
    shared__set_os_error(ERROR_INVALID_DATA);
    return SHARED_ESYSTEM;
}

/* The attached region (the section, or a named instance's view). */
static shared__region *_Atomic g_active;

/* The section, checked: this DLL's own .shared, of this build, ready. */
static int open_section(shared__region **r)
{
    int rc = self_check();
    if (rc == 0)
        rc = shared__region_check(&g_region);
    if (rc == 0 && atomic_load(&g_region.hdr.ready) != SHARED__READY)
        rc = SHARED_EVERSION;
    *r = &g_region;
    return rc;
}

/* Runs once per process on the first API call (never in DllMain). A failed
 * attempt returns FALSE, so the next call tries again (with the home
 * chosen then). A read-only process (a named instance opened with
 * SHARED_OPEN_READONLY, mapped PAGE_READONLY) writes nothing: it opens no
 * lock and does not register. */
static BOOL CALLBACK attach_once(PINIT_ONCE once, PVOID param, PVOID *ctx)
{
    int *rc = param, made = 0;
    const shared__home *home = shared__home_get();
    shared__region *r = NULL;
    (void)once;
    (void)ctx;
    *rc = home->named ? shared__win_named_open(home, &r, &made)
                      : open_section(&r);
    if (*rc == 0 && shared__readonly()) {
        g_created = 0;
        atomic_store(&g_active, r);
        return TRUE;
    }
    uint64_t id = 0;
    if (*rc == 0)
        *rc = instance_id(r, &id);
    if (*rc == 0)
        *rc = shared__win_lock_open(id);
    if (*rc == 0) {
        char exe[64];
        int wiped = 0;
        uint32_t none = 0;
        /* The section starts with creator_pid 0 whenever no process holds
         * it: the first process to attach claims it. A named instance was
         * claimed by the process that formatted it. */
        g_created = home->named ? made
                                : atomic_compare_exchange_strong(
                                      &r->hdr.creator_pid, &none,
                                      (uint32_t)GetCurrentProcessId());
        shared__win_exe_name(exe, sizeof exe);
        /* `closed` belongs to the POSIX lifetime and is never set here: a
         * set flag is a hostile write, which would make shared__join turn
         * every attach away as "being removed". Clear it (counted). */
        if (atomic_exchange(&r->hdr.closed, 0) != 0)
            shared__count_corrupt(r);
        /* No wipe here: the section and a pagefile mapping die with their
         * last process, and a file keeps its keys. */
        *rc = shared__join(r, exe, 0, &wiped);
        if (*rc == SHARED__RETRY) /* set again meanwhile: still damage */
            *rc = SHARED_ECORRUPT;
    }
    if (*rc == 0) {
        shared__win_reap_waiters(r);
        atomic_store(&g_active, r);
    } else if (home->named) {
        shared__win_named_close();
    }
    return *rc == 0;
}

/* Leaving the registry is one CAS: nothing here waits (loader lock). */
BOOL WINAPI DllMain(HINSTANCE dll, DWORD reason, LPVOID reserved)
{
    (void)dll;
    (void)reserved;
    uint32_t me = shared__self_peer();
    shared__region *r = atomic_load(&g_active);
    if (reason == DLL_PROCESS_DETACH && me != UINT32_MAX && r)
        shared__peer_leave(r, me, (uint32_t)GetCurrentProcessId());
    if (reason == DLL_PROCESS_DETACH && !reserved) /* FreeLibrary */
        shared__win_wait_unload();
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
    *region = atomic_load(&g_active);
    return 0;
}
