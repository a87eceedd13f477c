/*
 * testutil.h - what the Check suites share: suite constructors, fixtures,
 * and the process helpers behind the multi-process tests (a child is this
 * test binary relaunched with `--role NAME ARG`, as in libuv's tests).
 */
#ifndef SHARED_TESTUTIL_H
#define SHARED_TESTUTIL_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

#include "layout.h"
#include "proc.h"
#include "shared.h"

/* Asserts that an expression returns the expected shared_* code, naming
 * both codes on failure. */
#define ck_assert_code(expr, want)                                             \
  do {                                                                         \
    int got_ = (expr);                                                         \
    ck_assert_msg(got_ == (want), "%s returned %s, expected %s", #expr,        \
                  shared_errname(got_), shared_errname(want));                 \
  } while (0)

/* Suites, one per tests/test_<area>.c. */
Suite *api_suite(void);
Suite *versions_suite(void);
Suite *counters_suite(void);
Suite *badinput_suite(void);
Suite *capacity_suite(void);
Suite *lock_suite(void);
Suite *tx_suite(void);
Suite *core_suite(void);
Suite *corrupt_suite(void);
Suite *process_suite(void);
Suite *exports_suite(void);
Suite *contention_suite(void);
Suite *torture_suite(void);
Suite *wait_suite(void);
Suite *channel_suite(void);
Suite *peers_suite(void);
Suite *version_suite(void);
Suite *stack_suite(void);
Suite *threads_suite(void);
Suite *hostile_suite(void);
Suite *named_suite(void);

/* The kill-torture loop outside Check (shared_tests --kills N). */
int torture_main(int kills);
Suite *selfcheck_suite(void); /* Windows only */
Suite *identity_suite(void);  /* Windows only */
Suite *namedwin_suite(void);  /* Windows only */
Suite *attach_suite(void);    /* POSIX only */
Suite *robust_suite(void);    /* POSIX only */

/* Fixture: a wiped section, default timeout, no transaction left open, no
 * child left running. */
void fixture_setup(void);
void fixture_teardown(void);

/* A TCase with the fixture and a timeout suited to multi-process tests. */
TCase *tcase_with_fixture(const char *name);

/* Runs a child role; returns its exit code (0 = success). */
int role_main(const char *role, const char *arg);

/* Starts this test binary again as a child in `role` (see roles.c);
 * returns a proc.h handle >= 0, or -1. */
int role_start(const char *role, const char *arg);

/* Waits at most timeout_ms for a file to exist: 1 if it does. */
int file_wait(const char *path, uint32_t timeout_ms);
/* A name unique to this process and call, e.g. "marker-1234-7". */
void unique_name(char *buf, size_t cap, const char *prefix);

/* The library's live shared region, mapped into this process, for tests
 * that damage it on purpose. */
shared__region *live_region(void);

/* Path of the built library file. */
/* Runs fn(arg) on a new thread whose stack is stack_bytes, and waits for
 * it: 0, or -1 if the thread could not be made or joined. */
int run_on_stack(size_t stack_bytes, void (*fn)(void *), void *arg);

/* Runs fn(args[i]) on n threads at once (n <= 64) and waits for all of
 * them: 0, or -1 if a thread could not be made or joined. */
int run_parallel(int n, void (*fn)(void *), void *const *args);

const char *library_path(void);

/* Names the built library exports (ELF: defined global functions whose
 * name starts with "shared"; PE: the export directory). Returns the count,
 * or -1 if the table could not be read. */
#define EXPORT_NAME_MAX 64
int library_exports(char (*names)[EXPORT_NAME_MAX], int max);

/* Process-wide set-up and clean-up of the platform (POSIX: a private
 * SHARED_INSTANCE, and removal of its segment at the end). */
void platform_init(void);
void platform_cleanup(void);

#endif /* SHARED_TESTUTIL_H */
