/* SPDX-License-Identifier: MIT */
/*
 * Suite "main_loop": qemu_init_main_loop and main_loop_wait as QEMU's tools
 * use them.  Handlers of qemu_set_fd_handler live in the iohandler context,
 * which main_loop_wait runs and aio_poll on the main context does not; BHs
 * of qemu_bh_new and main-loop timers run in main_loop_wait, and a timer
 * armed or an event notified from another thread wakes a blocking
 * main_loop_wait (a missing wake-up hangs the test into its timeout); glib
 * sources of the program's own are dispatched beside ours; poll notifiers
 * see FILL then OK and may add fds; the main context is the main thread's
 * current one.  Each test forks (Check), so each initializes the main loop
 * once.  QEMU 7.2's main loop has no API to reap child processes, so
 * neither has qaio's.
 */
#include "qemu/osdep.h"
#include "block/aio.h"
#include "qemu/main-loop.h"
#include "qemu/timer.h"
#include "helpers.h"

#include <glib-unix.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>

static void init_main_loop(void)
{
    ck_assert_int_eq(qemu_init_main_loop(&error_abort), 0);
}

static void count_cb(void *opaque)
{
    (*(int *)opaque)++;
}

/* An fd handler that consumes the eventfd it watches. */
typedef struct {
    int fd;
    int reads;
} FdData;

static void fd_read_cb(void *opaque)
{
    FdData *d = opaque;
    uint64_t v;

    ck_assert_int_eq(read(d->fd, &v, sizeof(v)), sizeof(v));
    d->reads++;
}

static void signal_fd(int fd)
{
    uint64_t one = 1;

    ck_assert_int_eq(write(fd, &one, sizeof(one)), sizeof(one));
}

/* ---- fd handlers ---------------------------------------------------------- */

START_TEST(fd_handler_runs_from_main_loop_wait)
{
    FdData d = { t_eventfd(), 0 };

    init_main_loop();
    qemu_set_fd_handler(d.fd, fd_read_cb, NULL, &d);
    signal_fd(d.fd);
    while (d.reads == 0) {
        main_loop_wait(false);
    }
    ck_assert_int_eq(d.reads, 1);
    qemu_set_fd_handler(d.fd, NULL, NULL, NULL);
    close(d.fd);
}
END_TEST

START_TEST(fd_handler_is_not_run_by_aio_poll_on_the_main_context)
{
    FdData d = { t_eventfd(), 0 };
    int i;

    init_main_loop();
    qemu_set_fd_handler(d.fd, fd_read_cb, NULL, &d);
    signal_fd(d.fd);
    for (i = 0; i < 10; i++) {
        aio_poll(qemu_get_aio_context(), false);
    }
    ck_assert_int_eq(d.reads, 0);
    /* ...and the next main-loop iteration does. */
    while (d.reads == 0) {
        main_loop_wait(false);
    }
    qemu_set_fd_handler(d.fd, NULL, NULL, NULL);
    close(d.fd);
}
END_TEST

START_TEST(fd_handler_removed_with_null_callbacks_never_runs)
{
    FdData d = { t_eventfd(), 0 };
    int i;

    init_main_loop();
    qemu_set_fd_handler(d.fd, fd_read_cb, NULL, &d);
    qemu_set_fd_handler(d.fd, NULL, NULL, NULL);
    signal_fd(d.fd);
    for (i = 0; i < 5; i++) {
        main_loop_wait(true);
    }
    ck_assert_int_eq(d.reads, 0);
    close(d.fd);
}
END_TEST

START_TEST(fd_handlers_for_thousands_of_fds_each_run_when_ready)
{
    enum { N = 2000 };
    static FdData d[N];
    int i, total = 0;

    init_main_loop();
    for (i = 0; i < N; i++) {
        d[i].fd = t_eventfd();
        d[i].reads = 0;
        qemu_set_fd_handler(d[i].fd, fd_read_cb, NULL, &d[i]);
    }
    for (i = 0; i < N; i += 97) {
        signal_fd(d[i].fd);
    }
    while (total < (N + 96) / 97) {
        main_loop_wait(false);
        total = 0;
        for (i = 0; i < N; i++) {
            total += d[i].reads;
        }
    }
    for (i = 0; i < N; i++) {
        ck_assert_int_eq(d[i].reads, i % 97 == 0 ? 1 : 0);
        qemu_set_fd_handler(d[i].fd, NULL, NULL, NULL);
        close(d[i].fd);
    }
}
END_TEST

