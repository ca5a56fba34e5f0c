/* SPDX-License-Identifier: MIT */
/*
 * Suite "timers": arming and disarming one timer while p other timers are
 * pending, for p = 10 and p = 10000.  qaio: timer_mod_ns() then timer_del()
 * of one QEMUTimer on a context's QEMU_CLOCK_REALTIME list; the pending
 * timers and the measured one get deadlines drawn from the same spread (one
 * minute to an hour ahead, fixed seed), so the measured timer lands at a
 * random place among them and becomes the earliest about as often as chance
 * says.  The loop never runs, so nothing fires.  Peers: libevent
 * evtimer_add/evtimer_del and libuv uv_timer_start/uv_timer_stop, set up
 * the same way.  All six cases share one thread and interleave their
 * repeats.  Target: qaio's cost at p=10000 at most 2x its cost at p=10.
 */
#include "config.h"

#include "bench.h"

#ifdef QAIO_HAVE_LIBEVENT
#include <event2/event.h>
#endif
#ifdef QAIO_HAVE_LIBUV
#include <uv.h>
#endif

enum { TM_NSIZES = 2, TM_NDEADLINES = 4096 };
static const int tm_sizes[TM_NSIZES] = { 10, 10000 };

#define TM_MIN_AHEAD_NS (60 * NANOSECONDS_PER_SECOND)
#define TM_SPREAD_NS (3600 * NANOSECONDS_PER_SECOND)

typedef struct tm_set {
    int pending;
    uint64_t ahead_ns[TM_NDEADLINES];   /* the measured timer's deadlines */

    AioContext *ctx;
    QEMUTimer *timers;
    QEMUTimer measured;
    int64_t now;
#ifdef QAIO_HAVE_LIBEVENT
    struct event_base *base;
    struct event **evs;
    struct event *ev_measured;
#endif
#ifdef QAIO_HAVE_LIBUV
    uv_loop_t loop;
    uv_timer_t *uvt;
    uv_timer_t uv_measured;
#endif
} tm_set;

typedef struct tm_state {
    tm_set set[TM_NSIZES];
    char why[160];
} tm_state;

static void tm_cb(void *opaque)
{
}

static void tm_qaio_body(void *opaque, uint64_t iters)
{
    tm_set *t = opaque;

    for (uint64_t i = 0; i < iters; i++) {
        timer_mod_ns(&t->measured,
                     t->now + (int64_t)t->ahead_ns[i % TM_NDEADLINES]);
        timer_del(&t->measured);
    }
}

#ifdef QAIO_HAVE_LIBEVENT
static void tm_event_cb(evutil_socket_t fd, short what, void *opaque)
{
}

static struct timeval tm_timeval(uint64_t ns)
{
    struct timeval tv = {
        .tv_sec = ns / NANOSECONDS_PER_SECOND,
        .tv_usec = (ns % NANOSECONDS_PER_SECOND) / 1000,
    };
    return tv;
}

static void tm_event_body(void *opaque, uint64_t iters)
{
    tm_set *t = opaque;

    for (uint64_t i = 0; i < iters; i++) {
        struct timeval tv = tm_timeval(t->ahead_ns[i % TM_NDEADLINES]);

        evtimer_add(t->ev_measured, &tv);
        evtimer_del(t->ev_measured);
    }
}
#endif

#ifdef QAIO_HAVE_LIBUV
static void tm_uv_cb(uv_timer_t *h)
{
}

static void tm_uv_body(void *opaque, uint64_t iters)
{
    tm_set *t = opaque;

    for (uint64_t i = 0; i < iters; i++) {
        uv_timer_start(&t->uv_measured, tm_uv_cb,
                       t->ahead_ns[i % TM_NDEADLINES] / 1000000, 0);
        uv_timer_stop(&t->uv_measured);
    }
}
#endif

static void tm_setup(void *opaque)
{
    tm_state *s = opaque;
    uint64_t seed = 0x9e3779b97f4a7c15ull;

    for (int k = 0; k < TM_NSIZES; k++) {
        tm_set *t = &s->set[k];
        uint64_t *ahead = g_new(uint64_t, t->pending);

        for (int i = 0; i < TM_NDEADLINES; i++) {
            t->ahead_ns[i] = TM_MIN_AHEAD_NS + bench_rand(&seed) % TM_SPREAD_NS;
        }
        for (int i = 0; i < t->pending; i++) {
            ahead[i] = TM_MIN_AHEAD_NS + bench_rand(&seed) % TM_SPREAD_NS;
        }

        t->ctx = bench_context_new(NULL, s->why, sizeof(s->why));
        if (t->ctx) {
            t->now = qemu_clock_get_ns(QEMU_CLOCK_REALTIME);
            t->timers = g_new0(QEMUTimer, t->pending);
            for (int i = 0; i < t->pending; i++) {
                aio_timer_init(t->ctx, &t->timers[i], QEMU_CLOCK_REALTIME,
                               SCALE_NS, tm_cb, NULL);
                timer_mod_ns(&t->timers[i], t->now + (int64_t)ahead[i]);
            }
            aio_timer_init(t->ctx, &t->measured, QEMU_CLOCK_REALTIME,
                           SCALE_NS, tm_cb, NULL);
        }
#ifdef QAIO_HAVE_LIBEVENT
        t->base = event_base_new();
        t->evs = g_new0(struct event *, t->pending);
        for (int i = 0; i < t->pending; i++) {
            struct timeval tv = tm_timeval(ahead[i]);

            t->evs[i] = evtimer_new(t->base, tm_event_cb, NULL);
            evtimer_add(t->evs[i], &tv);
        }
        t->ev_measured = evtimer_new(t->base, tm_event_cb, NULL);
#endif
#ifdef QAIO_HAVE_LIBUV
        uv_loop_init(&t->loop);
        t->uvt = g_new0(uv_timer_t, t->pending);
        for (int i = 0; i < t->pending; i++) {
            uv_timer_init(&t->loop, &t->uvt[i]);
            uv_timer_start(&t->uvt[i], tm_uv_cb, ahead[i] / 1000000, 0);
        }
        uv_timer_init(&t->loop, &t->uv_measured);
#endif
        g_free(ahead);
    }
}

