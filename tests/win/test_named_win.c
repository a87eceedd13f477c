/*
 * test_named_win.c (Windows) - what the portable named suite can not see:
 * the objects a named instance is made of, as the kernel (Wine's
 * wineserver) holds them. The DACLs read back with GetSecurityInfo, the
 * PAGE_READONLY view of a read-only process, the namespace (Local\ or
 * Global\) of the mapping, its lock and its events, a same-named object of
 * another type or size, a writer killed with TerminateProcess inside a
 * transaction while another process keeps the instance (the abandoned named
 * mutex), and values, counters, CAS, a wake-up and a channel message
 * exchanged with a second process: of this binary (64-bit) in the suite,
 * of the mingw-x86 build's binary in the ctest test named_x86 (skipped
 * where no 32-bit process can run). Every process using a named instance
 * is a child role (`named`, test_named.c): the test process stays in its
 * own home.
 */
#include <windows.h>
#include <aclapi.h>
#include <sddl.h>
#include <stdio.h>
#include <string.h>

#include "roles.h"
#include "testutil.h"

static char g_name[64], g_other[64], g_file[MAX_PATH], g_marker[96];

static void nw_setup(void)
{
    unique_name(g_name, sizeof g_name, "nw");
    unique_name(g_other, sizeof g_other, "nw2");
    unique_name(g_marker, sizeof g_marker, "nw-marker");
    char rel[64];
    unique_name(rel, sizeof rel, "nw-file");
    ck_assert(GetFullPathNameA(rel, sizeof g_file, g_file, NULL) > 0);
    DeleteFileA(g_file);
    DeleteFileA(g_marker);
}

static void nw_teardown(void)
{
    proc_kill_all();
    DeleteFileA(g_file);
    DeleteFileA(g_marker);
}

/* 1 under Wine (ntdll exports wine_get_version). */
static int under_wine(void)
{
    HMODULE nt = GetModuleHandleA("ntdll.dll");
    return nt && GetProcAddress(nt, "wine_get_version") != NULL;
}

/* Runs `named FLAGS|NAME|CMD|ARG` (test_named.c) to its end. */
static int run(unsigned flags, const char *name, const char *cmd,
               const char *arg)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%u|%s|%s|%s", flags, name, cmd, arg);
    int h = role_start("named", buf);
    ck_assert_int_ge(h, 0);
    int code = proc_wait(h, 30000);
    ck_assert_int_ne(code, PROC_RUNNING);
    return code;
}

/* Starts `named FLAGS|NAME|hold|MARKER` and waits until it holds. */
static int hold(unsigned flags, const char *name, const char *marker)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%u|%s|hold|%s", flags, name, marker);
    DeleteFileA(marker);
    int h = role_start("named", buf);
    ck_assert_int_ge(h, 0);
    if (!file_wait(marker, 15000))
        ck_abort_msg("holder of %s exited with %d", name, proc_wait(h, 1000));
    return h;
}

static void wname(wchar_t *out, size_t cap, const char *ns, const char *prefix,
                  const char *name)
{
    char buf[160];
    snprintf(buf, sizeof buf, "%s\\%s%s", ns, prefix, name);
    MultiByteToWideChar(CP_UTF8, 0, buf, -1, out, (int)cap);
}

/* The instance id in the header of mapping ns\shared.<name>. */
static uint64_t instance_of(const char *ns, const char *name)
{
    wchar_t w[160];
    wname(w, 160, ns, "shared.", name);
    HANDLE m = OpenFileMappingW(FILE_MAP_READ, FALSE, w);
    ck_assert_msg(m != NULL, "open %ls: %lu", w, (unsigned long)GetLastError());
    const shared__region *r = MapViewOfFile(m, FILE_MAP_READ, 0, 0, 0);
    ck_assert_ptr_nonnull(r);
    uint64_t id = atomic_load(&r->hdr.instance_id);
    UnmapViewOfFile(r);
    CloseHandle(m);
    ck_assert_uint_ne(id, 0);
    return id;
}

/* ns\shared-<layout id>-<instance>-lock. */
static void lock_name(wchar_t *out, size_t cap, const char *ns, uint64_t id)
{
    char buf[96];
    snprintf(buf, sizeof buf, "%s\\shared-%016llx-%016llx-lock", ns,
             (unsigned long long)SHARED_LAYOUT_ID, (unsigned long long)id);
    MultiByteToWideChar(CP_UTF8, 0, buf, -1, out, (int)cap);
}