typedef struct {
    EventNotifier e;
    int calls;
} CountedNotifier;

static void notifier_cb(EventNotifier *e)
{
    CountedNotifier *n = container_of(e, CountedNotifier, e);

    ck_assert(event_notifier_test_and_clear(e));
    n->calls++;
}

START_TEST(event_notifier_handler_runs_from_main_loop_wait_with_its_notifier)
{
    CountedNotifier n = { 0 };

    init_main_loop();
    ck_assert_int_eq(event_notifier_init(&n.e, 0), 0);
    event_notifier_set_handler(&n.e, notifier_cb);
    event_notifier_set(&n.e);
    aio_poll(qemu_get_aio_context(), false);
    ck_assert_int_eq(n.calls, 0);
    while (n.calls == 0) {
        main_loop_wait(false);
    }
    event_notifier_set_handler(&n.e, NULL);
    event_notifier_cleanup(&n.e);
}
END_TEST

START_TEST(iohandler_context_is_its_own_gsource_beside_the_main_context)
{
    AioContext *ioh;
    GSource *src;

    ioh = iohandler_get_aio_context();     /* created on demand, before init */
    ck_assert_ptr_nonnull(ioh);
    init_main_loop();
    ck_assert_ptr_eq(iohandler_get_aio_context(), ioh);
    ck_assert_ptr_ne(ioh, qemu_get_aio_context());
    src = iohandler_get_g_source();
    ck_assert_ptr_eq(src, &ioh->source);
    ck_assert_str_eq(g_source_get_name(src), "io-handler");
    ck_assert_str_eq(g_source_get_name(&qemu_get_aio_context()->source), "aio-context");
    ck_assert_ptr_eq(g_source_get_context(src), g_main_context_default());
    g_source_unref(src);
#if T_API_7_2
    qemu_fd_register(0);    /* a no-op on POSIX */
#endif
}
END_TEST

/* ---- BHs --------------------------------------------------------------------- */

START_TEST(qemu_bh_new_runs_in_main_loop_wait_and_in_aio_poll_of_the_main_context)
{
    int n = 0;
    QEMUBH *bh;

    init_main_loop();
    bh = qemu_bh_new(count_cb, &n);
    qemu_bh_schedule(bh);
    main_loop_wait(false);
    ck_assert_int_eq(n, 1);
    qemu_bh_schedule(bh);
    ck_assert(aio_poll(qemu_get_aio_context(), false));
    ck_assert_int_eq(n, 2);
    qemu_bh_delete(bh);
}
END_TEST

/* An idle BH alone: each blocking main_loop_wait sleeps at most its ~10 ms,
 * and the first one that wakes runs it (glib's check sees it scheduled). */
START_TEST(idle_bh_runs_from_a_blocking_main_loop_wait)
{
    int n = 0;
    QEMUBH *bh;

    init_main_loop();
    while (g_main_context_iteration(NULL, FALSE)) {
        /* start from a quiet loop */
    }
    bh = qemu_bh_new(count_cb, &n);
    qemu_bh_schedule_idle(bh);
    for (int k = 0; k < 3 && n == 0; k++) {
        main_loop_wait(false);
    }
    ck_assert_int_eq(n, 1);
    qemu_bh_delete(bh);
}
END_TEST

/* ---- timers ------------------------------------------------------------------ */

START_TEST(main_loop_timer_fires_in_main_loop_wait)
{
    int n = 0;
    QEMUTimer *t;

    init_main_loop();
    t = timer_new_ms(QEMU_CLOCK_REALTIME, count_cb, &n);
    timer_mod(t, qemu_clock_get_ms(QEMU_CLOCK_REALTIME) + 5);
    while (n == 0) {
        main_loop_wait(false);     /* blocks until the deadline */
    }
    ck_assert_int_eq(n, 1);
    timer_free(t);
}
END_TEST

typedef struct {
    QEMUTimer *timer;
    int delay_ms;
} ArmLater;

static void *arm_later(void *opaque)
{
    ArmLater *a = opaque;

    g_usleep(a->delay_ms * 1000);
    timer_mod(a->timer, qemu_clock_get_ms(QEMU_CLOCK_REALTIME));
    return NULL;
}

