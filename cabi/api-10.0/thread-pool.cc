// SPDX-License-Identifier: MIT
// block/thread-pool.h at 10.0: the per-context pool as ThreadPoolAio (its
// submissions go to the current context's), the generic pool as ThreadPool.
#include "block/thread-pool.h"

#include "cabi/export.hh"
#include "cabi/opaque.hh"
#include "lib/pool/work_pool.hh"

using qaio::cabi::from;
using qaio::cabi::to_c;

QAIO_EXPORT ThreadPoolAio *thread_pool_new_aio(struct AioContext *ctx)
{
    return to_c(qaio::pool::pool_new(ctx ? from(ctx) : nullptr));
}

QAIO_EXPORT void thread_pool_free_aio(ThreadPoolAio *pool)
{
    if (pool) {
        qaio::pool::pool_free(from(pool));
    }
}

QAIO_EXPORT BlockAIOCB *thread_pool_submit_aio(ThreadPoolFunc *func, void *arg,
                                               BlockCompletionFunc *cb, void *opaque)
{
    return qaio::pool::submit(qaio::pool::current_context_pool(), func, arg, cb, opaque);
}

QAIO_EXPORT int coroutine_fn thread_pool_submit_co(ThreadPoolFunc *func, void *arg)
{
    return qaio::pool::submit_co(qaio::pool::current_context_pool(), func, arg);
}

QAIO_EXPORT void thread_pool_update_params(ThreadPoolAio *pool, struct AioContext *ctx)
{
    qaio::pool::update_params(from(pool), from(ctx));
}

QAIO_EXPORT ThreadPool *thread_pool_new(void)
{
    return to_c(qaio::pool::work_pool_new());
}

QAIO_EXPORT void thread_pool_free(ThreadPool *pool)
{
    if (pool) {
        qaio::pool::work_pool_free(from(pool));
    }
}

QAIO_EXPORT void thread_pool_submit(ThreadPool *pool, ThreadPoolFunc *func, void *opaque,
                                    GDestroyNotify opaque_destroy)
{
    qaio::pool::work_pool_submit(from(pool), func, opaque, opaque_destroy);
}

QAIO_EXPORT void thread_pool_submit_immediate(ThreadPool *pool, ThreadPoolFunc *func,
                                              void *opaque, GDestroyNotify opaque_destroy)
{
    qaio::pool::work_pool_submit(from(pool), func, opaque, opaque_destroy);
    qaio::pool::work_pool_adjust_max_threads_to_work(from(pool));
}

QAIO_EXPORT void thread_pool_wait(ThreadPool *pool)
{
    qaio::pool::work_pool_wait(from(pool));
}

QAIO_EXPORT bool thread_pool_set_max_threads(ThreadPool *pool, int max_threads)
{
    return qaio::pool::work_pool_set_max_threads(from(pool), max_threads);
}

QAIO_EXPORT bool thread_pool_adjust_max_threads_to_work(ThreadPool *pool)
{
    return qaio::pool::work_pool_adjust_max_threads_to_work(from(pool));
}