/* This process's user SID (a static copy). */
static PSID user_sid(void)
{
    static union {
        TOKEN_USER user;
        unsigned char bytes[sizeof(TOKEN_USER) + SECURITY_MAX_SID_SIZE];
    } info;
    HANDLE token;
    DWORD n = 0;
    ck_assert(OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token));
    ck_assert(GetTokenInformation(token, TokenUser, &info, sizeof info, &n));
    CloseHandle(token);
    return info.user.User.Sid;
}

static PSID well_known(WELL_KNOWN_SID_TYPE type, unsigned char *buf)
{
    DWORD n = SECURITY_MAX_SID_SIZE;
    ck_assert(CreateWellKnownSid(type, NULL, buf, &n));
    return buf;
}

/* An ACE the DACL must hold: who, and exactly what. */
typedef struct want_ace {
    PSID sid;
    ACCESS_MASK mask;
} want_ace;

/* Checks that the DACL of object h is protected and holds exactly the
 * allow entries `want` (any order). */
static void check_dacl(HANDLE h, SE_OBJECT_TYPE type, const want_ace *want,
                       int n, const char *what)
{
    PSECURITY_DESCRIPTOR sd = NULL;
    PACL dacl = NULL;
    SECURITY_DESCRIPTOR_CONTROL ctl = 0;
    DWORD rev = 0;
    DWORD err = GetSecurityInfo(h, type, DACL_SECURITY_INFORMATION, NULL, NULL,
                                &dacl, NULL, &sd);
    ck_assert_msg(err == 0, "%s: GetSecurityInfo %lu", what,
                  (unsigned long)err);
    ck_assert_msg(dacl != NULL, "%s: no DACL (everyone has access)", what);
    ck_assert(GetSecurityDescriptorControl(sd, &ctl, &rev));
    ck_assert_msg(ctl & SE_DACL_PROTECTED, "%s: DACL not protected", what);
    ck_assert_msg(dacl->AceCount == n, "%s: %u entries, expected %d", what,
                  (unsigned)dacl->AceCount, n);
    for (int i = 0; i < n; i++) {
        ACCESS_ALLOWED_ACE *ace = NULL;
        ck_assert(GetAce(dacl, (DWORD)i, (void **)&ace));
        ck_assert_msg(ace->Header.AceType == ACCESS_ALLOWED_ACE_TYPE,
                      "%s: entry %d is not an allow entry", what, i);
        int found = 0;
        for (int j = 0; j < n; j++) {
            if (EqualSid((PSID)&ace->SidStart, want[j].sid)) {
                found = 1;
                ck_assert_msg(ace->Mask == want[j].mask,
                              "%s: entry %d grants %#lx, expected %#lx", what,
                              i, (unsigned long)ace->Mask,
                              (unsigned long)want[j].mask);
            }
        }
        ck_assert_msg(found, "%s: entry %d names an unexpected SID", what, i);
    }
    LocalFree(sd);
}

#define ALL_SECTION 0xf001fu /* SECTION_ALL_ACCESS */
#define READ_SECTION                                                           \
  (READ_CONTROL | SECTION_QUERY | SECTION_MAP_READ) /* FILE_MAP_READ */
#define ALL_MUTEX 0x1f0001u                         /* MUTEX_ALL_ACCESS */

/* A private instance: the user and SYSTEM only; published: plus
 * Authenticated Users' FILE_MAP_READ on the mapping (only). The lock of
 * either is private, in Local\, named from the layout id. */
