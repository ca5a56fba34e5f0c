// SPDX-License-Identifier: MIT
// block/raw-aio.h at the 7.2 level: submission to a given linux-aio engine,
// batched by plug/unplug, and the same for qaio/block-engine.h's table.
// Built only with CONFIG_LINUX_AIO.
#include "block/raw-aio.h"
#include "qemu/error-report.h"

#include "cabi/block/engine-request.hh"
#include "cabi/export.hh"

QAIO_EXPORT int coroutine_fn laio_co_submit(BlockDriverState *bs, LinuxAioState *s, int fd,
                                            uint64_t offset, QEMUIOVector *qiov, int type,
                                            uint64_t dev_max_batch)
{
    qaio::blockio::op kind;
    // 7.2's engine takes reads and writes only (AIO fsync came with 9.0).
    if (!qaio::cabi::engine_op(type, &kind) || kind == qaio::blockio::op::flush) {
        error_report("%s: invalid AIO request type 0x%x.", __func__, type);
        return -EIO;
    }
    return qaio::blockio::laio_submit_co(s, fd, offset, qiov, kind, dev_max_batch);
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

int coroutine_fn qaio::cabi::laio_table_submit(void *s, int fd, uint64_t offset,
                                               QEMUIOVector *qiov, int type,
                                               uint64_t dev_max_batch)
{
    return laio_co_submit(nullptr, static_cast<LinuxAioState *>(s), fd, offset, qiov, type,
                          dev_max_batch);
}

void qaio::cabi::laio_table_plug(void *s)
{
    laio_io_plug(nullptr, static_cast<LinuxAioState *>(s));
}

void qaio::cabi::laio_table_unplug(void *s, uint64_t dev_max_batch)
{
    laio_io_unplug(nullptr, static_cast<LinuxAioState *>(s), dev_max_batch);
}
