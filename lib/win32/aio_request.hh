// SPDX-License-Identifier: MIT
// A win32-aio request: one allocation, the BlockAIOCB QEMU's block layer
// sees (released with qemu_aio_unref), then this.  A blockio::request for
// the shared completion pass, completing through its BlockCompletionFunc.
// A vector of one element is used in place; longer ones go through a
// bounce buffer (QEMU's rule too).
#pragma once

#include "block/aio.h"
#include "qemu/iov.h"
#include "lib/blockio/request.hh"

namespace qaio::win32 {

struct aio_request;

struct overlapped_link {
    OVERLAPPED ov;
    aio_request *owner;
};

struct aio_request : blockio::request {
    using blockio::request::request;

    // nullptr when there is no memory for a bounce buffer.
    static aio_request *create(BlockDriverState *bs, blockio::op kind, QEMUIOVector *qiov,
                               DWORD nbytes, BlockCompletionFunc *cb, void *opaque) noexcept;

    static aio_request *of(OVERLAPPED *ov) noexcept
    {
        return reinterpret_cast<overlapped_link *>(ov)->owner;
    }

    BlockAIOCB *acb() noexcept;

    // From bytes transferred or -errno: a short write is -EINVAL, a short
    // read zero-filled; releases the bounce buffer.
    int finish_io(long transferred) noexcept;

    void complete(int ret) noexcept;
    // A request that never started.
    void discard() noexcept;

    QEMUIOVector *qiov_ = nullptr;
    void *buf_ = nullptr;   // what ReadFile / WriteFile use
    DWORD nbytes_ = 0;
    bool bounced_ = false;  // buf_ is ours
    overlapped_link io_{};
};

} // namespace qaio::win32
