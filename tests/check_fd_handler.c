/* SPDX-License-Identifier: MIT */
/*
 * Suite "fd_handler": fd and event-notifier handlers of an AioContext driven
 * by aio_poll(), as a black box.  Covers QEMU 7.2's /aio/event/...,
 * /aio/external-client, /aio/acquire and /fdmon-epoll/external-disabled, the
 * level-triggered contract (a handler that leaves data behind runs again),
 * registration changes from inside callbacks, adaptive polling with counting
 * stubs, the poll->epoll upgrade around 64 fds and a 1000-fd context.  Every
 * test runs once per fd monitor (tcase_add_loop_test over t_fdmons); a
 * monitor the kernel refuses is a printed skip.  The upgrade itself only
 * happens with the automatic choice on a host without io_uring, so two
 * tests hide io_uring_setup behind a seccomp filter in their forked child.
 */
#include "qemu/osdep.h"
#include "block/aio.h"
#include "qemu/event_notifier.h"
#include "qemu/timer.h"
#include "helpers.h"

#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <sys/resource.h>
#include <sys/syscall.h>

/* ---- helpers ------------------------------------------------------------ */

/*
 * The context of test iteration i on monitor t_fdmons[i], bound to this
 * thread as its home and drained.  The loop tests cover only the monitors
 * this host offers (t_fdmon_lo, t_fdmon_hi).
 */
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

static bool fd_readable(int fd)
{
    struct pollfd pfd = { .fd = fd, .events = POLLIN };

    return poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN);
}

static void eventfd_kick(int fd)
{
    uint64_t one = 1;

    ck_assert_int_eq(write(fd, &one, sizeof(one)), (ssize_t)sizeof(one));
}

static void eventfd_drain(int fd)
{
    uint64_t v;

    while (read(fd, &v, sizeof(v)) == (ssize_t)sizeof(v)) {
    }
}

/* A non-blocking, close-on-exec pipe. */
static void make_pipe(int p[2])
{
    ck_assert_int_eq(pipe(p), 0);
    for (int k = 0; k < 2; k++) {
        ck_assert_int_eq(fcntl(p[k], F_SETFL, fcntl(p[k], F_GETFL) | O_NONBLOCK), 0);
        ck_assert_int_eq(fcntl(p[k], F_SETFD, FD_CLOEXEC), 0);
    }
}

/* An EventNotifier with a counting handler: `active` counts down per run,
 * and with `auto_set` the handler re-sets the notifier while active. */
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

static void notifier_init(NotifierData *d)
{
    ck_assert_int_eq(event_notifier_init(&d->e, 0), 0);
}

/* An fd handler with a counter per callback. */
typedef struct {
    AioContext *ctx;
    int fd;
    int reads;
    int writes;
    int polls;
    int poll_readys;
    int begins;
    int ends;
    bool poll_result;
    bool drain;
} FdData;

static void fd_read_cb(void *opaque)
{
    FdData *d = opaque;

    d->reads++;
    if (d->drain) {
        eventfd_drain(d->fd);
    }
}

static bool fd_poll_cb(void *opaque)
{
    FdData *d = opaque;

    d->polls++;
    return d->poll_result;
}

static void fd_poll_ready_cb(void *opaque)
{
    FdData *d = opaque;

    d->poll_readys++;
    if (d->drain) {
        eventfd_drain(d->fd);
    }
}

static void fd_poll_begin_cb(void *opaque)
{
    FdData *d = opaque;

    d->begins++;
}

static void fd_poll_end_cb(void *opaque)
{
    FdData *d = opaque;

    d->ends++;
}

static void fd_data_init(FdData *d, AioContext *ctx)
{
    memset(d, 0, sizeof(*d));
    d->ctx = ctx;
    d->fd = t_eventfd();
    d->drain = true;
}

static void fd_remove(AioContext *ctx, int fd)
{
    t_set_fd_handler(ctx, fd, NULL, NULL, NULL, NULL, NULL);
}

/* A realtime timer that bounds blocking polls in tests where nothing else
 * would end them. */
typedef struct {
    QEMUTimer *t;
    int fired;
} Bound;

static void bound_cb(void *opaque)
{
    Bound *b = opaque;

    b->fired++;
}

/* Run blocking polls until the bound timer, armed `ns` ahead, has fired
 * (or `stop` became true). */
static void poll_blocking_for(AioContext *ctx, Bound *b, int64_t ns, const int *stop)
{
    int fired = b->fired;

    timer_mod(b->t, qemu_clock_get_ns(QEMU_CLOCK_REALTIME) + ns);
    while (b->fired == fired && !(stop && *stop)) {
        aio_poll(ctx, true);
    }
    timer_del(b->t);
}

/* ---- event notifiers ---------------------------------------------------- */

START_TEST(event_notifier_added_and_removed_without_set_calls_no_handler)
{
    OPEN_CTX(ctx);
    NotifierData d = { 0 };

    notifier_init(&d);
    t_set_event_notifier(ctx, &d.e, notifier_cb, NULL, NULL);
    ck_assert(!aio_poll(ctx, false));
    ck_assert_int_eq(d.n, 0);

    t_set_event_notifier(ctx, &d.e, NULL, NULL, NULL);
    ck_assert(!aio_poll(ctx, false));
    ck_assert_int_eq(d.n, 0);

    event_notifier_cleanup(&d.e);
    aio_context_unref(ctx);
}
END_TEST

START_TEST(event_notifier_set_runs_its_handler_once)
{
    OPEN_CTX(ctx);
    NotifierData d = { .active = 1 };

    notifier_init(&d);
    t_set_event_notifier(ctx, &d.e, notifier_cb, NULL, NULL);
    ck_assert(!aio_poll(ctx, false));
    ck_assert_int_eq(d.n, 0);
    ck_assert_int_eq(d.active, 1);

    event_notifier_set(&d.e);
    ck_assert(aio_poll(ctx, false));
    ck_assert_int_eq(d.n, 1);
    ck_assert_int_eq(d.active, 0);
    ck_assert(!aio_poll(ctx, false));
    ck_assert_int_eq(d.n, 1);

    t_set_event_notifier(ctx, &d.e, NULL, NULL, NULL);
    ck_assert(!aio_poll(ctx, false));
    event_notifier_set(&d.e);
    ck_assert(!aio_poll(ctx, false));
    ck_assert_int_eq(d.n, 1);

    event_notifier_cleanup(&d.e);
    aio_context_unref(ctx);
}
END_TEST

START_TEST(event_notifier_reset_by_its_handler_runs_once_per_aio_poll)
{
    OPEN_CTX(ctx);
    NotifierData d = { .active = 10, .auto_set = true };

    notifier_init(&d);
    t_set_event_notifier(ctx, &d.e, notifier_cb, NULL, NULL);
    ck_assert(!aio_poll(ctx, false));
    ck_assert_int_eq(d.n, 0);

    event_notifier_set(&d.e);
    for (int i = 1; i <= 10; i++) {
        ck_assert_msg(aio_poll(ctx, false), "aio_poll %d made no progress", i);
        ck_assert_int_eq(d.n, i);
        ck_assert_int_eq(d.active, 10 - i);
    }
    ck_assert(!aio_poll(ctx, false));
    ck_assert_int_eq(d.n, 10);

    t_set_event_notifier(ctx, &d.e, NULL, NULL, NULL);
    event_notifier_cleanup(&d.e);
    aio_context_unref(ctx);
}
END_TEST

START_TEST(set_notifier_makes_blocking_poll_return_and_runs_only_its_handler)
{
    OPEN_CTX(ctx);
    NotifierData d = { .active = 10 };
    NotifierData dummy = { .active = 1 };

    notifier_init(&d);
    notifier_init(&dummy);
    t_set_event_notifier(ctx, &d.e, notifier_cb, NULL, NULL);
    ck_assert(!aio_poll(ctx, false));
    ck_assert_int_eq(d.n, 0);

    event_notifier_set(&d.e);
    ck_assert(aio_poll(ctx, true));
    ck_assert_int_eq(d.n, 1);
    event_notifier_set(&d.e);
    ck_assert(aio_poll(ctx, true));
    ck_assert_int_eq(d.n, 2);

    t_set_event_notifier(ctx, &dummy.e, notifier_cb, NULL, NULL);
    ck_assert(!aio_poll(ctx, false));
    for (int i = 3; i <= 6; i++) {
        event_notifier_set(&d.e);
        ck_assert(aio_poll(ctx, true));
        ck_assert_int_eq(d.n, i);
        ck_assert_int_eq(dummy.n, 0);
    }
    ck_assert(!aio_poll(ctx, false));
    ck_assert_int_eq(d.n, 6);
    ck_assert_int_eq(dummy.n, 0);

    t_set_event_notifier(ctx, &dummy.e, NULL, NULL, NULL);
    t_set_event_notifier(ctx, &d.e, NULL, NULL, NULL);
    event_notifier_set(&d.e);
    event_notifier_set(&dummy.e);
    ck_assert(!aio_poll(ctx, false));
    ck_assert_int_eq(d.n, 6);
    ck_assert_int_eq(dummy.n, 0);

    event_notifier_cleanup(&d.e);
    event_notifier_cleanup(&dummy.e);
    aio_context_unref(ctx);
}
END_TEST