/* With nothing else to do, main_loop_wait would sleep forever: only the
 * main-loop lists' notifier can end the wait. */
START_TEST(main_loop_timer_armed_from_another_thread_wakes_a_blocking_wait)
{
    int n = 0;
    ArmLater a;
    pthread_t th;

    init_main_loop();
    a.timer = timer_new_ms(QEMU_CLOCK_REALTIME, count_cb, &n);
    a.delay_ms = 50;
    pthread_create(&th, NULL, arm_later, &a);
    while (n == 0) {
        main_loop_wait(false);
    }
    pthread_join(th, NULL);
    timer_free(a.timer);
}
END_TEST

static void *notify_later(void *opaque)
{
    g_usleep(50 * 1000);
    qatomic_set((bool *)opaque, true);
    qemu_notify_event();
    return NULL;
}

START_TEST(qemu_notify_event_from_another_thread_wakes_a_blocking_wait)
{
    bool flag = false;
    pthread_t th;

    init_main_loop();
    pthread_create(&th, NULL, notify_later, &flag);
    while (!qatomic_read(&flag)) {
        main_loop_wait(false);
    }
    pthread_join(th, NULL);
}
END_TEST

START_TEST(qemu_notify_event_before_init_does_nothing)
{
    qemu_notify_event();
    ck_assert_ptr_null(qemu_get_aio_context());
    init_main_loop();
    ck_assert_ptr_nonnull(qemu_get_aio_context());
}
END_TEST

/* ---- glib ------------------------------------------------------------------ */

static gboolean own_fd_source_cb(gint fd, GIOCondition cond, gpointer opaque)
{
    uint64_t v;

    ck_assert_int_eq(read(fd, &v, sizeof(v)), sizeof(v));
    (*(int *)opaque)++;
    return G_SOURCE_CONTINUE;
}

START_TEST(programs_own_glib_source_is_dispatched_by_main_loop_wait)
{
    int fd = t_eventfd(), n = 0;
    guint id;

    init_main_loop();
    id = g_unix_fd_add(fd, G_IO_IN, own_fd_source_cb, &n);
    signal_fd(fd);
    while (n == 0) {
        main_loop_wait(false);
    }
    ck_assert_int_eq(n, 1);
    g_source_remove(id);
    close(fd);
}
END_TEST

/* ---- poll notifiers ----------------------------------------------------------- */

typedef struct {
    Notifier n;
    int states[16];
    int n_states;
    int fd;              /* added to the poll array in FILL, or -1 */
    guint fd_index;
    bool fd_ready;       /* seen with G_IO_IN in OK */
    uint32_t fill_timeout;
} PollWatch;

static void poll_watch_cb(Notifier *n, void *data)
{
    PollWatch *w = container_of(n, PollWatch, n);
    MainLoopPoll *p = data;

    if (w->n_states < 16) {
        w->states[w->n_states++] = p->state;
    }
    if (p->state == MAIN_LOOP_POLL_FILL) {
        w->fill_timeout = p->timeout;
        if (w->fd >= 0) {
            GPollFD pfd = { .fd = w->fd, .events = G_IO_IN };

            w->fd_index = p->pollfds->len;
            g_array_append_val(p->pollfds, pfd);
            p->timeout = 0;   /* and do not sleep for our sake */
        }
    } else if (p->state == MAIN_LOOP_POLL_OK && w->fd >= 0) {
        GPollFD *pfd = &g_array_index(p->pollfds, GPollFD, w->fd_index);

        w->fd_ready |= !!(pfd->revents & G_IO_IN);
    }
}

START_TEST(poll_notifier_sees_fill_then_ok_with_the_requested_timeout)
{
    PollWatch w = { .n.notify = poll_watch_cb, .fd = -1 };

    init_main_loop();
    main_loop_poll_add_notifier(&w.n);
    main_loop_wait(true);
    ck_assert_int_eq(w.n_states, 2);
    ck_assert_int_eq(w.states[0], MAIN_LOOP_POLL_FILL);
    ck_assert_int_eq(w.states[1], MAIN_LOOP_POLL_OK);
    ck_assert_uint_eq(w.fill_timeout, 0);
    main_loop_poll_remove_notifier(&w.n);
    main_loop_wait(true);
    ck_assert_int_eq(w.n_states, 2);
}
END_TEST

