// SPDX-License-Identifier: MIT
// block/aio.h at API level 7.2: nothing added to a context's life (no
// block graph lock), the context lock callers take around another thread's
// context, and aio_context_set_aio_params with its Error **.
#include "block/aio.h"

#include "cabi/export.hh"
#include "cabi/opaque.hh"
#include "lib/loop/context.hh"
#include "lib/loop/level_hooks.hh"

using qaio::cabi::from;
using qaio::loop::context;

const qaio::loop::context_level_hooks qaio::loop::level_hooks = {nullptr, nullptr, nullptr};

QAIO_EXPORT void aio_context_acquire(AioContext *ctx)
{
    from(ctx)->acquire();
}

QAIO_EXPORT void aio_context_release(AioContext *ctx)
{
    from(ctx)->release();
}

QAIO_EXPORT void aio_context_set_aio_params(AioContext *ctx, int64_t max_batch,
                                            Error **errp)
{
#ifndef _WIN32
    context *c = from(ctx);
    c->set_max_batch(max_batch);
    c->notify();
#endif
    // Windows: nothing to tune, there is no linux-aio batch.
}