/* External handlers: QEMU 7.2 only. */
#if T_API_7_2
START_TEST(external_notifier_waits_while_external_clients_are_disabled)
{
    OPEN_CTX(ctx);
    NotifierData d = { .active = 10 };

    notifier_init(&d);
    aio_set_event_notifier(ctx, &d.e, true, notifier_cb, NULL, NULL);
    event_notifier_set(&d.e);

    aio_disable_external(ctx);
    ck_assert(!aio_poll(ctx, false));
    ck_assert_int_eq(d.n, 0);
    ck_assert(fd_readable(event_notifier_get_fd(&d.e)));

    aio_disable_external(ctx);
    ck_assert(!aio_poll(ctx, false));
    ck_assert_int_eq(d.n, 0);

    aio_enable_external(ctx);
    ck_assert(!aio_poll(ctx, false));
    ck_assert_int_eq(d.n, 0);
    ck_assert(fd_readable(event_notifier_get_fd(&d.e)));

    aio_enable_external(ctx);
    ck_assert(aio_poll(ctx, false));
    ck_assert_int_eq(d.n, 1);
    ck_assert(!aio_poll(ctx, false));

    aio_set_event_notifier(ctx, &d.e, true, NULL, NULL, NULL);
    event_notifier_cleanup(&d.e);
    aio_context_unref(ctx);
}
END_TEST

/* A handler that disables external clients mid-pass: external handlers
 * found ready by the same wait must not run after that (the check is made
 * at dispatch time).  Disablers sit at both ends of the fd range, so
 * whatever the dispatch order, some external handlers come after one. */
typedef struct {
    AioContext *ctx;
    int fd;
    bool *disabled_by_test;
} Disabler;

typedef struct {
    AioContext *ctx;
    int fd;
    int n;
    int n_while_disabled;
} ExtHandler;

static void disabler_cb(void *opaque)
{
    Disabler *d = opaque;

    eventfd_drain(d->fd);
    if (!*d->disabled_by_test) {
        aio_disable_external(d->ctx);
        *d->disabled_by_test = true;
    }
}

static void ext_cb(void *opaque)
{
    ExtHandler *e = opaque;

    eventfd_drain(e->fd);
    e->n++;
    if (aio_external_disabled(e->ctx)) {
        e->n_while_disabled++;
    }
}

START_TEST(external_handler_does_not_run_once_disabled_mid_pass)
{
    OPEN_CTX(ctx);
    enum { NEXT = 8 };
    bool disabled_by_test = false;
    Disabler first = { .ctx = ctx, .disabled_by_test = &disabled_by_test };
    Disabler last = { .ctx = ctx, .disabled_by_test = &disabled_by_test };
    ExtHandler ext[NEXT];

    first.fd = t_eventfd();
    for (int k = 0; k < NEXT; k++) {
        ext[k] = (ExtHandler){ .ctx = ctx, .fd = t_eventfd() };
    }
    last.fd = t_eventfd();
    t_set_fd_handler(ctx, first.fd, disabler_cb, NULL, NULL, NULL, &first);
    for (int k = 0; k < NEXT; k++) {
        aio_set_fd_handler(ctx, ext[k].fd, true, ext_cb, NULL, NULL, NULL, &ext[k]);
    }
    t_set_fd_handler(ctx, last.fd, disabler_cb, NULL, NULL, NULL, &last);
    ck_assert(!aio_poll(ctx, false));

    eventfd_kick(first.fd);
    eventfd_kick(last.fd);
    for (int k = 0; k < NEXT; k++) {
        eventfd_kick(ext[k].fd);
    }
    ck_assert(aio_poll(ctx, false));
    ck_assert(disabled_by_test);
    while (aio_poll(ctx, false)) {
    }
    for (int k = 0; k < NEXT; k++) {
        ck_assert_msg(ext[k].n_while_disabled == 0,
                      "external handler %d ran while external clients were disabled", k);
    }
    aio_enable_external(ctx);
    t_drain_ctx(ctx);
    for (int k = 0; k < NEXT; k++) {
        ck_assert_msg(ext[k].n == 1, "external handler %d ran %d times", k, ext[k].n);
    }

    fd_remove(ctx, first.fd);
    fd_remove(ctx, last.fd);
    close(first.fd);
    close(last.fd);
    for (int k = 0; k < NEXT; k++) {
        fd_remove(ctx, ext[k].fd);
        close(ext[k].fd);
    }
    aio_context_unref(ctx);
}
END_TEST
#endif

START_TEST(handler_with_null_callbacks_is_removed)
{
    OPEN_CTX(ctx);
    NotifierData nd = { .active = 10 };
    FdData fd;

    fd_data_init(&fd, ctx);
    notifier_init(&nd);
    t_set_fd_handler(ctx, fd.fd, fd_read_cb, NULL, NULL, NULL, &fd);
    t_set_event_notifier(ctx, &nd.e, notifier_cb, NULL, NULL);
    t_drain_ctx(ctx);

    t_set_fd_handler(ctx, fd.fd, NULL, NULL, NULL, NULL, NULL);
    t_set_event_notifier(ctx, &nd.e, NULL, NULL, NULL);
    eventfd_kick(fd.fd);
    event_notifier_set(&nd.e);
    ck_assert(!aio_poll(ctx, false));
    ck_assert(!aio_poll(ctx, false));
    ck_assert_int_eq(fd.reads, 0);
    ck_assert_int_eq(nd.n, 0);

    close(fd.fd);
    event_notifier_cleanup(&nd.e);
    aio_context_unref(ctx);
}
END_TEST

/* ---- acquire ------------------------------------------------------------ */

START_TEST(aio_poll_right_after_registration_is_not_progress)
{
    OPEN_CTX(ctx);
    NotifierData d = { 0 };
    FdData fd;

    fd_data_init(&fd, ctx);
    notifier_init(&d);
    t_set_event_notifier(ctx, &d.e, notifier_cb, NULL, NULL);
    ck_assert(!aio_poll(ctx, false));
    t_set_fd_handler(ctx, fd.fd, fd_read_cb, NULL, NULL, NULL, &fd);
    ck_assert(!aio_poll(ctx, false));
    ck_assert_int_eq(d.n, 0);
    ck_assert_int_eq(fd.reads, 0);

    fd_remove(ctx, fd.fd);
    t_set_event_notifier(ctx, &d.e, NULL, NULL, NULL);
    close(fd.fd);
    event_notifier_cleanup(&d.e);
    aio_context_unref(ctx);
}
END_TEST

/* The context lock: QEMU 7.2 only. */
#if T_API_7_2
typedef struct {
    AioContext *ctx;
    NotifierData nd;
    pthread_mutex_t start;
    int thread_acquired;
} AcquireData;

static void *acquire_thread(void *opaque)
{
    AcquireData *a = opaque;

    /* Wait until the poller holds the context. */
    pthread_mutex_lock(&a->start);
    pthread_mutex_unlock(&a->start);
    g_usleep(10 * 1000);
    event_notifier_set(&a->nd.e);
    aio_context_acquire(a->ctx);
    __atomic_store_n(&a->thread_acquired, 1, __ATOMIC_SEQ_CST);
    aio_context_release(a->ctx);
    return NULL;
}

START_TEST(poller_holding_the_context_keeps_it_while_woken_by_another_thread)
{
    OPEN_CTX(ctx);
    AcquireData a = { .ctx = ctx, .nd = { .active = 1 } };
    pthread_t th;

    pthread_mutex_init(&a.start, NULL);
    notifier_init(&a.nd);
    t_set_event_notifier(ctx, &a.nd.e, notifier_cb, NULL, NULL);
    ck_assert(!aio_poll(ctx, false));

    pthread_mutex_lock(&a.start);
    ck_assert_int_eq(pthread_create(&th, NULL, acquire_thread, &a), 0);
    aio_context_acquire(ctx);
    pthread_mutex_unlock(&a.start);

    ck_assert(aio_poll(ctx, true));
    ck_assert_int_eq(a.nd.n, 1);
    ck_assert_msg(!__atomic_load_n(&a.thread_acquired, __ATOMIC_SEQ_CST),
                  "another thread acquired the context while aio_poll held it");
    aio_context_release(ctx);

    pthread_join(th, NULL);
    ck_assert(__atomic_load_n(&a.thread_acquired, __ATOMIC_SEQ_CST));

    t_set_event_notifier(ctx, &a.nd.e, NULL, NULL, NULL);
    event_notifier_cleanup(&a.nd.e);
    pthread_mutex_destroy(&a.start);
    aio_context_unref(ctx);
}
END_TEST
#endif