START_TEST(private_and_published_dacls_read_back)
{
    unsigned char sy[SECURITY_MAX_SID_SIZE], au[SECURITY_MAX_SID_SIZE];
    char m2[128];
    wchar_t w[160];
    want_ace ace[3] = {{user_sid(), ALL_SECTION},
                       {well_known(WinLocalSystemSid, sy), ALL_SECTION},
                       {well_known(WinAuthenticatedUserSid, au), READ_SECTION}};
    int a = hold(0, g_name, g_marker);
    snprintf(m2, sizeof m2, "%s.2", g_marker);
    int b = hold(SHARED_OPEN_PUBLISHED, g_other, m2);

    wname(w, 160, "Local", "shared.", g_name);
    HANDLE h = OpenFileMappingW(READ_CONTROL, FALSE, w);
    ck_assert_ptr_nonnull(h);
    check_dacl(h, SE_KERNEL_OBJECT, ace, 2, "private mapping");
    PSECURITY_DESCRIPTOR osd = NULL;
    PSID owner = NULL;
    ck_assert_uint_eq(GetSecurityInfo(h, SE_KERNEL_OBJECT,
                                      OWNER_SECURITY_INFORMATION, &owner, NULL,
                                      NULL, NULL, &osd),
                      0);
    ck_assert(owner && EqualSid(owner, ace[0].sid)); /* the user, no group */
    LocalFree(osd);
    CloseHandle(h);
    wname(w, 160, "Local", "shared.", g_other);
    h = OpenFileMappingW(READ_CONTROL, FALSE, w);
    ck_assert_ptr_nonnull(h);
    check_dacl(h, SE_KERNEL_OBJECT, ace, 3, "published mapping");
    CloseHandle(h);

    /* Locks: one per instance, in Local\, private even when published;
     * none of them is the section's (the test process's own home). */
    uint64_t ia = instance_of("Local", g_name);
    uint64_t ib = instance_of("Local", g_other);
    ck_assert_uint_ne(ia, ib);
    want_ace lock_ace[2] = {{ace[0].sid, ALL_MUTEX}, {ace[1].sid, ALL_MUTEX}};
    uint64_t ids[2] = {ia, ib};
    shared_statistics st = {.size = sizeof st};
    ck_assert_code(shared_stats(&st), 0);
    for (int i = 0; i < 2; i++) {
        char narrow[96];
        lock_name(w, 160, "Local", ids[i]);
        h = OpenMutexW(READ_CONTROL, FALSE, w);
        ck_assert_msg(h != NULL, "no lock %ls", w);
        check_dacl(h, SE_KERNEL_OBJECT, lock_ace, 2, "lock");
        CloseHandle(h);
        WideCharToMultiByte(CP_UTF8, 0, w, -1, narrow, sizeof narrow, NULL,
                            NULL);
        ck_assert_str_ne(narrow, st.object_name);
        lock_name(w, 160, "Global", ids[i]);
        ck_assert_ptr_null(OpenMutexW(READ_CONTROL, FALSE, w));
    }

    /* The published DACL's Authenticated Users entry alone, as the kernel
     * reads it: FILE_MAP_READ is granted, FILE_MAP_WRITE refused. (A
     * process of another user gets no more; Wine, which runs every
     * process as one user, can only be shown it this way.) */
    wchar_t sddl[96], probe[96];
    PSECURITY_DESCRIPTOR sd = NULL;
    swprintf(sddl, 96, L"D:P(A;;%#x;;;AU)", (unsigned)READ_SECTION);
    ck_assert(ConvertStringSecurityDescriptorToSecurityDescriptorW(
        sddl, SDDL_REVISION_1, &sd, NULL));
    SECURITY_ATTRIBUTES sa = {sizeof sa, sd, FALSE};
    swprintf(probe, 96, L"Local\\nw-au-probe-%lu",
             (unsigned long)GetCurrentProcessId());
    HANDLE m = CreateFileMappingW(INVALID_HANDLE_VALUE, &sa, PAGE_READWRITE, 0,
                                  4096, probe);
    ck_assert_ptr_nonnull(m);
    LocalFree(sd);
    h = OpenFileMappingW(FILE_MAP_WRITE, FALSE, probe);
    DWORD err = GetLastError();
    ck_assert_ptr_null(h);
    ck_assert_uint_eq(err, ERROR_ACCESS_DENIED);
    h = OpenFileMappingW(FILE_MAP_READ, FALSE, probe);
    ck_assert_ptr_nonnull(h);
    CloseHandle(h);
    CloseHandle(m);
    /* A private open of the published instance: refused (it lets others
     * read), as on POSIX; a published open of it writes. */
    ck_assert_int_eq(run(0, g_other, "set", "k=v"), 100 - SHARED_EACCESS);
    ck_assert_int_eq(run(SHARED_OPEN_PUBLISHED, g_other, "set", "k=v"), 0);
    proc_kill(a);
    proc_kill(b);
}
END_TEST

/* A file home's DACL (Windows only: Wine keeps no DACL of files, it shows
 * one made from the Unix mode, and grants as the mode says). */
