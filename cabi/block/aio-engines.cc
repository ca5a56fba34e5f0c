// SPDX-License-Identifier: MIT
// block/aio.h: the context's thread pool and its limits (the thread-pool
// part of util/async.c).  The block engines' aio_setup_* functions live
// with the engines' own C layer.
#include "block/aio.h"
#include "qapi/error.h"

#include "cabi/export.hh"
#include "cabi/opaque.hh"
#include "lib/loop/context.hh"
#include "lib/pool/thread_pool.hh"

#include <climits>

using qaio::cabi::from;
using qaio::cabi::to_c;

QAIO_EXPORT qaio::cabi::aio_pool_handle *aio_get_thread_pool(AioContext *ctx)
{
    return to_c(qaio::pool::context_pool(from(ctx)));
}

QAIO_EXPORT void aio_context_set_thread_pool_params(AioContext *ctx, int64_t min,
                                                    int64_t max, Error **errp)
{
    // QEMU 7.2's checks and no more: negative values pass, and a negative
    // max leaves requests queued as it does there.
    if (min > max || max == 0 || min > INT_MAX || max > INT_MAX) {
        error_setg(errp, "bad thread-pool-min/thread-pool-max values");
        return;
    }
    qaio::pool::set_context_params(from(ctx), min, max);
}
