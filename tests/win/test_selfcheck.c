/*
 * test_selfcheck.c (Windows) - the DLL checks its own section table: the
 * real build's .shared section carries IMAGE_SCN_MEM_SHARED, and a DLL
 * built without it (shared_misbuilt.dll) refuses every call with
 * SHARED_ENOTSHARED instead of silently giving each process a private copy.
 * Also: the lock's name held by an object of another type is a clear error.
 */
#include <windows.h>
#include <stdio.h>
#include <string.h>

#include "pe.h"
#include "testutil.h"

typedef int (*set_fn)(const char *, const void *, uint32_t);
typedef int (*stats_fn)(shared_statistics *);
typedef int (*lock_fn)(uint32_t);
typedef uint32_t (*oserr_fn)(void);

#define FN(m, type, name) ((type)(void (*)(void))GetProcAddress((m), (name)))

static DWORD section_flags(HMODULE m)
{
    const IMAGE_SECTION_HEADER *sec = pe_section(m, ".shared");
    return sec ? sec->Characteristics : 0;
}

START_TEST(real_dll_section_is_shared)
{
    HMODULE m = GetModuleHandleW(L"shared.dll");
    ck_assert_ptr_nonnull(m);
    DWORD f = section_flags(m);
    ck_assert_msg(f & IMAGE_SCN_MEM_SHARED, "flags 0x%lx", (unsigned long)f);
    ck_assert(f & IMAGE_SCN_MEM_WRITE);
}
END_TEST

START_TEST(misbuilt_dll_refuses_to_work)
{
    HMODULE m = LoadLibraryW(L"shared_misbuilt.dll");
    ck_assert_msg(m != NULL, "LoadLibrary failed: %lu",
                  (unsigned long)GetLastError());
    ck_assert_uint_eq(section_flags(m) & IMAGE_SCN_MEM_SHARED, 0);
    set_fn set = FN(m, set_fn, "shared_set");
    stats_fn stats = FN(m, stats_fn, "shared_stats");
    lock_fn lock = FN(m, lock_fn, "shared_lock");
    ck_assert(set && stats && lock);
    shared_statistics st = {.size = sizeof st};
    ck_assert_code(set("sc.k", "v", 1), SHARED_ENOTSHARED);
    ck_assert_code(stats(&st), SHARED_ENOTSHARED);
    ck_assert_code(lock(100), SHARED_ENOTSHARED);
    FreeLibrary(m);
}
END_TEST

START_TEST(lock_name_taken_by_an_event_is_enameclash)
{
    wchar_t name[96];
    HMODULE m = LoadLibraryW(L"shared_altid.dll");
    ck_assert_ptr_nonnull(m);
    /* The lock's name carries the section's instance id: publish one (as
     * the first attacher would) unless it already has one. */
    const IMAGE_SECTION_HEADER *sec = pe_section(m, ".shared");
    ck_assert_ptr_nonnull(sec);
    shared__region *r = (shared__region *)((uintptr_t)m + sec->VirtualAddress);
    uint64_t id = 0;
    if (!atomic_compare_exchange_strong(&r->hdr.instance_id, &id,
                                        0x1d1d1d1d1d1d1d1dull))
        ck_assert_uint_ne(id, 0);
    else
        id = 0x1d1d1d1d1d1d1d1dull;
    _snwprintf(name, 96, L"Global\\shared-%hs-%016llx-lock",
               SHARED_ALT_BUILD_ID, (unsigned long long)id);
    name[95] = L'\0';
    HANDLE ev = CreateEventW(NULL, TRUE, FALSE, name);
    ck_assert_ptr_nonnull(ev);
    set_fn set = FN(m, set_fn, "shared_set");
    oserr_fn oserr = FN(m, oserr_fn, "shared_last_os_error");
    ck_assert(set && oserr);
    ck_assert_code(set("sc.k", "v", 1), SHARED_ENAMECLASH);
    ck_assert_uint_eq(oserr(), ERROR_INVALID_HANDLE);
    /* Not a permanent failure: once the name is free, the DLL works. */
    CloseHandle(ev);
    ck_assert_code(set("sc.k", "v", 1), SHARED_OK);
    FreeLibrary(m);
}
END_TEST

/* `closed` is POSIX's flag; set by a hostile write in the section, a new
 * process must still attach (it used to get the internal code 1 from its
 * first call, forever, as shared_reset() left the flag set). */
START_TEST(a_scribbled_closed_flag_does_not_stop_attaching)
{
    shared_statistics st = {.size = sizeof st};
    ck_assert_code(shared_stats(&st), SHARED_OK); /* this process attached */
    shared__region *r = live_region();
    ck_assert_ptr_nonnull(r);
    atomic_store(&r->hdr.closed, 1);
    char arg[96], key[64];
    unique_name(key, sizeof key, "closed");
    snprintf(arg, sizeof arg, "%s=fine", key);
    int h = role_start("set", arg);
    ck_assert_int_ge(h, 0);
    ck_assert_int_eq(proc_wait(h, 30000), 0);
    char buf[8];
    uint32_t len = 0;
    ck_assert_code(shared_get(key, buf, sizeof buf, &len, NULL), SHARED_OK);
    ck_assert_uint_eq(atomic_load(&r->hdr.closed), 0);
}
END_TEST

Suite *selfcheck_suite(void)
{
    Suite *s = suite_create("selfcheck");
    TCase *tc = tcase_with_fixture("selfcheck");
    tcase_add_test(tc, real_dll_section_is_shared);
    tcase_add_test(tc, misbuilt_dll_refuses_to_work);
    tcase_add_test(tc, lock_name_taken_by_an_event_is_enameclash);
    tcase_add_test(tc, a_scribbled_closed_flag_does_not_stop_attaching);
    suite_add_tcase(s, tc);
    return s;
}
