/* SPDX-License-Identifier: MIT */
/*
 * A program built against qaio's headers for the LD_PRELOAD experiments
 * (tests/layout-preload.sh): it arms a context timer through the header's
 * inline helper (which reaches into AioContext.tlg), waits for it in
 * aio_poll, and prints which qaio build answered.  Exit 0 once the timer
 * fired.
 */
#include "qemu/osdep.h"
#include "block/aio.h"
#include "qemu/timer.h"
#include "qapi/error.h"
#include "qaio/build.h"

static void fired(void *opaque)
{
    *(bool *)opaque = true;
}

int main(void)
{
    AioContext *ctx = aio_context_new(&error_abort);
    bool done = false;
    QEMUTimer *t;

    qemu_set_current_aio_context(ctx);
    t = aio_timer_new(ctx, QEMU_CLOCK_REALTIME, SCALE_MS, fired, &done);
    timer_mod(t, qemu_clock_get_ms(QEMU_CLOCK_REALTIME) + 1);
    while (!done) {
        aio_poll(ctx, true);
    }
    timer_free(t);
    printf("%s\n", qaio_build_description());
    aio_context_unref(ctx);
    return 0;
}
