// SPDX-License-Identifier: MIT
// block/aio.h at API level 10.0: every context registers with QEMU's block
// graph lock when it is created (register_aiocontext, which may fill
// AioContext.bdrv_graph) and unregisters when it is finalized;
// aio_context_set_aio_params has no Error **.  There is no context lock.
#include "block/aio.h"
#include "block/graph-lock.h"
#include "qemu/defer-call.h"

#include "cabi/export.hh"
#include "cabi/opaque.hh"
#include "lib/loop/context.hh"
#include "lib/loop/level_hooks.hh"

using qaio::cabi::from;

// QEMU's block/graph-lock.c and util/defer-call.c (or their stubs); the
// support runtime's stand-ins in libqaio.
namespace {
constexpr qaio::loop::deferral program_deferral = {defer_call_begin, defer_call_end, defer_call};
}

const qaio::loop::context_level_hooks qaio::loop::level_hooks = {
    register_aiocontext,
    unregister_aiocontext,
    &program_deferral,
};

QAIO_EXPORT void aio_context_set_aio_params(AioContext *ctx, int64_t max_batch)
{
#ifndef _WIN32
    qaio::loop::context *c = from(ctx);
    c->set_max_batch(max_batch);
    c->notify();
#endif
    // Windows: nothing to tune, there is no linux-aio batch.
}
