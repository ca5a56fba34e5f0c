// SPDX-License-Identifier: MIT
// block/raw-aio.h on Windows: the win32-aio engine (win32_aio_*), forwarded
// to lib/win32/aio_engine.hh; creation, attach and detach are the shared
// engine operations (lib/blockio/engines.hh).  Built only for Windows.
#include "block/aio.h"
#include "block/raw-aio.h"

#include "cabi/export.hh"
#include "cabi/opaque.hh"
#include "lib/blockio/engines.hh"
#include "lib/win32/aio_engine.hh"

#include <cerrno>
#include <cstdio>

using qaio::cabi::from;

QAIO_EXPORT QEMUWin32AIOState *win32_aio_init(void)
{
    qaio::blockio::init_failure why{};
    QEMUWin32AIOState *s = qaio::blockio::engine_new<QEMUWin32AIOState>(&why);
    if (!s) {
        errno = why.errno_;  // QEMU's has no Error ** to say more with
    }
    return s;
}

QAIO_EXPORT void win32_aio_cleanup(QEMUWin32AIOState *aio)
{
    qaio::blockio::engine_free(aio);
}

QAIO_EXPORT int win32_aio_attach(QEMUWin32AIOState *aio, HANDLE hfile)
{
    return qaio::win32::aio_attach_file(aio, hfile);
}

QAIO_EXPORT BlockAIOCB *win32_aio_submit(BlockDriverState *bs, QEMUWin32AIOState *aio,
                                         HANDLE hfile, uint64_t offset, uint64_t bytes,
                                         QEMUIOVector *qiov, BlockCompletionFunc *cb,
                                         void *opaque, int type)
{
    qaio::blockio::op kind;
    switch (type) {
    case QEMU_AIO_READ:
        kind = qaio::blockio::op::read;
        break;
    case QEMU_AIO_WRITE:
        kind = qaio::blockio::op::write;
        break;
    default:
        // QEMU's file-win32 driver flushes with FlushFileBuffers and sends
        // only reads and writes here; 7.2's engine would issue anything else
        // as a write.  Refused: the block layer reports -EIO.
        std::fprintf(stderr, "qaio: win32_aio_submit: request type %#x is neither "
                     "QEMU_AIO_READ nor QEMU_AIO_WRITE; request refused\n", unsigned(type));
        return nullptr;
    }
    return qaio::win32::aio_submit(aio, bs, hfile, offset, bytes, qiov, cb, opaque, kind);
}

QAIO_EXPORT void win32_aio_detach_aio_context(QEMUWin32AIOState *aio, AioContext *old_context)
{
    qaio::blockio::engine_detach(aio, from(old_context));
}

QAIO_EXPORT void win32_aio_attach_aio_context(QEMUWin32AIOState *aio, AioContext *new_context)
{
    qaio::blockio::engine_attach(aio, from(new_context));
}
