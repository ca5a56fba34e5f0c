/* SPDX-License-Identifier: MIT */
/*
 * Suite "event_notifier": the POSIX EventNotifier as a black box.  Readiness
 * is observed with poll(2) on the read end, never by timing; the pipe-pair
 * fallback is reached by making eventfd fail with ENOSYS through a seccomp
 * filter installed in the forked test child.
 */
#include "qemu/osdep.h"
#include "qemu/event_notifier.h"
#include "helpers.h"

#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <sys/syscall.h>

/* Whether fd is readable right now (zero-timeout poll). */
static bool readable(int fd)
{
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    int n;

    do {
        n = poll(&pfd, 1, 0);
    } while (n < 0 && errno == EINTR);
    ck_assert_int_ge(n, 0);
    return n == 1 && (pfd.revents & POLLIN);
}

static bool fd_is_open(int fd)
{
    return fcntl(fd, F_GETFD) >= 0 || errno != EBADF;
}

static void assert_nonblocking_cloexec(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    int fdfl = fcntl(fd, F_GETFD);

    ck_assert_int_ge(fl, 0);
    ck_assert_int_ge(fdfl, 0);
    ck_assert_msg(fl & O_NONBLOCK, "fd %d is blocking", fd);
    ck_assert_msg(fdfl & FD_CLOEXEC, "fd %d is not close-on-exec", fd);
}

/* ---- init --------------------------------------------------------------- */

START_TEST(init_inactive_is_not_signalled)
{
    EventNotifier e;

    ck_assert_int_eq(event_notifier_init(&e, 0), 0);
    ck_assert(e.initialized);
    ck_assert(!readable(event_notifier_get_fd(&e)));
    ck_assert_int_eq(event_notifier_test_and_clear(&e), 0);
    event_notifier_cleanup(&e);
}
END_TEST

START_TEST(init_active_is_signalled)
{
    EventNotifier e;

    ck_assert_int_eq(event_notifier_init(&e, 1), 0);
    ck_assert(readable(event_notifier_get_fd(&e)));
    ck_assert_int_ne(event_notifier_test_and_clear(&e), 0);
    event_notifier_cleanup(&e);
}
END_TEST

START_TEST(fds_are_nonblocking_and_cloexec)
{
    EventNotifier e;

    ck_assert_int_eq(event_notifier_init(&e, 0), 0);
    assert_nonblocking_cloexec(event_notifier_get_fd(&e));
    assert_nonblocking_cloexec(event_notifier_get_wfd(&e));
    event_notifier_cleanup(&e);
}
END_TEST

START_TEST(get_fd_and_get_wfd_return_the_struct_fields)
{
    EventNotifier e;

    ck_assert_int_eq(event_notifier_init(&e, 0), 0);
    ck_assert_int_eq(event_notifier_get_fd(&e), e.rfd);
    ck_assert_int_eq(event_notifier_get_wfd(&e), e.wfd);
    ck_assert_int_ge(e.rfd, 0);
    ck_assert_int_ge(e.wfd, 0);
    event_notifier_cleanup(&e);
}
END_TEST

START_TEST(init_fd_wraps_eventfd_as_both_ends)
{
    EventNotifier e;
    int fd = t_eventfd();
    uint64_t value = 0;

    event_notifier_init_fd(&e, fd);
    ck_assert(e.initialized);
    ck_assert_int_eq(event_notifier_get_fd(&e), fd);
    ck_assert_int_eq(event_notifier_get_wfd(&e), fd);

    /* A set is an eventfd write of 1, visible to a plain read. */
    ck_assert_int_eq(event_notifier_set(&e), 0);
    ck_assert_int_eq(read(fd, &value, sizeof(value)), (ssize_t)sizeof(value));
    ck_assert_uint_eq(value, 1);

    ck_assert_int_eq(event_notifier_set(&e), 0);
    ck_assert_int_ne(event_notifier_test_and_clear(&e), 0);
    ck_assert(!readable(fd));

    event_notifier_cleanup(&e);
    ck_assert(!fd_is_open(fd));
}
END_TEST

