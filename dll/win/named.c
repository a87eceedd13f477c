/*
 * named.c (Windows) - a named instance (shared_open): the region in a named
 * file mapping instead of the DLL's .shared section.
 *
 * Homes. Local\shared.<name> (Global\ with SHARED_OPEN_GLOBAL) is a mapping
 * backed by the pagefile: it lives while a process holds a handle to it. With
 * SHARED_OPEN_FILE the mapping is made over a file the caller names (UTF-8
 * path, opened with CreateFileW, shared for reading and writing), so the
 * state outlives every process. Both have one layout for every bitness and
 * compiler (shared__region_check_named); the lock and events are named from
 * SHARED_LAYOUT_ID and the instance id in the header (lock.c), so i686 and
 * x86_64 processes share them too.
 *
 * Security. Every object gets an explicit DACL built from the creating
 * process's user SID (TokenUser): private (default) grants all access to
 * that user and SYSTEM only; published adds Authenticated Users read
 * (SECTION_QUERY | SECTION_MAP_READ on a mapping, FILE_GENERIC_READ on a
 * file). The lock and events keep the private DACL even when published: the
 * only right a reader could use there is SYNCHRONIZE, which on a mutex
 * means taking the writer's lock and on an auto-reset event swallowing a
 * wake-up; read-only processes need neither (they never lock, they poll).
 * A process of another user that asks for write access to a published
 * instance is refused by the kernel (SHARED_EACCESS); SHARED_OPEN_READONLY
 * opens it with FILE_MAP_READ and maps a PAGE_READONLY view, so no write
 * of that process can reach the state.
 *
 * Making it (writers only). The first opener formats the region, the others
 * wait (bounded by the process timeout) for its ready flag. Formatting is
 * guarded by a creation lock that the system drops when its holder dies:
 * the named mutex Local\shared-init.<name> for a pagefile mapping (an
 * abandoned one is simply taken), a byte-range lock (LockFileEx) far past
 * the end of the file for a file home. Under it, a region still not ready
 * is
 *   - formatted if its immutable header block is all zero (a new mapping,
 *     a new or empty file, or a creator that died before writing it), and
 *     for a pagefile mapping also if the header is whole but no registered
 *     process lives (a creator that died half-way: nobody ever used it);
 *   - otherwise, with a whole header, marked ready again: a file's keys are
 *     never wiped (a flag a crash or a hostile write cleared loses nothing);
 *   - refused with SHARED_EVERSION if the header is not ours (a foreign file,
 *     another layout or limits). A file of another size is refused the same
 *     way before it is mapped (never extended or truncated).
 * A writer that dies inside a change leaves the journal open in the region;
 * the next process to take the lock settles it (api.c), also after every
 * process exited and the file was opened anew.
 */
#include <windows.h>
#include <aclapi.h>
#include <sddl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "win.h"

/* File homes: the creation lock's byte, beyond any region. */
#define CREATE_LOCK_HIGH 0x40000000u

static HANDLE g_file = INVALID_HANDLE_VALUE;
static HANDLE g_map;
static shared__region *g_view;
static int g_readonly;
static char g_object[SHARED_PATH_MAX + 16]; /* "" unless attached */
static wchar_t g_sid[192]; /* the user's SID string, set at the first open */

const char *shared__win_named_name(void)
{
    return g_object;
}

/* Reads this process's user SID into g_sid (once). */
static int user_sid(void)
{
    union {
        TOKEN_USER user;
        unsigned char bytes[sizeof(TOKEN_USER) + SECURITY_MAX_SID_SIZE];
    } info;
    HANDLE token;
    DWORD n = 0;
    wchar_t *s = NULL;
    if (g_sid[0])
        return 0;
    if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token))
        return 0 - (int)GetLastError();
    BOOL ok = GetTokenInformation(token, TokenUser, &info, sizeof info, &n);
    DWORD err = GetLastError();
    CloseHandle(token);
    if (!ok || !ConvertSidToStringSidW(info.user.User.Sid, &s))
        return 0 - (int)(ok ? GetLastError() : err);
    size_t len = wcslen(s);
    if (len < sizeof g_sid / sizeof g_sid[0])
        memcpy(g_sid, s, (len + 1) * sizeof *s);
    LocalFree(s);
    return g_sid[0] ? 0 : 0 - (int)ERROR_INSUFFICIENT_BUFFER;
}