START_TEST(poll_notifier_fd_is_polled_and_reported_ready)
{
    PollWatch w = { .n.notify = poll_watch_cb, .fd = t_eventfd() };

    init_main_loop();
    main_loop_poll_add_notifier(&w.n);
    main_loop_wait(false);   /* FILL set the timeout to 0: no sleep */
    ck_assert(!w.fd_ready);
    ck_assert_uint_eq(w.fill_timeout, UINT32_MAX);
    signal_fd(w.fd);
    main_loop_wait(false);
    ck_assert(w.fd_ready);
    main_loop_poll_remove_notifier(&w.n);
    close(w.fd);
}
END_TEST

/* ---- contexts, threads, the big lock ------------------------------------------ */

static void *current_ctx_of_new_thread(void *opaque)
{
    *(AioContext **)opaque = qemu_get_current_aio_context();
    return NULL;
}

static void *in_main_thread_of_new_thread(void *opaque)
{
    *(bool *)opaque = qemu_in_main_thread();
    return NULL;
}

START_TEST(main_context_is_the_main_threads_current_context)
{
    pthread_t th;
    AioContext *other = (AioContext *)1;
    bool other_in_main = true;

    init_main_loop();
    ck_assert_ptr_eq(qemu_get_current_aio_context(), qemu_get_aio_context());
    ck_assert(qemu_in_main_thread());
    /* A thread without a context and without the big lock (the tools'
     * stub never holds it) has no current context. */
    pthread_create(&th, NULL, current_ctx_of_new_thread, &other);
    pthread_join(th, NULL);
    ck_assert_ptr_null(other);
    pthread_create(&th, NULL, in_main_thread_of_new_thread, &other_in_main);
    pthread_join(th, NULL);
    ck_assert(!other_in_main);
}
END_TEST

START_TEST(big_lock_stubs_behave_as_qemu_tools_stubs)
{
#if T_API_7_2
    ck_assert(!qemu_mutex_iothread_locked());
    qemu_mutex_lock_iothread();
    ck_assert(!qemu_mutex_iothread_locked());
    qemu_mutex_unlock_iothread();
#else
    ck_assert(!bql_locked());
    bql_lock();
    ck_assert(!bql_locked());
    bql_unlock();
#endif
    /* before init: current and main context are both NULL */
    ck_assert(qemu_in_main_thread());
}
END_TEST

#if !T_API_7_2
/* QEMU 10.0's stubs: a test may pretend to hold the lock, and while it
 * blocks unlocking (nestable), dropping the lock is a bug. */
START_TEST(mock_lock_makes_the_big_lock_held)
{
    ck_assert(!bql_locked());
    rust_bql_mock_lock();
    ck_assert(bql_locked());
}
END_TEST

START_TEST(blocked_unlock_sections_nest_and_end)
{
    rust_bql_mock_lock();
    bql_block_unlock(true);
    bql_block_unlock(true);
    bql_block_unlock(false);
    bql_block_unlock(false);
    bql_unlock();   /* no section left: allowed */
}
END_TEST

START_TEST(unlock_inside_a_blocked_section_aborts)
{
    rust_bql_mock_lock();
    bql_block_unlock(true);
    bql_unlock();
}
END_TEST

START_TEST(blocking_unlock_without_the_lock_aborts)
{
    bql_block_unlock(true);
}
END_TEST

START_TEST(ending_more_blocked_sections_than_begun_aborts)
{
    rust_bql_mock_lock();
    bql_block_unlock(true);
    bql_block_unlock(false);
    bql_block_unlock(false);
}
END_TEST

/* BQL_LOCK_GUARD leaves a lock it found held alone: inside a blocked
 * section, its end would otherwise abort in bql_unlock. */
START_TEST(lock_guard_leaves_a_held_lock_alone)
{
    rust_bql_mock_lock();
    bql_block_unlock(true);
    {
        BQL_LOCK_GUARD();
        ck_assert(bql_locked());
    }
    bql_block_unlock(false);
}
END_TEST

/* Not held: the guard takes the lock and drops it at the end of its scope,
 * which aborts if that end is inside a blocked section (only reachable by
 * the guard calling bql_unlock). */
