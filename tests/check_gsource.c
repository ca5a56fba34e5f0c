/* SPDX-License-Identifier: MIT */
/*
 * Suite "gsource": an AioContext driven as a GSource of a private
 * GMainContext (g_main_context_iteration) instead of aio_poll(), as a black
 * box.  Covers QEMU 7.2's /aio-gsource/... behaviours (notification flush,
 * BHs, event notifiers, timers), the io_uring monitor driven only through
 * glib (registration changes made only while glib drives the context must
 * not pile up), and a 1000-fd context.
 * Every test runs once per fd monitor.  QEMU 7.2 leaves io_uring when the
 * GSource is taken; qaio keeps it (ChangeLog), so the io_uring iteration is
 * exactly that case: registration changes flushed only through glib.  A
 * monitor the kernel refuses is a printed skip.
 */
#include "qemu/osdep.h"
#include "block/aio.h"
#include "qemu/main-loop.h"
#include "qemu/event_notifier.h"
#include "qemu/timer.h"
#include "helpers.h"


#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define UNDER_SANITIZER 1
#endif
#endif

/* ---- helpers ------------------------------------------------------------ */

typedef struct {
    GMainContext *mc;
    AioContext *ctx;
    GSource *src;
} GEnv;

/*
 * A context on monitor t_fdmons[i] attached to a new private GMainContext,
 * with every pending iteration drained.  The loop tests cover only the
 * monitors this host offers (t_fdmon_lo, t_fdmon_hi).
 */
static void genv_open(GEnv *g, int i)
{
    g->mc = g_main_context_new();
    g->ctx = t_ctx_new_for_monitor(i);
    ck_assert_ptr_nonnull(g->ctx);
    if (!qemu_get_current_aio_context()) {
        qemu_set_current_aio_context(g->ctx);
    }
    g->src = aio_get_g_source(g->ctx);
    ck_assert_ptr_eq(g->src, &g->ctx->source);
    g_source_attach(g->src, g->mc);
    for (int k = 0; g_main_context_iteration(g->mc, false); k++) {
        ck_assert_int_lt(k, 100);
    }
}

static void genv_close(GEnv *g)
{
    g_source_destroy(g->src);
    g_source_unref(g->src);
    aio_context_unref(g->ctx);
    g_main_context_unref(g->mc);
}

#define OPEN_GENV(g) \
    GEnv g;          \
    genv_open(&g, _i)

static gboolean iter(GEnv *g, gboolean blocking)
{
    return g_main_context_iteration(g->mc, blocking);
}

/* Iterate without blocking until an iteration dispatches nothing; returns
 * how many did.  A source that never settles fails the test. */
static int drain(GEnv *g)
{
    int k = 0;

    while (iter(g, false)) {
        k++;
        ck_assert_msg(k < 1000, "the source never stops dispatching");
    }
    return k;
}

typedef struct {
    QEMUBH *bh;
    int n;
    int max;
    bool delete_at_max;
} BhData;

static void count_cb(void *opaque)
{
    BhData *d = opaque;

    d->n++;
}

static void reschedule_cb(void *opaque)
{
    BhData *d = opaque;

    d->n++;
    if (d->n < d->max) {
        qemu_bh_schedule(d->bh);
    } else if (d->delete_at_max) {
        qemu_bh_delete(d->bh);
        d->bh = NULL;
    }
}

typedef struct {
    EventNotifier e;
    int n;
    int active;
    bool auto_set;
} NotifierData;

static void notifier_cb(EventNotifier *e)
{
    NotifierData *d = container_of(e, NotifierData, e);

    ck_assert_msg(event_notifier_test_and_clear(e),
                  "handler called for a notifier that was not set");
    d->n++;
    if (d->active > 0) {
        d->active--;
    }
    if (d->auto_set && d->active > 0) {
        event_notifier_set(e);
    }
}

static void notifier_add(AioContext *ctx, NotifierData *d)
{
    ck_assert_int_eq(event_notifier_init(&d->e, 0), 0);
    t_set_event_notifier(ctx, &d->e, notifier_cb, NULL, NULL);
}

static void notifier_del(AioContext *ctx, NotifierData *d)
{
    t_set_event_notifier(ctx, &d->e, NULL, NULL, NULL);
    event_notifier_cleanup(&d->e);
}

/* ---- notification ------------------------------------------------------- */

START_TEST(notification_is_consumed_by_iterating)
{
    OPEN_GENV(g);

    ck_assert(!iter(&g, false));
    aio_notify(g.ctx);
    drain(&g);
    ck_assert(!iter(&g, false));

    genv_close(&g);
}
END_TEST