START_TEST(file_home_dacl)
{
    ck_assert_int_eq(
        run(SHARED_OPEN_FILE | SHARED_OPEN_PUBLISHED, g_file, "set", "f=1"), 0);
    HANDLE f = CreateFileA(g_file, READ_CONTROL, FILE_SHARE_READ, NULL,
                           OPEN_EXISTING, 0, NULL);
    ck_assert_ptr_ne(f, INVALID_HANDLE_VALUE);
    if (!under_wine()) {
        unsigned char sy[SECURITY_MAX_SID_SIZE], au[SECURITY_MAX_SID_SIZE];
        want_ace ace[3] = {
            {user_sid(), FILE_ALL_ACCESS},
            {well_known(WinLocalSystemSid, sy), FILE_ALL_ACCESS},
            {well_known(WinAuthenticatedUserSid, au), FILE_GENERIC_READ}};
        check_dacl(f, SE_FILE_OBJECT, ace, 3, "published file");
    }
    CloseHandle(f);
}
END_TEST

/*
 * nw-ro-view NAME|FLAGS: opens NAME read-only (FLAGS: SHARED_OPEN_FILE or
 * 0), reads, then looks at every mapped view of this process holding a
 * region of this layout: each must be PAGE_READONLY and stay so
 * (VirtualProtect to PAGE_READWRITE refused). 0, or 1 with the reason.
 */
int role_nw_ro_view(const char *arg)
{
    char name[SHARED_PATH_MAX + 1];
    unsigned flags = 0;
    const char *bar = strrchr(arg, '|');
    if (!bar || (size_t)(bar - arg) > SHARED_PATH_MAX ||
        sscanf(bar + 1, "%u", &flags) != 1)
        return 2;
    memcpy(name, arg, (size_t)(bar - arg));
    name[bar - arg] = '\0';
    int rc = shared_open(name, flags | SHARED_OPEN_READONLY);
    uint32_t len = 0;
    if (rc == 0)
        rc = shared_get("ro.k", NULL, 0, &len, NULL);
    if (rc && rc != SHARED_ETOOBIG)
        return ROLE_FAIL(rc);
    int views = 0;
    MEMORY_BASIC_INFORMATION mi;
    for (uintptr_t at = 0x10000; VirtualQuery((void *)at, &mi, sizeof mi);
         at = (uintptr_t)mi.BaseAddress + mi.RegionSize) {
        if (mi.State != MEM_COMMIT || mi.Type != MEM_MAPPED ||
            mi.RegionSize < sizeof(shared__region) ||
            (mi.Protect & (PAGE_NOACCESS | PAGE_GUARD)))
            continue;
        const shared__header *h = mi.BaseAddress;
        if (h->magic != SHARED__MAGIC || h->layout_id != SHARED_LAYOUT_ID)
            continue;
        views++;
        if (mi.Protect != PAGE_READONLY) {
            fprintf(stderr, "view %p: protection %#lx\n", mi.BaseAddress,
                    (unsigned long)mi.Protect);
            return 1;
        }
        DWORD old = 0;
        if (VirtualProtect(mi.BaseAddress, 4096, PAGE_READWRITE, &old)) {
            fprintf(stderr, "view %p: made writable\n", mi.BaseAddress);
            return 1;
        }
    }
    if (views != 1) {
        fprintf(stderr, "%d views of a region found\n", views);
        return 1;
    }
    return shared_set("ro.k", "x", 1) == SHARED_EACCESS ? 0 : 1;
}

START_TEST(a_read_only_view_is_page_readonly)
{
    char arg[SHARED_PATH_MAX + 16];
    int h = hold(SHARED_OPEN_PUBLISHED, g_name, g_marker);
    ck_assert_int_eq(run(SHARED_OPEN_PUBLISHED, g_name, "set", "ro.k=v"), 0);
    snprintf(arg, sizeof arg, "%s|0", g_name);
    int c = role_start("nw-ro-view", arg);
    ck_assert_int_eq(proc_wait(c, 30000), 0);
    proc_kill(h);
    /* The same for a file. */
    ck_assert_int_eq(run(SHARED_OPEN_FILE, g_file, "set", "ro.k=v"), 0);
    snprintf(arg, sizeof arg, "%s|%u", g_file, SHARED_OPEN_FILE);
    c = role_start("nw-ro-view", arg);
    ck_assert_int_eq(proc_wait(c, 30000), 0);
}
END_TEST

