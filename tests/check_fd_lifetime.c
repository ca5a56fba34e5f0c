/* SPDX-License-Identifier: MIT */
/*
 * Suite "fd_lifetime": an fd handler whose fd is closed while registered,
 * while its open file lives on elsewhere (a dup, a forked child, a
 * descriptor in flight in an SCM_RIGHTS message) or does not (plain close).
 * The kernel may keep such a file in a monitor's interest set after the
 * handler is removed (epoll keys registrations by file and number, and
 * EPOLL_CTL_DEL on a closed number fails).  Required: no event of the old
 * file ever reaches freed memory or the handler that is registered next on
 * the same fd number, and a blocking wait still sleeps until it has
 * something to do.  Every case runs per fd monitor and per way of keeping
 * the file alive, driven by aio_poll and by glib (the GSource path), and
 * once more on the automatic monitor after its upgrade to epoll with
 * io_uring hidden (a container whose seccomp profile refuses io_uring).
 */
#define _GNU_SOURCE
#include "qemu/osdep.h"
#include "block/aio.h"
#include "qemu/timer.h"
#include "helpers.h"

#include <sys/socket.h>
#include <sys/wait.h>

/* ---- keeping a file alive after its fd is closed ------------------------ */

typedef enum { KEEP_DUP, KEEP_CHILD, KEEP_SCM_RIGHTS, KEEP_NOTHING, N_KEEPERS } Keeper;

static const char *const keeper_names[N_KEEPERS] = {
    "dup", "forked child", "SCM_RIGHTS in flight", "nothing",
};

typedef struct {
    Keeper how;
    int dup_fd;
    pid_t child;
    int gate[2];
    int sv[2];
} KeepAlive;

static void keep_alive(KeepAlive *k, Keeper how, int fd)
{
    memset(k, 0, sizeof(*k));
    k->how = how;
    switch (how) {
    case KEEP_DUP:
        /* High, so that the fd numbers the test reuses stay free. */
        k->dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 200);
        ck_assert_int_ge(k->dup_fd, 200);
        break;
    case KEEP_CHILD: {
        char c;

        ck_assert_int_eq(pipe(k->gate), 0);
        k->child = fork();
        ck_assert_int_ge(k->child, 0);
        if (k->child == 0) {
            /* Holds a copy of every fd until the parent closes the gate. */
            close(k->gate[1]);
            while (read(k->gate[0], &c, 1) < 0 && errno == EINTR) {
            }
            _exit(0);
        }
        close(k->gate[0]);
        break;
    }
    case KEEP_SCM_RIGHTS: {
        char byte = 0;
        struct iovec iov = { &byte, 1 };
        union {
            struct cmsghdr align;
            char buf[CMSG_SPACE(sizeof(int))];
        } u;
        struct msghdr msg = { 0 };
        struct cmsghdr *cm;

        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, k->sv), 0);
        memset(&u, 0, sizeof(u));
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = u.buf;
        msg.msg_controllen = sizeof(u.buf);
        cm = CMSG_FIRSTHDR(&msg);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &fd, sizeof(int));
        /* Never received: the file stays referenced by the queued message. */
        ck_assert_int_eq(sendmsg(k->sv[0], &msg, 0), 1);
        break;
    }
    default:
        break;
    }
}

static void let_go(KeepAlive *k)
{
    int status;

    switch (k->how) {
    case KEEP_DUP:
        close(k->dup_fd);
        break;
    case KEEP_CHILD:
        close(k->gate[1]);
        while (waitpid(k->child, &status, 0) < 0) {
            ck_assert_int_eq(errno, EINTR);
        }
        break;
    case KEEP_SCM_RIGHTS:
        close(k->sv[0]);
        close(k->sv[1]);
        break;
    default:
        break;
    }
}

/* ---- driving the context: aio_poll or glib ------------------------------ */

typedef struct {
    AioContext *ctx;
    GMainContext *mc;  /* NULL: aio_poll */
    GSource *src;
} Driver;

static bool step(Driver *d, bool blocking)
{
    return d->mc ? g_main_context_iteration(d->mc, blocking) : aio_poll(d->ctx, blocking);
}

