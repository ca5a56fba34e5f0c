/* SPDX-License-Identifier: MIT */
/*
 * Suite "notify": the notification protocol and context timers, as a black
 * box.  A notification wakes a blocked aio_poll() but is not progress; one
 * that lands before the wait makes the wait non-blocking; aio_notify_accept
 * consumes it; a cross-thread ping-pong checks that no wake-up is lost.
 * Timers: QEMU 7.2's /aio/timer/schedule, deadlines kept with more than 64
 * fds registered (where a monitor may move to epoll), and a SIGALRM storm
 * during blocking waits.  Every test runs once per fd monitor; a monitor the
 * kernel refuses is a printed skip.  Timers assert that they never run
 * before their deadline; nothing asserts how late they run.
 */
#include "qemu/osdep.h"
#include "block/aio.h"
#include "qemu/timer.h"
#include "helpers.h"

#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/time.h>

/* ---- helpers ------------------------------------------------------------ */

/* A drained context on monitor t_fdmons[i], home in this thread. */
static AioContext *open_ctx(int i)
{
    AioContext *ctx = t_ctx_new_for_monitor(i);

    ck_assert_ptr_nonnull(ctx);
    if (!qemu_get_current_aio_context()) {
        qemu_set_current_aio_context(ctx);
    }
    t_drain_ctx(ctx);
    return ctx;
}

#define OPEN_CTX(ctx) AioContext *ctx = open_ctx(_i)

/* A REALTIME context timer that checks it never runs before its deadline
 * and re-arms itself `ns` later until it has run `max` times. */
typedef struct {
    QEMUTimer *t;
    int n;
    int max;
    int64_t ns;
    int64_t deadline;
} TimerData;

static void timer_cb(void *opaque)
{
    TimerData *d = opaque;
    int64_t now = qemu_clock_get_ns(QEMU_CLOCK_REALTIME);

    ck_assert_msg(now >= d->deadline, "timer ran %" PRId64 " ns before its deadline",
                  d->deadline - now);
    d->n++;
    if (d->n < d->max) {
        d->deadline = now + d->ns;
        timer_mod(d->t, d->deadline);
    }
}

static void timer_arm(TimerData *d, int64_t ns)
{
    d->deadline = qemu_clock_get_ns(QEMU_CLOCK_REALTIME) + ns;
    timer_mod(d->t, d->deadline);
}

/* ---- order within one aio_poll ------------------------------------------- */

static char order[8];

static void order_bh_cb(void *opaque) { strcat(order, "B"); }
static void order_timer_cb(void *opaque) { strcat(order, "T"); }
static void order_fd_cb(void *opaque)
{
    uint64_t v;

    strcat(order, "F");
    ck_assert_int_eq(read(*(int *)opaque, &v, sizeof(v)), (ssize_t)sizeof(v));
}

/* One aio_poll, blocking or not, with a BH scheduled, an fd ready and a
 * timer due: BHs, then fd handlers, then timers, as QEMU 7.2 runs them. */
START_TEST(one_poll_runs_bhs_then_fd_handlers_then_timers)
{
    OPEN_CTX(ctx);
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    QEMUTimer *t = aio_timer_new(ctx, QEMU_CLOCK_REALTIME, SCALE_NS, order_timer_cb, NULL);
    QEMUBH *bh = aio_bh_new(ctx, order_bh_cb, NULL);

    t_set_fd_handler(ctx, fd, order_fd_cb, NULL, NULL, NULL, &fd);
    for (int blocking = 0; blocking <= 1; blocking++) {
        order[0] = 0;
        timer_mod(t, qemu_clock_get_ns(QEMU_CLOCK_REALTIME) - 1);
        ck_assert_int_eq(eventfd_write(fd, 1), 0);
        qemu_bh_schedule(bh);
        ck_assert(aio_poll(ctx, blocking));
        ck_assert_str_eq(order, "BFT");
    }
    t_set_fd_handler(ctx, fd, NULL, NULL, NULL, NULL, NULL);
    close(fd);
    qemu_bh_delete(bh);
    timer_free(t);
    aio_context_unref(ctx);
}
END_TEST

/* ---- notification ------------------------------------------------------- */

