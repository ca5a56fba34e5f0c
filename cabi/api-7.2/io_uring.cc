// SPDX-License-Identifier: MIT
// block/raw-aio.h at the 7.2 level: submission to a given io_uring engine,
// batched by plug/unplug, and the same for qaio/block-engine.h's table.
// Built only with CONFIG_LINUX_IO_URING.
#include "block/raw-aio.h"

#include "cabi/block/engine-request.hh"
#include "cabi/export.hh"
#include "lib/support/fatal.hh"

QAIO_EXPORT int coroutine_fn luring_co_submit(BlockDriverState *bs, LuringState *s, int fd,
                                              uint64_t offset, QEMUIOVector *qiov, int type)
{
    qaio::blockio::op kind;
    if (!qaio::cabi::engine_op(type, &kind)) {
        QAIO_FATAL("invalid AIO request type 0x%x", type);
    }
    return qaio::blockio::luring_submit_co(s, fd, offset, qiov, kind);
}

QAIO_EXPORT void luring_io_plug(BlockDriverState *bs, LuringState *s)
{
    qaio::blockio::engine_plug(s);
}

QAIO_EXPORT void luring_io_unplug(BlockDriverState *bs, LuringState *s)
{
    qaio::blockio::luring_unplug(s);
}

int coroutine_fn qaio::cabi::luring_table_submit(void *s, int fd, uint64_t offset,
                                                 QEMUIOVector *qiov, int type, uint64_t)
{
    return luring_co_submit(nullptr, static_cast<LuringState *>(s), fd, offset, qiov, type);
}

void qaio::cabi::luring_table_plug(void *s)
{
    luring_io_plug(nullptr, static_cast<LuringState *>(s));
}

void qaio::cabi::luring_table_unplug(void *s, uint64_t)
{
    luring_io_unplug(nullptr, static_cast<LuringState *>(s));
}
