// SPDX-License-Identifier: MIT
// block/raw-aio.h at the 10.0 level: submission to the current context's
// io_uring engine, FUA writes on request and batching through the
// program's defer_call sections; the same submission for
// qaio/block-engine.h's table.  Built only with CONFIG_LINUX_IO_URING.
#include "block/raw-aio.h"
#include "qemu/defer-call.h"

#include "cabi/api-10.0/engine-flags.hh"
#include "cabi/export.hh"
#include "lib/support/current_context.hh"

namespace {

int coroutine_fn submit(LuringState *s, int fd, uint64_t offset, QEMUIOVector *qiov, int type,
                        BdrvRequestFlags flags)
{
    qaio::blockio::op kind;
    if (!qaio::cabi::engine_op_10(type, &flags, &kind)) {
        QAIO_FATAL("invalid AIO request type 0x%x", type);
    }
    return qaio::blockio::luring_submit_co(s, fd, offset, qiov, kind,
                                           qaio::cabi::engine_fua(kind, flags));
}

} // namespace

QAIO_EXPORT int coroutine_fn luring_co_submit(BlockDriverState *bs, int fd, uint64_t offset,
                                              QEMUIOVector *qiov, int type,
                                              BdrvRequestFlags flags)
{
    auto *s = qaio::cabi::context_engine_of<LuringState>(
        qaio::support::current_context(), "io_uring", "aio_setup_linux_io_uring");
    return submit(s, fd, offset, qiov, type, flags);
}

QAIO_EXPORT bool luring_has_fua(void)
{
    return true;  // RWF_DSYNC in the SQE's rw_flags (liburing's io_uring_prep_writev2)
}

// The table submits to the engine it is given; plug and unplug are a
// defer_call section.
int coroutine_fn qaio::cabi::luring_table_submit(void *s, int fd, uint64_t offset,
                                                 QEMUIOVector *qiov, int type, uint64_t)
{
    return submit(static_cast<LuringState *>(s), fd, offset, qiov, type, BdrvRequestFlags(0));
}

void qaio::cabi::luring_table_plug(void *)
{
    defer_call_begin();
}

void qaio::cabi::luring_table_unplug(void *, uint64_t)
{
    defer_call_end();
}
