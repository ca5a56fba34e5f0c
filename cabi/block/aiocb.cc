// SPDX-License-Identifier: MIT
// block/aio.h: AIOCB allocation and reference counting (util/aiocb.c).
#include "block/aio.h"

#include "cabi/export.hh"
#include "lib/pool/thread_pool.hh"

QAIO_EXPORT void *qemu_aio_get(const AIOCBInfo *aiocb_info, BlockDriverState *bs,
                               BlockCompletionFunc *cb, void *opaque)
{
    return qaio::pool::aiocb_get(aiocb_info, bs, cb, opaque);
}

QAIO_EXPORT void qemu_aio_unref(void *p)
{
    qaio::pool::aiocb_unref(p);
}

QAIO_EXPORT void qemu_aio_ref(void *p)
{
    qaio::pool::aiocb_ref(p);
}
