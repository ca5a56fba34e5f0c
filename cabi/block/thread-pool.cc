// SPDX-License-Identifier: MIT
// block/thread-pool.h: the thread pool (util/thread-pool.c).
#include "block/thread-pool.h"

#include "cabi/export.hh"
#include "lib/loop/context.hh"
#include "lib/pool/thread_pool.hh"

using qaio::loop::context;

namespace {

qaio::pool::thread_pool *cast(ThreadPool *p)
{
    return reinterpret_cast<qaio::pool::thread_pool *>(p);
}

} // namespace

QAIO_EXPORT ThreadPool *thread_pool_new(struct AioContext *ctx)
{
    return reinterpret_cast<ThreadPool *>(
        qaio::pool::pool_new(ctx ? context::from(ctx) : nullptr));
}

QAIO_EXPORT void thread_pool_free(ThreadPool *pool)
{
    if (pool) {
        qaio::pool::pool_free(cast(pool));
    }
}

QAIO_EXPORT BlockAIOCB *thread_pool_submit_aio(ThreadPool *pool, ThreadPoolFunc *func,
                                               void *arg, BlockCompletionFunc *cb,
                                               void *opaque)
{
    return qaio::pool::submit(cast(pool), func, arg, cb, opaque);
}

QAIO_EXPORT int coroutine_fn thread_pool_submit_co(ThreadPool *pool, ThreadPoolFunc *func,
                                                   void *arg)
{
    return qaio::pool::submit_co(cast(pool), func, arg);
}

QAIO_EXPORT void thread_pool_submit(ThreadPool *pool, ThreadPoolFunc *func, void *arg)
{
    qaio::pool::submit(cast(pool), func, arg, nullptr, nullptr);
}

QAIO_EXPORT void thread_pool_update_params(ThreadPool *pool, struct AioContext *ctx)
{
    qaio::pool::update_params(cast(pool), context::from(ctx));
}