START_TEST(notification_alone_dispatches_the_source_once)
{
    OPEN_GENV(g);

    aio_notify(g.ctx);
    ck_assert_msg(iter(&g, false), "a pending notification did not dispatch the source");
    ck_assert(!iter(&g, false));

    genv_close(&g);
}
END_TEST

/* ---- bottom halves ------------------------------------------------------ */

START_TEST(bh_runs_in_a_blocking_iteration_once)
{
    OPEN_GENV(g);
    BhData d = { 0 };

    d.bh = aio_bh_new(g.ctx, count_cb, &d);
    qemu_bh_schedule(d.bh);
    ck_assert_int_eq(d.n, 0);
    ck_assert(iter(&g, true));
    ck_assert_int_eq(d.n, 1);
    ck_assert(!iter(&g, false));
    ck_assert_int_eq(d.n, 1);

    qemu_bh_delete(d.bh);
    genv_close(&g);
}
END_TEST

START_TEST(bh_rescheduling_itself_runs_once_per_iteration)
{
    OPEN_GENV(g);
    BhData d = { .max = 10 };
    int prev;

    d.bh = aio_bh_new(g.ctx, reschedule_cb, &d);
    qemu_bh_schedule(d.bh);
    ck_assert(iter(&g, false));
    ck_assert_int_eq(d.n, 1);
    ck_assert(iter(&g, true));
    ck_assert_int_eq(d.n, 2);
    prev = d.n;
    for (int k = 0; iter(&g, false); k++) {
        ck_assert_msg(d.n - prev <= 1, "BH ran %d times in one iteration", d.n - prev);
        prev = d.n;
        ck_assert_int_lt(k, 1000);
    }
    ck_assert_int_eq(d.n, 10);
    ck_assert(!iter(&g, false));
    ck_assert_int_eq(d.n, 10);

    qemu_bh_delete(d.bh);
    genv_close(&g);
}
END_TEST

/* QEMU's check() counts an idle BH as ready like any scheduled one: a
 * blocking iteration sleeps at most its ~10 ms, then runs it. */
START_TEST(idle_bh_runs_from_a_blocking_iteration)
{
    OPEN_GENV(g);
    BhData d = { 0 };

    d.bh = aio_bh_new(g.ctx, count_cb, &d);
    qemu_bh_schedule_idle(d.bh);
    for (int k = 0; k < 3 && d.n == 0; k++) {
        iter(&g, true);
    }
    ck_assert_int_eq(d.n, 1);
    ck_assert(!iter(&g, false));
    ck_assert_int_eq(d.n, 1);

    qemu_bh_delete(d.bh);
    genv_close(&g);
}
END_TEST

START_TEST(bh_cancelled_never_runs_under_glib)
{
    OPEN_GENV(g);
    BhData d = { 0 };

    d.bh = aio_bh_new(g.ctx, count_cb, &d);
    qemu_bh_schedule(d.bh);
    qemu_bh_cancel(d.bh);
    drain(&g);
    ck_assert_int_eq(d.n, 0);
    ck_assert(!iter(&g, false));

    qemu_bh_delete(d.bh);
    genv_close(&g);
}
END_TEST

START_TEST(bh_deleted_while_scheduled_never_runs_under_glib)
{
    OPEN_GENV(g);
    BhData d = { 0 };

    d.bh = aio_bh_new(g.ctx, count_cb, &d);
    qemu_bh_schedule(d.bh);
    qemu_bh_delete(d.bh);
    drain(&g);
    ck_assert_int_eq(d.n, 0);
    ck_assert(!iter(&g, false));

    genv_close(&g);
}
END_TEST

START_TEST(bh_deleting_itself_dispatches_the_source_once_more)
{
    OPEN_GENV(g);
    BhData d = { .max = 1, .delete_at_max = true };

    d.bh = aio_bh_new(g.ctx, reschedule_cb, &d);
    qemu_bh_schedule(d.bh);
    ck_assert_int_eq(d.n, 0);
    iter(&g, true);
    ck_assert_int_eq(d.n, 1);
    ck_assert_ptr_null(d.bh);
    /* The deletion notified the context: one more dispatch, then quiet. */
    ck_assert_msg(iter(&g, false), "the iteration after a self-deleting BH returned FALSE");
    ck_assert(!iter(&g, false));
    ck_assert_int_eq(d.n, 1);

    genv_close(&g);
}
END_TEST

