// SPDX-License-Identifier: MIT
// Coroutines crossing contexts.  aio_co_schedule claims the coroutine by
// CASing its `scheduled` marker from null (a second claim, or an enter
// while set, aborts naming the marker), pushes it on the context's
// lock-free list and schedules the context's BH.  The BH takes the list
// with one exchange, reverses it, and for each coroutine reads the link
// first (it may be scheduled again once it runs), clears the marker, enters
// it under the context lock and drops the context reference its scheduler
// took.  So a coroutine is never on two lists nor entered while someone
// believes it scheduled.
#include "lib/loop/context.hh"

#include "lib/coroutine/coroutine.hh"
#include "lib/support/fatal.hh"

namespace qaio::loop {

void co_schedule_bh_cb(void *opaque)
{
    auto *ctx = static_cast<context *>(opaque);
    // Acquire: pairs with the release CAS in co_schedule().
    Coroutine *lifo = ctx->co_scheduled_.exchange(nullptr, std::memory_order_acquire);
    Coroutine *fifo = nullptr;
    while (lifo) {
        Coroutine *next = lifo->co_scheduled_next.sle_next;
        lifo->co_scheduled_next.sle_next = fifo;
        fifo = lifo;
        lifo = next;
    }
    AioContext *c = ctx->c();
    while (Coroutine *co = fifo) {
        fifo = co->co_scheduled_next.sle_next;
        ctx->acquire();
        __atomic_store_n(&co->scheduled, nullptr, __ATOMIC_RELAXED);
        coroutine::enter(c, co);
        ctx->release();
        g_source_unref(ctx->source());
    }
}

namespace {

// The marker aio_co_schedule leaves, as QEMU names it.
const char schedule_marker[] = "aio_co_schedule";

struct reschedule {
    Coroutine *co;
    AioContext *new_ctx;
};

// Runs once the coroutine has yielded in the old context.
void reschedule_bh_cb(void *opaque)
{
    auto *r = static_cast<reschedule *>(opaque);
    co_schedule(r->new_ctx, r->co);
}

} // namespace

void co_schedule_init(context *ctx) noexcept
{
    ctx->co_schedule_bh_ = bh_new(ctx, co_schedule_bh_cb, ctx, "co_schedule_bh_cb");
}

void co_schedule_finalize(context *ctx) noexcept
{
    // Acquire: pairs with the release CAS in co_schedule().
    Coroutine *co = ctx->co_scheduled_.load(std::memory_order_acquire);
    // Every scheduled coroutine holds a reference on the context.
    QAIO_CHECK(!co, "AioContext %p finalized with coroutine %p (entry %p) still scheduled "
               "by '%s'", static_cast<void *>(ctx->c()), static_cast<void *>(co),
               co ? reinterpret_cast<void *>(co->entry) : nullptr,
               co ? co->scheduled : "");
    if (ctx->co_schedule_bh_) {
        bh_delete(ctx->co_schedule_bh_);
        ctx->co_schedule_bh_ = nullptr;
    }
}

void co_schedule(AioContext *c, Coroutine *co) noexcept
{
    QAIO_CHECK(c, "aio_co_schedule: no AioContext to schedule coroutine %p (entry %p) in",
               static_cast<void *>(co), reinterpret_cast<void *>(co->entry));
    const char *by = nullptr;
    if (!__atomic_compare_exchange_n(&co->scheduled, &by, +schedule_marker, false,
                                     __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
        QAIO_FATAL("aio_co_schedule: Co-routine was already scheduled in '%s' "
                   "(coroutine %p, entry %p)", by, static_cast<void *>(co),
                   reinterpret_cast<void *>(co->entry));
    }
    context *ctx = context::from(c);
    // One reference for co's stay, dropped by the BH; one for this call, as
    // the BH may drop the first before bh_schedule() below is done.
    g_source_ref(ctx->source());
    g_source_ref(ctx->source());

    Coroutine *head = ctx->co_scheduled_.load(std::memory_order_relaxed);
    do {
        co->co_scheduled_next.sle_next = head;
        // Release: pairs with the acquire exchange in co_schedule_bh_cb().
    } while (!ctx->co_scheduled_.compare_exchange_weak(head, co, std::memory_order_release,
                                                        std::memory_order_relaxed));
    bh_schedule(ctx->co_schedule_bh_, 0);
    g_source_unref(ctx->source());
}

void co_enter(AioContext *c, Coroutine *co) noexcept
{
    if (c != current_context()) {
        co_schedule(c, co);
        return;
    }
    Coroutine *self = coroutine::self();
    if (self->caller) {
        QAIO_CHECK(self != co, "aio_co_enter: coroutine %p (entry %p) wakes itself",
                   static_cast<void *>(co), reinterpret_cast<void *>(co->entry));
        QSIMPLEQ_INSERT_TAIL(&self->co_queue_wakeup, co, co_queue_next);
        return;
    }
    if (c) {
        context::from(c)->acquire();
    }
    coroutine::enter(c, co);
    if (c) {
        context::from(c)->release();
    }
}

void co_wake(Coroutine *co) noexcept
{
    // Acquire: pairs with the release fence after the store in enter().
    AioContext *c = __atomic_load_n(&co->ctx, __ATOMIC_ACQUIRE);
    co_enter(c, co);
}

void co_reschedule_self(AioContext *new_ctx) noexcept
{
    AioContext *old_ctx = current_context();
    if (old_ctx == new_ctx) {
        return;
    }
    Coroutine *self = coroutine::self();
    QAIO_CHECK(self->caller, "aio_co_reschedule_self(%p) called outside a coroutine",
               static_cast<void *>(new_ctx));
    QAIO_CHECK(old_ctx, "aio_co_reschedule_self(%p): coroutine %p runs in a thread without a "
               "current AioContext to leave from",
               static_cast<void *>(new_ctx), static_cast<void *>(self));
    reschedule r = {self, new_ctx};
    bh_schedule_oneshot(context::from(old_ctx), reschedule_bh_cb, &r, "aio_co_reschedule_self_bh");
    coroutine::yield();
}

} // namespace qaio::loop
