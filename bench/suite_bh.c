/* SPDX-License-Identifier: MIT */
/*
 * Suite "bh": the cost of deferring one callback to the loop and running it,
 * on one thread.  qaio: qemu_bh_schedule() of one BH, then aio_poll(ctx,
 * false), which must run it.  The peers do the nearest thing they offer:
 * libevent re-activates one event with event_active() and runs
 * event_base_loop(EVLOOP_NONBLOCK | EVLOOP_ONCE); libuv keeps one uv_idle
 * handle started, so each uv_run(UV_RUN_NOWAIT) calls it once; glib keeps an
 * idle source that returns TRUE, one g_main_context_iteration(FALSE) per
 * operation.  All four live on one worker thread and are measured with
 * interleaved repeats.  Target: qaio at or below libevent's cost.
 */
#include "config.h"

#include "bench.h"

#ifdef QAIO_HAVE_LIBEVENT
#include <event2/event.h>
#endif
#ifdef QAIO_HAVE_LIBUV
#include <uv.h>
#endif

typedef struct bh_state {
    char why[160];
    /* qaio */
    AioContext *ctx;
    QEMUBH *bh;
    uint64_t qaio_runs, qaio_ops;
#ifdef QAIO_HAVE_LIBEVENT
    struct event_base *base;
    struct event *ev;
    uint64_t ev_runs, ev_ops;
#endif
#ifdef QAIO_HAVE_LIBUV
    uv_loop_t loop;
    uv_idle_t idle;
    uint64_t uv_runs, uv_ops;
#endif
    GMainContext *mc;
    GSource *idle_src;
    uint64_t glib_runs, glib_ops;
} bh_state;

static void bh_qaio_cb(void *opaque)
{
    bh_state *s = opaque;

    s->qaio_runs++;
}

static void bh_qaio_body(void *opaque, uint64_t iters)
{
    bh_state *s = opaque;

    for (uint64_t i = 0; i < iters; i++) {
        qemu_bh_schedule(s->bh);
        aio_poll(s->ctx, false);
    }
    s->qaio_ops += iters;
}

#ifdef QAIO_HAVE_LIBEVENT
static void bh_event_cb(evutil_socket_t fd, short what, void *opaque)
{
    bh_state *s = opaque;

    s->ev_runs++;
}

static void bh_event_body(void *opaque, uint64_t iters)
{
    bh_state *s = opaque;

    for (uint64_t i = 0; i < iters; i++) {
        event_active(s->ev, EV_READ, 0);
        event_base_loop(s->base, EVLOOP_NONBLOCK | EVLOOP_ONCE);
    }
    s->ev_ops += iters;
}
#endif

#ifdef QAIO_HAVE_LIBUV
static void bh_uv_cb(uv_idle_t *idle)
{
    bh_state *s = idle->data;

    s->uv_runs++;
}

static void bh_uv_body(void *opaque, uint64_t iters)
{
    bh_state *s = opaque;

    for (uint64_t i = 0; i < iters; i++) {
        uv_run(&s->loop, UV_RUN_NOWAIT);
    }
    s->uv_ops += iters;
}
#endif

static gboolean bh_glib_cb(gpointer opaque)
{
    bh_state *s = opaque;

    s->glib_runs++;
    return G_SOURCE_CONTINUE;
}

static void bh_glib_body(void *opaque, uint64_t iters)
{
    bh_state *s = opaque;

    for (uint64_t i = 0; i < iters; i++) {
        g_main_context_iteration(s->mc, FALSE);
    }
    s->glib_ops += iters;
}

static void bh_setup(void *opaque)
{
    bh_state *s = opaque;

    s->ctx = bench_context_new(NULL, s->why, sizeof(s->why));
    if (s->ctx) {
        qemu_set_current_aio_context(s->ctx);
        s->bh = aio_bh_new(s->ctx, bh_qaio_cb, s);
    }
#ifdef QAIO_HAVE_LIBEVENT
    s->base = event_base_new();
    s->ev = event_new(s->base, -1, 0, bh_event_cb, s);
#endif
#ifdef QAIO_HAVE_LIBUV
    uv_loop_init(&s->loop);
    uv_idle_init(&s->loop, &s->idle);
    s->idle.data = s;
    uv_idle_start(&s->idle, bh_uv_cb);
#endif
    s->mc = g_main_context_new();
    s->idle_src = g_idle_source_new();
    g_source_set_callback(s->idle_src, bh_glib_cb, s, NULL);
    g_source_attach(s->idle_src, s->mc);
}

