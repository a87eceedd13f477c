/*
 * test_exports.c - three lists must agree: the SHARED_API prototypes in
 * shared.h, the EXPORTS of shared.def, and what the built library actually
 * exports. (The build copies shared.h and shared.def next to this binary.)
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define MAX_NAMES 128

typedef struct names {
    int n;
    char v[MAX_NAMES][EXPORT_NAME_MAX];
} names;

static int by_name(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void sort(names *l)
{
    qsort(l->v, (size_t)l->n, EXPORT_NAME_MAX, by_name);
}

static void add(names *l, const char *start, size_t len)
{
    ck_assert_int_lt(l->n, MAX_NAMES);
    ck_assert_uint_lt(len, EXPORT_NAME_MAX);
    memcpy(l->v[l->n], start, len);
    l->v[l->n++][len] = '\0';
}

static FILE *open_copy(const char *name)
{
    FILE *f = fopen(name, "r");
    ck_assert_msg(f != NULL, "cannot open %s beside the test binary", name);
    return f;
}

/* Every line "SHARED_API <type> <name>(" of the header. */
static void header_names(names *l)
{
    char line[512];
    FILE *f = open_copy("shared.h");
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "SHARED_API ", 11) != 0)
            continue;
        char *paren = strchr(line, '(');
        ck_assert_ptr_nonnull(paren);
        char *end = paren;
        while (end > line && isspace((unsigned char)end[-1]))
            end--;
        char *start = end;
        while (start > line &&
               (isalnum((unsigned char)start[-1]) || start[-1] == '_'))
            start--;
        add(l, start, (size_t)(end - start));
    }
    fclose(f);
}

/* The names between EXPORTS and SECTIONS (or the end) of shared.def. */
static void def_names(names *l)
{
    char line[512];
    int in_exports = 0;
    FILE *f = open_copy("shared.def");
    while (fgets(line, sizeof line, f)) {
        char *p = line;
        while (isspace((unsigned char)*p))
            p++;
        size_t len = strcspn(p, " \t\r\n;");
        if (*p == ';' || len == 0)
            continue;
        if (strncmp(p, "EXPORTS", len) == 0 && len == 7) {
            in_exports = 1;
        } else if (strncmp(p, "SECTIONS", len) == 0 && len == 8) {
            in_exports = 0;
        } else if (in_exports) {
            add(l, p, len);
        }
    }
    fclose(f);
}

static void assert_same(names *a, const char *an, names *b, const char *bn)
{
    sort(a);
    sort(b);
    for (int i = 0; i < a->n || i < b->n; i++) {
        const char *x = i < a->n ? a->v[i] : "(none)";
        const char *y = i < b->n ? b->v[i] : "(none)";
        ck_assert_msg(strcmp(x, y) == 0, "%s has %s where %s has %s", an, x, bn,
                      y);
    }
}

START_TEST(header_def_and_library_export_the_same_names)
{
    static names h, d, lib;
    memset(&h, 0, sizeof h);
    memset(&d, 0, sizeof d);
    memset(&lib, 0, sizeof lib);
    header_names(&h);
    def_names(&d);
    lib.n = library_exports(lib.v, MAX_NAMES);
    ck_assert_int_ge(lib.n, 0);
    ck_assert_int_ge(h.n, 15);
    assert_same(&h, "shared.h", &d, "shared.def");
    assert_same(&d, "shared.def", &lib, library_path());
}
END_TEST

Suite *exports_suite(void)
{
    Suite *s = suite_create("exports");
    TCase *tc = tcase_create("exports");
    tcase_add_test(tc, header_def_and_library_export_the_same_names);
    suite_add_tcase(s, tc);
    return s;
}