START_TEST(bhs_deleting_themselves_all_complete_under_glib)
{
    OPEN_GENV(g);
    BhData d[4] = {
        { .max = 1, .delete_at_max = true },
        { .max = 3, .delete_at_max = true },
        { .max = 2, .delete_at_max = true },
        { .max = 4, .delete_at_max = true },
    };

    for (int i = 0; i < 4; i++) {
        d[i].bh = aio_bh_new(g.ctx, reschedule_cb, &d[i]);
    }
    for (int i = 0; i < 4; i++) {
        qemu_bh_schedule(d[i].bh);
    }
    ck_assert(iter(&g, false));
    for (int i = 0; i < 4; i++) {
        ck_assert_msg(d[i].n == 1, "BH %d ran %d times in the first iteration", i, d[i].n);
    }
    drain(&g);
    for (int i = 0; i < 4; i++) {
        ck_assert_msg(d[i].n == d[i].max, "BH %d ran %d times, expected %d",
                      i, d[i].n, d[i].max);
        ck_assert_ptr_null(d[i].bh);
    }

    genv_close(&g);
}
END_TEST

/* ---- event notifiers ---------------------------------------------------- */

START_TEST(event_notifier_added_and_removed_without_set_calls_no_handler)
{
    OPEN_GENV(g);
    NotifierData d = { 0 };

    notifier_add(g.ctx, &d);
    drain(&g);
    ck_assert_int_eq(d.n, 0);
    notifier_del(g.ctx, &d);
    drain(&g);
    ck_assert_int_eq(d.n, 0);

    genv_close(&g);
}
END_TEST

START_TEST(event_notifier_set_runs_its_handler_once)
{
    OPEN_GENV(g);
    NotifierData d = { .active = 1 };

    notifier_add(g.ctx, &d);
    drain(&g);
    ck_assert_int_eq(d.n, 0);

    event_notifier_set(&d.e);
    ck_assert(iter(&g, true));
    ck_assert_int_eq(d.n, 1);
    ck_assert_int_eq(d.active, 0);
    drain(&g);
    ck_assert_int_eq(d.n, 1);

    t_set_event_notifier(g.ctx, &d.e, NULL, NULL, NULL);
    event_notifier_set(&d.e);
    drain(&g);
    ck_assert_int_eq(d.n, 1);

    event_notifier_cleanup(&d.e);
    genv_close(&g);
}
END_TEST

START_TEST(event_notifier_reset_by_its_handler_runs_once_per_iteration)
{
    OPEN_GENV(g);
    NotifierData d = { .active = 10, .auto_set = true };
    int prev = 0;

    notifier_add(g.ctx, &d);
    drain(&g);
    ck_assert_int_eq(d.n, 0);

    event_notifier_set(&d.e);
    for (int k = 0; iter(&g, false); k++) {
        ck_assert_msg(d.n - prev <= 1, "handler ran %d times in one iteration", d.n - prev);
        prev = d.n;
        ck_assert_int_lt(k, 1000);
    }
    ck_assert_int_eq(d.n, 10);
    ck_assert(!iter(&g, false));
    ck_assert_int_eq(d.n, 10);

    notifier_del(g.ctx, &d);
    genv_close(&g);
}
END_TEST

START_TEST(set_notifier_runs_only_its_handler_once_per_set_under_glib)
{
    OPEN_GENV(g);
    NotifierData d = { .active = 10 };
    NotifierData dummy = { .active = 1 };

    notifier_add(g.ctx, &d);
    drain(&g);

    event_notifier_set(&d.e);
    ck_assert(iter(&g, true));
    ck_assert_int_eq(d.n, 1);
    event_notifier_set(&d.e);
    ck_assert(iter(&g, true));
    ck_assert_int_eq(d.n, 2);

    notifier_add(g.ctx, &dummy);
    drain(&g);
    for (int i = 3; i <= 6; i++) {
        event_notifier_set(&d.e);
        ck_assert(iter(&g, true));
        ck_assert_int_eq(d.n, i);
        ck_assert_int_eq(dummy.n, 0);
    }
    drain(&g);
    ck_assert_int_eq(d.n, 6);
    ck_assert_int_eq(dummy.n, 0);

    t_set_event_notifier(g.ctx, &dummy.e, NULL, NULL, NULL);
    t_set_event_notifier(g.ctx, &d.e, NULL, NULL, NULL);
    event_notifier_set(&d.e);
    event_notifier_set(&dummy.e);
    drain(&g);
    ck_assert_int_eq(d.n, 6);
    ck_assert_int_eq(dummy.n, 0);

    event_notifier_cleanup(&d.e);
    event_notifier_cleanup(&dummy.e);
    genv_close(&g);
}
END_TEST

