/*
 * lock.c (Windows) - the region's lock: a named mutex,
 * Global\shared-<build id>-<instance id>-lock, created on first use with an
 * explicit DACL. The instance id is the random identity stored in the
 * section (see section.c), so the lock belongs to this section and to no
 * other copy of the DLL. A named instance's lock is
 * <Local|Global>\shared-<layout id>-<instance id>-lock: in the instance's
 * namespace, named from SHARED_LAYOUT_ID rather than the build id (builds
 * of both bitnesses share the instance, hence the lock), with the private
 * DACL of named.c; its events follow the same prefix (wait.c). A holder that
 * dies abandons the mutex; the next waiter gets WAIT_ABANDONED, which becomes
 * SHARED__OWNER_DIED and the recovery path.
 */
#include <windows.h>
#include <sddl.h>
#include <stdio.h>
#include <string.h>

#include "win.h"

/* SYSTEM and Administrators: all access. Authenticated users: wait on and
 * release the mutex (SYNCHRONIZE | MUTEX_MODIFY_STATE) or set the event
 * (SYNCHRONIZE | EVENT_MODIFY_STATE), nothing else. */
static const wchar_t k_sddl_mutex[] = L"D:P(A;;GA;;;SY)(A;;GA;;;BA)"
                                      L"(A;;0x00100001;;;AU)";
static const wchar_t k_sddl_event[] = L"D:P(A;;GA;;;SY)(A;;GA;;;BA)"
                                      L"(A;;0x00100002;;;AU)";

static HANDLE g_mutex;
static uint64_t g_instance;
static char g_name[96];
static wchar_t g_prefix[80];
static int g_named; /* the lock and events belong to a named instance */

const wchar_t *shared__win_prefix(void)
{
    return g_prefix;
}

uint64_t shared__win_instance(void)
{
    return g_instance;
}

const char *shared__backend_object_name(void)
{
    const char *named = shared__win_named_name();
    if (named[0])
        return named; /* the mapping's name or the file's path */
    return g_mutex ? g_name : "";
}

static int win_error(DWORD err)
{
    shared__set_os_error((uint32_t)err);
    if (err == ERROR_INVALID_HANDLE)
        return SHARED_ENAMECLASH; /* the name belongs to another type */
    if (err == ERROR_ACCESS_DENIED)
        return SHARED_EACCESS;
    return SHARED_ESYSTEM;
}

HANDLE shared__win_object(const wchar_t *name, int mutex)
{
    PSECURITY_DESCRIPTOR sd = NULL;
    if (g_named) {
        sd = shared__win_named_sd(
            mutex ? SHARED__WIN_SD_MUTEX : SHARED__WIN_SD_EVENT, 0);
        if (!sd)
            return NULL;
    } else if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(
                   mutex ? k_sddl_mutex : k_sddl_event, SDDL_REVISION_1, &sd,
                   NULL)) {
        return NULL;
    }
    SECURITY_ATTRIBUTES sa = {sizeof sa, sd, FALSE};
    HANDLE h = mutex ? CreateMutexW(&sa, FALSE, name)
                     : CreateEventW(&sa, FALSE, FALSE, name);
    DWORD err = GetLastError();
    LocalFree(sd);
    if (!h && err == ERROR_ACCESS_DENIED) {
        /* Created by another user: open it with the rights we are given. */
        h = mutex ? OpenMutexW(SYNCHRONIZE | MUTEX_MODIFY_STATE, FALSE, name)
                  : OpenEventW(SYNCHRONIZE | EVENT_MODIFY_STATE, FALSE, name);
        err = h ? ERROR_ALREADY_EXISTS : GetLastError();
    }
    SetLastError(h && err != ERROR_ALREADY_EXISTS ? 0 : err);
    return h;
}

/* Opens the lock once per process. An existing mutex of that name is the
 * normal case (another process of the group made it). A retried attach
 * (the join failed after this succeeded) keeps the handle it has, and the
 * instance id it was named from, rather than open another one; a retry
 * for another home (shared_open after a failed attach) opens that home's. */
int shared__win_lock_open(uint64_t instance)
{
    const shared__home *home = shared__home_get();
    char prefix[80], name[96];
    wchar_t wname[96];
    if (home->named)
        snprintf(prefix, sizeof prefix, "%s\\shared-%016llx-%016llx",
                 (home->flags & SHARED_OPEN_GLOBAL) ? "Global" : "Local",
                 (unsigned long long)SHARED_LAYOUT_ID,
                 (unsigned long long)instance);
    else
        snprintf(prefix, sizeof prefix, "Global\\shared-%016llx-%016llx",
                 (unsigned long long)SHARED_BUILD_ID,
                 (unsigned long long)instance);
    snprintf(name, sizeof name, "%s-lock", prefix);
    /* The section: the handle it has, even if the id was rewritten since
     * (as before named instances). A named instance: the same name only. */
    if (g_mutex && !home->named && !g_named)
        return 0;
    if (g_mutex && strcmp(name, g_name) == 0)
        return 0;
    MultiByteToWideChar(CP_UTF8, 0, name, -1, wname, 96);
    g_named = home->named;
    HANDLE h = shared__win_object(wname, 1);
    if (!h)
        return win_error(GetLastError());
    if (g_mutex)
        CloseHandle(g_mutex);
    memcpy(g_name, name, sizeof name);
    MultiByteToWideChar(CP_UTF8, 0, prefix, -1, g_prefix, 80);
    g_instance = instance;
    g_mutex = h;
    return 0;
}

int shared__backend_lock(uint32_t timeout_ms)
{
    /* INFINITE is 0xFFFFFFFF: clamp so that no wait is unbounded. */
    DWORD ms = timeout_ms == INFINITE ? INFINITE - 1u : timeout_ms;
    switch (WaitForSingleObject(g_mutex, ms)) {
    case WAIT_OBJECT_0:
        return 0;
    case WAIT_ABANDONED:
        return SHARED__OWNER_DIED;
    case WAIT_TIMEOUT:
        return SHARED_ETIMEDOUT;
    default:
        shared__set_os_error((uint32_t)GetLastError());
        return SHARED_ESYSTEM;
    }
}

void shared__backend_consistent(void)
{
    /* Nothing to do: an abandoned mutex is owned normally once acquired. */
}

void shared__backend_unlock(void)
{
    ReleaseMutex(g_mutex);
}

/* The named mutex can not be wedged through the section: take it as usual
 * (see backend.h). */
int shared__backend_break_lock(shared__region **region)
{
    int rc = shared__backend_attach(region);
    return rc ? rc : shared__backend_lock(shared__timeout());
}
