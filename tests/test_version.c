/*
 * test_version.c - the library's version: shared_version() against the
 * macros of the header it was built with, and (Windows) the VERSIONINFO
 * resource of shared.dll and of the programs beside it.
 */
#include <stdio.h>
#include <string.h>

#include "testutil.h"

#ifdef SHARED_TEST_WIN
/* tests/win/versioninfo.c */
int versioninfo_read(const char *path, unsigned file_version[4], char *product,
                     size_t product_cap, char *file_ver_text, size_t text_cap);
#endif

START_TEST(version_string_matches_the_header)
{
    char want[64];
    snprintf(want, sizeof want, "%u.%u.%u (build %016llx)",
             (unsigned)SHARED_VERSION_MAJOR, (unsigned)SHARED_VERSION_MINOR,
             (unsigned)SHARED_VERSION_PATCH,
             (unsigned long long)SHARED_BUILD_ID);
    const char *got = shared_version();
    ck_assert_ptr_nonnull(got);
    ck_assert_str_eq(got, want);
    /* The string macro is the same version. */
    ck_assert_int_eq(strncmp(got, SHARED_VERSION_STRING " ",
                             strlen(SHARED_VERSION_STRING) + 1),
                     0);
    /* The same pointer every time: static, owned by the library. */
    ck_assert_ptr_eq(shared_version(), got);
}
END_TEST

START_TEST(version_build_id_is_the_sections)
{
    shared_statistics st = {.size = sizeof st};
    ck_assert_code(shared_stats(&st), SHARED_OK);
    char id[32];
    snprintf(id, sizeof id, "(build %016llx)", (unsigned long long)st.build_id);
    ck_assert_ptr_nonnull(strstr(shared_version(), id));
}
END_TEST

#ifdef SHARED_TEST_VERSIONINFO
/* path = the directory of shared.dll + name. */
static void beside_library(char *path, size_t cap, const char *name)
{
    const char *lib = library_path();
    ck_assert_ptr_nonnull(lib);
    const char *slash = strrchr(lib, '\\');
    size_t dir = slash ? (size_t)(slash - lib) + 1 : 0;
    ck_assert_uint_lt(dir + strlen(name), cap);
    memcpy(path, lib, dir);
    strcpy(path + dir, name);
}

static void assert_versioninfo(const char *name)
{
    char path[512], product[64], text[64];
    unsigned v[4] = {0};
    beside_library(path, sizeof path, name);
    ck_assert_msg(versioninfo_read(path, v, product, sizeof product, text,
                                   sizeof text) == 0,
                  "%s has no readable VERSIONINFO", path);
    ck_assert_uint_eq(v[0], SHARED_VERSION_MAJOR);
    ck_assert_uint_eq(v[1], SHARED_VERSION_MINOR);
    ck_assert_uint_eq(v[2], SHARED_VERSION_PATCH);
    ck_assert_uint_eq(v[3], 0);
    ck_assert_str_eq(product, "shared");
    ck_assert_str_eq(text, SHARED_VERSION_STRING);
}

START_TEST(versioninfo_of_dll_and_programs)
{
    assert_versioninfo("shared.dll");
    assert_versioninfo("sharectl.exe");
    assert_versioninfo("sharedemo.exe");
}
END_TEST
#endif

Suite *version_suite(void)
{
    Suite *s = suite_create("version");
    TCase *tc = tcase_with_fixture("version");
    tcase_add_test(tc, version_string_matches_the_header);
    tcase_add_test(tc, version_build_id_is_the_sections);
#ifdef SHARED_TEST_VERSIONINFO
    tcase_add_test(tc, versioninfo_of_dll_and_programs);
#endif
    suite_add_tcase(s, tc);
    return s;
}
