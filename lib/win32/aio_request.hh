// SPDX-License-Identifier: MIT
// A win32-aio request: the AIOCB that win32_aio_submit returns.  QEMU's
// block layer sees only a BlockAIOCB and releases it with qemu_aio_unref, so
// the one allocation starts with that header and the engine's request
// follows it.  The request is a blockio::request so that the shared
// completion pass (lib/blockio/engine.hh) hands it back to the engine; its
// coroutine half stays unused: a win32-aio request completes by calling its
// BlockCompletionFunc, as QEMU's file-win32 driver expects.
//
// The buffer.  ReadFile and WriteFile take one buffer: a vector of one
// element is used in place; a longer one goes through a bounce buffer,
// filled from the vector before a write and copied into it after a
// successful read (QEMU's rule too).
#pragma once

#include "block/aio.h"
#include "qemu/iov.h"
#include "lib/blockio/request.hh"

namespace qaio::win32 {

struct aio_request;

// What Windows hands back for a completion, and the request it belongs to.
struct overlapped_link {
    OVERLAPPED ov;
    aio_request *owner;
};

struct aio_request : blockio::request {
    using blockio::request::request;

    // A request for nbytes of qiov, completing with cb(opaque, ret); nullptr
    // when a bounce buffer is needed and there is no memory for it.  A
    // write's bounce buffer is filled here.
    static aio_request *create(BlockDriverState *bs, blockio::op kind, QEMUIOVector *qiov,
                               DWORD nbytes, BlockCompletionFunc *cb, void *opaque) noexcept;

    static aio_request *of(OVERLAPPED *ov) noexcept
    {
        return reinterpret_cast<overlapped_link *>(ov)->owner;
    }

    BlockAIOCB *acb() noexcept;

    // The request's result from what Windows reports (bytes transferred, or
    // -errno): 0, the error, or -EINVAL for a short write; a short read is
    // zero-filled to nbytes, and a bounced read copied into the vector.
    // Releases the bounce buffer.
    int finish_io(long transferred) noexcept;

    // Calls the completion function once and drops the engine's reference.
    void complete(int ret) noexcept;

    // Frees a request that never started (its callback never runs).
    void discard() noexcept;

    QEMUIOVector *qiov_ = nullptr;
    void *buf_ = nullptr;   // what ReadFile / WriteFile use
    DWORD nbytes_ = 0;
    bool bounced_ = false;  // buf_ is ours
    overlapped_link io_{};
};

} // namespace qaio::win32