START_TEST(notification_alone_is_not_progress)
{
    OPEN_CTX(ctx);

    aio_notify(ctx);
    ck_assert(!aio_poll(ctx, false));
    aio_notify(ctx);
    aio_notify(ctx);
    aio_notify(ctx);
    ck_assert(!aio_poll(ctx, false));
    ck_assert(!aio_poll(ctx, false));

    aio_context_unref(ctx);
}
END_TEST

START_TEST(notify_before_blocking_poll_makes_it_return)
{
    OPEN_CTX(ctx);

    /* Nothing else could end this wait: a lost notification hangs here. */
    aio_notify(ctx);
    ck_assert(!aio_poll(ctx, true));
    ck_assert(!aio_poll(ctx, false));
    aio_notify(ctx);
    aio_notify(ctx);
    ck_assert(!aio_poll(ctx, true));

    aio_context_unref(ctx);
}
END_TEST

START_TEST(aio_notify_accept_clears_pending_notification)
{
    OPEN_CTX(ctx);
    TimerData d = { .max = 1 };
    bool progress;

    d.t = aio_timer_new(ctx, QEMU_CLOCK_REALTIME, SCALE_NS, timer_cb, &d);
    timer_arm(&d, 20 * SCALE_MS);
    aio_notify(ctx);
    aio_notify_accept(ctx);
    /* With the notification consumed, the wait lasts until the timer. */
    progress = aio_poll(ctx, true);
    ck_assert_msg(progress && d.n == 1,
                  "blocking poll returned %d before the timer ran: the accepted "
                  "notification was still pending", progress);

    timer_free(d.t);
    aio_context_unref(ctx);
}
END_TEST

/* Two threads, each with its own context, hand a turn back and forth: the
 * one whose turn it is passes it and notifies the other's context; the
 * waiter sleeps in aio_poll(ctx, true) until its turn comes.  The turn is
 * published before the notification, so a wake-up lost by the protocol
 * leaves a thread asleep forever (the test times out). */
enum { PING_PONG_ROUNDS = 10000 };

typedef struct {
    AioContext *self;
    AioContext *other;
    int me;
    int *turn;
    int wakeups;
} Player;

static void *player_thread(void *opaque)
{
    Player *p = opaque;

    qemu_set_current_aio_context(p->self);
    for (int r = 0; r < PING_PONG_ROUNDS; r++) {
        while (__atomic_load_n(p->turn, __ATOMIC_SEQ_CST) != p->me) {
            aio_poll(p->self, true);
            p->wakeups++;
        }
        __atomic_store_n(p->turn, 1 - p->me, __ATOMIC_SEQ_CST);
        aio_notify(p->other);
    }
    return NULL;
}

START_TEST(cross_thread_notify_wakes_blocked_poll)
{
    AioContext *a, *b;
    Player pa, pb;
    pthread_t ta, tb;
    int turn = 0;

    /* Created here, polled only by their players (their home threads). */
    a = t_ctx_new_for_monitor(_i);
    b = t_ctx_new_for_monitor(_i);
    pa = (Player){ .self = a, .other = b, .me = 0, .turn = &turn };
    pb = (Player){ .self = b, .other = a, .me = 1, .turn = &turn };
    ck_assert_int_eq(pthread_create(&ta, NULL, player_thread, &pa), 0);
    ck_assert_int_eq(pthread_create(&tb, NULL, player_thread, &pb), 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    ck_assert_int_ge(pa.wakeups + pb.wakeups, PING_PONG_ROUNDS);

    aio_context_unref(a);
    aio_context_unref(b);
}
END_TEST

/* The home thread sleeps in aio_poll(ctx, true) with no fd registered but
 * the notifier while another thread registers a ready eventfd.  The
 * registration's own aio_notify must end that sleep (a monitor that sleeps
 * on the notifier alone would see nothing else): a lost one hangs here.
 * The sleep before registering only makes "already asleep" the likely case;
 * the rounds with a shorter one cover registrations racing the announce. */
typedef struct {
    AioContext *ctx;
    int fd;
    int delay_us;
    int ran;
} LateFd;

static void late_fd_read(void *opaque)
{
    LateFd *l = opaque;
    uint64_t v;

    if (read(l->fd, &v, sizeof(v)) == (ssize_t)sizeof(v)) {
        __atomic_store_n(&l->ran, 1, __ATOMIC_SEQ_CST);
    }
}

static void *register_late(void *opaque)
{
    LateFd *l = opaque;

    usleep(l->delay_us);
    t_set_fd_handler(l->ctx, l->fd, late_fd_read, NULL, NULL, NULL, l);
    return NULL;
}

START_TEST(fd_registered_by_another_thread_ends_a_wait_on_the_notifier_alone)
{
    OPEN_CTX(ctx);

    for (int round = 0; round < 20; round++) {
        LateFd l = { .ctx = ctx, .delay_us = round % 2 ? 20000 : round * 50 };
        pthread_t t;

        l.fd = eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK);
        ck_assert_int_ge(l.fd, 0);
        ck_assert_int_eq(pthread_create(&t, NULL, register_late, &l), 0);
        while (!__atomic_load_n(&l.ran, __ATOMIC_SEQ_CST)) {
            aio_poll(ctx, true);
        }
        pthread_join(t, NULL);
        t_set_fd_handler(ctx, l.fd, NULL, NULL, NULL, NULL, NULL);
        close(l.fd);
    }
    aio_context_unref(ctx);
}
END_TEST

