// SPDX-License-Identifier: MIT
// qaio/block-engine.h: the build's block engines behind one table.  Each
// entry calls the engine's exported QEMU function, so that a caller of the
// table exercises exactly the C API; name and limit come from lib/blockio.
#include "qemu/osdep.h"
#include "block/raw-aio.h"
#include "qaio/block-engine.h"

#include "cabi/export.hh"
#include "lib/blockio/engines.hh"

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
    [](void *s, int fd, uint64_t offset, QEMUIOVector *qiov, int type, uint64_t dev_max_batch) {
        return laio_co_submit(nullptr, laio(s), fd, offset, qiov, type, dev_max_batch);
    },
    [](void *s) { laio_io_plug(nullptr, laio(s)); },
    [](void *s, uint64_t dev_max_batch) { laio_io_unplug(nullptr, laio(s), dev_max_batch); },
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
    [](void *s, int fd, uint64_t offset, QEMUIOVector *qiov, int type, uint64_t) {
        return luring_co_submit(nullptr, luring(s), fd, offset, qiov, type);
    },
    [](void *s) { luring_io_plug(nullptr, luring(s)); },
    [](void *s, uint64_t) { luring_io_unplug(nullptr, luring(s)); },
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
