// SPDX-License-Identifier: MIT
// qaio/block-engine.h: the build's block engines behind one table.  Each
// entry calls the engine's exported QEMU function, so that a caller of the
// table exercises exactly the C API; name and limit come from lib/blockio.
// Submission and batching are the level's (engine-request.hh).
#include "qemu/osdep.h"
#include "block/raw-aio.h"
#include "qaio/block-engine.h"

#include "cabi/block/engine-request.hh"
#include "cabi/export.hh"

#include <cstring>

namespace {

#ifdef CONFIG_LINUX_AIO
using laio = LinuxAioState *;
const QaioBlockEngine linux_aio = {
    qaio::blockio::linux_aio_kind.name,
    qaio::blockio::linux_aio_kind.max_in_flight,
    [](Error **errp) -> void * { return laio_init(errp); },
    [](void *s) { laio_cleanup(laio(s)); },
    [](void *s, AioContext *ctx) { laio_attach_aio_context(laio(s), ctx); },
    [](void *s, AioContext *ctx) { laio_detach_aio_context(laio(s), ctx); },
    [](AioContext *ctx, Error **errp) -> void * { return aio_setup_linux_aio(ctx, errp); },
    [](AioContext *ctx) -> void * { return aio_get_linux_aio(ctx); },
    qaio::cabi::laio_table_submit,
    qaio::cabi::laio_table_plug,
    qaio::cabi::laio_table_unplug,
};
#endif

#ifdef CONFIG_LINUX_IO_URING
using luring = LuringState *;
const QaioBlockEngine io_uring = {
    qaio::blockio::io_uring_kind.name,
    qaio::blockio::io_uring_kind.max_in_flight,
    [](Error **errp) -> void * { return luring_init(errp); },
    [](void *s) { luring_cleanup(luring(s)); },
    [](void *s, AioContext *ctx) { luring_attach_aio_context(luring(s), ctx); },
    [](void *s, AioContext *ctx) { luring_detach_aio_context(luring(s), ctx); },
    [](AioContext *ctx, Error **errp) -> void * { return aio_setup_linux_io_uring(ctx, errp); },
    [](AioContext *ctx) -> void * { return aio_get_linux_io_uring(ctx); },
    qaio::cabi::luring_table_submit,
    qaio::cabi::luring_table_plug,
    qaio::cabi::luring_table_unplug,
};
#endif

} // namespace

QAIO_EXPORT const QaioBlockEngine *qaio_block_engine(const char *name)
{
#ifdef CONFIG_LINUX_AIO
    if (strcmp(name, linux_aio.name) == 0) {
        return &linux_aio;
    }
#endif
#ifdef CONFIG_LINUX_IO_URING
    if (strcmp(name, io_uring.name) == 0) {
        return &io_uring;
    }
#endif
    return nullptr;
}
