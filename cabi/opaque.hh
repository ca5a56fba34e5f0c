// SPDX-License-Identifier: MIT
// The one way the C layer gets from an opaque C handle to the C++ object
// behind it and back: from(handle) and to_c(object), one overload pair per
// type, so that every cast (and why it is valid) is written here once.
#pragma once

#include "lib/loop/bh.hh"
#include "lib/loop/context.hh"
#include "lib/pool/thread_pool.hh"
#include "lib/pool/work_pool.hh"

namespace qaio::cabi {

// AioContext is the C face of loop::context (which knows the conversion).
inline loop::context *from(AioContext *ctx) noexcept
{
    return loop::context::from(ctx);
}

inline AioContext *to_c(loop::context *ctx) noexcept
{
    return ctx->c();
}

// QEMUBH and the pools are never defined in C: the handle is the address
// of the C++ object.
inline loop::bh *from(QEMUBH *bh) noexcept
{
    return reinterpret_cast<loop::bh *>(bh);
}

inline QEMUBH *to_c(loop::bh *bh) noexcept
{
    return reinterpret_cast<QEMUBH *>(bh);
}

// The context's pool is ThreadPool at 7.2 and ThreadPoolAio at 10.0, where
// ThreadPool names the generic pool (pool::work_pool).
#if QAIO_QEMU_API_AT_LEAST(10, 0)
using aio_pool_handle = ThreadPoolAio;

inline pool::work_pool *from(ThreadPool *pool) noexcept
{
    return reinterpret_cast<pool::work_pool *>(pool);
}

inline ThreadPool *to_c(pool::work_pool *pool) noexcept
{
    return reinterpret_cast<ThreadPool *>(pool);
}
#else
using aio_pool_handle = ThreadPool;
#endif

inline pool::thread_pool *from(aio_pool_handle *pool) noexcept
{
    return reinterpret_cast<pool::thread_pool *>(pool);
}

inline aio_pool_handle *to_c(pool::thread_pool *pool) noexcept
{
    return reinterpret_cast<aio_pool_handle *>(pool);
}

} // namespace qaio::cabi