/* ---- fd handlers -------------------------------------------------------- */

/* Level-triggered, not edge-triggered: a handler that consumes only part of what is ready must be
 * called again (level-triggered), by a blocking poll too. */
typedef struct {
    int fd;
    int calls;
    int bytes;
} PartialReader;

static void read_one_byte_cb(void *opaque)
{
    PartialReader *r = opaque;
    char c;

    r->calls++;
    if (read(r->fd, &c, 1) == 1) {
        r->bytes++;
    }
}

START_TEST(level_triggered_handler_reading_part_of_data_is_called_again)
{
    OPEN_CTX(ctx);
    PartialReader r = { 0 };
    int p[2];

    make_pipe(p);
    r.fd = p[0];
    t_set_fd_handler(ctx, p[0], read_one_byte_cb, NULL, NULL, NULL, &r);
    ck_assert(!aio_poll(ctx, false));
    ck_assert_int_eq(r.calls, 0);

    ck_assert_int_eq(write(p[1], "ab", 2), 2);
    ck_assert(aio_poll(ctx, true));
    ck_assert_int_eq(r.calls, 1);
    ck_assert_int_eq(r.bytes, 1);
    /* One byte is left: an edge-triggered monitor would sleep forever here. */
    ck_assert(aio_poll(ctx, true));
    ck_assert_int_eq(r.calls, 2);
    ck_assert_int_eq(r.bytes, 2);
    ck_assert(!aio_poll(ctx, false));
    ck_assert_int_eq(r.calls, 2);

    /* And again through non-blocking polls. */
    ck_assert_int_eq(write(p[1], "cd", 2), 2);
    ck_assert(aio_poll(ctx, false));
    ck_assert(aio_poll(ctx, false));
    ck_assert(!aio_poll(ctx, false));
    ck_assert_int_eq(r.bytes, 4);

    fd_remove(ctx, p[0]);
    close(p[0]);
    close(p[1]);
    aio_context_unref(ctx);
}
END_TEST

START_TEST(read_handler_runs_on_hangup)
{
    OPEN_CTX(ctx);
    PartialReader r = { 0 };
    int p[2];

    make_pipe(p);
    r.fd = p[0];
    t_set_fd_handler(ctx, p[0], read_one_byte_cb, NULL, NULL, NULL, &r);
    ck_assert(!aio_poll(ctx, false));
    close(p[1]);
    ck_assert(aio_poll(ctx, true));
    ck_assert_int_ge(r.calls, 1);
    ck_assert_int_eq(r.bytes, 0);

    fd_remove(ctx, p[0]);
    close(p[0]);
    aio_context_unref(ctx);
}
END_TEST

static void write_three_times_cb(void *opaque)
{
    FdData *d = opaque;

    d->writes++;
    if (d->writes == 3) {
        t_set_fd_handler(d->ctx, d->fd, NULL, NULL, NULL, NULL, NULL);
    }
}

START_TEST(write_handler_runs_while_fd_is_writable)
{
    OPEN_CTX(ctx);
    FdData d;

    fd_data_init(&d, ctx);
    t_set_fd_handler(ctx, d.fd, NULL, write_three_times_cb, NULL, NULL, &d);
    for (int i = 1; i <= 3; i++) {
        ck_assert(aio_poll(ctx, i == 1));
        ck_assert_int_eq(d.writes, i);
    }
    ck_assert(!aio_poll(ctx, false));
    ck_assert_int_eq(d.writes, 3);

    close(d.fd);
    aio_context_unref(ctx);
}
END_TEST

static void remove_self_cb(void *opaque)
{
    FdData *d = opaque;

    d->reads++;
    /* The fd stays readable: only the removal keeps us from running again. */
    t_set_fd_handler(d->ctx, d->fd, NULL, NULL, NULL, NULL, NULL);
}

START_TEST(handler_removed_from_its_own_callback_is_not_called_again)
{
    OPEN_CTX(ctx);
    FdData d;

    fd_data_init(&d, ctx);
    t_set_fd_handler(ctx, d.fd, remove_self_cb, NULL, NULL, NULL, &d);
    ck_assert(!aio_poll(ctx, false));
    eventfd_kick(d.fd);
    ck_assert(aio_poll(ctx, false));
    ck_assert_int_eq(d.reads, 1);
    ck_assert(!aio_poll(ctx, false));
    ck_assert(!aio_poll(ctx, false));
    ck_assert_int_eq(d.reads, 1);
    ck_assert(fd_readable(d.fd));

    close(d.fd);
    aio_context_unref(ctx);
}
END_TEST

/* A BH that polls the context again (nested), as a BH waiting with
 * AIO_WAIT_WHILE does, while the outer pass already found an fd ready. */
typedef struct {
    FdData d;
    int reads_seen_by_nested_poll;
    bool nested_progress;
} NestedPoll;

static void nested_poll_bh(void *opaque)
{
    NestedPoll *np = opaque;

    np->nested_progress = aio_poll(np->d.ctx, false);
    np->reads_seen_by_nested_poll = np->d.reads;
}

static void fd_found_by_outer_pass_runs_in_nested_poll(AioContext *ctx, bool under_glib)
{
    NestedPoll np;
    QEMUBH *bh;

    fd_data_init(&np.d, ctx);
    np.reads_seen_by_nested_poll = -1;
    np.nested_progress = false;
    t_set_fd_handler(ctx, np.d.fd, fd_read_cb, NULL, NULL, NULL, &np.d);
    ck_assert(!aio_poll(ctx, false));
    bh = aio_bh_new(ctx, nested_poll_bh, &np);
    eventfd_kick(np.d.fd);
    qemu_bh_schedule(bh);

    if (under_glib) {
        GMainContext *mc = g_main_context_new();
        GSource *src = aio_get_g_source(ctx);

        g_source_attach(src, mc);
        while (np.reads_seen_by_nested_poll < 0) {
            g_main_context_iteration(mc, true);
        }
        g_source_destroy(src);
        g_source_unref(src);
        g_main_context_unref(mc);
    } else {
        ck_assert(aio_poll(ctx, true));
    }
    /* The outer wait saw the fd; the nested pass must run its handler, or
     * a nested waiter whose condition that handler clears would spin. */
    ck_assert_int_eq(np.reads_seen_by_nested_poll, 1);
    ck_assert(np.nested_progress);
    /* And the outer pass does not run it a second time. */
    ck_assert_int_eq(np.d.reads, 1);
    ck_assert(!aio_poll(ctx, false));

    qemu_bh_delete(bh);
    fd_remove(ctx, np.d.fd);
    close(np.d.fd);
}

START_TEST(fd_found_ready_by_outer_pass_runs_in_nested_aio_poll)
{
    OPEN_CTX(ctx);

    fd_found_by_outer_pass_runs_in_nested_poll(ctx, false);
    aio_context_unref(ctx);
}
END_TEST

START_TEST(fd_found_ready_by_glib_check_runs_in_nested_aio_poll)
{
    OPEN_CTX(ctx);

    fd_found_by_outer_pass_runs_in_nested_poll(ctx, true);
    aio_context_unref(ctx);
}
END_TEST

typedef struct {
    FdData a;
    FdData b;
} AddLater;

static void add_b_cb(void *opaque)
{
    AddLater *al = opaque;

    al->a.reads++;
    eventfd_drain(al->a.fd);
    if (al->a.reads == 1) {
        t_set_fd_handler(al->a.ctx, al->b.fd, fd_read_cb, NULL, NULL, NULL, &al->b);
    }
}

START_TEST(handler_added_from_callback_runs_later)
{
    OPEN_CTX(ctx);
    AddLater al;

    fd_data_init(&al.a, ctx);
    fd_data_init(&al.b, ctx);
    t_set_fd_handler(ctx, al.a.fd, add_b_cb, NULL, NULL, NULL, &al);
    ck_assert(!aio_poll(ctx, false));
    eventfd_kick(al.a.fd);
    eventfd_kick(al.b.fd);

    ck_assert(aio_poll(ctx, false));
    ck_assert_int_eq(al.a.reads, 1);
    ck_assert_int_eq(al.b.reads, 0);
    ck_assert(aio_poll(ctx, false));
    ck_assert_int_eq(al.a.reads, 1);
    ck_assert_int_eq(al.b.reads, 1);
    ck_assert(!aio_poll(ctx, false));

    fd_remove(ctx, al.a.fd);
    fd_remove(ctx, al.b.fd);
    close(al.a.fd);
    close(al.b.fd);
    aio_context_unref(ctx);
}
END_TEST

static void other_read_cb(void *opaque)
{
    FdData *d = opaque;

    d->writes++;    /* counts calls of the replacement callback */
    eventfd_drain(d->fd);
}