/* ---- timers ------------------------------------------------------------- */

/* True while the clock has not reached the timer's deadline. */
static bool before_deadline(const TimerData *d)
{
    return qemu_clock_get_ns(QEMU_CLOCK_REALTIME) < d->deadline;
}

/*
 * "Not early" is timer_cb's own check, at every run.  What a poll that
 * ended before the deadline may return is asserted only when it did end
 * before it: under valgrind on a loaded machine a poll can take longer than
 * the 50 ms timer, and then running the timer is right.
 */
START_TEST(context_timer_runs_only_in_the_loop_and_after_its_deadline)
{
    OPEN_CTX(ctx);
    TimerData d = { .max = 2, .ns = 50 * SCALE_MS };
    bool progress = false;

    d.t = aio_timer_new(ctx, QEMU_CLOCK_REALTIME, SCALE_NS, timer_cb, &d);
    /* The first poll drains the notification arming may have left; the
     * scenario needs it to end before the deadline (a few tries). */
    /* The deadline armed, not d.deadline: a timer that ran re-arms itself. */
    int64_t armed = 0;
    for (int attempt = 0; attempt < 5; attempt++) {
        d.n = 0;
        timer_arm(&d, d.ns);
        armed = d.deadline;
        progress = aio_poll(ctx, false);
        if (qemu_clock_get_ns(QEMU_CLOCK_REALTIME) < armed) {
            break;
        }
        timer_del(d.t);
    }
    ck_assert_msg(qemu_clock_get_ns(QEMU_CLOCK_REALTIME) < armed,
                  "the first poll outlasted the 50 ms timer, five times");
    ck_assert(!progress);
    ck_assert_int_eq(d.n, 0);

    /* Never outside the loop. */
    while (before_deadline(&d)) {
        g_usleep(5 * 1000);
    }
    ck_assert_int_eq(d.n, 0);

    /* The loop runs it; its callback re-arms it. */
    ck_assert(aio_poll(ctx, false));
    ck_assert_int_eq(d.n, 1);
    progress = aio_poll(ctx, false);
    if (before_deadline(&d)) {
        ck_assert(!progress);
        ck_assert_int_eq(d.n, 1);
        ck_assert(timer_pending(d.t));
    }

    /* A blocking poll sleeps until the new expiry and runs it (unless the
     * poll above was slower than the timer and ran it already). */
    if (d.n == 1) {
        ck_assert(aio_poll(ctx, true));
    }
    ck_assert_int_eq(d.n, 2);
    ck_assert(!timer_pending(d.t));

    /* No timer left. */
    ck_assert(!aio_poll(ctx, false));
    ck_assert_int_eq(d.n, 2);
    ck_assert_int_eq(aio_compute_timeout(ctx), -1);

    timer_free(d.t);
    aio_context_unref(ctx);
}
END_TEST

