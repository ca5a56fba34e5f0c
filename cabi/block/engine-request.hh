// SPDX-License-Identifier: MIT
// What the engines' C layers of both levels share: QEMU's request types as
// the core's operations, the context's engine, and the per-level entries
// of qaio/block-engine.h's table (submission and batching differ by level:
// cabi/api-7.2, cabi/api-10.0).
#pragma once

#include "block/raw-aio.h"
#include "cabi/opaque.hh"
#include "lib/blockio/engines.hh"
#include "lib/support/fatal.hh"

namespace qaio::cabi {

// QEMU_AIO_READ, _WRITE and _FLUSH; false for the types the engines do
// not take (each engine reports those its own way, as QEMU does).
inline bool engine_op(int type, blockio::op *kind) noexcept
{
    switch (type) {
    case QEMU_AIO_READ:
        *kind = blockio::op::read;
        return true;
    case QEMU_AIO_WRITE:
        *kind = blockio::op::write;
        return true;
    case QEMU_AIO_FLUSH:
        *kind = blockio::op::flush;
        return true;
    default:
        return false;
    }
}

// ctx's engine (aio_get_linux_aio, aio_get_linux_io_uring); fatal when
// the setup function did not create one.
template <class Engine>
Engine *context_engine_of(AioContext *ctx, const char *name, const char *setup) noexcept
{
    Engine *s = blockio::context_engine<Engine>(from(ctx));
    QAIO_CHECK(s, "AioContext %p has no %s engine (%s was not called)",
               static_cast<void *>(ctx), name, setup);
    return s;
}

// The table's co_submit, plug and unplug for each engine (engine pointer as
// void *, as in qaio/block-engine.h).
int coroutine_fn laio_table_submit(void *s, int fd, uint64_t offset, QEMUIOVector *qiov,
                                   int type, uint64_t dev_max_batch);
void laio_table_plug(void *s);
void laio_table_unplug(void *s, uint64_t dev_max_batch);
int coroutine_fn luring_table_submit(void *s, int fd, uint64_t offset, QEMUIOVector *qiov,
                                     int type, uint64_t dev_max_batch);
void luring_table_plug(void *s);
void luring_table_unplug(void *s, uint64_t dev_max_batch);

} // namespace qaio::cabi
