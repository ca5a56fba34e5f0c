// SPDX-License-Identifier: MIT
// Bottom halves (QEMU's QEMUBH).  Only the scheduler that sets PENDING in
// the flag word pushes the BH on the context's lock-free pending stack, so
// it is linked at most once.  aio_bh_poll takes the stack with one
// exchange and runs it, newest first, as a "slice" on the context's slice
// list; a nested aio_bh_poll also drains the outer calls' slices.  Only the
// home thread pops and frees BHs.
#pragma once

#include "block/aio.h"

#include <atomic>

namespace qaio::loop {

class context;

enum bh_flags : unsigned {
    bh_pending = 1u << 0,    // linked on the pending stack or a slice
    bh_scheduled = 1u << 1,  // to be called at the next aio_bh_poll
    bh_deleted = 1u << 2,    // to be freed without being called
    bh_oneshot = 1u << 3,    // freed right after its call
    bh_idle = 1u << 4,       // scheduled as idle: not progress, 10 ms bound
};

struct bh {
    context *ctx_;
    const char *name_;
    QEMUBHFunc *cb_;
    void *opaque_;
    MemReentrancyGuard *guard_ = nullptr;  // a device's, or none
    bh *next_ = nullptr;
    std::atomic<unsigned> flags_{0};
};

// On the aio_bh_poll call's stack.
struct bh_slice {
    bh *head = nullptr;
    bh_slice *next = nullptr;
};

bh *bh_new(context *ctx, QEMUBHFunc *cb, void *opaque, const char *name,
           MemReentrancyGuard *guard = nullptr) noexcept;
// aio_bh_call: the guard is engaged during the call.
void bh_call(bh *b) noexcept;
void bh_schedule_oneshot(context *ctx, QEMUBHFunc *cb, void *opaque, const char *name) noexcept;
void bh_schedule(bh *b, unsigned extra_flags) noexcept;
void bh_cancel(bh *b) noexcept;
void bh_delete(bh *b) noexcept;
int bh_poll(context *ctx) noexcept;
// 0 if a non-idle BH is scheduled, 10 ms if only idle ones are, else -1.
int64_t bh_timeout(context *ctx) noexcept;
// At finalization: frees deleted BHs, aborts naming any other.
void bh_finalize(context *ctx) noexcept;

} // namespace qaio::loop
