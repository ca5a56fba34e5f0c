/* SPDX-License-Identifier: MIT */
/*
 * A stand-in for a QEMU tree without QOM (as QEMU's unit tests): a C
 * program that, with tests/qemu_stand_in.c for what QEMU's other objects
 * give the event-loop subsystem, links libqaio-core.a with nothing but
 * `pkg-config --libs qaio-core` (tests/core-link.sh).  libqaio-core.a's
 * main-loop QOM type refers to QOM weakly, so this links and runs.  It
 * runs the main loop once with a coroutine, a BH and a timer, so that the
 * coroutine switch and the loop are really reached, and checks that a
 * thread holding its big lock acts in the main context, as a system
 * emulator's vCPU threads must.  Exit 0 on success.
 */
#include "tests/qemu_stand_in.h"
#include "qemu/coroutine.h"
#include "qemu/timer.h"
#include "block/aio-wait.h"

#include <pthread.h>

/* A vCPU thread: no context of its own; while it holds the big lock its
 * current context is the main one (QEMU 7.2's rule, which block/io.c's
 * drained sections and aio_wait_bh_oneshot assert on), else none. */
static void *vcpu_thread(void *opaque)
{
    bool *ok = opaque;

    *ok = qemu_get_current_aio_context() == NULL;
    big_lock();
    *ok = *ok && qemu_get_current_aio_context() == qemu_get_aio_context() &&
          in_aio_context_home_thread(qemu_get_aio_context());
    big_unlock();
    *ok = *ok && qemu_get_current_aio_context() == NULL &&
          !in_aio_context_home_thread(qemu_get_aio_context());
    return NULL;
}

static int steps;

static void coroutine_fn co_entry(void *opaque)
{
    steps++;
    qemu_coroutine_yield();
    steps++;
}

static void bh_cb(void *opaque)
{
    qemu_coroutine_enter(opaque);   /* resumes after the yield */
}

static void timer_cb(void *opaque)
{
    steps++;
}

int main(void)
{
    Coroutine *co;
    QEMUBH *bh;
    QEMUTimer *t;
    pthread_t vcpu;
    bool vcpu_ok = false;

    big_lock();
    if (qemu_init_main_loop(NULL) < 0) {
        return 1;
    }
#if QAIO_QEMU_API_AT_LEAST(10, 0)
    {
        AioContext *ctx = aio_context_new(NULL);

        /* the main context, then this one */
        if (!ctx || ctx->bdrv_graph != graph_marker || graph_registered < 2 ||
            qemu_get_aio_context()->bdrv_graph != graph_marker) {
            fprintf(stderr, "core_link: aio_context_new did not register the "
                    "context with the block graph lock\n");
            return 1;
        }
        int before = graph_registered;
        aio_context_unref(ctx);
        if (graph_registered != before - 1) {
            fprintf(stderr, "core_link: a finalized context stays registered\n");
            return 1;
        }
    }
#endif
    co = qemu_coroutine_create(co_entry, NULL);
    qemu_coroutine_enter(co);
    bh = qemu_bh_new(bh_cb, co);
    qemu_bh_schedule(bh);
    t = timer_new_ms(QEMU_CLOCK_REALTIME, timer_cb, NULL);
    timer_mod(t, qemu_clock_get_ms(QEMU_CLOCK_REALTIME) + 1);
    while (steps < 3) {
        main_loop_wait(false);
    }
    timer_free(t);
    qemu_bh_delete(bh);

    pthread_create(&vcpu, NULL, vcpu_thread, &vcpu_ok);
    pthread_join(vcpu, NULL);
    if (!vcpu_ok) {
        fprintf(stderr, "core_link: a thread holding the big lock is not in the "
                "main context\n");
        return 1;
    }
    printf("core_link: libqaio-core.a linked with the qaio-core.pc flags and ran\n");
    return 0;
}
