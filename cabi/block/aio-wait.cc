// SPDX-License-Identifier: MIT
// block/aio-wait.h: the waiter count and the kick.
#include "block/aio-wait.h"

#include "cabi/export.hh"
#include "lib/mainloop/main_loop.hh"

// A definition (zero-initialized, in .bss like QEMU's).
extern "C" {
__attribute__((visibility("default"))) AioWait global_aio_wait;
}

QAIO_EXPORT void aio_wait_kick(void)
{
    qaio::mainloop::wait_kick(&global_aio_wait);
}

// 7.2: called with ctx acquired once; 10.0 has no context lock to hold.
QAIO_EXPORT void aio_wait_bh_oneshot(AioContext *ctx, QEMUBHFunc *cb, void *opaque)
{
    qaio::mainloop::wait_bh_oneshot(&global_aio_wait, ctx, cb, opaque,
                                    !QAIO_QEMU_API_AT_LEAST(10, 0));
}
