// SPDX-License-Identifier: MIT
// block/raw-aio.h: the linux-aio engine (laio_*), and block/aio.h's
// per-context engine (aio_setup_linux_aio, aio_get_linux_aio).  Built only
// with CONFIG_LINUX_AIO.
#include "block/aio.h"
#include "block/raw-aio.h"
#include "qapi/error.h"
#include "qemu/error-report.h"

#include "cabi/error.hh"
#include "cabi/export.hh"
#include "cabi/opaque.hh"
#include "lib/blockio/engines.hh"
#include "lib/loop/context.hh"
#include "lib/support/fatal.hh"

using qaio::blockio::init_failure;
using qaio::blockio::op;
using qaio::cabi::from;

QAIO_EXPORT LinuxAioState *laio_init(Error **errp)
{
    init_failure why{};
    LinuxAioState *s = qaio::blockio::engine_new<LinuxAioState>(&why);
    if (!s) {
        qaio::cabi::set_init_error(errp, why.errno_, why.what_);
    }
    return s;
}

QAIO_EXPORT void laio_cleanup(LinuxAioState *s)
{
    qaio::blockio::engine_free(s);
}

QAIO_EXPORT int coroutine_fn laio_co_submit(BlockDriverState *bs, LinuxAioState *s, int fd,
                                            uint64_t offset, QEMUIOVector *qiov, int type,
                                            uint64_t dev_max_batch)
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
        error_report("%s: invalid AIO request type 0x%x.", __func__, type);
        return -EIO;
    }
    return qaio::blockio::laio_submit_co(s, fd, offset, qiov, kind, dev_max_batch);
}

QAIO_EXPORT void laio_detach_aio_context(LinuxAioState *s, AioContext *old_context)
{
    qaio::blockio::engine_detach(s, from(old_context));
}

QAIO_EXPORT void laio_attach_aio_context(LinuxAioState *s, AioContext *new_context)
{
    qaio::blockio::engine_attach(s, from(new_context));
}

QAIO_EXPORT void laio_io_plug(BlockDriverState *bs, LinuxAioState *s)
{
    qaio::blockio::engine_plug(s);
}

QAIO_EXPORT void laio_io_unplug(BlockDriverState *bs, LinuxAioState *s,
                                uint64_t dev_max_batch)
{
    qaio::blockio::laio_unplug(s, dev_max_batch);
}

QAIO_EXPORT LinuxAioState *aio_setup_linux_aio(AioContext *ctx, Error **errp)
{
    init_failure why{};
    LinuxAioState *s = qaio::blockio::context_engine_setup<LinuxAioState>(from(ctx), &why);
    if (!s) {
        qaio::cabi::set_init_error(errp, why.errno_, why.what_);
    }
    return s;
}

QAIO_EXPORT LinuxAioState *aio_get_linux_aio(AioContext *ctx)
{
    LinuxAioState *s = qaio::blockio::context_engine<LinuxAioState>(from(ctx));
    QAIO_CHECK(s, "AioContext %p has no linux-aio engine "
               "(aio_setup_linux_aio was not called)", static_cast<void *>(ctx));
    return s;
}
