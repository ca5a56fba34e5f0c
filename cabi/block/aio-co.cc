// SPDX-License-Identifier: MIT
// block/aio.h: coroutines and contexts (aio_co_schedule and friends).
#include "block/aio.h"

#include "cabi/export.hh"
#include "lib/loop/context.hh"

QAIO_EXPORT void aio_co_schedule(AioContext *ctx, Coroutine *co)
{
    qaio::loop::co_schedule(ctx, co);
}

QAIO_EXPORT void aio_co_reschedule_self(AioContext *new_ctx)
{
    qaio::loop::co_reschedule_self(new_ctx);
}

QAIO_EXPORT void aio_co_wake(Coroutine *co)
{
    qaio::loop::co_wake(co);
}

QAIO_EXPORT void aio_co_enter(AioContext *ctx, Coroutine *co)
{
    qaio::loop::co_enter(ctx, co);
}
