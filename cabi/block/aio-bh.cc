// SPDX-License-Identifier: MIT
// block/aio.h and qemu/main-loop.h: bottom halves.
#include "block/aio.h"
#include "qemu/main-loop.h"

#include "cabi/export.hh"
#include "cabi/opaque.hh"
#include "lib/loop/bh.hh"
#include "lib/loop/context.hh"

using qaio::cabi::from;
using qaio::cabi::to_c;

QAIO_EXPORT QEMUBH *aio_bh_new_full(AioContext *ctx, QEMUBHFunc *cb, void *opaque,
                                    const char *name,
                                    MemReentrancyGuard *reentrancy_guard)
{
    return to_c(qaio::loop::bh_new(from(ctx), cb, opaque, name, reentrancy_guard));
}

QAIO_EXPORT void aio_bh_schedule_oneshot_full(AioContext *ctx, QEMUBHFunc *cb,
                                              void *opaque, const char *name)
{
    qaio::loop::bh_schedule_oneshot(from(ctx), cb, opaque, name);
}

QAIO_EXPORT void aio_bh_call(QEMUBH *bh)
{
    qaio::loop::bh_call(from(bh));
}

QAIO_EXPORT int aio_bh_poll(AioContext *ctx)
{
    return qaio::loop::bh_poll(from(ctx));
}

QAIO_EXPORT void qemu_bh_schedule(QEMUBH *bh)
{
    qaio::loop::bh_schedule(from(bh), 0);
}

QAIO_EXPORT void qemu_bh_schedule_idle(QEMUBH *bh)
{
    qaio::loop::bh_schedule(from(bh), qaio::loop::bh_idle);
}

QAIO_EXPORT void qemu_bh_cancel(QEMUBH *bh)
{
    qaio::loop::bh_cancel(from(bh));
}

QAIO_EXPORT void qemu_bh_delete(QEMUBH *bh)
{
    qaio::loop::bh_delete(from(bh));
}
