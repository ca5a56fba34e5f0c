/* SPDX-License-Identifier: MIT */
/*
 * A standalone Windows program on QEMU's API, linked against the static
 * libqaio.a with nothing but `-static` and `pkg-config --static --libs qaio`
 * (tests/win32/static-link.sh).  It reaches what a static link could lose:
 * the coroutine switch (Boost's fcontext, which must come inside
 * libqaio.a), a coroutine sleeping on a timer, and an event notifier set
 * by another thread (winpthreads) waking aio_poll on a context of its own.
 * Exit 0 when both arrived.
 */
#include "qemu/osdep.h"
#include "block/aio.h"
#include "qemu/coroutine.h"
#include "qemu/event_notifier.h"

#include <pthread.h>

static EventNotifier notifier;
static int notified, slept;

static void on_notify(EventNotifier *e)
{
    event_notifier_test_and_clear(e);
    notified++;
}

static void *set_from_thread(void *opaque)
{
    event_notifier_set(&notifier);
    return NULL;
}

static void coroutine_fn sleeper(void *opaque)
{
    qemu_co_sleep_ns(QEMU_CLOCK_REALTIME, 1000000);
    slept = 1;
}

int main(void)
{
    AioContext *ctx = aio_context_new(NULL);
    pthread_t setter;

    if (!ctx || event_notifier_init(&notifier, 0) < 0) {
        fprintf(stderr, "static_link: no context or notifier\n");
        return 1;
    }
    qemu_set_current_aio_context(ctx);
#if QAIO_QEMU_API_AT_LEAST(10, 0)
    aio_set_event_notifier(ctx, &notifier, on_notify, NULL, NULL);
#else
    aio_set_event_notifier(ctx, &notifier, false, on_notify, NULL, NULL);
#endif
    pthread_create(&setter, NULL, set_from_thread, NULL);
    qemu_coroutine_enter(qemu_coroutine_create(sleeper, NULL));
    while (!notified || !slept) {
        aio_poll(ctx, true);
    }
    pthread_join(setter, NULL);
#if QAIO_QEMU_API_AT_LEAST(10, 0)
    aio_set_event_notifier(ctx, &notifier, NULL, NULL, NULL);
#else
    aio_set_event_notifier(ctx, &notifier, false, NULL, NULL, NULL);
#endif
    event_notifier_cleanup(&notifier);
    aio_context_unref(ctx);
    printf("static_link: libqaio.a linked with -static and qaio.pc's flags and ran\n");
    return 0;
}