/* ---- timers ------------------------------------------------------------- */

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

START_TEST(context_timer_runs_under_glib_only_after_its_deadline)
{
    OPEN_GENV(g);
    TimerData d = { .max = 2, .ns = 20 * SCALE_MS };

    d.t = aio_timer_new(g.ctx, QEMU_CLOCK_REALTIME, SCALE_NS, timer_cb, &d);
    d.deadline = qemu_clock_get_ns(QEMU_CLOCK_REALTIME) + d.ns;
    timer_mod(d.t, d.deadline);
    drain(&g);
    /*
     * Never early: timer_cb checks its deadline.  A drain that ended before
     * the deadline cannot have run it; one slower than 20 ms (a loaded
     * machine, a sanitizer) may have run it on time, and then the steps up
     * to its first run are behind us.
     */
    if (d.n == 0) {
        while (qemu_clock_get_ns(QEMU_CLOCK_REALTIME) < d.deadline) {
            g_usleep(2 * 1000);
        }
        ck_assert_int_eq(d.n, 0);   /* never outside an iteration */
        /* Expired: a blocking iteration runs it at once. */
        ck_assert(iter(&g, true));
        ck_assert_int_eq(d.n, 1);
        ck_assert(timer_pending(d.t));
    }

    /* The re-armed successor: blocking iterations until it has run. */
    for (int k = 0; d.n < 2; k++) {
        iter(&g, true);
        ck_assert_int_lt(k, 10000);
    }
    ck_assert_int_eq(d.n, 2);
    drain(&g);
    ck_assert(!iter(&g, false));
    ck_assert_int_eq(d.n, 2);

    timer_free(d.t);
    genv_close(&g);
}
END_TEST

/* ---- registration changes only through glib, and many fds ---------------- */

static void count_read_cb(void *opaque)
{
    int *n = opaque;

    (*n)++;
}

static long __attribute__((unused)) rss_bytes(void)
{
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");

    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2) {
            rss = 0;
        }
        fclose(f);
    }
    return rss * sysconf(_SC_PAGESIZE);
}

START_TEST(fd_handler_toggled_100k_times_under_glib_keeps_the_loop_working)
{
    OPEN_GENV(g);
    enum { TOGGLES = 100000 };
    NotifierData nd = { .active = 1 };
    int calls = 0;
    int fd = t_eventfd();
#ifndef UNDER_SANITIZER
    long rss0, rss1;
#endif

    /* Warm up allocator and glib's poll array before measuring. */
    for (int i = 0; i < 1000; i++) {
        t_set_fd_handler(g.ctx, fd, count_read_cb, NULL, NULL, NULL, &calls);
        iter(&g, false);
        t_set_fd_handler(g.ctx, fd, NULL, NULL, NULL, NULL, NULL);
    }
#ifndef UNDER_SANITIZER
    rss0 = rss_bytes();
#endif
    for (int i = 0; i < TOGGLES; i++) {
        t_set_fd_handler(g.ctx, fd, count_read_cb, NULL, NULL, NULL, &calls);
        iter(&g, false);
        t_set_fd_handler(g.ctx, fd, NULL, NULL, NULL, NULL, NULL);
    }
    drain(&g);
    ck_assert_int_eq(calls, 0);
#ifndef UNDER_SANITIZER
    rss1 = rss_bytes();
    ck_assert_msg(rss1 - rss0 < 8L * 1024 * 1024,
                  "memory grew by %ld KiB over %d handler toggles", (rss1 - rss0) / 1024,
                  TOGGLES);
#endif

    /* The loop still works. */
    notifier_add(g.ctx, &nd);
    drain(&g);
    event_notifier_set(&nd.e);
    ck_assert(iter(&g, true));
    ck_assert_int_eq(nd.n, 1);
    notifier_del(g.ctx, &nd);

    close(fd);
    genv_close(&g);
}
END_TEST

typedef struct {
    int fd;
    int n;
} ManyFd;

static void many_read_cb(void *opaque)
{
    ManyFd *m = opaque;
    uint64_t v;

    m->n++;
    while (read(m->fd, &v, sizeof(v)) == (ssize_t)sizeof(v)) {
    }
}

