// SPDX-License-Identifier: MIT
// block/raw-aio.h: the io_uring engine (luring_*), and block/aio.h's
// per-context engine (aio_setup_linux_io_uring, aio_get_linux_io_uring).
// Built only with CONFIG_LINUX_IO_URING.
#include "block/aio.h"
#include "block/raw-aio.h"
#include "qapi/error.h"

#include "cabi/error.hh"
#include "cabi/export.hh"
#include "cabi/opaque.hh"
#include "lib/blockio/engines.hh"
#include "lib/loop/context.hh"
#include "lib/support/fatal.hh"

using qaio::blockio::init_failure;
using qaio::blockio::op;
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

QAIO_EXPORT int coroutine_fn luring_co_submit(BlockDriverState *bs, LuringState *s, int fd,
                                              uint64_t offset, QEMUIOVector *qiov, int type)
{
    op kind;
    switch (type) {
    case QEMU_AIO_READ:
        kind = op::read;
        break;
    case QEMU_AIO_WRITE:
        kind = op::write;
        break;
    case QEMU_AIO_FLUSH:
        kind = op::flush;
        break;
    default:
        QAIO_FATAL("invalid AIO request type 0x%x", type);
    }
    return qaio::blockio::luring_submit_co(s, fd, offset, qiov, kind);
}

QAIO_EXPORT void luring_detach_aio_context(LuringState *s, AioContext *old_context)
{
    qaio::blockio::engine_detach(s, from(old_context));
}

QAIO_EXPORT void luring_attach_aio_context(LuringState *s, AioContext *new_context)
{
    qaio::blockio::engine_attach(s, from(new_context));
}

QAIO_EXPORT void luring_io_plug(BlockDriverState *bs, LuringState *s)
{
    qaio::blockio::engine_plug(s);
}

QAIO_EXPORT void luring_io_unplug(BlockDriverState *bs, LuringState *s)
{
    qaio::blockio::luring_unplug(s);
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
    LuringState *s = qaio::blockio::context_engine<LuringState>(from(ctx));
    QAIO_CHECK(s, "AioContext %p has no io_uring engine "
               "(aio_setup_linux_io_uring was not called)", static_cast<void *>(ctx));
    return s;
}