/* At most `max` non-blocking steps, until one makes no progress. */
static void settle(Driver *d, int max)
{
    for (int k = 0; k < max && step(d, false); k++) {
    }
}

static void driver_attach(Driver *d, AioContext *ctx, bool under_glib)
{
    d->ctx = ctx;
    d->mc = NULL;
    d->src = NULL;
    if (!qemu_get_current_aio_context()) {
        qemu_set_current_aio_context(ctx);
    }
    if (under_glib) {
        d->mc = g_main_context_new();
        d->src = aio_get_g_source(ctx);
        g_source_attach(d->src, d->mc);
    }
    settle(d, 100);
}

static bool driver_open(Driver *d, int monitor, bool under_glib, const char *test)
{
    if (strcmp(t_fdmons[monitor], "io_uring") == 0 && !t_io_uring_available()) {
        printf("SKIP %s[%s]: io_uring is not available\n", test, t_fdmons[monitor]);
        fflush(stdout);
        return false;
    }
    driver_attach(d, t_ctx_new_for_monitor(monitor), under_glib);
    return true;
}

static void driver_close(Driver *d)
{
    if (d->mc) {
        g_source_destroy(d->src);
        g_source_unref(d->src);
        g_main_context_unref(d->mc);
    }
    aio_context_unref(d->ctx);
}

/* ---- handlers ----------------------------------------------------------- */

typedef struct {
    int fd;
    int reads;
    bool drain;
} Fd;

static void fd_read_cb(void *opaque)
{
    Fd *f = opaque;
    uint64_t v;

    f->reads++;
    if (f->drain) {
        while (read(f->fd, &v, sizeof(v)) == (ssize_t)sizeof(v)) {
        }
    }
}

static void kick(int fd)
{
    uint64_t one = 1;

    ck_assert_int_eq(write(fd, &one, sizeof(one)), (ssize_t)sizeof(one));
}

/* A new eventfd that takes the fd number `num`. */
static int eventfd_at(int num)
{
    int fd = t_eventfd();

    if (fd != num) {
        ck_assert_int_eq(dup3(fd, num, O_CLOEXEC), num);
        close(fd);
    }
    return num;
}

static void set_read_handler(AioContext *ctx, Fd *f, bool is_external)
{
#if T_API_7_2
    aio_set_fd_handler(ctx, f->fd, is_external, fd_read_cb, NULL, NULL, NULL, f);
#else
    ck_assert_msg(!is_external, "QEMU 10.0 has no external handlers");
    t_set_fd_handler(ctx, f->fd, fd_read_cb, NULL, NULL, NULL, f);
#endif
}

static void remove_handler(AioContext *ctx, int fd)
{
    t_set_fd_handler(ctx, fd, NULL, NULL, NULL, NULL, NULL);
}

/* A readable eventfd that nobody drains, registered and seen ready once, so
 * that every monitor holds it in the kernel. */
static void register_ready_fd(Driver *d, Fd *f, bool is_external)
{
    memset(f, 0, sizeof(*f));
    f->fd = t_eventfd();
    kick(f->fd);
    set_read_handler(d->ctx, f, is_external);
    for (int k = 0; k < 10 && f->reads == 0; k++) {
        step(d, false);
    }
    ck_assert_int_gt(f->reads, 0);
}

/* ---- the loop keeps sleeping -------------------------------------------- */

typedef struct {
    QEMUTimer *t;
    int fired;
} Bound;

static void bound_cb(void *opaque)
{
    ((Bound *)opaque)->fired++;
}

/*
 * One blocking step, with nothing ready but a timer 50 ms ahead, must be the
 * step that runs the timer: a wait woken by a stale registration returns
 * before it.  Notifications that arming the timer left are settled first.
 */
static void assert_blocking_step_sleeps_until_timer(Driver *d, const char *what)
{
    Bound b = { 0 };

    b.t = aio_timer_new(d->ctx, QEMU_CLOCK_REALTIME, SCALE_MS, bound_cb, &b);
    for (int attempt = 0; attempt < 3; attempt++) {
        b.fired = 0;
        timer_mod(b.t, qemu_clock_get_ms(QEMU_CLOCK_REALTIME) + 50);
        settle(d, 10);
        if (!b.fired) {
            break;  /* else the machine was slower than 50 ms: again */
        }
    }
    ck_assert_msg(b.fired == 0, "%s: settling took longer than the timer, thrice", what);
    step(d, true);
    ck_assert_msg(b.fired == 1, "%s: a blocking wait returned before its timer "
                  "(woken by a registration the loop no longer has)", what);
    timer_free(b.t);
}

