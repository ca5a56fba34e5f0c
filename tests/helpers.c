/* SPDX-License-Identifier: MIT */
/*
 * Shared helpers of the Check suites (see helpers.h).  Kept generic: no
 * suite's knowledge lives here, only what several suites repeat.  They fail
 * with ck_abort_msg and never call ck_assert on success (which would mark a
 * point), so they also work outside a running test, e.g. in main().
 */
#include "helpers.h"

#include <sys/eventfd.h>
#include <sys/syscall.h>
#ifdef CONFIG_LINUX_IO_URING
#include <linux/io_uring.h>
#endif

const char *const t_fdmons[] = { "poll", "epoll", "io_uring" };
const int t_n_fdmons = (int)(sizeof(t_fdmons) / sizeof(t_fdmons[0]));

void t_set_fdmon(const char *name)
{
    if (name) {
        setenv("QAIO_FDMON", name, 1);
    } else {
        unsetenv("QAIO_FDMON");
    }
}

AioContext *t_ctx_new_for_monitor(int i)
{
    if (i < 0 || i >= t_n_fdmons) {
        ck_abort_msg("no fd monitor number %d", i);
    }
    t_set_fdmon(t_fdmons[i]);
    return aio_context_new(&error_abort);
}

void t_ctx_free(AioContext *ctx)
{
    aio_context_unref(ctx);
}

bool t_io_uring_available(void)
{
#if defined(CONFIG_LINUX_IO_URING) && defined(__NR_io_uring_setup)
    struct io_uring_params params;
    long fd;

    memset(&params, 0, sizeof(params));
    fd = syscall(__NR_io_uring_setup, 2, &params);
    if (fd < 0) {
        /* ENOSYS: old kernel; EPERM: disabled by sysctl or seccomp. */
        return false;
    }
    close((int)fd);
    return true;
#else
    return false;
#endif
}

int t_eventfd(void)
{
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

    if (fd < 0) {
        ck_abort_msg("eventfd: %s", strerror(errno));
    }
    return fd;
}

void t_drain_ctx(AioContext *ctx)
{
    while (aio_poll(ctx, false)) {
        /* keep going until an iteration makes no progress */
    }
}

int64_t t_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int t_saved_stderr = -1;
static FILE *t_captured;

void t_stderr_begin(void)
{
    t_captured = tmpfile();
    if (!t_captured) {
        ck_abort_msg("tmpfile: %s", strerror(errno));
    }
    fflush(stderr);
    t_saved_stderr = dup(STDERR_FILENO);
    dup2(fileno(t_captured), STDERR_FILENO);
}

char *t_stderr_end(void)
{
    char *text = g_malloc0(65536);
    size_t n;

    fflush(stderr);
    dup2(t_saved_stderr, STDERR_FILENO);
    close(t_saved_stderr);
    rewind(t_captured);
    n = fread(text, 1, 65535, t_captured);
    text[n] = '\0';
    fclose(t_captured);
    return text;
}

int t_run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    int failed;

    /* CK_ENV: CK_NORMAL unless CK_VERBOSITY asks otherwise. */
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