START_TEST(registering_an_fd_again_replaces_its_callbacks)
{
    OPEN_CTX(ctx);
    FdData d;

    fd_data_init(&d, ctx);
    t_set_fd_handler(ctx, d.fd, fd_read_cb, NULL, NULL, NULL, &d);
    t_set_fd_handler(ctx, d.fd, other_read_cb, NULL, NULL, NULL, &d);
    ck_assert(!aio_poll(ctx, false));
    eventfd_kick(d.fd);
    ck_assert(aio_poll(ctx, true));
    ck_assert_int_eq(d.reads, 0);
    ck_assert_int_eq(d.writes, 1);
    ck_assert(!aio_poll(ctx, false));

    fd_remove(ctx, d.fd);
    close(d.fd);
    aio_context_unref(ctx);
}
END_TEST

START_TEST(removing_unregistered_fd_is_noop)
{
    OPEN_CTX(ctx);
    FdData d, stranger;

    fd_data_init(&d, ctx);
    fd_data_init(&stranger, ctx);
    t_set_fd_handler(ctx, d.fd, fd_read_cb, NULL, NULL, NULL, &d);
    fd_remove(ctx, stranger.fd);
    fd_remove(ctx, stranger.fd);
    ck_assert(!aio_poll(ctx, false));

    /* The registered handler is unaffected. */
    eventfd_kick(d.fd);
    ck_assert(aio_poll(ctx, true));
    ck_assert_int_eq(d.reads, 1);

    fd_remove(ctx, d.fd);
    close(d.fd);
    close(stranger.fd);
    aio_context_unref(ctx);
}
END_TEST

/*
 * An fd number that is not open.  The outcome we require: nothing crashes
 * or hangs, aio_poll keeps returning, the handler can be removed, and the
 * context keeps serving other handlers.  Whether the bogus handler is ever
 * called is left open (7.2's monitors differ: poll(2) reports POLLNVAL,
 * epoll_ctl and io_uring report EBADF).
 */
START_TEST(set_fd_handler_on_closed_fd_does_not_crash)
{
    OPEN_CTX(ctx);
    FdData bogus, good;
    struct rlimit rl;
    int tmp = t_eventfd();
    int low, fd;

    /* High, so that nothing the library opens meanwhile can take it. */
    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
    low = rl.rlim_cur > 4100 ? 4000 : (int)rl.rlim_cur - 16;
    fd = fcntl(tmp, F_DUPFD_CLOEXEC, low);
    ck_assert_int_ge(fd, low);
    close(tmp);
    close(fd);
    fd_data_init(&good, ctx);
    memset(&bogus, 0, sizeof(bogus));
    bogus.ctx = ctx;
    bogus.fd = fd;

    t_set_fd_handler(ctx, fd, fd_read_cb, NULL, NULL, NULL, &bogus);
    t_set_fd_handler(ctx, good.fd, fd_read_cb, NULL, NULL, NULL, &good);
    for (int i = 0; i < 3; i++) {
        aio_poll(ctx, false);
    }
    eventfd_kick(good.fd);
    for (int i = 0; i < 3 && good.reads == 0; i++) {
        aio_poll(ctx, false);
    }
    ck_assert_int_eq(good.reads, 1);

    fd_remove(ctx, fd);
    for (int i = 0; i < 3; i++) {
        aio_poll(ctx, false);
    }
    if (bogus.reads) {
        printf("note %s[%s]: handler of a closed fd ran %d times\n",
               __func__, t_fdmons[_i], bogus.reads);
    }

    fd_remove(ctx, good.fd);
    close(good.fd);
    aio_context_unref(ctx);
}
END_TEST

/* ---- adaptive polling and its pitfalls ---------------------------------- */

START_TEST(io_poll_without_io_poll_ready_is_ignored)
{
    OPEN_CTX(ctx);
    Bound b = { 0 };
    FdData d;

    fd_data_init(&d, ctx);
    d.poll_result = true;
    b.t = aio_timer_new(ctx, QEMU_CLOCK_REALTIME, SCALE_NS, bound_cb, &b);
    aio_context_set_poll_params(ctx, 1000000, 0, 0, &error_abort);
    t_set_fd_handler(ctx, d.fd, fd_read_cb, NULL, fd_poll_cb, NULL, &d);
    ck_assert(!aio_poll(ctx, false));

    for (int i = 1; i <= 5; i++) {
        eventfd_kick(d.fd);
        ck_assert(aio_poll(ctx, true));
        ck_assert_int_eq(d.reads, i);
    }
    for (int i = 0; i < 20; i++) {
        poll_blocking_for(ctx, &b, 100 * 1000, NULL);
    }
    ck_assert_int_eq(d.reads, 5);
    ck_assert_msg(d.polls == 0, "io_poll without io_poll_ready was called %d times",
                  d.polls);

    fd_remove(ctx, d.fd);
    close(d.fd);
    timer_free(b.t);
    aio_context_unref(ctx);
}
END_TEST

/* Registers d (eventfd) with every polling callback and counting stubs,
 * then makes it ready once so that it joins the polling list. */
static void register_polling_handler(AioContext *ctx, FdData *d, bool poll_result)
{
    fd_data_init(d, ctx);
    d->poll_result = poll_result;
    t_set_fd_handler(ctx, d->fd, fd_read_cb, NULL, fd_poll_cb,
                       fd_poll_ready_cb, d);
#if T_API_7_2
    /* 10.0 has no way to hook an fd's polling begin and end. */
    aio_set_fd_poll(ctx, d->fd, fd_poll_begin_cb, fd_poll_end_cb);
#endif
    ck_assert(!aio_poll(ctx, false));
    eventfd_kick(d->fd);
    for (int i = 0; i < 100 && d->reads + d->poll_readys == 0; i++) {
        aio_poll(ctx, true);
    }
    ck_assert_int_ge(d->reads + d->poll_readys, 1);
}

static void assert_begin_end_pair(const FdData *d)
{
    ck_assert_msg(d->begins >= d->ends && d->begins - d->ends <= 1,
                  "io_poll_begin %d times, io_poll_end %d times", d->begins, d->ends);
}

START_TEST(io_poll_is_never_called_when_polling_is_off)
{
    OPEN_CTX(ctx);
    Bound b = { 0 };
    FdData d;

    b.t = aio_timer_new(ctx, QEMU_CLOCK_REALTIME, SCALE_NS, bound_cb, &b);
    aio_context_set_poll_params(ctx, 0, 0, 0, &error_abort);
    register_polling_handler(ctx, &d, true);
    for (int i = 0; i < 5; i++) {
        eventfd_kick(d.fd);
        ck_assert(aio_poll(ctx, true));
    }
    for (int i = 0; i < 20; i++) {
        poll_blocking_for(ctx, &b, 100 * 1000, NULL);
        aio_poll(ctx, false);
    }
    ck_assert_int_eq(d.reads, 6);
    ck_assert_msg(d.polls == 0, "io_poll called %d times with poll_max_ns 0", d.polls);
    ck_assert_int_eq(d.poll_readys, 0);
    ck_assert_int_eq(d.begins, 0);
    ck_assert_int_eq(d.ends, 0);

    fd_remove(ctx, d.fd);
    close(d.fd);
    timer_free(b.t);
    aio_context_unref(ctx);
}
END_TEST

START_TEST(polling_is_off_by_default)
{
    OPEN_CTX(ctx);
    Bound b = { 0 };
    FdData d;

    b.t = aio_timer_new(ctx, QEMU_CLOCK_REALTIME, SCALE_NS, bound_cb, &b);
    register_polling_handler(ctx, &d, true);
    for (int i = 0; i < 20; i++) {
        poll_blocking_for(ctx, &b, 100 * 1000, NULL);
    }
    ck_assert_msg(d.polls == 0, "io_poll called %d times on a new context", d.polls);
    ck_assert_int_eq(d.poll_readys, 0);

    fd_remove(ctx, d.fd);
    close(d.fd);
    timer_free(b.t);
    aio_context_unref(ctx);
}
END_TEST

START_TEST(io_poll_hit_calls_io_poll_ready_not_io_read)
{
    OPEN_CTX(ctx);
    Bound b = { 0 };
    FdData d;
    int reads;

    b.t = aio_timer_new(ctx, QEMU_CLOCK_REALTIME, SCALE_NS, bound_cb, &b);
    aio_context_set_poll_params(ctx, 1000000, 0, 0, &error_abort);
    register_polling_handler(ctx, &d, true);
    reads = d.reads;

    /* The fd is never written again: only a poll hit can report it. */
    for (int i = 0; i < 200 && d.poll_readys == 0; i++) {
        poll_blocking_for(ctx, &b, 100 * 1000, &d.poll_readys);
    }
    ck_assert_int_gt(d.polls, 0);
    ck_assert_msg(d.poll_readys > 0, "io_poll returned true %d times, io_poll_ready "
                  "never called", d.polls);
    ck_assert_msg(d.reads == reads, "io_read called on a poll hit");
    assert_begin_end_pair(&d);

    fd_remove(ctx, d.fd);
    for (int i = 0; i < 3; i++) {
        aio_poll(ctx, false);
    }
    assert_begin_end_pair(&d);
    close(d.fd);
    timer_free(b.t);
    aio_context_unref(ctx);
}
END_TEST