PSECURITY_DESCRIPTOR shared__win_named_sd(int kind, int published)
{
    /* All access for the user and SYSTEM; Authenticated Users' read right
     * on the state itself when published (see the top). */
    static const wchar_t *const k_all[] = {L"0xf001f", L"FA", L"0x1f0001",
                                           L"0x1f0003"};
    static const wchar_t *const k_read[] = {L"0x20005", L"FR", NULL, NULL};
    wchar_t sddl[512];
    PSECURITY_DESCRIPTOR sd = NULL;
    int rc = user_sid();
    if (rc) {
        SetLastError((DWORD)-rc);
        return NULL;
    }
    int n = _snwprintf(sddl, 512, L"O:%lsD:P(A;;%ls;;;%ls)(A;;%ls;;;SY)", g_sid,
                       k_all[kind], g_sid, k_all[kind]);
    if (n > 0 && published && k_read[kind])
        n = _snwprintf(sddl + n, 512 - (size_t)n, L"(A;;%ls;;;AU)",
                       k_read[kind]);
    sddl[511] = L'\0';
    if (n < 0) {
        SetLastError(ERROR_INSUFFICIENT_BUFFER);
        return NULL;
    }
    if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(
            sddl, SDDL_REVISION_1, &sd, NULL))
        return NULL;
    return sd;
}

/* An OS error as a library code: the name belongs to another type of
 * object, access refused, or anything else. */
static int os_error(DWORD err)
{
    shared__set_os_error((uint32_t)err);
    if (err == ERROR_INVALID_HANDLE)
        return SHARED_ENAMECLASH;
    if (err == ERROR_ACCESS_DENIED)
        return SHARED_EACCESS;
    return SHARED_ESYSTEM;
}

/* UTF-8 to UTF-16 (a buffer of SHARED_PATH_MAX + 1): SHARED_EINVAL if it is
 * not valid UTF-8 or does not fit. */
static int widen(const char *s, wchar_t *out)
{
    if (!MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, out,
                             SHARED_PATH_MAX + 1))
        return SHARED_EINVAL;
    return 0;
}

static int header_blank(const shared__region *r)
{
    const unsigned char *p = (const unsigned char *)&r->hdr;
    for (size_t i = 0; i < offsetof(shared__header, ready); i++) {
        if (p[i])
            return 0;
    }
    return 1;
}

static int is_ready(shared__region *r)
{
    return atomic_load_explicit(&r->hdr.ready, memory_order_acquire) ==
           SHARED__READY;
}

/* Under the creation lock: makes the region ready (see the top). *made is
 * set if this process formatted it. */
static int make_locked(shared__region *r, int file, int *made)
{
    if (is_ready(r))
        return 0;
    int blank = header_blank(r);
    if (!blank && shared__region_check_named(r) != 0)
        return SHARED_EVERSION;
    if (blank ||
        (!file && shared__peers_alive(r, shared__backend_alive, 0, 0) == 0)) {
        shared__region_format(r);
        atomic_store(&r->hdr.instance_id, shared__win_random_id());
        atomic_store(&r->hdr.creator_pid, (uint32_t)GetCurrentProcessId());
        *made = 1;
    } else {
        uint64_t none = 0; /* a creator that died before setting it */
        atomic_compare_exchange_strong(&r->hdr.next_version, &none, 1);
    }
    shared__region_publish(r);
    return 0;
}

/* L"<ns>\\<prefix><name>" for an instance name (checked by api.c: ASCII,
 * at most SHARED_NAME_MAX bytes). */
static void object_wname(const shared__home *h, const char *prefix,
                         wchar_t *out, size_t cap)
{
    char name[SHARED_NAME_MAX + 32];
    snprintf(name, sizeof name, "%s\\%s%s",
             (h->flags & SHARED_OPEN_GLOBAL) ? "Global" : "Local", prefix,
             h->name);
    if (!MultiByteToWideChar(CP_UTF8, 0, name, -1, out, (int)cap))
        out[0] = L'\0';
}