/* ---- cases -------------------------------------------------------------- */

/*
 * The old fd is closed while its file lives on, its handler removed, and
 * a new file takes the same fd number with a handler of its own: that
 * handler never runs (its fd is never readable), and the loop sleeps.
 */
static void closed_fd_case(Driver *d, Keeper how, const char *what)
{
    Fd old, fresh;
    KeepAlive k;
    int num;

    register_ready_fd(d, &old, false);
    keep_alive(&k, how, old.fd);
    num = old.fd;
    close(old.fd);
    remove_handler(d->ctx, num);
    old.reads = 0;

    memset(&fresh, 0, sizeof(fresh));
    fresh.fd = eventfd_at(num);
    fresh.drain = true;
    set_read_handler(d->ctx, &fresh, false);
    settle(d, 10);
    ck_assert_msg(fresh.reads == 0 && old.reads == 0,
                  "%s: a handler ran for a file that was never ready for it "
                  "(new handler %d times, removed one %d times)",
                  what, fresh.reads, old.reads);
    assert_blocking_step_sleeps_until_timer(d, what);

    /* The new registration itself works. */
    kick(fresh.fd);
    for (int j = 0; j < 10 && fresh.reads == 0; j++) {
        step(d, false);
    }
    ck_assert_msg(fresh.reads == 1, "%s: the new handler missed its event", what);

    remove_handler(d->ctx, fresh.fd);
    close(fresh.fd);
    let_go(&k);
}

static void run_closed_fd_case(int i, bool under_glib, const char *test)
{
    int monitor = i / N_KEEPERS;
    Keeper how = (Keeper)(i % N_KEEPERS);
    char what[160];
    Driver d;

    if (!driver_open(&d, monitor, under_glib, test)) {
        return;
    }
    snprintf(what, sizeof(what), "%s[%s, kept by %s]", test, t_fdmons[monitor],
             keeper_names[how]);
    closed_fd_case(&d, how, what);
    driver_close(&d);
}

START_TEST(closed_fd_whose_file_lives_on_never_reaches_the_next_handler_of_its_number)
{
    run_closed_fd_case(_i, false, __func__);
}
END_TEST

START_TEST(closed_fd_whose_file_lives_on_never_reaches_the_next_handler_under_glib)
{
    run_closed_fd_case(_i, true, __func__);
}
END_TEST

#if T_API_7_2
/*
 * An external handler whose fd was closed (its file kept by a dup) stops
 * being watched when external clients are disabled; the registration the
 * kernel keeps must not wake the loop meanwhile.  Re-enabling and removing
 * it afterwards leaves the loop serving the next handler of that number.
 */
START_TEST(disabled_external_handler_of_a_closed_fd_lets_the_loop_sleep)
{
    char what[160];
    Fd old, fresh;
    KeepAlive k;
    Driver d;
    int num;

    if (!driver_open(&d, _i, false, __func__)) {
        return;
    }
    snprintf(what, sizeof(what), "%s[%s]", __func__, t_fdmons[_i]);
    register_ready_fd(&d, &old, true);
    keep_alive(&k, KEEP_DUP, old.fd);
    num = old.fd;
    close(old.fd);
    aio_disable_external(d.ctx);
    settle(&d, 10);
    old.reads = 0;
    assert_blocking_step_sleeps_until_timer(&d, what);
    ck_assert_int_eq(old.reads, 0);
    aio_enable_external(d.ctx);
    settle(&d, 10);
    remove_handler(d.ctx, num);

    memset(&fresh, 0, sizeof(fresh));
    fresh.fd = eventfd_at(num);
    fresh.drain = true;
    set_read_handler(d.ctx, &fresh, false);
    settle(&d, 10);
    ck_assert_int_eq(fresh.reads, 0);
    assert_blocking_step_sleeps_until_timer(&d, what);
    remove_handler(d.ctx, fresh.fd);
    close(fresh.fd);
    let_go(&k);
    driver_close(&d);
}
END_TEST
#endif