START_TEST(many_fds_in_gsource_mode_dispatch_only_the_ready_one)
{
    enum { N = T_MANY_FDS };
    static const int pick[] = { 777, 0, 999, 64, 500 };
    ManyFd *m;
    int *expect;

    OPEN_GENV(g);
    m = g_new0(ManyFd, N);
    expect = g_new0(int, N);
    for (int k = 0; k < N; k++) {
        m[k].fd = t_eventfd();
        t_set_fd_handler(g.ctx, m[k].fd, many_read_cb, NULL, NULL, NULL, &m[k]);
    }
    drain(&g);

    for (size_t r = 0; r < G_N_ELEMENTS(pick); r++) {
        uint64_t one = 1;

        ck_assert_int_eq(write(m[pick[r]].fd, &one, sizeof(one)), (ssize_t)sizeof(one));
        expect[pick[r]]++;
        ck_assert(iter(&g, true));
        drain(&g);
        for (int k = 0; k < N; k++) {
            ck_assert_msg(m[k].n == expect[k], "round %zu: handler %d ran %d times, "
                          "expected %d", r, k, m[k].n, expect[k]);
        }
    }

    for (int k = 0; k < N; k++) {
        t_set_fd_handler(g.ctx, m[k].fd, NULL, NULL, NULL, NULL, NULL);
    }
    drain(&g);
    for (int k = 0; k < N; k++) {
        close(m[k].fd);
    }
    g_free(m);
    g_free(expect);
    genv_close(&g);
}
END_TEST

/* ---- level-triggered handlers under glib --------------------------------
 * An fd that stays ready runs its handler at every iteration, also once the
 * io_uring monitor hands it to glib's own poll after a first report; when it
 * goes idle it is watched again, by aio_poll too; and a removal while it is
 * in glib's poll set is final. */

typedef struct {
    int fd;
    int n;
} LevelFd;

static void level_cb(void *opaque)
{
    ((LevelFd *)opaque)->n++;
}

static void level_open(GEnv *g, LevelFd *l)
{
    l->fd = t_eventfd();
    l->n = 0;
    t_set_fd_handler(g->ctx, l->fd, level_cb, NULL, NULL, NULL, l);
    drain(g);
    ck_assert_int_eq(l->n, 0);
}

static void level_write(LevelFd *l)
{
    uint64_t one = 1;

    ck_assert_int_eq(write(l->fd, &one, sizeof(one)), (ssize_t)sizeof(one));
}

static void level_read(LevelFd *l)
{
    uint64_t v;

    ck_assert_int_eq(read(l->fd, &v, sizeof(v)), (ssize_t)sizeof(v));
}

/* Registered and ready, and run twice: the second time (io_uring) through
 * glib's own poll of the fd. */
static void level_open_ready(GEnv *g, LevelFd *l)
{
    level_open(g, l);
    level_write(l);
    ck_assert(iter(g, true));
    ck_assert(iter(g, false));
    ck_assert_int_eq(l->n, 2);
}

static void level_close(GEnv *g, LevelFd *l)
{
    t_set_fd_handler(g->ctx, l->fd, NULL, NULL, NULL, NULL, NULL);
    drain(g);
    close(l->fd);
}

START_TEST(fd_staying_ready_runs_at_every_iteration_and_again_after_going_idle)
{
    LevelFd l;

    OPEN_GENV(g);
    level_open(&g, &l);
    level_write(&l);
    for (int k = 1; k <= 5; k++) {
        ck_assert(iter(&g, k == 1));
        ck_assert_int_eq(l.n, k);
    }
    /* idle: nothing to run, and it is watched again afterwards */
    level_read(&l);
    drain(&g);
    ck_assert_int_eq(l.n, 5);
    level_write(&l);
    ck_assert(iter(&g, true));
    ck_assert_int_eq(l.n, 6);
    level_close(&g, &l);
    genv_close(&g);
}
END_TEST

START_TEST(fd_handler_glib_just_ran_also_runs_from_aio_poll)
{
    LevelFd l;

    OPEN_GENV(g);
    level_open_ready(&g, &l);
    ck_assert(aio_poll(g.ctx, true));
    ck_assert_int_eq(l.n, 3);
    ck_assert(iter(&g, false));
    ck_assert_int_eq(l.n, 4);
    /* idle once more, then ready: aio_poll finds it */
    level_read(&l);
    drain(&g);
    level_write(&l);
    ck_assert(aio_poll(g.ctx, true));
    ck_assert_int_eq(l.n, 5);
    level_close(&g, &l);
    genv_close(&g);
}
END_TEST