/* SHARED_OPEN_GLOBAL: the mapping and its lock are in Global\ and nothing
 * of the instance in Local\. Windows refuses a process without
 * SeCreateGlobalPrivilege (SHARED_EACCESS); Wine grants it to everyone. */
START_TEST(global_flag_gives_global_names)
{
    char buf[512];
    wchar_t w[160];
    snprintf(buf, sizeof buf, "%u|%s|hold|%s", SHARED_OPEN_GLOBAL, g_name,
             g_marker);
    int h = role_start("named", buf);
    ck_assert_int_ge(h, 0);
    if (!file_wait(g_marker, 15000)) {
        int code = proc_wait(h, 5000);
        ck_assert_msg(!under_wine() && code == 100 - SHARED_EACCESS,
                      "global open exited with %d", code);
        return; /* Windows, no SeCreateGlobalPrivilege: refused, as said */
    }
    wname(w, 160, "Global", "shared.", g_name);
    HANDLE m = OpenFileMappingW(FILE_MAP_READ, FALSE, w);
    ck_assert_ptr_nonnull(m);
    CloseHandle(m);
    wname(w, 160, "Local", "shared.", g_name);
    m = OpenFileMappingW(FILE_MAP_READ, FALSE, w);
    DWORD err = GetLastError();
    ck_assert_ptr_null(m);
    ck_assert_uint_eq(err, ERROR_FILE_NOT_FOUND);
    uint64_t id = instance_of("Global", g_name);
    lock_name(w, 160, "Global", id);
    HANDLE l = OpenMutexW(SYNCHRONIZE, FALSE, w);
    ck_assert_ptr_nonnull(l);
    CloseHandle(l);
    lock_name(w, 160, "Local", id);
    ck_assert_ptr_null(OpenMutexW(SYNCHRONIZE, FALSE, w));
    /* Global and Local are two instances of one name. */
    ck_assert_int_eq(run(SHARED_OPEN_GLOBAL, g_name, "set", "g.k=global"), 0);
    ck_assert_int_eq(run(0, g_name, "absent", "g.k"), 0);
    ck_assert_int_eq(run(SHARED_OPEN_GLOBAL, g_name, "expect", "g.k=global"),
                     0);
    proc_kill(h);
}
END_TEST

/* A security descriptor as the library gives its objects: owned by this
 * user (LocalFree it). */
static PSECURITY_DESCRIPTOR own_sd(void)
{
    wchar_t *sid = NULL, sddl[256];
    PSECURITY_DESCRIPTOR sd = NULL;
    ck_assert(ConvertSidToStringSidW(user_sid(), &sid));
    swprintf(sddl, 256, L"O:%lsD:P(A;;0xf001f;;;%ls)", sid, sid);
    LocalFree(sid);
    ck_assert(ConvertStringSecurityDescriptorToSecurityDescriptorW(
        sddl, SDDL_REVISION_1, &sd, NULL));
    return sd;
}

/* Same-named objects that are not an instance of this layout: a mutex
 * (another type: SHARED_ENAMECLASH), a smaller mapping and a mapping of
 * the right size with foreign bytes (SHARED_EVERSION, never formatted). */