/* Busy polling that finds nothing uses up part of the wait: the wait after
 * it is shortened by the time polled, so a timer still fires on time
 * (QEMU keeps the same ending time).  The polling window grows to cover
 * the 20 ms timer within a few rounds; unshortened, the timer then fired
 * 20 ms late in every round.  The least late of the last rounds is judged:
 * a loaded machine delays some rounds, not each. */
START_TEST(busy_polling_does_not_delay_a_timer)
{
    OPEN_CTX(ctx);
    const int64_t delay = 20 * 1000 * 1000;
    Bound b = { 0 };
    int64_t least = INT64_MAX;
    FdData d;

    b.t = aio_timer_new(ctx, QEMU_CLOCK_REALTIME, SCALE_NS, bound_cb, &b);
    aio_context_set_poll_params(ctx, 50 * 1000 * 1000, 0, 0, &error_abort);
    register_polling_handler(ctx, &d, false);
    for (int round = 0; round < 16; round++) {
        int64_t deadline = qemu_clock_get_ns(QEMU_CLOCK_REALTIME) + delay;
        int fired = b.fired;

        timer_mod(b.t, deadline);
        while (b.fired == fired) {
            aio_poll(ctx, true);
        }
        if (round >= 12) {
            least = MIN(least, qemu_clock_get_ns(QEMU_CLOCK_REALTIME) - deadline);
        }
    }
    ck_assert_int_gt(d.polls, 0);
    ck_assert_msg(least < delay / 2, "a 20 ms timer fired at least %" PRId64
                  " us late in each of 4 rounds while polling", least / 1000);

    fd_remove(ctx, d.fd);
    close(d.fd);
    timer_free(b.t);
    aio_context_unref(ctx);
}
END_TEST

/* With the io_uring monitor, which polls even beside handlers that cannot
 * be polled, a handler whose io_poll found nothing for 7 s leaves the
 * polling list (with io_poll_end), as QEMU's does; its fd still runs it,
 * and being ready puts it back.  poll and epoll poll only while every
 * handler can be polled, and keep the list. */
START_TEST(handler_idle_for_7s_leaves_busy_polling_under_io_uring)
{
    OPEN_CTX(ctx);
    Bound b = { 0 };
    int64_t start;
    int polls, reads;
    FdData d;

    if (strcmp(qaio_aio_context_fd_monitor(ctx), "io_uring") != 0) {
        aio_context_unref(ctx);
        return;
    }
    b.t = aio_timer_new(ctx, QEMU_CLOCK_REALTIME, SCALE_NS, bound_cb, &b);
    aio_context_set_poll_params(ctx, 1000 * 1000, 0, 0, &error_abort);
    register_polling_handler(ctx, &d, false);
    start = qemu_clock_get_ns(QEMU_CLOCK_REALTIME);
    while (qemu_clock_get_ns(QEMU_CLOCK_REALTIME) - start < 7500LL * 1000 * 1000) {
        poll_blocking_for(ctx, &b, 500 * 1000, NULL);
    }
    ck_assert_int_gt(d.polls, 0);
    polls = d.polls;
    for (int i = 0; i < 50; i++) {
        poll_blocking_for(ctx, &b, 500 * 1000, NULL);
    }
    ck_assert_msg(d.polls == polls, "io_poll of a handler idle for 7.5 s called %d more times",
                  d.polls - polls);
    assert_begin_end_pair(&d);

    reads = d.reads;
    eventfd_kick(d.fd);
    for (int i = 0; i < 100 && d.reads == reads; i++) {
        aio_poll(ctx, true);
    }
    ck_assert_int_eq(d.reads, reads + 1);
    for (int i = 0; i < 20; i++) {
        poll_blocking_for(ctx, &b, 500 * 1000, NULL);
    }
    ck_assert_msg(d.polls > polls, "the handler ready again was not polled again");

    fd_remove(ctx, d.fd);
    close(d.fd);
    timer_free(b.t);
    aio_context_unref(ctx);
}
END_TEST

START_TEST(polling_handler_always_ready_does_not_starve_fd_handlers)
{
    OPEN_CTX(ctx);
    Bound b = { 0 };
    FdData busy, plain;
    int reads;

    aio_context_set_poll_params(ctx, 1000000, 0, 0, &error_abort);
    register_polling_handler(ctx, &busy, true);
    fd_data_init(&plain, ctx);
    t_set_fd_handler(ctx, plain.fd, fd_read_cb, NULL, NULL, NULL, &plain);
    b.t = aio_timer_new(ctx, QEMU_CLOCK_REALTIME, SCALE_NS, bound_cb, &b);
    /* Let the polling time grow (if this monitor polls with a plain fd
     * handler registered at all). */
    for (int i = 0; i < 20; i++) {
        poll_blocking_for(ctx, &b, 100 * 1000, NULL);
    }
    reads = plain.reads;
    eventfd_kick(plain.fd);
    for (int i = 0; i < 10000 && plain.reads == reads; i++) {
        aio_poll(ctx, true);
    }
    ck_assert_msg(plain.reads == reads + 1,
                  "a ready fd handler was starved by an always-ready poller "
                  "(%d poll hits)", busy.poll_readys);
    assert_begin_end_pair(&busy);

    fd_remove(ctx, plain.fd);
    fd_remove(ctx, busy.fd);
    close(plain.fd);
    close(busy.fd);
    timer_free(b.t);
    aio_context_unref(ctx);
}
END_TEST

#if T_API_7_2
START_TEST(aio_set_fd_poll_on_unknown_fd_does_nothing)
{
    OPEN_CTX(ctx);
    NotifierData nd = { 0 };
    FdData d;

    fd_data_init(&d, ctx);
    notifier_init(&nd);
    aio_set_fd_poll(ctx, d.fd, fd_poll_begin_cb, fd_poll_end_cb);
    aio_set_event_notifier_poll(ctx, &nd.e, NULL, NULL);
    ck_assert(!aio_poll(ctx, false));
    /* The fd is still unknown: no handler runs when it becomes ready. */
    eventfd_kick(d.fd);
    ck_assert(!aio_poll(ctx, false));
    ck_assert_int_eq(d.begins + d.ends + d.reads, 0);

    close(d.fd);
    event_notifier_cleanup(&nd.e);
    aio_context_unref(ctx);
}
END_TEST
#endif

/* ---- monitors: many fds, epoll upgrade ---------------------------------- */

/* A drained context with the automatic monitor choice and no io_uring. */
static AioContext *open_automatic_ctx_without_io_uring(const char *test)
{
    AioContext *ctx;

    if (!t_hide_io_uring(test)) {
        return NULL;
    }
    t_set_fdmon(NULL);
    ctx = aio_context_new(&error_abort);
    ck_assert_ptr_nonnull(ctx);
    if (!qemu_get_current_aio_context()) {
        qemu_set_current_aio_context(ctx);
    }
    t_drain_ctx(ctx);
    return ctx;
}

static void assert_only_ready_ran(const FdData *fds, const int *expect, int n)
{
    for (int k = 0; k < n; k++) {
        ck_assert_msg(fds[k].reads == expect[k], "handler %d ran %d times, expected %d",
                      k, fds[k].reads, expect[k]);
    }
}

/* The epoll upgrade at 64 fds: grow 60 -> 70 handlers (crossing the 64-fd upgrade) and back,
 * registering on every other step while external clients are disabled; one
 * ready fd is dispatched each time, and an external handler waits. */
enum { GROW_FROM = 60, GROW_TO = 70 };

