// SPDX-License-Identifier: MIT
// The thread pool (QEMU's ThreadPool) of one AioContext, whose protocol
// thread_pool.cc describes, and the BlockAIOCB helpers that it and the
// block engines allocate requests with.
#pragma once

#include "block/aio.h"
#include "block/thread-pool.h"

#include <cstdint>

namespace qaio::loop {
class context;
}

namespace qaio::pool {

// --- BlockAIOCB (aiocb.cc) ----------------------------------------------------
// One allocation of info->aiocb_size bytes starting with a BlockAIOCB, freed
// when its count (not atomic: the owning context's thread only) drops to 0.

void *aiocb_get(const AIOCBInfo *info, BlockDriverState *bs, BlockCompletionFunc *cb,
                void *opaque) noexcept;
void aiocb_ref(void *p) noexcept;
void aiocb_unref(void *p) noexcept;

// --- thread pool (thread_pool.cc) ------------------------------------------------

class thread_pool;

// A pool completing in ctx, with ctx's thread-pool-min/max; spawns up to min.
thread_pool *pool_new(loop::context *ctx) noexcept;
// Stops and joins the workers, then frees; aborts if a request is outstanding.
void pool_free(thread_pool *p) noexcept;
BlockAIOCB *submit(thread_pool *p, ThreadPoolFunc *func, void *arg,
                   BlockCompletionFunc *cb, void *opaque) noexcept;
// From a coroutine: yields until func has run and returns its result.
int submit_co(thread_pool *p, ThreadPoolFunc *func, void *arg) noexcept;
// Takes ctx's limits: spawns up to min, lets workers above max exit.
void update_params(thread_pool *p, loop::context *ctx) noexcept;

// The context's own pool, created on first use (aio_get_thread_pool).
thread_pool *context_pool(loop::context *ctx) noexcept;
// The pool of the thread's current AioContext (10.0's submissions).
thread_pool *current_context_pool() noexcept;
// Stores already validated limits in ctx and applies them to its pool.
void set_context_params(loop::context *ctx, int64_t min, int64_t max) noexcept;
// At context finalization: frees the context's pool, if any.
void context_pool_finalize(loop::context *ctx) noexcept;

} // namespace qaio::pool
