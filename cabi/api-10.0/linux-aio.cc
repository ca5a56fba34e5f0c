// SPDX-License-Identifier: MIT
// block/raw-aio.h at the 10.0 level: submission to the current context's
// linux-aio engine, FUA writes on request, batching through the program's
// defer_call sections, and the kernel's abilities; the same submission for
// qaio/block-engine.h's table.  Built only with CONFIG_LINUX_AIO.
#include "block/raw-aio.h"
#include "qemu/defer-call.h"
#include "qemu/error-report.h"

#include "cabi/api-10.0/engine-flags.hh"
#include "cabi/export.hh"
#include "lib/support/current_context.hh"

namespace {

int coroutine_fn submit(LinuxAioState *s, int fd, uint64_t offset, QEMUIOVector *qiov,
                        int type, BdrvRequestFlags flags, uint64_t dev_max_batch)
{
    qaio::blockio::op kind;
    if (!qaio::cabi::engine_op_10(type, &flags, &kind)) {
        error_report("laio_co_submit: invalid AIO request type 0x%x.", type);
        return -EIO;
    }
    return qaio::blockio::laio_submit_co(s, fd, offset, qiov, kind, dev_max_batch,
                                         qaio::cabi::engine_fua(kind, flags));
}

} // namespace

QAIO_EXPORT int coroutine_fn laio_co_submit(int fd, uint64_t offset, QEMUIOVector *qiov,
                                            int type, BdrvRequestFlags flags,
                                            uint64_t dev_max_batch)
{
    auto *s = qaio::cabi::context_engine_of<LinuxAioState>(
        qaio::support::current_context(), "linux-aio", "aio_setup_linux_aio");
    return submit(s, fd, offset, qiov, type, flags, dev_max_batch);
}

QAIO_EXPORT bool laio_has_fdsync(int fd)
{
    return qaio::blockio::laio_fdsync_supported(fd);
}

QAIO_EXPORT bool laio_has_fua(void)
{
    return true;  // RWF_DSYNC in the iocb's aio_rw_flags (libaio's io_prep_pwritev2)
}

// The table submits to the engine it is given (tests and stress programs
// drive engines of their own); plug and unplug are a defer_call section.
int coroutine_fn qaio::cabi::laio_table_submit(void *s, int fd, uint64_t offset,
                                               QEMUIOVector *qiov, int type,
                                               uint64_t dev_max_batch)
{
    return submit(static_cast<LinuxAioState *>(s), fd, offset, qiov, type, BdrvRequestFlags(0),
                  dev_max_batch);
}

void qaio::cabi::laio_table_plug(void *)
{
    defer_call_begin();
}

void qaio::cabi::laio_table_unplug(void *, uint64_t)
{
    defer_call_end();
}