static void guard_then_block(void)
{
    BQL_LOCK_GUARD();
    rust_bql_mock_lock();
    bql_block_unlock(true);
}

START_TEST(lock_guard_drops_the_lock_it_took)
{
    guard_then_block();
}
END_TEST
#endif

/* ---- signals ------------------------------------------------------------------ */

static volatile sig_atomic_t alarm_seen;

static void on_alarm(int sig)
{
    alarm_seen = 1;
}

START_TEST(sigalrm_is_delivered_through_the_main_loop)
{
    struct sigaction sa = { .sa_handler = on_alarm };
    sigset_t cur;

    sigaction(SIGALRM, &sa, NULL);
    init_main_loop();
    pthread_sigmask(SIG_BLOCK, NULL, &cur);
    ck_assert(sigismember(&cur, SIGALRM));
    ck_assert(sigismember(&cur, SIG_IPI));
    raise(SIGALRM);
    ck_assert(!alarm_seen);       /* blocked: not run asynchronously */
    while (!alarm_seen) {
        main_loop_wait(false);
    }
}
END_TEST

static Suite *main_loop_suite(void)
{
    Suite *s = suite_create("main_loop");
    TCase *tc;

    tc = tcase_create("fd_handler");
    tcase_add_test(tc, fd_handler_runs_from_main_loop_wait);
    tcase_add_test(tc, fd_handler_is_not_run_by_aio_poll_on_the_main_context);
    tcase_add_test(tc, fd_handler_removed_with_null_callbacks_never_runs);
    tcase_add_test(tc, fd_handlers_for_thousands_of_fds_each_run_when_ready);
    tcase_add_test(tc, event_notifier_handler_runs_from_main_loop_wait_with_its_notifier);
    tcase_add_test(tc, iohandler_context_is_its_own_gsource_beside_the_main_context);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);

    tc = tcase_create("bh");
    tcase_add_test(tc, qemu_bh_new_runs_in_main_loop_wait_and_in_aio_poll_of_the_main_context);
    tcase_add_test(tc, idle_bh_runs_from_a_blocking_main_loop_wait);
    suite_add_tcase(s, tc);

    tc = tcase_create("timer");
    tcase_add_test(tc, main_loop_timer_fires_in_main_loop_wait);
    tcase_add_test(tc, main_loop_timer_armed_from_another_thread_wakes_a_blocking_wait);
    suite_add_tcase(s, tc);

    tc = tcase_create("notify");
    tcase_add_test(tc, qemu_notify_event_from_another_thread_wakes_a_blocking_wait);
    tcase_add_test(tc, qemu_notify_event_before_init_does_nothing);
    suite_add_tcase(s, tc);

    tc = tcase_create("glib");
    tcase_add_test(tc, programs_own_glib_source_is_dispatched_by_main_loop_wait);
    suite_add_tcase(s, tc);

    tc = tcase_create("poll_notifier");
    tcase_add_test(tc, poll_notifier_sees_fill_then_ok_with_the_requested_timeout);
    tcase_add_test(tc, poll_notifier_fd_is_polled_and_reported_ready);
    suite_add_tcase(s, tc);

    tc = tcase_create("context");
    tcase_add_test(tc, main_context_is_the_main_threads_current_context);
    tcase_add_test(tc, big_lock_stubs_behave_as_qemu_tools_stubs);
#if !T_API_7_2
    tcase_add_test(tc, mock_lock_makes_the_big_lock_held);
    tcase_add_test(tc, blocked_unlock_sections_nest_and_end);
    tcase_add_test_raise_signal(tc, unlock_inside_a_blocked_section_aborts, SIGABRT);
    tcase_add_test_raise_signal(tc, blocking_unlock_without_the_lock_aborts, SIGABRT);
    tcase_add_test_raise_signal(tc, ending_more_blocked_sections_than_begun_aborts, SIGABRT);
    tcase_add_test(tc, lock_guard_leaves_a_held_lock_alone);
    tcase_add_test_raise_signal(tc, lock_guard_drops_the_lock_it_took, SIGABRT);
#endif
    suite_add_tcase(s, tc);

    tc = tcase_create("signal");
    tcase_add_test(tc, sigalrm_is_delivered_through_the_main_loop);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return t_run_suite(main_loop_suite());
}
