// SPDX-License-Identifier: MIT
// block/thread-pool.h: the thread pool (util/thread-pool.c).
#include "block/thread-pool.h"

#include "cabi/export.hh"
#include "cabi/opaque.hh"

using qaio::cabi::from;
using qaio::cabi::to_c;

QAIO_EXPORT ThreadPool *thread_pool_new(struct AioContext *ctx)
{
    return to_c(qaio::pool::pool_new(ctx ? from(ctx) : nullptr));
}

QAIO_EXPORT void thread_pool_free(ThreadPool *pool)
{
    if (pool) {
        qaio::pool::pool_free(from(pool));
    }
}

QAIO_EXPORT BlockAIOCB *thread_pool_submit_aio(ThreadPool *pool, ThreadPoolFunc *func,
                                               void *arg, BlockCompletionFunc *cb,
                                               void *opaque)
{
    return qaio::pool::submit(from(pool), func, arg, cb, opaque);
}

QAIO_EXPORT int coroutine_fn thread_pool_submit_co(ThreadPool *pool, ThreadPoolFunc *func,
                                                   void *arg)
{
    return qaio::pool::submit_co(from(pool), func, arg);
}

QAIO_EXPORT void thread_pool_submit(ThreadPool *pool, ThreadPoolFunc *func, void *arg)
{
    qaio::pool::submit(from(pool), func, arg, nullptr, nullptr);
}

QAIO_EXPORT void thread_pool_update_params(ThreadPool *pool, struct AioContext *ctx)
{
    qaio::pool::update_params(from(pool), from(ctx));
}