START_TEST(aio_compute_timeout_follows_the_earliest_timer)
{
    OPEN_CTX(ctx);
    TimerData d1 = { .max = 1 }, d2 = { .max = 1 };
    int64_t t;

    d1.t = aio_timer_new(ctx, QEMU_CLOCK_REALTIME, SCALE_NS, timer_cb, &d1);
    d2.t = aio_timer_new(ctx, QEMU_CLOCK_REALTIME, SCALE_NS, timer_cb, &d2);
    timer_arm(&d1, 10 * NANOSECONDS_PER_SECOND);
    t = aio_compute_timeout(ctx);
    ck_assert_msg(t > 5 * NANOSECONDS_PER_SECOND && t <= 10 * NANOSECONDS_PER_SECOND,
                  "timeout %" PRId64 " with one timer 10 s ahead", t);
    timer_arm(&d2, 1 * NANOSECONDS_PER_SECOND);
    t = aio_compute_timeout(ctx);
    ck_assert_msg(t > 0 && t <= 1 * NANOSECONDS_PER_SECOND,
                  "timeout %" PRId64 " with a timer 1 s ahead", t);
    timer_del(d2.t);
    timer_del(d1.t);
    ck_assert_int_eq(aio_compute_timeout(ctx), -1);

    timer_free(d1.t);
    timer_free(d2.t);
    aio_context_unref(ctx);
}
END_TEST

static void count_read_cb(void *opaque)
{
    int *n = opaque;

    (*n)++;
}

/* The epoll upgrade at 64 fds: with more than 64 fds registered, a blocking wait for a timer
 * must not end before the deadline (no loss of sub-millisecond precision
 * that would wake early) and the timer must not run early. */
static void timers_with_70_fds(AioContext *ctx)
{
    enum { NFDS = 70, ROUNDS = 20 };
    int fds[NFDS];
    int calls = 0;
    TimerData d = { .max = 1 };

    for (int k = 0; k < NFDS; k++) {
        fds[k] = t_eventfd();
        t_set_fd_handler(ctx, fds[k], count_read_cb, NULL, NULL, NULL, &calls);
    }
    t_drain_ctx(ctx);
    d.t = aio_timer_new(ctx, QEMU_CLOCK_REALTIME, SCALE_NS, timer_cb, &d);

    for (int r = 0; r < ROUNDS; r++) {
        bool progress;

        d.n = 0;
        /* 0.3 ms .. 2.9 ms, mostly not whole milliseconds. */
        timer_arm(&d, 300 * SCALE_US + r * 137 * SCALE_US);
        /* Consume the notification that arming may leave. */
        aio_poll(ctx, false);
        if (d.n == 1) {
            continue;
        }
        progress = aio_poll(ctx, true);
        ck_assert_msg(progress && d.n == 1,
                      "round %d: blocking poll returned %d before the timer was due",
                      r, progress);
    }
    ck_assert_int_eq(calls, 0);

    for (int k = 0; k < NFDS; k++) {
        t_set_fd_handler(ctx, fds[k], NULL, NULL, NULL, NULL, NULL);
        close(fds[k]);
    }
    timer_free(d.t);
    aio_context_unref(ctx);
}

START_TEST(timers_run_only_after_deadline_with_64plus_fds)
{
    OPEN_CTX(ctx);
    timers_with_70_fds(ctx);
}
END_TEST

/* The same with a poll monitor that upgraded itself to epoll (automatic
 * choice, io_uring hidden): the upgraded monitor keeps ns precision. */
START_TEST(timers_run_only_after_deadline_after_the_epoll_upgrade)
{
    AioContext *ctx;

    if (!t_hide_io_uring(__func__)) {
        return;
    }
    t_set_fdmon(NULL);
    ctx = aio_context_new(&error_abort);
    ck_assert_ptr_nonnull(ctx);
    if (!qemu_get_current_aio_context()) {
        qemu_set_current_aio_context(ctx);
    }
    t_drain_ctx(ctx);
    timers_with_70_fds(ctx);
}
END_TEST

/* Signals during the wait: SIGALRM every millisecond during blocking waits.  A wait may end
 * early (EINTR, not progress); it must not abort, and the poll that runs a
 * timer reports progress. */
static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
    alarms++;
}