START_TEST(same_named_objects_are_refused)
{
    wchar_t w[160];
    wname(w, 160, "Local", "shared.", g_name);
    HANDLE mx = CreateMutexW(NULL, FALSE, w);
    ck_assert_ptr_nonnull(mx);
    ck_assert_int_eq(run(0, g_name, "open", ""), 100 - SHARED_ENAMECLASH);
    ck_assert_int_eq(run(SHARED_OPEN_READONLY, g_name, "open", ""),
                     100 - SHARED_ENAMECLASH);
    CloseHandle(mx);

    SECURITY_ATTRIBUTES own = {sizeof own, own_sd(), FALSE};
    HANDLE little = CreateFileMappingW(INVALID_HANDLE_VALUE, &own,
                                       PAGE_READWRITE, 0, 4096, w);
    ck_assert_ptr_nonnull(little);
    ck_assert_int_eq(run(0, g_name, "open", ""), 100 - SHARED_EVERSION);
    ck_assert_int_eq(run(SHARED_OPEN_READONLY, g_name, "open", ""),
                     100 - SHARED_EVERSION);
    CloseHandle(little);

    /* Made first by someone else (here: owned by SYSTEM, with a DACL that
     * lets everyone in): a writer refuses it, a reader may read it. */
    PSECURITY_DESCRIPTOR sd = NULL;
    ck_assert(ConvertStringSecurityDescriptorToSecurityDescriptorW(
        L"O:SYD:(A;;GA;;;WD)", SDDL_REVISION_1, &sd, NULL));
    SECURITY_ATTRIBUTES sa = {sizeof sa, sd, FALSE};
    HANDLE squat = CreateFileMappingW(INVALID_HANDLE_VALUE, &sa, PAGE_READWRITE,
                                      0, (DWORD)sizeof(shared__region), w);
    DWORD err = GetLastError();
    LocalFree(sd);
    if (squat) {
        ck_assert_int_eq(run(0, g_name, "open", ""), 100 - SHARED_EACCESS);
        CloseHandle(squat);
    } else {
        /* Windows: no privilege to give the object another owner. */
        ck_assert_uint_eq(err, ERROR_INVALID_OWNER);
    }

    HANDLE big = CreateFileMappingW(INVALID_HANDLE_VALUE, &own, PAGE_READWRITE,
                                    0, (DWORD)sizeof(shared__region), w);
    ck_assert_ptr_nonnull(big);
    unsigned char *v = MapViewOfFile(big, FILE_MAP_WRITE, 0, 0, 0);
    ck_assert_ptr_nonnull(v);
    memset(v, 0x5a, sizeof(shared__header));
    ck_assert_int_eq(run(0, g_name, "open", ""), 100 - SHARED_EVERSION);
    ck_assert_uint_eq(v[0], 0x5a); /* left as it was */
    /* A header of this layout whose ready flag is set: accepted. */
    memset(v, 0, sizeof(shared__header));
    ck_assert_int_eq(run(0, g_name, "set", "k=made"), 0);
    ck_assert_uint_eq(((shared__header *)v)->layout_id, SHARED_LAYOUT_ID);
    UnmapViewOfFile(v);
    CloseHandle(big);
    LocalFree(own.lpSecurityDescriptor);
}
END_TEST

/* A writer killed (TerminateProcess) inside a transaction while another
 * process keeps the instance: the next writer takes the abandoned named
 * mutex and undoes the change; the file keeps it undone after every
 * process exited. */
START_TEST(a_kill_inside_a_tx_with_the_instance_still_held)
{
    char m2[128];
    snprintf(m2, sizeof m2, "%s.tx", g_marker);
    ck_assert_int_eq(run(SHARED_OPEN_FILE, g_file, "set", "tx.a=old-a"), 0);
    ck_assert_int_eq(run(SHARED_OPEN_FILE, g_file, "set", "tx.b=old-b"), 0);
    int keep = hold(SHARED_OPEN_FILE, g_file, g_marker);
    char buf[512];
    snprintf(buf, sizeof buf, "%u|%s|tx-die|%s", SHARED_OPEN_FILE, g_file, m2);
    DeleteFileA(m2);
    int h = role_start("named", buf);
    ck_assert_int_ge(h, 0);
    ck_assert(file_wait(m2, 15000));
    proc_kill(h); /* TerminateProcess, holding the lock */
    ck_assert_int_eq(run(SHARED_OPEN_FILE, g_file, "expect", "tx.a=old-a"), 0);
    ck_assert_int_eq(run(SHARED_OPEN_FILE, g_file, "absent", "tx.new"), 0);
    ck_assert_int_eq(run(SHARED_OPEN_FILE, g_file, "set", "tx.c=after"), 0);
    proc_kill(keep);
    ck_assert_int_eq(run(SHARED_OPEN_FILE, g_file, "expect", "tx.b=old-b"), 0);
    ck_assert_int_eq(run(SHARED_OPEN_FILE, g_file, "expect", "tx.c=after"), 0);
    ck_assert_int_eq(run(SHARED_OPEN_FILE, g_file, "absent", "tx.n"), 0);
    DeleteFileA(m2);
}
END_TEST

/* ---- two processes, one instance: this binary, or the 32-bit one ---- */

#define XBIT_ROUNDS 300

