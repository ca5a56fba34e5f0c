/* SPDX-License-Identifier: MIT */
/*
 * Suite "notify": a cross-thread wake-up and its answer.  Two threads (the
 * same two for every subject) each own a loop.  qaio: the pinging thread
 * bumps a sequence number and calls aio_notify() on the other thread's
 * context, whose thread is blocked in aio_poll(ctx, true); that thread sees
 * the number, publishes it back and calls aio_notify() on the pinging
 * context, blocked in its own aio_poll(ctx, true) meanwhile.  The sequence
 * numbers make the protocol immune to spurious returns; a lost wake-up hangs
 * it, which the watchdog reports.  "bare" is the floor any loop pays: the
 * same two threads each blocking in read() on their own eventfd and writing
 * the other's, with no loop at all.  libuv does the same ping-pong with
 * uv_async_send() between two loops.  One operation is one round trip.
 * Target: qaio at most 1.1x bare.  On a loaded machine the scheduler, not
 * the loop, sets most of a round trip's cost, so bare is measured twice,
 * interleaved with the others: its ratio to itself ("bare again") is the
 * noise that qaio's ratio must be read against.
 */
#include "config.h"

#include "bench.h"

#include <stdatomic.h>
#include <sys/eventfd.h>

#ifdef QAIO_HAVE_LIBUV
#include <uv.h>
#endif

typedef struct notify_state {
    bench_worker *ping;     /* measures, runs the client side */
    bench_worker *pong;     /* runs the server side */
    uint64_t iters;         /* round trips in the current batch */

    /* qaio */
    AioContext *ctx_ping, *ctx_pong;
    char why[160];
    _Atomic uint64_t seq, ack;

    /* bare eventfds: each thread blocks reading its own */
    int efd_ping, efd_pong;

#ifdef QAIO_HAVE_LIBUV
    uv_loop_t loop_ping, loop_pong;
    uv_async_t async_ping, async_pong;
    uint64_t uv_ping_n, uv_pong_n;
#endif
} notify_state;

/* ---- qaio --------------------------------------------------------------- */

static void notify_qaio_server(void *opaque)
{
    notify_state *s = opaque;

    for (uint64_t i = 1; i <= s->iters; i++) {
        while (atomic_load_explicit(&s->seq, memory_order_acquire) < i) {
            aio_poll(s->ctx_pong, true);
        }
        atomic_store_explicit(&s->ack, i, memory_order_release);
        aio_notify(s->ctx_ping);
    }
}

static void notify_qaio_body(void *opaque, uint64_t iters)
{
    notify_state *s = opaque;

    atomic_store(&s->seq, 0);
    atomic_store(&s->ack, 0);
    s->iters = iters;
    bench_worker_post(s->pong, notify_qaio_server, s);
    for (uint64_t i = 1; i <= iters; i++) {
        atomic_store_explicit(&s->seq, i, memory_order_release);
        aio_notify(s->ctx_pong);
        while (atomic_load_explicit(&s->ack, memory_order_acquire) < i) {
            aio_poll(s->ctx_ping, true);
        }
    }
    bench_worker_wait(s->pong);
}

/* ---- bare eventfd ping-pong --------------------------------------------- */

static void notify_efd_read(int fd)
{
    uint64_t v;

    while (read(fd, &v, sizeof(v)) != sizeof(v)) {
        if (errno != EINTR) {
            fprintf(stderr, "qaio-bench: eventfd read: %s\n", strerror(errno));
            exit(2);
        }
    }
}

static void notify_efd_write(int fd)
{
    uint64_t v = 1;

    while (write(fd, &v, sizeof(v)) != sizeof(v)) {
        if (errno != EINTR) {
            fprintf(stderr, "qaio-bench: eventfd write: %s\n", strerror(errno));
            exit(2);
        }
    }
}

static void notify_bare_server(void *opaque)
{
    notify_state *s = opaque;

    for (uint64_t i = 0; i < s->iters; i++) {
        notify_efd_read(s->efd_pong);
        notify_efd_write(s->efd_ping);
    }
}

static void notify_bare_body(void *opaque, uint64_t iters)
{
    notify_state *s = opaque;

    s->iters = iters;
    bench_worker_post(s->pong, notify_bare_server, s);
    for (uint64_t i = 0; i < iters; i++) {
        notify_efd_write(s->efd_pong);
        notify_efd_read(s->efd_ping);
    }
    bench_worker_wait(s->pong);
}

/* ---- libuv -------------------------------------------------------------- */

#ifdef QAIO_HAVE_LIBUV
static void notify_uv_pong_cb(uv_async_t *a)
{
    notify_state *s = a->data;

    uv_async_send(&s->async_ping);
    if (++s->uv_pong_n == s->iters) {
        uv_stop(&s->loop_pong);
    }
}

static void notify_uv_ping_cb(uv_async_t *a)
{
    notify_state *s = a->data;

    if (++s->uv_ping_n == s->iters) {
        uv_stop(&s->loop_ping);
    } else {
        uv_async_send(&s->async_pong);
    }
}

static void notify_uv_server(void *opaque)
{
    notify_state *s = opaque;

    uv_run(&s->loop_pong, UV_RUN_DEFAULT);
}

static void notify_uv_body(void *opaque, uint64_t iters)
{
    notify_state *s = opaque;

    s->iters = iters;
    s->uv_ping_n = s->uv_pong_n = 0;
    bench_worker_post(s->pong, notify_uv_server, s);
    uv_async_send(&s->async_pong);
    uv_run(&s->loop_ping, UV_RUN_DEFAULT);
    bench_worker_wait(s->pong);
}
#endif

