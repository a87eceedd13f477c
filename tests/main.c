/*
 * main.c - the test runner. `shared_tests` runs every suite;
 * `shared_tests --suite NAME` runs one; `shared_tests --kills N` runs the
 * kill torture N times (soak); `shared_tests --role NAME ARG` is a child
 * process started by a multi-process test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

typedef Suite *(*suite_fn)(void);

static const suite_fn k_suites[] = {
    api_suite,       versions_suite, counters_suite, badinput_suite,
    capacity_suite,  lock_suite,     tx_suite,       core_suite,
    corrupt_suite,   process_suite,  exports_suite,  contention_suite,
    torture_suite,   wait_suite,     channel_suite,  peers_suite,
    version_suite,
    stack_suite,
    threads_suite,   hostile_suite,  named_suite,
#ifdef SHARED_TEST_WIN
    selfcheck_suite, identity_suite, namedwin_suite,
#else
    attach_suite,   robust_suite,
#endif
};

void fixture_setup(void)
{
    shared_rollback(); /* a failed test may have left its transaction */
    shared_set_timeout(SHARED_DEFAULT_TIMEOUT_MS);
    ck_assert_code(shared_reset(), SHARED_OK);
}

void fixture_teardown(void)
{
    shared_rollback();
    proc_kill_all();
    shared_set_timeout(SHARED_DEFAULT_TIMEOUT_MS);
}

void unique_name(char *buf, size_t cap, const char *prefix)
{
    static unsigned counter;
    snprintf(buf, cap, "%s-%u-%u", prefix, (unsigned)proc_id(), ++counter);
}

int role_start(const char *role, const char *arg)
{
    const char *argv[] = {"--role", role, arg};
    return proc_start(3, argv);
}

int file_wait(const char *path, uint32_t timeout_ms)
{
    uint64_t deadline = proc_now_ms() + timeout_ms;
    for (;;) {
        FILE *f = fopen(path, "rb");
        if (f) {
            fclose(f);
            return 1;
        }
        if (proc_now_ms() >= deadline)
            return 0;
        proc_sleep_ms(2);
    }
}

TCase *tcase_with_fixture(const char *name)
{
    TCase *tc = tcase_create(name);
    tcase_add_checked_fixture(tc, fixture_setup, fixture_teardown);
    tcase_set_timeout(tc, 120);
    return tc;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "--role") == 0)
        return role_main(argv[2], argc > 3 ? argv[3] : "");

    if (argc >= 3 && strcmp(argv[1], "--kills") == 0) {
        platform_init();
        int rc = torture_main(atoi(argv[2]));
        platform_cleanup();
        return rc;
    }
    const char *only = NULL;
    if (argc >= 3 && strcmp(argv[1], "--suite") == 0)
        only = argv[2];
    platform_init();

    SRunner *sr = srunner_create(NULL);
    int found = 0;
    for (size_t i = 0; i < sizeof k_suites / sizeof k_suites[0]; i++) {
        Suite *s = k_suites[i]();
        srunner_add_suite(sr, s);
        found = 1;
    }
    if (!found) {
        fprintf(stderr, "no suites\n");
        return 2;
    }
    srunner_run(sr, only, NULL, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    int run = srunner_ntests_run(sr);
    srunner_free(sr);
    platform_cleanup();
    if (run == 0) {
        fprintf(stderr, "no test ran (unknown suite '%s'?)\n",
                only ? only : "");
        return 2;
    }
    return failed ? 1 : 0;
}