/* CAS-increments `key` until it succeeded `n` times. */
static int cas_incs(const char *key, int n)
{
    for (int done = 0; done < n;) {
        int64_t v = 0;
        uint32_t len = 0;
        uint64_t ver = 0;
        int rc = shared_get(key, &v, sizeof v, &len, &ver);
        if (rc == SHARED_ENOTFOUND)
            ver = 0, v = 0;
        else if (rc)
            return rc;
        v++;
        rc = shared_cas(key, ver, &v, sizeof v, NULL);
        if (rc == 0)
            done++;
        else if (rc != SHARED_ECONFLICT)
            return rc;
    }
    return 0;
}

#define XCHECK(expr)                                                           \
  do {                                                                         \
    int rc_ = (expr);                                                          \
    if (rc_) {                                                                 \
      fprintf(stderr, "%s: %s (%d bit)\n", #expr,                              \
              rc_ < 0 ? shared_errname(rc_) : "check failed",                  \
              (int)sizeof(void *) * 8);                                        \
      return rc_ < 0 ? ROLE_FAIL(rc_) : 1;                                     \
    }                                                                          \
  } while (0)

/* xbit-peer NAME: the other side of xbit-driver (see there). */
int role_xbit_peer(const char *name)
{
    char buf[64];
    uint32_t len = 0;
    uint64_t seen = 0, now = 0;
    XCHECK(shared_open(name, 0));
    XCHECK(shared_get("x.v64", buf, sizeof buf, &len, NULL));
    XCHECK(len != 6 || memcmp(buf, "from64", 6) != 0);
    snprintf(buf, sizeof buf, "%d", (int)sizeof(void *) * 8);
    XCHECK(shared_set("x.bits", buf, (uint32_t)strlen(buf)));
    for (int i = 0; i < XBIT_ROUNDS; i++)
        XCHECK(shared_add("x.ctr", 1, NULL));
    XCHECK(cas_incs("x.cas", XBIT_ROUNDS));
    XCHECK(shared_get("x.go", NULL, 0, &len, &seen) == SHARED_ENOTFOUND ? 0
                                                                        : 1);
    XCHECK(shared_send("x.to-driver", "hello-peer", 10, 5000));
    /* Woken by the driver's set of x.go (a named event of the instance). */
    XCHECK(shared_wait("x.go", seen, 20000, &now));
    XCHECK(now == seen);
    XCHECK(shared_recv("x.to-peer", buf, sizeof buf, &len, 20000));
    XCHECK(len != 12 || memcmp(buf, "hello-driver", 12) != 0);
    XCHECK(shared_set("x.v32", "from-peer", 9));
    return 0;
}

/* Starts `exe --role xbit-peer NAME`; the process handle, or NULL. */
static HANDLE start_peer(const char *exe, const char *name)
{
    char cmd[2 * MAX_PATH];
    STARTUPINFOA si = {.cb = sizeof si};
    PROCESS_INFORMATION pi;
    snprintf(cmd, sizeof cmd, "\"%s\" --role xbit-peer %s", exe, name);
    if (!CreateProcessA(exe, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi))
        return NULL;
    CloseHandle(pi.hThread);
    return pi.hProcess;
}

static int64_t counter(const char *key)
{
    int64_t v = -1;
    uint32_t len = 0;
    return shared_get(key, &v, sizeof v, &len, NULL) == 0 && len == 8 ? v : -1;
}

/*
 * xbit-driver EXE|BITS: opens a fresh instance, starts EXE (this binary if
 * "self", else e.g. the mingw-x86 build's), which must be a BITS-bit
 * process, as xbit-peer and exchanges with
 * it: a value each way, XBIT_ROUNDS counter adds and CAS increments from
 * both at once, a channel message each way (a blocking receive woken by
 * the other process) and a shared_wait woken by a set. Exits 77 (skipped)
 * if EXE is missing or can not run here (no 32-bit support), 0 if all
 * of it arrived.
 */
