// SPDX-License-Identifier: MIT
// block/aio.h and qemu/main-loop.h: bottom halves.
#include "block/aio.h"
#include "qemu/main-loop.h"

#include "cabi/export.hh"
#include "lib/loop/bh.hh"
#include "lib/loop/context.hh"

using qaio::loop::context;

namespace {

qaio::loop::bh *cast(QEMUBH *b)
{
    return reinterpret_cast<qaio::loop::bh *>(b);
}

} // namespace

QAIO_EXPORT QEMUBH *aio_bh_new_full(AioContext *ctx, QEMUBHFunc *cb, void *opaque,
                                    const char *name,
                                    MemReentrancyGuard *reentrancy_guard)
{
    return reinterpret_cast<QEMUBH *>(
        qaio::loop::bh_new(context::from(ctx), cb, opaque, name, reentrancy_guard));
}

QAIO_EXPORT void aio_bh_schedule_oneshot_full(AioContext *ctx, QEMUBHFunc *cb,
                                              void *opaque, const char *name)
{
    qaio::loop::bh_schedule_oneshot(context::from(ctx), cb, opaque, name);
}

QAIO_EXPORT void aio_bh_call(QEMUBH *bh)
{
    qaio::loop::bh_call(cast(bh));
}

QAIO_EXPORT int aio_bh_poll(AioContext *ctx)
{
    return qaio::loop::bh_poll(context::from(ctx));
}

QAIO_EXPORT void qemu_bh_schedule(QEMUBH *bh)
{
    qaio::loop::bh_schedule(cast(bh), 0);
}

QAIO_EXPORT void qemu_bh_schedule_idle(QEMUBH *bh)
{
    qaio::loop::bh_schedule(cast(bh), qaio::loop::bh_idle);
}

QAIO_EXPORT void qemu_bh_cancel(QEMUBH *bh)
{
    qaio::loop::bh_cancel(cast(bh));
}

QAIO_EXPORT void qemu_bh_delete(QEMUBH *bh)
{
    qaio::loop::bh_delete(cast(bh));
}
