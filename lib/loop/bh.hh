// SPDX-License-Identifier: MIT
// Bottom halves (QEMU's QEMUBH).
//
// Scheduling is a fetch_or on the BH's flag word; only the caller that sets
// PENDING pushes the BH onto the context's lock-free pending stack, so a BH
// is linked at most once.  aio_bh_poll takes the whole stack with a single
// exchange, reverses it (FIFO within a slice), and processes it as a "slice"
// on the context's slice list.  BHs scheduled meanwhile go to the next
// aio_bh_poll; a nested aio_bh_poll (from a BH that calls aio_poll) also
// drains the outer calls' slices.  Only the home thread pops and frees BHs.
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

// One aio_bh_poll's batch of BHs, living on that call's stack.
struct bh_slice {
    bh *head = nullptr;
    bh_slice *next = nullptr;
};

bh *bh_new(context *ctx, QEMUBHFunc *cb, void *opaque, const char *name,
           MemReentrancyGuard *guard = nullptr) noexcept;
// Runs the callback, with its guard engaged during the call (aio_bh_call).
void bh_call(bh *b) noexcept;
void bh_schedule_oneshot(context *ctx, QEMUBHFunc *cb, void *opaque,
                         const char *name) noexcept;
void bh_schedule(bh *b, unsigned extra_flags) noexcept;
void bh_cancel(bh *b) noexcept;
void bh_delete(bh *b) noexcept;
int bh_poll(context *ctx) noexcept;
// 0 if a non-idle BH is scheduled, 10 ms if only idle ones are, else -1.
int64_t bh_timeout(context *ctx) noexcept;
// At finalization: frees deleted BHs, aborts naming any other.
void bh_finalize(context *ctx) noexcept;

} // namespace qaio::loop
