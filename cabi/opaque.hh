// SPDX-License-Identifier: MIT
// The one way the C layer gets from an opaque C handle to the C++ object
// behind it and back: from(handle) and to_c(object), one overload pair per
// type, so that every cast (and why it is valid) is written here once.
#pragma once

#include "lib/loop/bh.hh"
#include "lib/loop/context.hh"
#include "lib/pool/thread_pool.hh"

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

// QEMUBH and ThreadPool are never defined in C: the handle is the address
// of the C++ object.
inline loop::bh *from(QEMUBH *bh) noexcept
{
    return reinterpret_cast<loop::bh *>(bh);
}

inline QEMUBH *to_c(loop::bh *bh) noexcept
{
    return reinterpret_cast<QEMUBH *>(bh);
}

inline pool::thread_pool *from(ThreadPool *pool) noexcept
{
    return reinterpret_cast<pool::thread_pool *>(pool);
}

inline ThreadPool *to_c(pool::thread_pool *pool) noexcept
{
    return reinterpret_cast<ThreadPool *>(pool);
}

} // namespace qaio::cabi
