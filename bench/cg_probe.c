/* SPDX-License-Identifier: MIT */
/* The hot paths one at a time, for instruction counts under callgrind
 * (scripts/callgrind-ops.sh): `cg_probe OP N` runs OP N times.  Counts do
 * not depend on what else the machine runs, so they compare builds where
 * timings on a loaded 2-vCPU machine cannot.  Written against the API
 * level's common calls only (no is_external), so it builds at 7.2 and 10.0
 * alike; the fd case registers through an EventNotifier. */
#include "config.h"

#include "qemu/osdep.h"
#include "block/aio.h"
#include "qemu/coroutine.h"
#include "qemu/timer.h"
#include "qapi/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef QAIO_HAVE_LIBUV
#include <uv.h>
#endif

/* The timers suite's case with 10 pending (bench/suite_timers.c): the
 * measured timer is armed at one of many pseudo-random deadlines between
 * 1 and 61 minutes ahead, among 10 timers pending in the same range. */
enum { PENDING = 10, DEADLINES = 4096 };
static int64_t ahead_ms[DEADLINES], pending_ms[PENDING];

static void deadlines_init(void)
{
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < DEADLINES + PENDING; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int64_t ms = 60000 + (int64_t)(x % 3600000);
        if (i < DEADLINES) {
            ahead_ms[i] = ms;
        } else {
            pending_ms[i - DEADLINES] = ms;
        }
    }
}

static long n;
static CoMutex mutex;

static void coroutine_fn yield_forever(void *opaque)
{
    for (;;) {
        qemu_coroutine_yield();
    }
}

static void coroutine_fn lock_unlock_n(void *opaque)
{
    for (long i = 0; i < n; i++) {
        qemu_co_mutex_lock(&mutex);
        qemu_co_mutex_unlock(&mutex);
    }
}

static void coroutine_fn return_at_once(void *opaque)
{
}

static void nothing(void *opaque)
{
}

static void notifier_ready(EventNotifier *e)
{
}

#ifdef QAIO_HAVE_LIBUV
static void uv_nothing(uv_timer_t *t)
{
}

/* libuv's uv_timer_start + uv_timer_stop in the same situation. */
static void uv_timers10(void)
{
    uv_loop_t loop;
    uv_timer_t pending[PENDING], measured;

    uv_loop_init(&loop);
    for (int i = 0; i < PENDING; i++) {
        uv_timer_init(&loop, &pending[i]);
        uv_timer_start(&pending[i], uv_nothing, pending_ms[i], 0);
    }
    uv_timer_init(&loop, &measured);
    for (long i = 0; i < n; i++) {
        uv_timer_start(&measured, uv_nothing, ahead_ms[i % DEADLINES], 0);
        uv_timer_stop(&measured);
    }
    for (int i = 0; i < PENDING; i++) {
        uv_close((uv_handle_t *)&pending[i], NULL);
    }
    uv_close((uv_handle_t *)&measured, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
}
#endif

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s enter_yield|lifecycle|comutex|timer|timers10|"
                "uv_timers10|bh|bh_blocking|fd N\n",
                argv[0]);
        return 2;
    }
    const char *op = argv[1];
    n = atol(argv[2]);
    AioContext *ctx = aio_context_new(&error_abort);
    qemu_set_current_aio_context(ctx);

    if (!strcmp(op, "enter_yield")) {
        Coroutine *co = qemu_coroutine_create(yield_forever, NULL);
        for (long i = 0; i < n; i++) {
            qemu_coroutine_enter(co);
        }
    } else if (!strcmp(op, "lifecycle")) {
        for (long i = 0; i < n; i++) {
            qemu_coroutine_enter(qemu_coroutine_create(return_at_once, NULL));
        }
    } else if (!strcmp(op, "comutex")) {
        qemu_co_mutex_init(&mutex);
        qemu_coroutine_enter(qemu_coroutine_create(lock_unlock_n, NULL));
    } else if (!strcmp(op, "timer")) {
        QEMUTimer *t = aio_timer_new(ctx, QEMU_CLOCK_REALTIME, SCALE_NS, nothing, NULL);
        for (long i = 0; i < n; i++) {
            timer_mod_ns(t, INT64_C(1000000000000) + i);
            timer_del(t);
        }
        timer_free(t);
    } else if (!strcmp(op, "timers10")) {
        QEMUTimer pending[PENDING], measured;
        int64_t now = qemu_clock_get_ns(QEMU_CLOCK_REALTIME);
        deadlines_init();
        for (int i = 0; i < PENDING; i++) {
            aio_timer_init(ctx, &pending[i], QEMU_CLOCK_REALTIME, SCALE_MS, nothing, NULL);
            timer_mod(&pending[i], now / SCALE_MS + pending_ms[i]);
        }
        aio_timer_init(ctx, &measured, QEMU_CLOCK_REALTIME, SCALE_NS, nothing, NULL);
        for (long i = 0; i < n; i++) {
            timer_mod_ns(&measured, now + ahead_ms[i % DEADLINES] * SCALE_MS);
            timer_del(&measured);
        }
        for (int i = 0; i < PENDING; i++) {
            timer_del(&pending[i]);
        }
    } else if (!strcmp(op, "uv_timers10")) {
#ifdef QAIO_HAVE_LIBUV
        deadlines_init();
        uv_timers10();
#else
        fprintf(stderr, "%s: built without libuv\n", argv[0]);
        return 77;
#endif
    } else if (!strcmp(op, "bh") || !strcmp(op, "bh_blocking")) {
        bool blocking = !strcmp(op, "bh_blocking");
        QEMUBH *bh = aio_bh_new(ctx, nothing, NULL);
        for (long i = 0; i < n; i++) {
            qemu_bh_schedule(bh);
            aio_poll(ctx, blocking);
        }
        qemu_bh_delete(bh);
    } else if (!strcmp(op, "fd")) {
        /* one handler whose fd stays readable: every poll dispatches it */
        EventNotifier e;
        event_notifier_init(&e, 1);
#if QAIO_QEMU_API_AT_LEAST(10, 0)
        aio_set_event_notifier(ctx, &e, notifier_ready, NULL, NULL);
#else
        aio_set_event_notifier(ctx, &e, false, notifier_ready, NULL, NULL);
#endif
        for (long i = 0; i < n; i++) {
            aio_poll(ctx, false);
        }
#if QAIO_QEMU_API_AT_LEAST(10, 0)
        aio_set_event_notifier(ctx, &e, NULL, NULL, NULL);
#else
        aio_set_event_notifier(ctx, &e, false, NULL, NULL, NULL);
#endif
        event_notifier_cleanup(&e);
    } else {
        fprintf(stderr, "%s: unknown operation %s\n", argv[0], op);
        return 2;
    }
    aio_context_unref(ctx);
    return 0;
}
