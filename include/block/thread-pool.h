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
 *
 * At the 10.0 level that pool is ThreadPoolAio, and ThreadPool is a generic
 * pool that belongs to no context: work items run on its threads and
 * nothing completes in an event loop.  A new generic pool has no thread and
 * runs nothing until its caller raises its maximum
 * (thread_pool_set_max_threads(), thread_pool_adjust_max_threads_to_work()
 * or thread_pool_submit_immediate()).  Any thread may use it.
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
#else

typedef struct ThreadPoolAio ThreadPoolAio;

/*
 * thread_pool_new_aio: an AIO pool whose completions run in @ctx (NULL: the
 * main context) and whose limits are read from @ctx.
 */
ThreadPoolAio *thread_pool_new_aio(struct AioContext *ctx);

/*
 * thread_pool_free_aio: stop every worker and free @pool (NULL is
 * accepted).  Every request must have had its completion run.
 */
void thread_pool_free_aio(ThreadPoolAio *pool);

/*
 * thread_pool_submit_aio: queue func(@arg) on the pool of the current
 * AioContext; cb(@opaque, ret) runs later in that context, exactly once,
 * with the function's result or -ECANCELED.
 *
 * Returns: the request, cancellable until a worker starts it.
 */
BlockAIOCB *thread_pool_submit_aio(ThreadPoolFunc *func, void *arg,
                                   BlockCompletionFunc *cb, void *opaque);

/*
 * thread_pool_submit_co: the same from a coroutine, which yields until the
 * function has run.
 *
 * Returns: the function's result.
 */
int coroutine_fn thread_pool_submit_co(ThreadPoolFunc *func, void *arg);

/*
 * thread_pool_update_params: take @ctx's thread-pool-min / -max for @pool,
 * start workers up to the minimum and let workers above the maximum exit.
 */
void thread_pool_update_params(ThreadPoolAio *pool, struct AioContext *ctx);

/* thread_pool_new: a generic pool with no thread (see the top). */
ThreadPool *thread_pool_new(void);

/*
 * thread_pool_free: wait until every submitted item has finished, then free
 * @pool (NULL is accepted).  A pool whose maximum was never set gets one
 * thread to run what is queued.
 */
void thread_pool_free(ThreadPool *pool);

/*
 * thread_pool_submit: queue func(@opaque) on @pool.  Its return value is
 * ignored; @opaque_destroy, if not NULL, is called with @opaque on the
 * worker thread once @func has returned.
 */
void thread_pool_submit(ThreadPool *pool, ThreadPoolFunc *func,
                        void *opaque, GDestroyNotify opaque_destroy);

/*
 * thread_pool_submit_immediate: thread_pool_submit(), and make sure the
 * item starts now: the maximum is raised to the number of items queued or
 * running, so a thread is started for it if none is free.
 */
void thread_pool_submit_immediate(ThreadPool *pool, ThreadPoolFunc *func,
                                  void *opaque, GDestroyNotify opaque_destroy);

/*
 * thread_pool_wait: return once every item submitted to @pool has finished,
 * destroy notifier included; the pool stays usable.
 */
void thread_pool_wait(ThreadPool *pool);

/*
 * thread_pool_set_max_threads: let @pool run at most @max_threads (> 0)
 * items at once, starting threads for queued items at once.
 *
 * Returns: false if threads could not be started.
 */
bool thread_pool_set_max_threads(ThreadPool *pool, int max_threads);

/*
 * thread_pool_adjust_max_threads_to_work: set the maximum to the number of
 * items queued or running (at least one).
 *
 * Returns: as thread_pool_set_max_threads().
 */
bool thread_pool_adjust_max_threads_to_work(ThreadPool *pool);
#endif

#ifdef __cplusplus
}
#endif

#endif
