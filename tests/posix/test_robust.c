/*
 * test_robust.c (POSIX) - a child forked while another thread attaches does
 * not hang.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "roles.h"
#include "testutil.h"

/* Runs role "fork-attach" while another process holds the lock. */
START_TEST(child_forked_during_attach_does_not_hang)
{
    char marker[64];
    unique_name(marker, sizeof marker, "hold");
    remove(marker);
    int holder = role_start("hold", marker);
    ck_assert_int_ge(holder, 0);
    ck_assert(file_wait(marker, 30000));
    int h = role_start("fork-attach", "");
    ck_assert_int_ge(h, 0);
    int code = proc_wait(h, 30000);
    ck_assert_msg(code == 0, "fork-attach exited %d (4: the child hung)", code);
    proc_kill(holder);
    remove(marker);
}
END_TEST

static void *attach_thread(void *arg)
{
    shared_statistics st = {.size = sizeof st};
    *(int *)arg = shared_stats(&st);
    return NULL;
}

/* fork-attach: one thread attaches (and waits inside attach for the lock a
 * holder keeps) while the main thread forks. The child's first call must
 * return within its own timeout; an alarm ends it if it hangs. Exit 0, 1
 * if the child's call was slow, 4 if the child hung. */
int role_fork_attach(const char *arg)
{
    pthread_t t;
    int thread_rc = 0, status = 0;
    (void)arg;
    shared_set_timeout(3000);
    if (pthread_create(&t, NULL, attach_thread, &thread_rc) != 0)
        return 2;
    proc_sleep_ms(300); /* the thread is now waiting inside attach */
    pid_t pid = fork();
    if (pid == 0) {
        shared_statistics st = {.size = sizeof st};
        alarm(10);
        shared_set_timeout(200);
        uint64_t t0 = proc_now_ms();
        int rc = shared_stats(&st);
        uint64_t ms = proc_now_ms() - t0;
        fprintf(stderr, "fork-attach child: %s after %llu ms\n",
                shared_errname(rc), (unsigned long long)ms);
        _exit(ms < 2000 ? 0 : 1);
    }
    if (pid < 0)
        return 2;
    waitpid(pid, &status, 0);
    pthread_join(t, NULL);
    if (WIFSIGNALED(status))
        return 4;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

Suite *robust_suite(void)
{
    Suite *s = suite_create("robust");
    TCase *tc = tcase_with_fixture("robust");
    tcase_add_test(tc, child_forked_during_attach_does_not_hang);
    suite_add_tcase(s, tc);
    return s;
}