START_TEST(fd_handler_removed_right_after_running_never_runs_again)
{
    LevelFd l;

    OPEN_GENV(g);
    level_open_ready(&g, &l);
    /* still readable, but no longer registered */
    t_set_fd_handler(g.ctx, l.fd, NULL, NULL, NULL, NULL, NULL);
    drain(&g);
    aio_poll(g.ctx, false);
    ck_assert_int_eq(l.n, 2);
    /* closed while glib may still have polled it: nothing runs, no spin */
    close(l.fd);
    drain(&g);
    ck_assert_int_eq(l.n, 2);
    genv_close(&g);
}
END_TEST

static Suite *gsource_suite(void)
{
    Suite *s = suite_create("gsource");
    TCase *tc;

    tc = tcase_create("notification");
    tcase_add_loop_test(tc, notification_is_consumed_by_iterating, t_fdmon_lo(), t_fdmon_hi());
    tcase_add_loop_test(tc, notification_alone_dispatches_the_source_once,
                        t_fdmon_lo(), t_fdmon_hi());
    suite_add_tcase(s, tc);

    tc = tcase_create("bh");
    tcase_add_loop_test(tc, bh_runs_in_a_blocking_iteration_once, t_fdmon_lo(), t_fdmon_hi());
    tcase_add_loop_test(tc, bh_rescheduling_itself_runs_once_per_iteration,
                        t_fdmon_lo(), t_fdmon_hi());
    tcase_add_loop_test(tc, idle_bh_runs_from_a_blocking_iteration, t_fdmon_lo(), t_fdmon_hi());
    tcase_add_loop_test(tc, bh_cancelled_never_runs_under_glib, t_fdmon_lo(), t_fdmon_hi());
    tcase_add_loop_test(tc, bh_deleted_while_scheduled_never_runs_under_glib,
                        t_fdmon_lo(), t_fdmon_hi());
    tcase_add_loop_test(tc, bh_deleting_itself_dispatches_the_source_once_more,
                        t_fdmon_lo(), t_fdmon_hi());
    tcase_add_loop_test(tc, bhs_deleting_themselves_all_complete_under_glib,
                        t_fdmon_lo(), t_fdmon_hi());
    suite_add_tcase(s, tc);

    tc = tcase_create("event");
    tcase_add_loop_test(tc, event_notifier_added_and_removed_without_set_calls_no_handler,
                        t_fdmon_lo(), t_fdmon_hi());
    tcase_add_loop_test(tc, event_notifier_set_runs_its_handler_once, t_fdmon_lo(), t_fdmon_hi());
    tcase_add_loop_test(tc, event_notifier_reset_by_its_handler_runs_once_per_iteration,
                        t_fdmon_lo(), t_fdmon_hi());
    tcase_add_loop_test(tc, set_notifier_runs_only_its_handler_once_per_set_under_glib,
                        t_fdmon_lo(), t_fdmon_hi());
    suite_add_tcase(s, tc);

    tc = tcase_create("level");
    tcase_add_loop_test(tc, fd_staying_ready_runs_at_every_iteration_and_again_after_going_idle,
                        t_fdmon_lo(), t_fdmon_hi());
    tcase_add_loop_test(tc, fd_handler_glib_just_ran_also_runs_from_aio_poll,
                        t_fdmon_lo(), t_fdmon_hi());
    tcase_add_loop_test(tc, fd_handler_removed_right_after_running_never_runs_again,
                        t_fdmon_lo(), t_fdmon_hi());
    suite_add_tcase(s, tc);

    tc = tcase_create("timer");
    tcase_add_loop_test(tc, context_timer_runs_under_glib_only_after_its_deadline,
                        t_fdmon_lo(), t_fdmon_hi());
    suite_add_tcase(s, tc);

    tc = tcase_create("stress");
    tcase_add_loop_test(tc, fd_handler_toggled_100k_times_under_glib_keeps_the_loop_working,
                        t_fdmon_lo(), t_fdmon_hi());
    if (t_ensure_fd_limit(T_MANY_FDS + 200)) {
        tcase_add_loop_test(tc, many_fds_in_gsource_mode_dispatch_only_the_ready_one,
                            t_fdmon_lo(), t_fdmon_hi());
    } else {
        printf("SKIP many_fds_in_gsource_mode_dispatch_only_the_ready_one: "
               "cannot open %d fds\n", T_MANY_FDS);
    }
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);

    return s;
}

int main(void)
{
    return t_run_suite(gsource_suite());
}