/* Takes the creation lock, waiting until `deadline`: 0 taken, or an error.
 * *lock receives the mutex of a pagefile mapping. */
static int creation_lock(const shared__home *h, uint64_t deadline, HANDLE *lock)
{
    if (h->flags & SHARED_OPEN_FILE) {
        for (;;) {
            OVERLAPPED ov = {.Offset = 0, .OffsetHigh = CREATE_LOCK_HIGH};
            if (LockFileEx(g_file,
                           LOCKFILE_EXCLUSIVE_LOCK | LOCKFILE_FAIL_IMMEDIATELY,
                           0, 1, 0, &ov))
                return 0;
            DWORD err = GetLastError();
            if (err != ERROR_LOCK_VIOLATION && err != ERROR_IO_PENDING)
                return os_error(err);
            if (shared__backend_ticks_ms() >= deadline)
                return SHARED_ETIMEDOUT;
            Sleep(1);
        }
    }
    wchar_t wname[SHARED_NAME_MAX + 32];
    object_wname(h, "shared-init.", wname, sizeof wname / sizeof wname[0]);
    PSECURITY_DESCRIPTOR sd = shared__win_named_sd(SHARED__WIN_SD_MUTEX, 0);
    if (!sd)
        return os_error(GetLastError());
    SECURITY_ATTRIBUTES sa = {sizeof sa, sd, FALSE};
    HANDLE m = CreateMutexW(&sa, FALSE, wname);
    DWORD err = GetLastError();
    LocalFree(sd);
    if (!m)
        return os_error(err);
    uint64_t now = shared__backend_ticks_ms();
    DWORD ms = now >= deadline ? 0 : (DWORD)(deadline - now);
    DWORD got = WaitForSingleObject(m, ms);
    if (got == WAIT_OBJECT_0 || got == WAIT_ABANDONED) {
        *lock = m; /* abandoned: its creator died; we make it now */
        return 0;
    }
    err = GetLastError();
    CloseHandle(m);
    if (got == WAIT_TIMEOUT)
        return SHARED_ETIMEDOUT;
    return os_error(err);
}

static void creation_unlock(HANDLE lock)
{
    if (lock) {
        ReleaseMutex(lock);
        CloseHandle(lock);
        return;
    }
    OVERLAPPED ov = {.Offset = 0, .OffsetHigh = CREATE_LOCK_HIGH};
    UnlockFileEx(g_file, 0, 1, 0, &ov);
}

/* Opens the file of a file home and checks its size: 0 (new, sized by
 * the mapping) or exactly one region. A read-only opener waits (bounded)
 * for a creator that has not sized it yet. */
