// SPDX-License-Identifier: MIT
// Bottom halves (design in bh.hh).
#include "lib/loop/bh.hh"

#include "lib/loop/context.hh"
#include "lib/support/fatal.hh"

#include <new>

namespace qaio::loop {

void push_pending(context *ctx, bh *b) noexcept
{
    bh *head = ctx->bh_pending_.load(std::memory_order_relaxed);
    do {
        b->next_ = head;
        // seq_cst: pairs with bh_poll()'s acquire exchange, and orders the
        // push before kick()'s read of notify_me_.
    } while (!ctx->bh_pending_.compare_exchange_weak(head, b, std::memory_order_seq_cst,
                                                      std::memory_order_relaxed));
}

namespace {

constexpr int64_t idle_bh_timeout_ns = 10 * 1000 * 1000;

// Deletion notifies fully: QEMU's GSource users expect one more dispatch.
void enqueue(bh *b, unsigned flags, bool full_notify) noexcept
{
    context *ctx = b->ctx_;
    unsigned old = b->flags_.fetch_or(bh_pending | flags, std::memory_order_seq_cst);
    if (!(old & bh_pending)) {
        push_pending(ctx, b);
    }
    if (full_notify) {
        ctx->notify();
    } else {
        ctx->kick();
    }
}

int64_t slice_timeout(bh *b, int64_t timeout) noexcept
{
    for (; b; b = b->next_) {
        unsigned f = b->flags_.load(std::memory_order_seq_cst);
        if ((f & (bh_scheduled | bh_deleted)) == bh_scheduled) {
            if (!(f & bh_idle)) {
                return 0;
            }
            timeout = idle_bh_timeout_ns;
        }
    }
    return timeout;
}

const char *name_of(const bh *b) noexcept
{
    return b->name_ ? b->name_ : "(unnamed)";
}

} // namespace

bh *bh_new(context *ctx, QEMUBHFunc *cb, void *opaque, const char *name,
           MemReentrancyGuard *guard) noexcept
{
    bh *b = new (std::nothrow) bh{ctx, name, cb, opaque, guard};
    QAIO_CHECK(b, "out of memory allocating BH '%s'", name ? name : "");
    return b;
}

void bh_call(bh *b) noexcept
{
    // The callback may delete its BH.  An engaged guard does not stop the
    // call; the device decides.
    MemReentrancyGuard *guard = b->guard_;
    if (!guard) {
        b->cb_(b->opaque_);
        return;
    }
    bool was_engaged = guard->engaged_in_io;
    guard->engaged_in_io = true;
    b->cb_(b->opaque_);
    guard->engaged_in_io = was_engaged;
}

void bh_schedule_oneshot(context *ctx, QEMUBHFunc *cb, void *opaque, const char *name) noexcept
{
    enqueue(bh_new(ctx, cb, opaque, name), bh_scheduled | bh_oneshot, false);
}

void bh_schedule(bh *b, unsigned extra_flags) noexcept
{
    enqueue(b, bh_scheduled | extra_flags, false);
}

void bh_cancel(bh *b) noexcept
{
    // Acq_rel: one RMW order with enqueue()'s fetch_or and bh_poll()'s
    // fetch_and on the same word.
    b->flags_.fetch_and(~(bh_scheduled | bh_idle), std::memory_order_acq_rel);
}

void bh_delete(bh *b) noexcept
{
    unsigned old = b->flags_.load(std::memory_order_relaxed);
    QAIO_CHECK(!(old & bh_deleted), "BH '%s' (%p) deleted twice", name_of(b),
               static_cast<void *>(b));
    enqueue(b, bh_deleted, true);
}

int bh_poll(context *ctx) noexcept
{
    if (!ctx->bh_pending_.load(std::memory_order_relaxed) && !ctx->slices_head_) {
        return 0;  // spare the locked exchange when idle
    }
    bh_slice slice;
    // Acquire: pairs with the release in push_pending().  The slice runs as
    // the stack holds it, newest first, as QEMU 7.2's does.
    slice.head = ctx->bh_pending_.exchange(nullptr, std::memory_order_acquire);
    *ctx->slices_tail_ = &slice;
    ctx->slices_tail_ = &slice.next;

    int progress = 0;
    while (bh_slice *s = ctx->slices_head_) {
        bh *b = s->head;
        if (!b) {
            // Done with this slice (maybe an outer call's).
            ctx->slices_head_ = s->next;
            if (!ctx->slices_head_) {
                ctx->slices_tail_ = &ctx->slices_head_;
            }
            continue;
        }
        s->head = b->next_;
        // Acquire: pairs with enqueue()'s fetch_or; release: with the next
        // fetch_or, which then sees PENDING clear.
        unsigned f = b->flags_.fetch_and(~(bh_pending | bh_scheduled | bh_idle),
                                         std::memory_order_acq_rel);
        if ((f & (bh_scheduled | bh_deleted)) == bh_scheduled) {
            if (!(f & bh_idle)) {
                progress = 1;
            }
            if (stats_enabled()) {
                ctx->stats_.bhs_run++;
            }
            bh_call(b);
        }
        if (f & (bh_deleted | bh_oneshot)) {
            delete b;
        }
    }
    return progress;
}

int64_t bh_timeout(context *ctx) noexcept
{
    // seq_cst: pairs with push_pending() through the loop's announcement.
    int64_t timeout = slice_timeout(ctx->bh_pending_.load(std::memory_order_seq_cst), -1);
    for (bh_slice *s = ctx->slices_head_; s && timeout != 0; s = s->next) {
        timeout = slice_timeout(s->head, timeout);
    }
    return timeout;
}

void bh_finalize(context *ctx) noexcept
{
    // Acquire: pairs with the seq_cst push in push_pending().
    bh *b = ctx->bh_pending_.exchange(nullptr, std::memory_order_acquire);
    while (b) {
        bh *next = b->next_;
        unsigned f = b->flags_.load(std::memory_order_relaxed);
        QAIO_CHECK(f & bh_deleted, "AioContext %p finalized with BH '%s' (%p) still alive: it was "
                   "scheduled or cancelled but never deleted",
                   static_cast<void *>(ctx->c()), name_of(b), static_cast<void *>(b));
        delete b;
        b = next;
    }
}

} // namespace qaio::loop