/*
 * The same open file comes back under its old number (dup2 of the copy that
 * kept it alive) and gets a new handler: that handler, and no freed one,
 * hears of it (epoll: the ADD meets the stale registration, EEXIST).
 */
START_TEST(file_back_under_its_old_number_reaches_only_its_new_handler)
{
    char what[160];
    Fd old, back;
    KeepAlive k;
    Driver d;
    int num;

    if (!driver_open(&d, _i % t_n_fdmons, _i >= t_n_fdmons, __func__)) {
        return;
    }
    snprintf(what, sizeof(what), "%s[%s%s]", __func__, t_fdmons[_i % t_n_fdmons],
             _i >= t_n_fdmons ? ", glib" : "");
    register_ready_fd(&d, &old, false);
    keep_alive(&k, KEEP_DUP, old.fd);
    num = old.fd;
    close(old.fd);
    remove_handler(d.ctx, num);
    old.reads = 0;

    memset(&back, 0, sizeof(back));
    back.fd = num;
    back.drain = true;
    ck_assert_int_eq(dup3(k.dup_fd, num, O_CLOEXEC), num);
    set_read_handler(d.ctx, &back, false);
    for (int j = 0; j < 10 && back.reads == 0; j++) {
        step(&d, false);
    }
    ck_assert_msg(back.reads == 1 && old.reads == 0,
                  "%s: new handler ran %d times (want 1), removed one %d times",
                  what, back.reads, old.reads);
    settle(&d, 10);
    assert_blocking_step_sleeps_until_timer(&d, what);
    ck_assert_int_eq(back.reads, 1);

    remove_handler(d.ctx, num);
    close(num);
    let_go(&k);
    driver_close(&d);
}
END_TEST

/* The default monitor on a host without io_uring: poll(2), upgraded to
 * epoll past 64 fds; the case that reached production. */
START_TEST(closed_fd_on_the_upgraded_automatic_monitor_never_reaches_the_next_handler)
{
    enum { N = 70 };
    Keeper how = (Keeper)_i;
    char what[160];
    int fds[N];
    Fd idle[N];
    Driver d;

    if (!t_hide_io_uring(__func__)) {
        return;
    }
    t_set_fdmon(NULL);
    driver_attach(&d, aio_context_new(&error_abort), false);
    for (int j = 0; j < N; j++) {
        memset(&idle[j], 0, sizeof(idle[j]));
        idle[j].fd = fds[j] = t_eventfd();
        set_read_handler(d.ctx, &idle[j], false);
    }
    settle(&d, 10);  /* the wait that crosses 64 fds upgrades to epoll */
    snprintf(what, sizeof(what), "%s[kept by %s]", __func__, keeper_names[how]);
    closed_fd_case(&d, how, what);
    for (int j = 0; j < N; j++) {
        ck_assert_int_eq(idle[j].reads, 0);
        remove_handler(d.ctx, fds[j]);
        close(fds[j]);
    }
    driver_close(&d);
}
END_TEST

static Suite *fd_lifetime_suite(void)
{
    Suite *s = suite_create("fd_lifetime");
    TCase *tc;

    tc = tcase_create("aio_poll");
    tcase_add_loop_test(tc,
        closed_fd_whose_file_lives_on_never_reaches_the_next_handler_of_its_number,
        0, t_n_fdmons * N_KEEPERS);
#if T_API_7_2
    tcase_add_loop_test(tc, disabled_external_handler_of_a_closed_fd_lets_the_loop_sleep,
                        0, t_n_fdmons);
#endif
    tcase_add_loop_test(tc, file_back_under_its_old_number_reaches_only_its_new_handler,
                        0, 2 * t_n_fdmons);
    tcase_add_loop_test(tc,
        closed_fd_on_the_upgraded_automatic_monitor_never_reaches_the_next_handler,
        0, N_KEEPERS);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);

    tc = tcase_create("gsource");
    tcase_add_loop_test(tc,
        closed_fd_whose_file_lives_on_never_reaches_the_next_handler_under_glib,
        0, t_n_fdmons * N_KEEPERS);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);

    return s;
}

int main(void)
{
    return t_run_suite(fd_lifetime_suite());
}
