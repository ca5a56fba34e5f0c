/* SPDX-License-Identifier: MIT */
/*
 * check_abi.c rows for the pool symbols: F(name, return type, (params))
 * for functions, D(name, type) for data, with QEMU 7.2's exact types.
 * The thread pool's prototypes come from block/thread-pool.h, which
 * check_abi.c does not include itself.
 */
#include "block/thread-pool.h"

#define T_POOL_SYMBOLS(F, D)                                                  \
    F(qemu_aio_get, void *, (const AIOCBInfo *, BlockDriverState *,           \
                             BlockCompletionFunc *, void *))                  \
    F(qemu_aio_ref, void, (void *))                                           \
    F(qemu_aio_unref, void, (void *))                                         \
    F(aio_get_thread_pool, struct ThreadPool *, (AioContext *))               \
    F(aio_context_set_thread_pool_params, void, (AioContext *, int64_t,       \
                                                 int64_t, Error **))          \
    F(thread_pool_new, ThreadPool *, (struct AioContext *))                   \
    F(thread_pool_free, void, (ThreadPool *))                                 \
    F(thread_pool_submit_aio, BlockAIOCB *, (ThreadPool *, ThreadPoolFunc *,  \
                                             void *, BlockCompletionFunc *,   \
                                             void *))                         \
    F(thread_pool_submit_co, int, (ThreadPool *, ThreadPoolFunc *, void *))   \
    F(thread_pool_submit, void, (ThreadPool *, ThreadPoolFunc *, void *))     \
    F(thread_pool_update_params, void, (ThreadPool *, struct AioContext *))