/* ---- set-up on each thread ---------------------------------------------- */

static void notify_setup_ping(void *opaque)
{
    notify_state *s = opaque;

    s->ctx_ping = bench_context_new(NULL, s->why, sizeof(s->why));
    if (s->ctx_ping) {
        qemu_set_current_aio_context(s->ctx_ping);
    }
#ifdef QAIO_HAVE_LIBUV
    uv_loop_init(&s->loop_ping);
    uv_async_init(&s->loop_ping, &s->async_ping, notify_uv_ping_cb);
    s->async_ping.data = s;
#endif
}

static void notify_setup_pong(void *opaque)
{
    notify_state *s = opaque;

    s->ctx_pong = bench_context_new(NULL, s->why, sizeof(s->why));
    if (s->ctx_pong) {
        qemu_set_current_aio_context(s->ctx_pong);
    }
#ifdef QAIO_HAVE_LIBUV
    uv_loop_init(&s->loop_pong);
    uv_async_init(&s->loop_pong, &s->async_pong, notify_uv_pong_cb);
    s->async_pong.data = s;
#endif
}

static void notify_teardown_ping(void *opaque)
{
    notify_state *s = opaque;

    if (s->ctx_ping) {
        aio_context_unref(s->ctx_ping);
    }
#ifdef QAIO_HAVE_LIBUV
    uv_close((uv_handle_t *)&s->async_ping, NULL);
    uv_run(&s->loop_ping, UV_RUN_DEFAULT);
    uv_loop_close(&s->loop_ping);
#endif
}

static void notify_teardown_pong(void *opaque)
{
    notify_state *s = opaque;

    if (s->ctx_pong) {
        aio_context_unref(s->ctx_pong);
    }
#ifdef QAIO_HAVE_LIBUV
    uv_close((uv_handle_t *)&s->async_pong, NULL);
    uv_run(&s->loop_pong, UV_RUN_DEFAULT);
    uv_loop_close(&s->loop_pong);
#endif
}

static void notify_run(void)
{
    notify_state *s = g_new0(notify_state, 1);
    bench_case cases[4];
    int n = 0, iq = -1, ib, ib2, iu = -1;

    s->ping = bench_worker_start("bench-ping");
    s->pong = bench_worker_start("bench-pong");
    s->efd_ping = eventfd(0, EFD_CLOEXEC);
    s->efd_pong = eventfd(0, EFD_CLOEXEC);
    if (s->efd_ping < 0 || s->efd_pong < 0) {
        fprintf(stderr, "qaio-bench: eventfd: %s\n", strerror(errno));
        exit(2);
    }
    bench_alive("[notify] set-up");
    bench_worker_call(s->ping, notify_setup_ping, s);
    bench_worker_call(s->pong, notify_setup_pong, s);

    if (s->ctx_ping && s->ctx_pong) {
        iq = n;
        cases[n++] = BENCH_CASE("qaio", notify_qaio_body, s, s->ping);
    } else {
        bench_note("notify", "qaio not measured: %s", s->why);
    }
    ib = n;
    cases[n++] = BENCH_CASE("bare", notify_bare_body, s, s->ping);
    ib2 = n;
    cases[n++] = BENCH_CASE("bare again", notify_bare_body, s, s->ping);
#ifdef QAIO_HAVE_LIBUV
    iu = n;
    cases[n++] = BENCH_CASE("libuv", notify_uv_body, s, s->ping);
#endif

    bench_measure(cases, n, "notify", "round trip", 1, 1);

    bench_stats none = { .median_ns = -1 };
    const bench_stats *q = iq >= 0 ? &cases[iq].stats : &none;
    if (iq >= 0) {
        bench_record("notify", "round trip", "qaio", &cases[iq].stats);
    }
    {
        bench_result *r = bench_record("notify", "round trip", "bare",
                                       &cases[ib].stats);
        double ratio = bench_paired_ratio(q, &cases[ib].stats);
        bench_add_ratio(r, "qaio/bare", ratio);
        bench_set_target(r, "≤1.1x bare", 1.1, ratio);
    }
    {
        bench_result *r = bench_record("notify", "round trip", "bare2",
                                       &cases[ib2].stats);
        bench_add_ratio(r, "bare2/bare",
                        bench_paired_ratio(&cases[ib2].stats, &cases[ib].stats));
        bench_result_note(r, "the same ping-pong again: its spread is the "
                          "machine's; bare's rounds ran %.0f-%.0f ns",
                          cases[ib].stats.min_ns, cases[ib].stats.max_ns);
    }
#ifdef QAIO_HAVE_LIBUV
    {
        bench_result *r = bench_record("notify", "round trip", "libuv",
                                       &cases[iu].stats);
        bench_add_ratio(r, "qaio/libuv",
                        bench_paired_ratio(q, &cases[iu].stats));
    }
#else
    (void)iu;
#endif

    bench_alive("[notify] tear-down");
    bench_worker_call(s->ping, notify_teardown_ping, s);
    bench_worker_call(s->pong, notify_teardown_pong, s);
    bench_worker_stop(s->ping);
    bench_worker_stop(s->pong);
    close(s->efd_ping);
    close(s->efd_pong);
    g_free(s);
}

const bench_suite bench_suite_notify = {
    .name = "notify",
    .summary = "aio_notify round trip, two threads blocked in aio_poll",
    .run = notify_run,
};
