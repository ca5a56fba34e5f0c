/* SPDX-License-Identifier: MIT */
/*
 * Thread pool: runs blocking functions on worker threads and reports their
 * results back in an AioContext.  Each context has its own pool (see
 * aio_get_thread_pool() in block/aio.h), sized by the context's
 * thread-pool-min / thread-pool-max parameters.  A request is a BlockAIOCB:
 * its completion callback runs from a bottom half of the pool's context, and
 * it can be cancelled (bdrv_aio_cancel_async) as long as no worker has
 * started it.  QEMU's own header includes block/block.h only for BlockAIOCB;
 * this one takes it from block/aio.h.
 */
#ifndef QEMU_THREAD_POOL_H
#define QEMU_THREAD_POOL_H

#include "block/aio.h"

#ifdef __cplusplus
extern "C" {
#endif

#define THREAD_POOL_MAX_THREADS_DEFAULT         64

/* Work run on a worker thread; its return value is the request's result. */
typedef int ThreadPoolFunc(void *opaque);

typedef struct ThreadPool ThreadPool;

#if !QAIO_QEMU_API_AT_LEAST(10, 0)

/*
 * thread_pool_new: create a pool whose completions run in @ctx (NULL: the
 * main context) and whose limits are read from @ctx.
 */
ThreadPool *thread_pool_new(struct AioContext *ctx);

/*
 * thread_pool_free: stop every worker and free @pool (NULL is accepted).
 * No request may be outstanding: each must have had its completion run.
 */
void thread_pool_free(ThreadPool *pool);

/*
 * thread_pool_submit_aio: queue func(@arg) for a worker; cb(@opaque, ret)
 * runs later in the pool's context, exactly once, with the function's
 * result or -ECANCELED.  Call from the pool context's thread.
 *
 * Returns: the request, cancellable until a worker starts it.
 */
BlockAIOCB *thread_pool_submit_aio(ThreadPool *pool,
                                   ThreadPoolFunc *func, void *arg,
                                   BlockCompletionFunc *cb, void *opaque);

/*
 * thread_pool_submit_co: the same from a coroutine, which yields until the
 * function has run.
 *
 * Returns: the function's result.
 */
int coroutine_fn thread_pool_submit_co(ThreadPool *pool,
                                       ThreadPoolFunc *func, void *arg);

/* thread_pool_submit: queue func(@arg) without a completion callback. */
void thread_pool_submit(ThreadPool *pool, ThreadPoolFunc *func, void *arg);

/*
 * thread_pool_update_params: take @ctx's thread-pool-min / -max for @pool,
 * start workers up to the minimum and let workers above the maximum exit.
 */
void thread_pool_update_params(ThreadPool *pool, struct AioContext *ctx);
#endif /* QEMU 10.0's pools: to come */

#ifdef __cplusplus
}
#endif

#endif