static void grow_and_shrink_around_64_fds(AioContext *ctx, bool expect_upgrade)
{
    FdData fds[GROW_TO], ext;
    int expect[GROW_TO] = { 0 };
    int ext_expect = 0;
    int n = 0;
    int hi;

    fd_data_init(&ext, ctx);
#if T_API_7_2
    aio_set_fd_handler(ctx, ext.fd, true, fd_read_cb, NULL, NULL, NULL, &ext);
#else
    (void)ext_expect;  /* 10.0: no external handler, nothing disables them */
#endif
    for (; n < GROW_FROM - 1; n++) {
        fd_data_init(&fds[n], ctx);
        t_set_fd_handler(ctx, fds[n].fd, fd_read_cb, NULL, NULL, NULL, &fds[n]);
    }
    t_drain_ctx(ctx);
    hi = n;

    for (int step = 0; step < 2 * (GROW_TO - GROW_FROM + 1); step++) {
        bool growing = step <= GROW_TO - GROW_FROM;
        bool disabled = step % 2 == 1;
        int ready;

#if T_API_7_2
        if (disabled) {
            aio_disable_external(ctx);
            eventfd_kick(ext.fd);
        }
#else
        (void)disabled;
#endif
        if (growing) {
            fd_data_init(&fds[n], ctx);
            t_set_fd_handler(ctx, fds[n].fd, fd_read_cb, NULL, NULL, NULL,
                               &fds[n]);
            n++;
            hi = MAX(hi, n);
        } else {
            n--;
            fd_remove(ctx, fds[n].fd);
            /* Ready but removed: must not run. */
            eventfd_kick(fds[n].fd);
        }
        ready = (step * 37) % n;
        eventfd_kick(fds[ready].fd);
        expect[ready]++;
        ck_assert_msg(aio_poll(ctx, true), "step %d (%d handlers): no progress", step, n);
        assert_only_ready_ran(fds, expect, hi);
#if T_API_7_2
        ck_assert_int_eq(ext.reads, ext_expect);
#endif
        while (aio_poll(ctx, false)) {
        }
        assert_only_ready_ran(fds, expect, hi);

#if T_API_7_2
        if (disabled) {
            ck_assert_msg(ext.reads == ext_expect,
                          "external handler ran while external clients were disabled");
            aio_enable_external(ctx);
            ck_assert(aio_poll(ctx, false));
            ext_expect++;
            ck_assert_int_eq(ext.reads, ext_expect);
        }
#endif
        if (!growing) {
            close(fds[n].fd);
        }
        if (expect_upgrade && n == GROW_TO) {
            ck_assert_msg(strcmp(qaio_aio_context_fd_monitor(ctx), "epoll") == 0,
                          "the context waits with %s after waits with %d fds registered",
                          qaio_aio_context_fd_monitor(ctx), n);
        }
    }

    for (int k = 0; k < n; k++) {
        fd_remove(ctx, fds[k].fd);
        close(fds[k].fd);
    }
    fd_remove(ctx, ext.fd);
    close(ext.fd);
    aio_context_unref(ctx);
}

START_TEST(epoll_upgrade_and_back_keeps_dispatching_while_external_toggles)
{
    OPEN_CTX(ctx);
    grow_and_shrink_around_64_fds(ctx, false);
}
END_TEST

START_TEST(automatic_poll_monitor_upgrades_to_epoll_and_keeps_dispatching)
{
    AioContext *ctx = open_automatic_ctx_without_io_uring(__func__);

    if (ctx) {
        grow_and_shrink_around_64_fds(ctx, true);
    }
}
END_TEST

#if T_API_7_2
static void serve_100_notifiers_with_external_disabled(AioContext *ctx)
{
    enum { N = 100 };
    NotifierData nd[N];

    memset(nd, 0, sizeof(nd));
    for (int k = 0; k < N; k++) {
        notifier_init(&nd[k]);
        t_set_event_notifier(ctx, &nd[k].e, notifier_cb, NULL, NULL);
    }
    /* A wait with more than 64 fds (where a poll monitor may upgrade). */
    t_drain_ctx(ctx);
    event_notifier_set(&nd[0].e);
    ck_assert(aio_poll(ctx, true));
    ck_assert_int_eq(nd[0].n, 1);

    event_notifier_set(&nd[42].e);
    aio_disable_external(ctx);
    ck_assert(aio_poll(ctx, true));
    ck_assert_int_eq(nd[42].n, 1);
    event_notifier_set(&nd[99].e);
    ck_assert(aio_poll(ctx, true));
    ck_assert_int_eq(nd[99].n, 1);
    aio_enable_external(ctx);
    t_drain_ctx(ctx);

    for (int k = 0; k < N; k++) {
        int expect = (k == 0 || k == 42 || k == 99) ? 1 : 0;

        ck_assert_msg(nd[k].n == expect, "notifier %d ran %d times", k, nd[k].n);
        t_set_event_notifier(ctx, &nd[k].e, NULL, NULL, NULL);
        event_notifier_cleanup(&nd[k].e);
    }
    aio_context_unref(ctx);
}

START_TEST(non_external_handlers_are_served_while_external_clients_are_disabled)
{
    OPEN_CTX(ctx);
    serve_100_notifiers_with_external_disabled(ctx);
}
END_TEST

/* The same after the automatic poll monitor has moved to epoll: the case
 * QEMU's /fdmon-epoll/external-disabled was written for. */
START_TEST(upgraded_epoll_monitor_serves_non_external_handlers_while_external_disabled)
{
    AioContext *ctx = open_automatic_ctx_without_io_uring(__func__);

    if (ctx) {
        serve_100_notifiers_with_external_disabled(ctx);
    }
}
END_TEST
#endif

START_TEST(many_fds_one_ready_dispatches_only_that_one)
{
    enum { N = T_MANY_FDS };
    FdData *fds;
    int *expect;
    static const int pick[] = { 777, 0, 999, 500, 64, 63, 128 };

    OPEN_CTX(ctx);
    fds = g_new0(FdData, N);
    expect = g_new0(int, N);
    for (int k = 0; k < N; k++) {
        fd_data_init(&fds[k], ctx);
        t_set_fd_handler(ctx, fds[k].fd, fd_read_cb, NULL, NULL, NULL, &fds[k]);
    }
    t_drain_ctx(ctx);

    for (size_t r = 0; r < G_N_ELEMENTS(pick); r++) {
        eventfd_kick(fds[pick[r]].fd);
        expect[pick[r]]++;
        ck_assert_msg(aio_poll(ctx, true), "round %zu: no progress", r);
        while (aio_poll(ctx, false)) {
        }
        assert_only_ready_ran(fds, expect, N);
    }

    for (int k = 0; k < N; k++) {
        fd_remove(ctx, fds[k].fd);
    }
    t_drain_ctx(ctx);
    for (int k = 0; k < N; k++) {
        close(fds[k].fd);
    }
    g_free(fds);
    g_free(expect);
    aio_context_unref(ctx);
}
END_TEST

/* ---- registration changes from other threads (issue 9) ------------------ */

/*
 * Two threads add, replace, re-hook and remove handlers of their own
 * eventfds (kept ready) while the home thread polls without the context
 * lock, as a QEMU 7.2 IOThread runs.  Checked by the thread sanitizer build
 * (any race report fails the test); here it must only end with every
 * handler removed and the loop serving a last handler.
 */
enum { CHURN_THREADS = 2, CHURN_ROUNDS = 3000 };

typedef struct {
    AioContext *ctx;
    int fd;
    int *done;
} Churner;

static int churn_calls;

static void churn_read_cb(void *opaque)
{
    Churner *c = opaque;
    uint64_t v;

    __atomic_fetch_add(&churn_calls, 1, __ATOMIC_RELAXED);
    if (read(c->fd, &v, sizeof(v)) == (ssize_t)sizeof(v)) {
        eventfd_kick(c->fd);  /* stay ready, so every wait sees it */
    }
}

static bool churn_poll_cb(void *opaque)
{
    return false;
}

static void churn_hook_cb(void *opaque)
{
}

static void *churn_thread(void *opaque)
{
    Churner *c = opaque;

    for (int r = 0; r < CHURN_ROUNDS; r++) {
#if T_API_7_2
        aio_set_fd_handler(c->ctx, c->fd, r % 3 == 0, churn_read_cb, NULL,
                           r % 2 ? churn_poll_cb : NULL, churn_hook_cb, c);
        aio_set_fd_poll(c->ctx, c->fd, churn_hook_cb, churn_hook_cb);
#else
        t_set_fd_handler(c->ctx, c->fd, churn_read_cb, NULL,
                         r % 2 ? churn_poll_cb : NULL, churn_hook_cb, c);
#endif
        if (r % 5 == 0) {
            /* A replacement: the old node is retired like a removed one. */
            t_set_fd_handler(c->ctx, c->fd, churn_read_cb, NULL, churn_poll_cb,
                               churn_hook_cb, c);
        }
#if T_API_7_2
        if (r % 7 == 0) {
            aio_disable_external(c->ctx);
            aio_enable_external(c->ctx);
        }
#endif
        t_set_fd_handler(c->ctx, c->fd, NULL, NULL, NULL, NULL, NULL);
    }
    __atomic_fetch_add(c->done, 1, __ATOMIC_RELEASE);
    aio_notify(c->ctx);
    return NULL;
}

/* Runs the churners while the home thread drives the context with aio_poll,
 * or with glib through its GSource; then serves one last handler. */