static void signal_storm(int i, const char *test, int sa_flags)
{
    enum { POLLS = 200 };
    AioContext *ctx;
    struct sigaction sa, old_sa;
    struct itimerval it = { { 0, 1000 }, { 0, 1000 } }, off = { { 0, 0 }, { 0, 0 } };
    TimerData d = { .max = 1 };
    int early = 0;

    ctx = open_ctx(i);
    d.t = aio_timer_new(ctx, QEMU_CLOCK_REALTIME, SCALE_NS, timer_cb, &d);

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_alarm;
    sa.sa_flags = sa_flags;
    sigemptyset(&sa.sa_mask);
    ck_assert_int_eq(sigaction(SIGALRM, &sa, &old_sa), 0);
    alarms = 0;
    ck_assert_int_eq(setitimer(ITIMER_REAL, &it, NULL), 0);

    for (int r = 0; r < POLLS; r++) {
        d.n = 0;
        timer_arm(&d, 5 * SCALE_MS);
        while (d.n == 0) {
            bool progress = aio_poll(ctx, true);

            if (d.n == 1) {
                ck_assert_msg(progress, "poll %d ran its timer but reported no progress", r);
            } else {
                early++;
            }
        }
    }

    ck_assert_int_eq(setitimer(ITIMER_REAL, &off, NULL), 0);
    ck_assert_int_eq(sigaction(SIGALRM, &old_sa, NULL), 0);
    ck_assert_int_gt(alarms, 0);
    printf("info %s[%s]: %d SIGALRMs, %d waits ended before their timer\n",
           test, t_fdmons[i], (int)alarms, early);

    timer_free(d.t);
    aio_context_unref(ctx);
}

START_TEST(signal_storm_without_sa_restart_does_not_break_blocking_polls)
{
    signal_storm(_i, __func__, 0);
}
END_TEST

START_TEST(signal_storm_with_sa_restart_does_not_break_blocking_polls)
{
    signal_storm(_i, __func__, SA_RESTART);
}
END_TEST

static Suite *notify_suite(void)
{
    Suite *s = suite_create("notify");
    TCase *tc;

    tc = tcase_create("notification");
    tcase_add_loop_test(tc, notification_alone_is_not_progress, t_fdmon_lo(), t_fdmon_hi());
    tcase_add_loop_test(tc, one_poll_runs_bhs_then_fd_handlers_then_timers,
                        t_fdmon_lo(), t_fdmon_hi());
    tcase_add_loop_test(tc, notify_before_blocking_poll_makes_it_return,
                        t_fdmon_lo(), t_fdmon_hi());
    tcase_add_loop_test(tc, aio_notify_accept_clears_pending_notification,
                        t_fdmon_lo(), t_fdmon_hi());
    tcase_add_loop_test(tc, cross_thread_notify_wakes_blocked_poll, t_fdmon_lo(), t_fdmon_hi());
    tcase_add_loop_test(tc, fd_registered_by_another_thread_ends_a_wait_on_the_notifier_alone,
                        t_fdmon_lo(), t_fdmon_hi());
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);

    tc = tcase_create("timer");
    tcase_add_loop_test(tc, context_timer_runs_only_in_the_loop_and_after_its_deadline,
                        t_fdmon_lo(), t_fdmon_hi());
    tcase_add_loop_test(tc, aio_compute_timeout_follows_the_earliest_timer,
                        t_fdmon_lo(), t_fdmon_hi());
    tcase_add_loop_test(tc, timers_run_only_after_deadline_with_64plus_fds,
                        t_fdmon_lo(), t_fdmon_hi());
    if (t_fdmon_free_tests_run_here()) {
        tcase_add_test(tc, timers_run_only_after_deadline_after_the_epoll_upgrade);
    }
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);

    tc = tcase_create("signals");
    tcase_add_loop_test(tc, signal_storm_without_sa_restart_does_not_break_blocking_polls,
                        t_fdmon_lo(), t_fdmon_hi());
    tcase_add_loop_test(tc, signal_storm_with_sa_restart_does_not_break_blocking_polls,
                        t_fdmon_lo(), t_fdmon_hi());
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);

    return s;
}

int main(void)
{
    return t_run_suite(notify_suite());
}
