// SPDX-License-Identifier: MIT
// BlockAIOCB allocation and reference counting (QEMU's util/aiocb.c), with
// glib's allocator as QEMU's, so AIOCB types of QEMU code and ours alike
// are released through qemu_aio_unref().
#include "lib/pool/thread_pool.hh"

#include "lib/support/fatal.hh"

namespace qaio::pool {

void *aiocb_get(const AIOCBInfo *info, BlockDriverState *bs, BlockCompletionFunc *cb,
                void *opaque) noexcept
{
    QAIO_CHECK(info->aiocb_size >= sizeof(BlockAIOCB),
               "AIOCBInfo %p: aiocb_size %zu is smaller than a BlockAIOCB (%zu)",
               static_cast<const void *>(info), info->aiocb_size, sizeof(BlockAIOCB));
    // g_malloc aborts on exhaustion, as QEMU's qemu_aio_get does.
    auto *acb = static_cast<BlockAIOCB *>(g_malloc(info->aiocb_size));
    acb->aiocb_info = info;
    acb->bs = bs;
    acb->cb = cb;
    acb->opaque = opaque;
    acb->refcnt = 1;
    return acb;
}

void aiocb_ref(void *p) noexcept
{
    static_cast<BlockAIOCB *>(p)->refcnt++;
}

void aiocb_unref(void *p) noexcept
{
    auto *acb = static_cast<BlockAIOCB *>(p);
    QAIO_CHECK(acb->refcnt > 0, "AIOCB %p (info %p) released with reference count %d", p,
               static_cast<const void *>(acb->aiocb_info), acb->refcnt);
    if (--acb->refcnt == 0) {
        g_free(acb);
    }
}

} // namespace qaio::pool