/* init_fd on a descriptor that is not an eventfd (a pipe's read end, as a
 * peer's fd received over a socket can be): test_and_clear reads until a
 * short read, so one byte is reported and 600 leave nothing behind. */
START_TEST(init_fd_on_a_pipe_end_clears_whatever_is_pending)
{
    static const size_t sizes[] = { 1, 20, 600 };
    char bytes[600] = { 0 };
    EventNotifier e;
    int p[2];

    ck_assert_int_eq(pipe(p), 0);
    ck_assert_int_eq(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
    event_notifier_init_fd(&e, p[0]);
    for (size_t i = 0; i < G_N_ELEMENTS(sizes); i++) {
        ck_assert_int_eq(write(p[1], bytes, sizes[i]), (ssize_t)sizes[i]);
        ck_assert_int_ne(event_notifier_test_and_clear(&e), 0);
        ck_assert(!readable(p[0]));
        ck_assert_int_eq(event_notifier_test_and_clear(&e), 0);
    }
    event_notifier_cleanup(&e);
    close(p[1]);
}
END_TEST

/* ---- set and test_and_clear --------------------------------------------- */

START_TEST(set_makes_the_read_end_readable)
{
    EventNotifier e;

    ck_assert_int_eq(event_notifier_init(&e, 0), 0);
    ck_assert_int_eq(event_notifier_set(&e), 0);
    ck_assert(readable(event_notifier_get_fd(&e)));
    event_notifier_cleanup(&e);
}
END_TEST

START_TEST(test_and_clear_reports_and_drains)
{
    EventNotifier e;

    ck_assert_int_eq(event_notifier_init(&e, 0), 0);
    ck_assert_int_eq(event_notifier_set(&e), 0);
    ck_assert_int_ne(event_notifier_test_and_clear(&e), 0);
    ck_assert(!readable(event_notifier_get_fd(&e)));
    ck_assert_int_eq(event_notifier_test_and_clear(&e), 0);
    event_notifier_cleanup(&e);
}
END_TEST

START_TEST(set_twice_coalesces_into_one_readiness)
{
    EventNotifier e;

    ck_assert_int_eq(event_notifier_init(&e, 0), 0);
    ck_assert_int_eq(event_notifier_set(&e), 0);
    ck_assert_int_eq(event_notifier_set(&e), 0);
    ck_assert_int_ne(event_notifier_test_and_clear(&e), 0);
    ck_assert_int_eq(event_notifier_test_and_clear(&e), 0);
    ck_assert(!readable(event_notifier_get_fd(&e)));
    event_notifier_cleanup(&e);
}
END_TEST

START_TEST(many_sets_are_cleared_by_one_test_and_clear)
{
    EventNotifier e;
    int i;

    ck_assert_int_eq(event_notifier_init(&e, 1), 0);
    for (i = 0; i < 10000; i++) {
        ck_assert_int_eq(event_notifier_set(&e), 0);
    }
    ck_assert_int_ne(event_notifier_test_and_clear(&e), 0);
    ck_assert(!readable(event_notifier_get_fd(&e)));
    event_notifier_cleanup(&e);
}
END_TEST

START_TEST(set_on_a_saturated_eventfd_counter_succeeds)
{
    EventNotifier e;
    uint64_t almost_max = UINT64_MAX - 1;

    ck_assert_int_eq(event_notifier_init(&e, 0), 0);
    if (e.rfd != e.wfd) {
        /* pipe pair: covered by the fallback test case */
        event_notifier_cleanup(&e);
        return;
    }
    /* The counter now holds its maximum: one more write would block. */
    ck_assert_int_eq(write(e.wfd, &almost_max, sizeof(almost_max)),
                     (ssize_t)sizeof(almost_max));
    ck_assert_int_eq(event_notifier_set(&e), 0);
    ck_assert_int_ne(event_notifier_test_and_clear(&e), 0);
    ck_assert(!readable(e.rfd));
    event_notifier_cleanup(&e);
}
END_TEST

static void *set_from_thread(void *opaque)
{
    event_notifier_set(opaque);
    return NULL;
}

START_TEST(set_from_another_thread_wakes_a_blocking_poll)
{
    EventNotifier e;
    pthread_t th;
    struct pollfd pfd;

    ck_assert_int_eq(event_notifier_init(&e, 0), 0);
    pfd.fd = event_notifier_get_fd(&e);
    pfd.events = POLLIN;
    ck_assert_int_eq(pthread_create(&th, NULL, set_from_thread, &e), 0);
    /* Blocks until the other thread's set; Check's timeout catches a hang. */
    while (poll(&pfd, 1, -1) < 0) {
        ck_assert_int_eq(errno, EINTR);
    }
    ck_assert(pfd.revents & POLLIN);
    pthread_join(th, NULL);
    ck_assert_int_ne(event_notifier_test_and_clear(&e), 0);
    event_notifier_cleanup(&e);
}
END_TEST

/* ---- cleanup and uninitialized notifiers -------------------------------- */

START_TEST(cleanup_closes_the_fds_and_marks_uninitialized)
{
    EventNotifier e;
    int rfd, wfd;

    ck_assert_int_eq(event_notifier_init(&e, 0), 0);
    rfd = e.rfd;
    wfd = e.wfd;
    event_notifier_cleanup(&e);
    ck_assert(!e.initialized);
    ck_assert(!fd_is_open(rfd));
    ck_assert(!fd_is_open(wfd));
}
END_TEST

START_TEST(cleanup_twice_is_noop)
{
    EventNotifier e;
    int rfd, reused;

    ck_assert_int_eq(event_notifier_init(&e, 0), 0);
    rfd = e.rfd;
    event_notifier_cleanup(&e);

    /* An unrelated descriptor now has the old number: a second cleanup that
     * closed anything would close it. */
    reused = dup2(STDERR_FILENO, rfd);
    ck_assert_int_eq(reused, rfd);
    event_notifier_cleanup(&e);
    ck_assert(!e.initialized);
    ck_assert(fd_is_open(reused));
    close(reused);
}
END_TEST

START_TEST(set_on_uninitialized_notifier_returns_minus_one)
{
    EventNotifier e;

    memset(&e, 0, sizeof(e));
    e.initialized = false;
    ck_assert_int_eq(event_notifier_set(&e), -1);
}
END_TEST

START_TEST(set_after_cleanup_returns_minus_one)
{
    EventNotifier e;

    ck_assert_int_eq(event_notifier_init(&e, 0), 0);
    event_notifier_cleanup(&e);
    ck_assert_int_eq(event_notifier_set(&e), -1);
}
END_TEST

START_TEST(notifier_can_be_initialized_again_after_cleanup)
{
    EventNotifier e;

    ck_assert_int_eq(event_notifier_init(&e, 1), 0);
    event_notifier_cleanup(&e);
    ck_assert_int_eq(event_notifier_init(&e, 0), 0);
    ck_assert(!readable(e.rfd));
    ck_assert_int_eq(event_notifier_set(&e), 0);
    ck_assert_int_ne(event_notifier_test_and_clear(&e), 0);
    event_notifier_cleanup(&e);
}
END_TEST

/* ---- pipe fallback ------------------------------------------------------ */

/*
 * Make eventfd fail with ENOSYS in this (forked) process, as on a kernel
 * built without it.  Returns false, with the reason printed, when the filter
 * cannot be installed or the test does not run in its own process.
 */
static bool hide_eventfd(void)
{
    const long nrs[] = {
#ifdef __NR_eventfd
        __NR_eventfd,
#endif
        __NR_eventfd2,
    };

    if (!t_hide_syscalls("pipe fallback", nrs, (int)(sizeof(nrs) / sizeof(nrs[0])))) {
        return false;
    }
    errno = 0;
    ck_assert_int_lt(syscall(__NR_eventfd2, 0, 0), 0);
    ck_assert_int_eq(errno, ENOSYS);
    return true;
}

START_TEST(without_eventfd_init_falls_back_to_a_pipe_pair)
{
    EventNotifier e;

    if (!hide_eventfd()) {
        return;
    }
    ck_assert_int_eq(event_notifier_init(&e, 0), 0);
    ck_assert_int_ne(e.rfd, e.wfd);
    assert_nonblocking_cloexec(e.rfd);
    assert_nonblocking_cloexec(e.wfd);
    ck_assert(!readable(e.rfd));
    event_notifier_cleanup(&e);
}
END_TEST

START_TEST(pipe_fallback_init_active_is_signalled)
{
    EventNotifier e;

    if (!hide_eventfd()) {
        return;
    }
    ck_assert_int_eq(event_notifier_init(&e, 1), 0);
    ck_assert(readable(e.rfd));
    ck_assert_int_ne(event_notifier_test_and_clear(&e), 0);
    ck_assert(!readable(e.rfd));
    event_notifier_cleanup(&e);
}
END_TEST

START_TEST(pipe_fallback_sets_coalesce_and_clear_drains_everything)
{
    EventNotifier e;
    int i;

    if (!hide_eventfd()) {
        return;
    }
    ck_assert_int_eq(event_notifier_init(&e, 0), 0);
    /* More sets than a default 64 KiB pipe holds: the extra ones find the
     * pipe full, which is not an error. */
    for (i = 0; i < 20000; i++) {
        ck_assert_int_eq(event_notifier_set(&e), 0);
    }
    ck_assert_int_ne(event_notifier_test_and_clear(&e), 0);
    ck_assert(!readable(e.rfd));
    ck_assert_int_eq(event_notifier_test_and_clear(&e), 0);
    event_notifier_cleanup(&e);
}
END_TEST

START_TEST(pipe_fallback_cleanup_closes_both_ends)
{
    EventNotifier e;
    int rfd, wfd;

    if (!hide_eventfd()) {
        return;
    }
    ck_assert_int_eq(event_notifier_init(&e, 0), 0);
    rfd = e.rfd;
    wfd = e.wfd;
    event_notifier_cleanup(&e);
    ck_assert(!e.initialized);
    ck_assert(!fd_is_open(rfd));
    ck_assert(!fd_is_open(wfd));
}
END_TEST

static Suite *event_notifier_suite(void)
{
    Suite *s = suite_create("event_notifier");
    TCase *tc;

    tc = tcase_create("init");
    tcase_add_test(tc, init_inactive_is_not_signalled);
    tcase_add_test(tc, init_active_is_signalled);
    tcase_add_test(tc, fds_are_nonblocking_and_cloexec);
    tcase_add_test(tc, get_fd_and_get_wfd_return_the_struct_fields);
    tcase_add_test(tc, init_fd_wraps_eventfd_as_both_ends);
    tcase_add_test(tc, init_fd_on_a_pipe_end_clears_whatever_is_pending);
    suite_add_tcase(s, tc);

    tc = tcase_create("set");
    tcase_add_test(tc, set_makes_the_read_end_readable);
    tcase_add_test(tc, test_and_clear_reports_and_drains);
    tcase_add_test(tc, set_twice_coalesces_into_one_readiness);
    tcase_add_test(tc, many_sets_are_cleared_by_one_test_and_clear);
    tcase_add_test(tc, set_on_a_saturated_eventfd_counter_succeeds);
    tcase_add_test(tc, set_from_another_thread_wakes_a_blocking_poll);
    suite_add_tcase(s, tc);

    tc = tcase_create("cleanup");
    tcase_add_test(tc, cleanup_closes_the_fds_and_marks_uninitialized);
    tcase_add_test(tc, cleanup_twice_is_noop);
    tcase_add_test(tc, set_on_uninitialized_notifier_returns_minus_one);
    tcase_add_test(tc, set_after_cleanup_returns_minus_one);
    tcase_add_test(tc, notifier_can_be_initialized_again_after_cleanup);
    suite_add_tcase(s, tc);

    tc = tcase_create("pipe_fallback");
    tcase_add_test(tc, without_eventfd_init_falls_back_to_a_pipe_pair);
    tcase_add_test(tc, pipe_fallback_init_active_is_signalled);
    tcase_add_test(tc, pipe_fallback_sets_coalesce_and_clear_drains_everything);
    tcase_add_test(tc, pipe_fallback_cleanup_closes_both_ends);
    suite_add_tcase(s, tc);

    return s;
}

int main(void)
{
    return t_run_suite(event_notifier_suite());
}