int role_xbit_driver(const char *arg)
{
    char self[MAX_PATH], exe_buf[MAX_PATH], name[64], buf[64];
    const char *exe = exe_buf, *bar = strrchr(arg, '|');
    uint32_t len = 0;
    if (!bar || (size_t)(bar - arg) >= sizeof exe_buf)
        return 2;
    memcpy(exe_buf, arg, (size_t)(bar - arg));
    exe_buf[bar - arg] = '\0';
    if (strcmp(exe, "self") == 0) {
        GetModuleFileNameA(NULL, self, sizeof self);
        exe = self;
    }
    if (GetFileAttributesA(exe) == INVALID_FILE_ATTRIBUTES) {
        fprintf(stderr, "NOT RUN: %s not built\n", exe);
        return 77;
    }
    snprintf(name, sizeof name, "xbit-%lu",
             (unsigned long)GetCurrentProcessId());
    XCHECK(shared_open(name, 0));
    XCHECK(shared_set("x.v64", "from64", 6));
    HANDLE peer = start_peer(exe, name);
    if (!peer) {
        fprintf(stderr, "NOT RUN: %s can not start here (error %lu)\n", exe,
                (unsigned long)GetLastError());
        return 77;
    }
    for (int i = 0; i < XBIT_ROUNDS; i++)
        XCHECK(shared_add("x.ctr", 1, NULL));
    XCHECK(cas_incs("x.cas", XBIT_ROUNDS));
    /* Its first sign of life: a value, or its exit. */
    int rc = SHARED_ENOTFOUND;
    for (int i = 0; i < 3000 && rc == SHARED_ENOTFOUND; i++) {
        rc = shared_get("x.bits", buf, sizeof buf, &len, NULL);
        DWORD code = 0;
        if (rc == SHARED_ENOTFOUND &&
            WaitForSingleObject(peer, 10) == WAIT_OBJECT_0) {
            GetExitCodeProcess(peer, &code);
            CloseHandle(peer);
            if (code >= 0xc0000000u) { /* the loader's NTSTATUS */
                fprintf(stderr, "NOT RUN: %s died at start (%#lx)\n", exe,
                        (unsigned long)code);
                return 77;
            }
            fprintf(stderr, "peer exited with %lu\n", (unsigned long)code);
            return 1;
        }
    }
    XCHECK(rc);
    buf[len < sizeof buf ? len : sizeof buf - 1] = '\0';
    fprintf(stderr, "xbit: %d-bit driver, %s-bit peer\n",
            (int)sizeof(void *) * 8, buf);
    XCHECK(strcmp(buf, bar + 1) != 0);
    XCHECK(shared_recv("x.to-driver", buf, sizeof buf, &len, 20000));
    XCHECK(len != 10 || memcmp(buf, "hello-peer", 10) != 0);
    proc_sleep_ms(50); /* let the peer block in its wait */
    XCHECK(shared_send("x.to-peer", "hello-driver", 12, 5000));
    XCHECK(shared_set("x.go", "1", 1));
    DWORD code = 1;
    if (WaitForSingleObject(peer, 30000) != WAIT_OBJECT_0) {
        TerminateProcess(peer, 3);
        fprintf(stderr, "peer still running\n");
    }
    GetExitCodeProcess(peer, &code);
    CloseHandle(peer);
    if (code != 0) {
        fprintf(stderr, "peer exited with %lu\n", (unsigned long)code);
        return 1;
    }
    XCHECK(counter("x.ctr") != 2 * XBIT_ROUNDS);
    XCHECK(counter("x.cas") != 2 * XBIT_ROUNDS);
    XCHECK(shared_get("x.v32", buf, sizeof buf, &len, NULL));
    XCHECK(len != 9 || memcmp(buf, "from-peer", 9) != 0);
    return 0;
}

START_TEST(two_processes_exchange_everything)
{
    char arg[16];
    snprintf(arg, sizeof arg, "self|%d", (int)sizeof(void *) * 8);
    int h = role_start("xbit-driver", arg);
    ck_assert_int_ge(h, 0);
    ck_assert_int_eq(proc_wait(h, 90000), 0);
}
END_TEST

Suite *namedwin_suite(void)
{
    Suite *s = suite_create("namedwin");
    TCase *tc = tcase_create("namedwin");
    tcase_add_checked_fixture(tc, nw_setup, nw_teardown);
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, private_and_published_dacls_read_back);
    tcase_add_test(tc, file_home_dacl);
    tcase_add_test(tc, a_read_only_view_is_page_readonly);
    tcase_add_test(tc, global_flag_gives_global_names);
    tcase_add_test(tc, same_named_objects_are_refused);
    tcase_add_test(tc, a_kill_inside_a_tx_with_the_instance_still_held);
    tcase_add_test(tc, two_processes_exchange_everything);
    suite_add_tcase(s, tc);
    return s;
}