static void churn_while_polling(AioContext *ctx, bool under_glib)
{
    Churner c[CHURN_THREADS];
    pthread_t th[CHURN_THREADS];
    GMainContext *mc = NULL;
    GSource *src = NULL;
    FdData last;
    int done = 0;

    aio_context_set_poll_params(ctx, 20000, 0, 0, &error_abort);
    if (under_glib) {
        mc = g_main_context_new();
        src = aio_get_g_source(ctx);
        g_source_attach(src, mc);
    }
    for (int k = 0; k < CHURN_THREADS; k++) {
        c[k] = (Churner){ .ctx = ctx, .fd = t_eventfd(), .done = &done };
        eventfd_kick(c[k].fd);
        ck_assert_int_eq(pthread_create(&th[k], NULL, churn_thread, &c[k]), 0);
    }
    while (__atomic_load_n(&done, __ATOMIC_ACQUIRE) < CHURN_THREADS) {
        if (mc) {
            g_main_context_iteration(mc, true);
        } else {
            aio_poll(ctx, true);
        }
    }
    for (int k = 0; k < CHURN_THREADS; k++) {
        ck_assert_int_eq(pthread_join(th[k], NULL), 0);
        close(c[k].fd);
    }
    t_drain_ctx(ctx);

    fd_data_init(&last, ctx);
    t_set_fd_handler(ctx, last.fd, fd_read_cb, NULL, NULL, NULL, &last);
    eventfd_kick(last.fd);
    ck_assert(aio_poll(ctx, true));
    ck_assert_int_eq(last.reads, 1);
    fd_remove(ctx, last.fd);
    close(last.fd);
    if (mc) {
        g_source_destroy(src);
        g_source_unref(src);
        g_main_context_unref(mc);
    }
    aio_context_unref(ctx);
}

START_TEST(handlers_changed_by_other_threads_while_home_thread_polls)
{
    OPEN_CTX(ctx);
    churn_while_polling(ctx, false);
}
END_TEST

START_TEST(handlers_changed_by_other_threads_while_glib_drives_the_context)
{
    OPEN_CTX(ctx);
    churn_while_polling(ctx, true);
}
END_TEST

/* ---- a forced monitor the kernel refuses (issue 9) ----------------------- */

/* Two contexts, so that a message printed per context would show twice. */
static void create_two_contexts(void)
{
    AioContext *a = aio_context_new(&error_abort);
    AioContext *b = aio_context_new(&error_abort);

    aio_context_unref(a);
    aio_context_unref(b);
}

static int occurrences(const char *text, const char *word)
{
    int n = 0;

    for (const char *p = strstr(text, word); p; p = strstr(p + 1, word)) {
        n++;
    }
    return n;
}

/*
 * With QAIO_FDMON forcing `name` and its set-up system calls hidden, the
 * contexts fall back to poll(2), say so once on stderr for the process, and
 * count the fallback and name the monitor not honoured in their QAIO_STATS
 * line.
 */
static void forced_monitor_refused(const char *name, const long *hidden, int n,
                                   const char *test)
{
    char out[8192], said[64];
    int status;

    if (!t_hide_syscalls(test, hidden, n)) {
        return;
    }
    t_set_fdmon(name);
    setenv("QAIO_STATS", "1", 1);
    status = t_run_in_child(create_two_contexts, out, sizeof(out));
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "status 0x%x; stderr: '%s'", status, out);
    snprintf(said, sizeof(said), "QAIO_FDMON=%s, but %s cannot be set up", name, name);
    ck_assert_msg(occurrences(out, said) == 1, "'%s' not said exactly once: '%s'",
                  said, out);
    ck_assert_msg(occurrences(out, "fdmon=poll ") == 2 &&
                  occurrences(out, "fdmon_fallbacks=1 ") == 2,
                  "stats do not count the fallback of both contexts: '%s'", out);
    snprintf(said, sizeof(said), "fdmon_forced_unavailable=%s\n", name);
    ck_assert_msg(occurrences(out, said) == 2,
                  "stats do not say that QAIO_FDMON=%s was not honoured: '%s'", name, out);
}

START_TEST(forced_io_uring_that_cannot_be_set_up_says_so_once_and_counts_it)
{
#ifdef __NR_io_uring_setup
    const long hidden[] = { __NR_io_uring_setup };

    forced_monitor_refused("io_uring", hidden, 1, __func__);
#endif
}
END_TEST

START_TEST(forced_epoll_that_cannot_be_set_up_says_so_once_and_counts_it)
{
#ifdef __NR_epoll_create
    const long hidden[] = { __NR_epoll_create1, __NR_epoll_create };
#else
    const long hidden[] = { __NR_epoll_create1 };
#endif

    forced_monitor_refused("epoll", hidden, (int)(sizeof(hidden) / sizeof(hidden[0])),
                           __func__);
}
END_TEST

/* ---- idle polls and readiness ------------------------------------------- */

typedef struct {
    int fd;
    int runs;
    bool drain;             /* false: the fd stays readable (level-triggered) */
} ReadCount;

static void read_count_cb(void *opaque)
{
    ReadCount *r = opaque;

    r->runs++;
    if (r->drain) {
        eventfd_drain(r->fd);
    }
}

static void *kick_thread(void *opaque)
{
    eventfd_kick(*(int *)opaque);
    return NULL;
}

/*
 * A monitor may answer an idle non-blocking aio_poll without asking the
 * kernel (io_uring peeks its ring; epoll listens to a doorbell).  An fd made
 * ready after such polls, by this thread or another, is seen by the next
 * one, and an fd that stays ready is dispatched at every one.
 */
static void idle_polls_then_readiness(AioContext *ctx)
{
    ReadCount r = { .fd = t_eventfd(), .drain = true };
    pthread_t th;

    t_set_fd_handler(ctx, r.fd, read_count_cb, NULL, NULL, NULL, &r);
    t_drain_ctx(ctx);
    for (int k = 0; k < 3; k++) {
        ck_assert(!aio_poll(ctx, false));
    }
    ck_assert_int_eq(pthread_create(&th, NULL, kick_thread, &r.fd), 0);
    pthread_join(th, NULL);
    ck_assert(aio_poll(ctx, false));
    ck_assert_int_eq(r.runs, 1);

    ck_assert(!aio_poll(ctx, false));
    eventfd_kick(r.fd);
    ck_assert(aio_poll(ctx, false));
    ck_assert_int_eq(r.runs, 2);

    r.drain = false;
    ck_assert(!aio_poll(ctx, false));
    eventfd_kick(r.fd);
    for (int k = 1; k <= 3; k++) {
        ck_assert(aio_poll(ctx, false));
        ck_assert_int_eq(r.runs, 2 + k);
    }
    t_set_fd_handler(ctx, r.fd, NULL, NULL, NULL, NULL, NULL);
    t_drain_ctx(ctx);
    close(r.fd);
}

START_TEST(nonblocking_poll_after_idle_ones_sees_an_fd_readied_since)
{
    OPEN_CTX(ctx);
    idle_polls_then_readiness(ctx);
    aio_context_unref(ctx);
}
END_TEST

static void *notify_thread(void *opaque)
{
    aio_notify(opaque);
    return NULL;
}

/*
 * Blocking waits that another thread's aio_notify ends leave epoll's
 * doorbell rung and undrained; idle polls after them still see an fd
 * readied since.
 */
START_TEST(nonblocking_poll_after_notified_blocking_ones_sees_an_fd_readied_since)
{
    OPEN_CTX(ctx);
    for (int k = 0; k < 3; k++) {
        pthread_t th;

        ck_assert_int_eq(pthread_create(&th, NULL, notify_thread, ctx), 0);
        aio_poll(ctx, true);    /* returns once notified, before or in its wait */
        pthread_join(th, NULL);
    }
    idle_polls_then_readiness(ctx);
    aio_context_unref(ctx);
}
END_TEST

START_TEST(automatic_monitor_sees_an_fd_readied_after_idle_polls)
{
    AioContext *ctx;

    t_set_fdmon(NULL);
    ctx = aio_context_new(&error_abort);
    idle_polls_then_readiness(ctx);
    aio_context_unref(ctx);
}
END_TEST

/*
 * The automatic choice, by measured cost: epoll for a context driven by
 * aio_poll; once glib drives it, poll(2) while it watches fewer than 8 fds
 * (glib then polls the fds themselves), then io_uring (glib's poll stays
 * the only system call of an iteration), or epoll from 64 fds where the
 * kernel refuses io_uring.
 */
static const char *many_fds_monitor_under_glib(void)
{
    return t_io_uring_available() ? "io_uring" : "epoll";
}

static void add_fds(AioContext *ctx, int *fds, int from, int to)
{
    for (int k = from; k < to; k++) {
        fds[k] = t_eventfd();
        t_set_fd_handler(ctx, fds[k], read_count_cb, NULL, NULL, NULL, NULL);
    }
}

static void remove_fds(AioContext *ctx, int *fds, int n)
{
    for (int k = 0; k < n; k++) {
        t_set_fd_handler(ctx, fds[k], NULL, NULL, NULL, NULL, NULL);
        close(fds[k]);
    }
}

