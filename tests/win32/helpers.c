/* SPDX-License-Identifier: MIT */
/*
 * The Windows forms of helpers.h's platform helpers, for the neutral suites
 * built with the Windows harness (check.h here).  Windows has one wait
 * backend and no fd monitors, no fork() and no seccomp, so: no monitor is
 * ever forced (t_assert_fdmon checks nothing), what needs a child process
 * or a system-call filter fails the test that asks for it (those tests are
 * tcase_add_test_raise_signal ones, which the harness skips), and a suite
 * runs every test in the process.
 */
#include "../helpers.h"

#include <fcntl.h>
#include <io.h>
#include <unistd.h>

const char *const t_fdmons[] = { "win32" };
const int t_n_fdmons = 1;

void t_assert_fdmon(AioContext *ctx)
{
    (void)ctx;  /* one backend: nothing can have been forced */
}

int t_fdmon_lo(void)
{
    return 0;
}

int t_fdmon_hi(void)
{
    return t_n_fdmons;
}

bool t_fdmon_free_tests_run_here(void)
{
    return true;
}

void t_expect_abort_naming(void (*misuse)(void), const char *what, const char *culprit)
{
    (void)misuse;
    ck_abort_msg("t_expect_abort_naming(%s, %s) needs a child process: not on Windows",
                 what ? what : "-", culprit ? culprit : "-");
}

void t_silence_stderr(void)
{
    int fd = open("NUL", O_WRONLY);

    if (fd >= 0) {
        dup2(fd, STDERR_FILENO);
        close(fd);
    }
}

bool t_fail_syscall(const char *test, long nr, int arg, uint32_t value, int err)
{
    (void)nr; (void)arg; (void)value; (void)err;
    printf("SKIP %s: no system-call filter on Windows\n", test);
    return false;
}

int t_filter_syscall(long nr, int arg, uint32_t value, uint32_t action, unsigned flags)
{
    (void)nr; (void)arg; (void)value; (void)action; (void)flags;
    errno = ENOSYS;
    return -1;
}

int t_run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

int rand_r(unsigned *seed)
{
    /* A linear congruential step (the constants of C's example rand()). */
    *seed = *seed * 1103515245u + 12345u;
    return (int)((*seed / 65536u) % 32768u);
}

int setenv(const char *name, const char *value, int overwrite)
{
    /* The C runtime's own copy, which libqaio's getenv reads. */
    if (!overwrite && getenv(name)) {
        return 0;
    }
    return _putenv_s(name, value) == 0 ? 0 : -1;
}
