// SPDX-License-Identifier: MIT
// aio-wait.  A waiter raises num_waiters, full barrier, reads its
// condition; a kicker changes the condition, full barrier, reads
// num_waiters and if need be schedules an empty BH in the main context,
// which every waiter polls.  One of the two sees the other.
#include "lib/mainloop/main_loop.hh"

#include "lib/loop/bh.hh"
#include "lib/loop/context.hh"
#include "lib/support/fatal.hh"

#include <atomic>

namespace qaio::mainloop {

namespace {

void wake_bh_cb(void *)
{
    // Running is the point: aio_poll reports progress.
}

struct oneshot_call {
    AioWait *w;
    QEMUBHFunc *cb;
    void *opaque;
    std::atomic<bool> done{false};
};

void oneshot_bh_cb(void *opaque)
{
    auto *call = static_cast<oneshot_call *>(opaque);
    call->cb(call->opaque);
    // call lives on the waiter's stack: once done is set, it may be gone.
    AioWait *w = call->w;
    call->done.store(true, std::memory_order_release);
    wait_kick(w);
}

} // namespace

void wait_kick(AioWait *w) noexcept
{
    std::atomic_thread_fence(std::memory_order_seq_cst);  // pairs with the waiter's
    if (std::atomic_ref<unsigned>(w->num_waiters).load(std::memory_order_relaxed)) {
        AioContext *main = loop::main_context();
        QAIO_CHECK(main, "aio_wait_kick with waiters but no main loop");
        loop::bh_schedule_oneshot(loop::context::from(main), wake_bh_cb, nullptr, "aio_wait_kick");
    }
}

void wait_bh_oneshot(AioWait *w, AioContext *ctx, QEMUBHFunc *cb, void *opaque,
                     bool caller_holds_ctx) noexcept
{
    AioContext *main = loop::main_context();
    QAIO_CHECK(main && loop::current_context() == main,
               "aio_wait_bh_oneshot called outside the main thread");
    oneshot_call call{w, cb, opaque};
    loop::bh_schedule_oneshot(loop::context::from(ctx), oneshot_bh_cb, &call,
                              "aio_wait_bh_oneshot");

    // AIO_WAIT_WHILE(ctx, !call.done), or its _UNLOCKED form.
    std::atomic_ref<unsigned> waiters(w->num_waiters);
    waiters.fetch_add(1, std::memory_order_seq_cst);
    std::atomic_thread_fence(std::memory_order_seq_cst);  // pairs with wait_kick
    loop::context *c = loop::context::from(ctx);
    if (ctx == main) {
        while (!call.done.load(std::memory_order_acquire)) {
            c->poll(true);
        }
    } else {
        loop::context *m = loop::context::from(main);
        while (!call.done.load(std::memory_order_acquire)) {
            if (caller_holds_ctx) {
                c->release();
            }
            m->poll(true);
            if (caller_holds_ctx) {
                c->acquire();
            }
        }
    }
    waiters.fetch_sub(1, std::memory_order_seq_cst);
}

} // namespace qaio::mainloop