static void tm_teardown(void *opaque)
{
    tm_state *s = opaque;

    for (int k = 0; k < TM_NSIZES; k++) {
        tm_set *t = &s->set[k];

        if (t->ctx) {
            for (int i = 0; i < t->pending; i++) {
                timer_del(&t->timers[i]);
            }
            timer_del(&t->measured);
            g_free(t->timers);
            aio_context_unref(t->ctx);
        }
#ifdef QAIO_HAVE_LIBEVENT
        for (int i = 0; i < t->pending; i++) {
            event_free(t->evs[i]);
        }
        event_free(t->ev_measured);
        g_free(t->evs);
        event_base_free(t->base);
#endif
#ifdef QAIO_HAVE_LIBUV
        for (int i = 0; i < t->pending; i++) {
            uv_close((uv_handle_t *)&t->uvt[i], NULL);
        }
        uv_close((uv_handle_t *)&t->uv_measured, NULL);
        uv_run(&t->loop, UV_RUN_DEFAULT);
        uv_loop_close(&t->loop);
        g_free(t->uvt);
#endif
    }
}

typedef struct tm_subject {
    const char *name;
    bench_body *body;
} tm_subject;

static const tm_subject tm_subjects[] = {
    { "qaio", tm_qaio_body },
#ifdef QAIO_HAVE_LIBEVENT
    { "libevent", tm_event_body },
#endif
#ifdef QAIO_HAVE_LIBUV
    { "libuv", tm_uv_body },
#endif
};
#define TM_NSUBJECTS ((int)ARRAY_SIZE(tm_subjects))

static void tm_run(void)
{
    tm_state *s = g_new0(tm_state, 1);
    bench_worker *w = bench_worker_start("bench-timers");
    bench_case cases[TM_NSUBJECTS * TM_NSIZES];
    int slot[TM_NSUBJECTS][TM_NSIZES];
    const bench_stats *st[TM_NSUBJECTS][TM_NSIZES];
    bench_stats none = { .median_ns = -1 };
    int n = 0;

    for (int k = 0; k < TM_NSIZES; k++) {
        s->set[k].pending = tm_sizes[k];
    }
    bench_alive("[timers] set-up");
    bench_worker_call(w, tm_setup, s);

    for (int j = 0; j < TM_NSUBJECTS; j++) {
        for (int k = 0; k < TM_NSIZES; k++) {
            slot[j][k] = -1;
            st[j][k] = &none;
            if (j == 0 && !s->set[k].ctx) {
                continue;
            }
            slot[j][k] = n;
            cases[n++] = (bench_case){
                .label = g_strdup_printf("%s p=%d", tm_subjects[j].name,
                                         tm_sizes[k]),
                .body = tm_subjects[j].body,
                .arg = &s->set[k],
                .worker = w,
            };
        }
    }
    if (!s->set[0].ctx || !s->set[1].ctx) {
        bench_note("timers", "qaio not measured: %s", s->why);
    }

    bench_measure(cases, n, "timers", "arm+disarm", 1, 1);

    for (int j = 0; j < TM_NSUBJECTS; j++) {
        for (int k = 0; k < TM_NSIZES; k++) {
            char name[48], rname[40];
            bench_result *r;

            if (slot[j][k] < 0) {
                continue;
            }
            snprintf(name, sizeof(name), "arm+disarm p=%d", tm_sizes[k]);
            r = bench_record("timers", name, tm_subjects[j].name,
                             &cases[slot[j][k]].stats);
            st[j][k] = &cases[slot[j][k]].stats;
            if (j > 0) {
                snprintf(rname, sizeof(rname), "qaio/%s", tm_subjects[j].name);
                bench_add_ratio(r, rname,
                                bench_paired_ratio(st[0][k], st[j][k]));
            }
            if (k > 0) {
                double ratio = bench_paired_ratio(st[j][k], st[j][0]);

                snprintf(rname, sizeof(rname), "p%d/p%d", tm_sizes[k],
                         tm_sizes[0]);
                bench_add_ratio(r, rname, ratio);
                if (j == 0) {
                    bench_set_target(r, "≤2.0x p=10", 2.0, ratio);
                }
            }
        }
    }
    for (int i = 0; i < n; i++) {
        g_free((char *)cases[i].label);
    }

    bench_alive("[timers] tear-down");
    bench_worker_call(w, tm_teardown, s);
    bench_worker_stop(w);
    g_free(s);
}

const bench_suite bench_suite_timers = {
    .name = "timers",
    .summary = "timer_mod_ns + timer_del, 10 or 10000 timers pending",
    .run = tm_run,
};