START_TEST(automatic_monitor_is_epoll_then_poll_under_glib_until_it_grows)
{
    int fds[70];
    AioContext *ctx;
    GSource *src;

    t_set_fdmon(NULL);
    ctx = aio_context_new(&error_abort);
    ck_assert_str_eq(qaio_aio_context_fd_monitor(ctx), "epoll");
    src = aio_get_g_source(ctx);
    ck_assert_str_eq(qaio_aio_context_fd_monitor(ctx), "poll");
    add_fds(ctx, fds, 0, 6);            /* 7 with the context's notifier */
    aio_poll(ctx, false);
    ck_assert_str_eq(qaio_aio_context_fd_monitor(ctx), "poll");
    add_fds(ctx, fds, 6, 70);
    aio_poll(ctx, false);
    ck_assert_str_eq(qaio_aio_context_fd_monitor(ctx), many_fds_monitor_under_glib());
    remove_fds(ctx, fds, 70);
    g_source_unref(src);
    aio_context_unref(ctx);
}
END_TEST

START_TEST(automatic_monitor_of_a_context_handed_to_glib_with_many_fds)
{
    int fds[70];
    AioContext *ctx;
    GSource *src;

    t_set_fdmon(NULL);
    ctx = aio_context_new(&error_abort);
    add_fds(ctx, fds, 0, 70);
    aio_poll(ctx, false);
    ck_assert_str_eq(qaio_aio_context_fd_monitor(ctx), "epoll");
    src = aio_get_g_source(ctx);
    ck_assert_str_eq(qaio_aio_context_fd_monitor(ctx), many_fds_monitor_under_glib());
    remove_fds(ctx, fds, 70);
    g_source_unref(src);
    aio_context_unref(ctx);
}
END_TEST

static Suite *fd_handler_suite(void)
{
    Suite *s = suite_create("fd_handler");
    TCase *tc;

    tc = tcase_create("idle");
    tcase_add_loop_test(tc, nonblocking_poll_after_idle_ones_sees_an_fd_readied_since, t_fdmon_lo(),
                        t_fdmon_hi());
    tcase_add_loop_test(tc, nonblocking_poll_after_notified_blocking_ones_sees_an_fd_readied_since,
                        t_fdmon_lo(), t_fdmon_hi());
    if (t_fdmon_free_tests_run_here()) {
        tcase_add_test(tc, automatic_monitor_sees_an_fd_readied_after_idle_polls);
        tcase_add_test(tc, automatic_monitor_is_epoll_then_poll_under_glib_until_it_grows);
        tcase_add_test(tc, automatic_monitor_of_a_context_handed_to_glib_with_many_fds);
    }
    suite_add_tcase(s, tc);

    tc = tcase_create("event_notifier");
    tcase_add_loop_test(tc, event_notifier_added_and_removed_without_set_calls_no_handler,
                        t_fdmon_lo(), t_fdmon_hi());
    tcase_add_loop_test(tc, event_notifier_set_runs_its_handler_once, t_fdmon_lo(), t_fdmon_hi());
    tcase_add_loop_test(tc, event_notifier_reset_by_its_handler_runs_once_per_aio_poll,
                        t_fdmon_lo(), t_fdmon_hi());
    tcase_add_loop_test(tc, set_notifier_makes_blocking_poll_return_and_runs_only_its_handler,
                        t_fdmon_lo(), t_fdmon_hi());
#if T_API_7_2
    tcase_add_loop_test(tc, external_notifier_waits_while_external_clients_are_disabled,
                        t_fdmon_lo(), t_fdmon_hi());
#endif
#if T_API_7_2
    tcase_add_loop_test(tc, external_handler_does_not_run_once_disabled_mid_pass,
                        t_fdmon_lo(), t_fdmon_hi());
#endif
    tcase_add_loop_test(tc, handler_with_null_callbacks_is_removed, t_fdmon_lo(), t_fdmon_hi());
    suite_add_tcase(s, tc);

    tc = tcase_create("acquire");
    tcase_add_loop_test(tc, aio_poll_right_after_registration_is_not_progress,
                        t_fdmon_lo(), t_fdmon_hi());
#if T_API_7_2
    tcase_add_loop_test(tc, poller_holding_the_context_keeps_it_while_woken_by_another_thread,
                        t_fdmon_lo(), t_fdmon_hi());
#endif
    suite_add_tcase(s, tc);

    tc = tcase_create("fd");
    tcase_add_loop_test(tc, level_triggered_handler_reading_part_of_data_is_called_again,
                        t_fdmon_lo(), t_fdmon_hi());
    tcase_add_loop_test(tc, read_handler_runs_on_hangup, t_fdmon_lo(), t_fdmon_hi());
    tcase_add_loop_test(tc, write_handler_runs_while_fd_is_writable, t_fdmon_lo(), t_fdmon_hi());
    tcase_add_loop_test(tc, handler_removed_from_its_own_callback_is_not_called_again,
                        t_fdmon_lo(), t_fdmon_hi());
    tcase_add_loop_test(tc, fd_found_ready_by_outer_pass_runs_in_nested_aio_poll,
                        t_fdmon_lo(), t_fdmon_hi());
    tcase_add_loop_test(tc, fd_found_ready_by_glib_check_runs_in_nested_aio_poll,
                        t_fdmon_lo(), t_fdmon_hi());
    tcase_add_loop_test(tc, handler_added_from_callback_runs_later, t_fdmon_lo(), t_fdmon_hi());
    tcase_add_loop_test(tc, registering_an_fd_again_replaces_its_callbacks,
                        t_fdmon_lo(), t_fdmon_hi());
    tcase_add_loop_test(tc, removing_unregistered_fd_is_noop, t_fdmon_lo(), t_fdmon_hi());
    tcase_add_loop_test(tc, set_fd_handler_on_closed_fd_does_not_crash, t_fdmon_lo(), t_fdmon_hi());
    suite_add_tcase(s, tc);

    tc = tcase_create("polling");
    tcase_add_loop_test(tc, io_poll_without_io_poll_ready_is_ignored, t_fdmon_lo(), t_fdmon_hi());
    tcase_add_loop_test(tc, io_poll_is_never_called_when_polling_is_off,
                        t_fdmon_lo(), t_fdmon_hi());
    if (getenv("QAIO_POLL_MAX_NS")) {
        printf("SKIP polling_is_off_by_default: QAIO_POLL_MAX_NS changes the default\n");
    } else {
        tcase_add_loop_test(tc, polling_is_off_by_default, t_fdmon_lo(), t_fdmon_hi());
    }
    tcase_add_loop_test(tc, io_poll_hit_calls_io_poll_ready_not_io_read,
                        t_fdmon_lo(), t_fdmon_hi());
    tcase_add_loop_test(tc, polling_handler_always_ready_does_not_starve_fd_handlers,
                        t_fdmon_lo(), t_fdmon_hi());
    tcase_add_loop_test(tc, busy_polling_does_not_delay_a_timer, t_fdmon_lo(), t_fdmon_hi());
    tcase_add_loop_test(tc, handler_idle_for_7s_leaves_busy_polling_under_io_uring,
                        t_fdmon_lo(), t_fdmon_hi());
#if T_API_7_2
    tcase_add_loop_test(tc, aio_set_fd_poll_on_unknown_fd_does_nothing, t_fdmon_lo(), t_fdmon_hi());
#endif
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);

    tc = tcase_create("threads");
    tcase_add_loop_test(tc, handlers_changed_by_other_threads_while_home_thread_polls, t_fdmon_lo(),
                        t_fdmon_hi());
    tcase_add_loop_test(tc, handlers_changed_by_other_threads_while_glib_drives_the_context,
                        t_fdmon_lo(), t_fdmon_hi());
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);

    tc = tcase_create("monitor");
    tcase_add_loop_test(tc, epoll_upgrade_and_back_keeps_dispatching_while_external_toggles,
                        t_fdmon_lo(), t_fdmon_hi());
#if T_API_7_2
    tcase_add_loop_test(tc, non_external_handlers_are_served_while_external_clients_are_disabled,
                        t_fdmon_lo(), t_fdmon_hi());
#endif
    if (t_ensure_fd_limit(T_MANY_FDS + 200)) {
        tcase_add_loop_test(tc, many_fds_one_ready_dispatches_only_that_one, t_fdmon_lo(),
                            t_fdmon_hi());
    } else {
        printf("SKIP many_fds_one_ready_dispatches_only_that_one: cannot open %d fds\n",
               T_MANY_FDS);
    }
    if (t_fdmon_free_tests_run_here()) {
        tcase_add_test(tc, automatic_poll_monitor_upgrades_to_epoll_and_keeps_dispatching);
#if T_API_7_2
        tcase_add_test(tc,
                       upgraded_epoll_monitor_serves_non_external_handlers_while_external_disabled);
#endif
        tcase_add_test(tc, forced_io_uring_that_cannot_be_set_up_says_so_once_and_counts_it);
        tcase_add_test(tc, forced_epoll_that_cannot_be_set_up_says_so_once_and_counts_it);
    }
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);

    return s;
}

int main(void)
{
    return t_run_suite(fd_handler_suite());
}