static int open_file(const shared__home *h, uint64_t deadline)
{
    wchar_t *path = malloc((SHARED_PATH_MAX + 1) * sizeof *path);
    if (!path)
        return SHARED_ENOMEM;
    int rc = widen(h->name, path);
    HANDLE f = INVALID_HANDLE_VALUE;
    if (rc == 0 && g_readonly) {
        f = CreateFileW(path, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE,
                        NULL, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
    } else if (rc == 0) {
        PSECURITY_DESCRIPTOR sd = shared__win_named_sd(
            SHARED__WIN_SD_FILE, (h->flags & SHARED_OPEN_PUBLISHED) != 0);
        SECURITY_ATTRIBUTES sa = {sizeof sa, sd, FALSE};
        if (sd)
            f = CreateFileW(path, GENERIC_READ | GENERIC_WRITE,
                            FILE_SHARE_READ | FILE_SHARE_WRITE, &sa,
                            OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
        DWORD err = GetLastError();
        LocalFree(sd);
        SetLastError(err);
    }
    DWORD open_err = GetLastError();
    DWORD attrs = f == INVALID_HANDLE_VALUE && rc == 0
                      ? GetFileAttributesW(path)
                      : INVALID_FILE_ATTRIBUTES;
    SetLastError(open_err);
    free(path);
    if (rc)
        return rc;
    if (f == INVALID_HANDLE_VALUE && attrs != INVALID_FILE_ATTRIBUTES &&
        (attrs & FILE_ATTRIBUTE_DIRECTORY)) {
        shared__set_os_error(ERROR_DIRECTORY);
        return SHARED_EVERSION; /* not a state file */
    }
    if (f == INVALID_HANDLE_VALUE) {
        DWORD err = GetLastError();
        if (g_readonly &&
            (err == ERROR_FILE_NOT_FOUND || err == ERROR_PATH_NOT_FOUND)) {
            shared__set_os_error((uint32_t)err);
            return SHARED_ENOINSTANCE;
        }
        return os_error(err);
    }
    g_file = f;
    if (GetFileType(f) != FILE_TYPE_DISK) { /* a device, pipe or console */
        shared__set_os_error(ERROR_BAD_FILE_TYPE);
        return SHARED_EVERSION; /* not a state file */
    }
    for (;;) {
        LARGE_INTEGER size;
        if (!GetFileSizeEx(f, &size))
            return os_error(GetLastError());
        if (size.QuadPart == (LONGLONG)sizeof(shared__region))
            return 0;
        if (size.QuadPart != 0)
            return SHARED_EVERSION; /* not a state file of this layout */
        if (!g_readonly)
            return 0;
        if (shared__backend_ticks_ms() >= deadline)
            return SHARED_ENOINSTANCE; /* empty: nobody made it */
        Sleep(1);
    }
}

/* 1 if every entry of `dacl` is for `me` or SYSTEM (nobody else let in). */
static int dacl_private(const ACL *dacl, PSID me)
{
    unsigned char sy[SECURITY_MAX_SID_SIZE];
    DWORD n = sizeof sy;
    if (!dacl || !CreateWellKnownSid(WinLocalSystemSid, NULL, sy, &n))
        return 0; /* no DACL: everyone has access */
    for (DWORD i = 0; i < dacl->AceCount; i++) {
        ACCESS_ALLOWED_ACE *ace = NULL;
        if (!GetAce((PACL)dacl, i, (void **)&ace))
            return 0;
        if (ace->Header.AceType != ACCESS_ALLOWED_ACE_TYPE)
            continue; /* a deny entry lets nobody in */
        PSID who = (PSID)&ace->SidStart;
        if (!EqualSid(who, me) && !EqualSid(who, (PSID)sy))
            return 0;
    }
    return 1;
}

/* An existing mapping a writer opened must be owned by this user, as the
 * ones this library makes are (the owner in its DACL): one made first by
 * another user, whose DACL would then let that user in, is refused with
 * SHARED_EACCESS (ERROR_INVALID_OWNER), as POSIX checks the object's uid.
 * A private open also refuses one whose DACL lets anyone else in (a
 * published instance: open it with SHARED_OPEN_PUBLISHED), as POSIX
 * refuses a private open of an object others can read. Read-only openers
 * take any owner. */
static int check_existing(HANDLE h, int published)
{
    PSECURITY_DESCRIPTOR sd = NULL;
    PSID owner = NULL, me = NULL;
    PACL dacl = NULL;
    DWORD err =
        GetSecurityInfo(h, SE_KERNEL_OBJECT,
                        OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION,
                        &owner, NULL, &dacl, NULL, &sd);
    if (err != 0)
        return os_error(err);
    int rc = 0;
    if (!ConvertStringSidToSidW(g_sid, &me)) {
        rc = os_error(GetLastError());
    } else if (!owner || !EqualSid(owner, me)) {
        shared__set_os_error(ERROR_INVALID_OWNER);
        rc = SHARED_EACCESS;
    } else if (!published && !dacl_private(dacl, me)) {
        shared__set_os_error(ERROR_ACCESS_DENIED);
        rc = SHARED_EACCESS;
    }
    LocalFree(me);
    LocalFree(sd);
    return rc;
}

/* Creates or opens the mapping of home h (g_map). */
static int open_mapping(const shared__home *h)
{
    const uint64_t size = sizeof(shared__region);
    DWORD hi = (DWORD)(size >> 32), lo = (DWORD)size;
    if (h->flags & SHARED_OPEN_FILE) {
        g_map = CreateFileMappingW(g_file, NULL,
                                   g_readonly ? PAGE_READONLY : PAGE_READWRITE,
                                   hi, lo, NULL);
        return g_map ? 0 : os_error(GetLastError());
    }
    wchar_t wname[SHARED_NAME_MAX + 32];
    object_wname(h, "shared.", wname, sizeof wname / sizeof wname[0]);
    if (g_readonly) {
        g_map = OpenFileMappingW(FILE_MAP_READ, FALSE, wname);
        DWORD err = GetLastError();
        if (!g_map && err == ERROR_FILE_NOT_FOUND) {
            shared__set_os_error((uint32_t)err);
            return SHARED_ENOINSTANCE;
        }
        return g_map ? 0 : os_error(err);
    }
    PSECURITY_DESCRIPTOR sd = shared__win_named_sd(
        SHARED__WIN_SD_MAPPING, (h->flags & SHARED_OPEN_PUBLISHED) != 0);
    if (!sd)
        return os_error(GetLastError());
    SECURITY_ATTRIBUTES sa = {sizeof sa, sd, FALSE};
    g_map = CreateFileMappingW(INVALID_HANDLE_VALUE, &sa, PAGE_READWRITE, hi,
                               lo, wname);
    DWORD err = GetLastError();
    LocalFree(sd);
    if (!g_map)
        return os_error(err);
    if (err != ERROR_ALREADY_EXISTS)
        return 0;
    return check_existing(g_map, (h->flags & SHARED_OPEN_PUBLISHED) != 0);
}

/* Maps the whole object and checks that it holds a region. */
static int map_view(void)
{
    MEMORY_BASIC_INFORMATION mi;
    DWORD access = g_readonly ? FILE_MAP_READ : FILE_MAP_READ | FILE_MAP_WRITE;
    g_view = MapViewOfFile(g_map, access, 0, 0, 0);
    if (!g_view)
        return os_error(GetLastError());
    if (!VirtualQuery(g_view, &mi, sizeof mi))
        return os_error(GetLastError());
    /* A same-named mapping made smaller (another layout): never read past
     * its end. */
    if (mi.RegionSize < sizeof(shared__region))
        return SHARED_EVERSION;
    return 0;
}

void shared__win_named_close(void)
{
    if (g_view)
        UnmapViewOfFile(g_view);
    if (g_map)
        CloseHandle(g_map);
    if (g_file != INVALID_HANDLE_VALUE)
        CloseHandle(g_file);
    g_view = NULL;
    g_map = NULL;
    g_file = INVALID_HANDLE_VALUE;
    g_object[0] = '\0';
}

int shared__win_named_open(const shared__home *h, shared__region **out,
                           int *made)
{
    uint64_t deadline = shared__backend_ticks_ms() + shared__timeout();
    int file = (h->flags & SHARED_OPEN_FILE) != 0;
    shared__win_named_close();
    g_readonly = (h->flags & SHARED_OPEN_READONLY) != 0;
    *made = 0;
    int rc = file ? open_file(h, deadline) : 0;
    if (rc == 0)
        rc = open_mapping(h);
    if (rc == 0)
        rc = map_view();
    while (rc == 0 && !is_ready(g_view)) {
        HANDLE lock = NULL;
        if (g_readonly) {
            if (shared__backend_ticks_ms() >= deadline)
                rc = SHARED_ETIMEDOUT; /* a creator is still at work */
            else
                Sleep(1);
            continue;
        }
        rc = creation_lock(h, deadline, &lock);
        if (rc == 0) {
            rc = make_locked(g_view, file, made);
            creation_unlock(lock);
        }
    }
    if (rc == 0)
        rc = shared__region_check_named(g_view);
    if (rc) {
        shared__win_named_close();
        return rc;
    }
    if (file)
        snprintf(g_object, sizeof g_object, "%s", h->name);
    else
        snprintf(g_object, sizeof g_object, "%s\\shared.%s",
                 (h->flags & SHARED_OPEN_GLOBAL) ? "Global" : "Local", h->name);
    *out = g_view;
    return 0;
}

int shared__backend_flush(void)
{
    if (!g_view || g_file == INVALID_HANDLE_VALUE)
        return SHARED_EINVAL;
    if (!FlushViewOfFile(g_view, 0))
        return os_error(GetLastError());
    /* A read-only handle can not flush the file: such a process wrote
     * nothing of its own, and FlushViewOfFile covered what it maps. */
    if (!g_readonly && !FlushFileBuffers(g_file))
        return os_error(GetLastError());
    return 0;
}
