// SPDX-License-Identifier: MIT
// block/raw-aio.h: the io_uring engine (luring_*) as both API levels have
// it, and block/aio.h's per-context engine (aio_setup_linux_io_uring,
// aio_get_linux_io_uring).  Submission is per level (io_uring-7.2.cc,
// io_uring-10.0.cc).  Built only with CONFIG_LINUX_IO_URING.
#include "block/aio.h"
#include "block/raw-aio.h"
#include "qapi/error.h"

#include "cabi/block/engine-request.hh"
#include "cabi/error.hh"
#include "cabi/export.hh"
#include "cabi/opaque.hh"
#include "lib/blockio/engines.hh"
#include "lib/loop/context.hh"

using qaio::blockio::init_failure;
using qaio::cabi::from;

QAIO_EXPORT LuringState *luring_init(Error **errp)
{
    init_failure why{};
    LuringState *s = qaio::blockio::engine_new<LuringState>(&why);
    if (!s) {
        qaio::cabi::set_init_error(errp, why.errno_, why.what_);
    }
    return s;
}

QAIO_EXPORT void luring_cleanup(LuringState *s)
{
    qaio::blockio::engine_free(s);
}

QAIO_EXPORT void luring_detach_aio_context(LuringState *s, AioContext *old_context)
{
    qaio::blockio::engine_detach(s, from(old_context));
}

QAIO_EXPORT void luring_attach_aio_context(LuringState *s, AioContext *new_context)
{
    qaio::blockio::engine_attach(s, from(new_context));
}

QAIO_EXPORT LuringState *aio_setup_linux_io_uring(AioContext *ctx, Error **errp)
{
    init_failure why{};
    LuringState *s = qaio::blockio::context_engine_setup<LuringState>(from(ctx), &why);
    if (!s) {
        qaio::cabi::set_init_error(errp, why.errno_, why.what_);
    }
    return s;
}

QAIO_EXPORT LuringState *aio_get_linux_io_uring(AioContext *ctx)
{
    return qaio::cabi::context_engine_of<LuringState>(ctx, "io_uring", "aio_setup_linux_io_uring");
}