static void bh_teardown(void *opaque)
{
    bh_state *s = opaque;

    if (s->ctx) {
        qemu_bh_delete(s->bh);
        aio_poll(s->ctx, false);
        aio_context_unref(s->ctx);
    }
#ifdef QAIO_HAVE_LIBEVENT
    event_free(s->ev);
    event_base_free(s->base);
#endif
#ifdef QAIO_HAVE_LIBUV
    uv_close((uv_handle_t *)&s->idle, NULL);
    uv_run(&s->loop, UV_RUN_DEFAULT);
    uv_loop_close(&s->loop);
#endif
    g_source_destroy(s->idle_src);
    g_source_unref(s->idle_src);
    g_main_context_unref(s->mc);
}

/* Each operation must have run its callback exactly once. */
static void bh_check(bench_result *r, uint64_t runs, uint64_t ops)
{
    if (runs != ops) {
        bench_result_note(r, "%" PRIu64 " callbacks for %" PRIu64
                          " operations", runs, ops);
    }
}

static void bh_run(void)
{
    bh_state *s = g_new0(bh_state, 1);
    bench_worker *w = bench_worker_start("bench-bh");
    bench_case cases[4];
    int n = 0, iq = -1, ie = -1, iu = -1, ig;
    bench_result *rq = NULL;

    bench_alive("[bh] set-up");
    bench_worker_call(w, bh_setup, s);
    if (s->ctx) {
        iq = n;
        cases[n++] = BENCH_CASE("qaio", bh_qaio_body, s, w);
    } else {
        bench_note("bh", "qaio not measured: %s", s->why);
    }
#ifdef QAIO_HAVE_LIBEVENT
    ie = n;
    cases[n++] = BENCH_CASE("libevent", bh_event_body, s, w);
#endif
#ifdef QAIO_HAVE_LIBUV
    iu = n;
    cases[n++] = BENCH_CASE("libuv", bh_uv_body, s, w);
#endif
    ig = n;
    cases[n++] = BENCH_CASE("glib", bh_glib_body, s, w);

    bench_measure(cases, n, "bh", "schedule+run", 1, 1);

    bench_stats none = { .median_ns = -1 };
    const bench_stats *q = iq >= 0 ? &cases[iq].stats : &none;
    if (iq >= 0) {
        rq = bench_record("bh", "schedule+run", "qaio", &cases[iq].stats);
        bh_check(rq, s->qaio_runs, s->qaio_ops);
    }
#ifdef QAIO_HAVE_LIBEVENT
    {
        bench_result *r = bench_record("bh", "schedule+run", "libevent",
                                       &cases[ie].stats);
        double ratio = bench_paired_ratio(q, &cases[ie].stats);
        bench_add_ratio(r, "qaio/libevent", ratio);
        bench_set_target(r, "≤1.0x libevent", 1.0, ratio);
        bh_check(r, s->ev_runs, s->ev_ops);
    }
#else
    (void)ie;
    if (rq) {
        bench_set_target(rq, "≤1.0x libevent", 1.0, -1);
        bench_result_note(rq, "libevent not installed: target not judged");
    }
#endif
#ifdef QAIO_HAVE_LIBUV
    {
        bench_result *r = bench_record("bh", "schedule+run", "libuv",
                                       &cases[iu].stats);
        bench_add_ratio(r, "qaio/libuv",
                        bench_paired_ratio(q, &cases[iu].stats));
        bh_check(r, s->uv_runs, s->uv_ops);
    }
#else
    (void)iu;
#endif
    {
        bench_result *r = bench_record("bh", "schedule+run", "glib",
                                       &cases[ig].stats);
        bench_add_ratio(r, "qaio/glib",
                        bench_paired_ratio(q, &cases[ig].stats));
        bh_check(r, s->glib_runs, s->glib_ops);
    }

    bench_alive("[bh] tear-down");
    bench_worker_call(w, bh_teardown, s);
    bench_worker_stop(w);
    g_free(s);
}

const bench_suite bench_suite_bh = {
    .name = "bh",
    .summary = "qemu_bh_schedule + aio_poll(ctx, false), one thread",
    .run = bh_run,
};
