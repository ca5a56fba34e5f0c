// SPDX-License-Identifier: MIT
// What both block engines share: the request queue, the context they are
// attached to with its completion bottom half, plug counting, the
// completion pass, submit-and-wait, and engines.hh's operations.  An engine
// derives from engine<Itself> (CRTP, so that per-request calls stay direct)
// and provides:
//
//   static Engine *create(init_failure *why)  a detached engine, or nullptr
//   static const loop::attachment_kind attachment
//                                             the context's engine's slot
//   void release_kernel_side()                undo what create set up
//   void watch(loop::context *ctx)            watch its fd in ctx, or stop
//                                             watching in ctx_ if nullptr
//   bool next_completion(request **r, long *res)
//                                             take one completion, consumed
//                                             before it is processed
//   void complete(request *r, long res)       finish (or requeue) it
//   bool has_work()                           something waits for the kernel
//   bool submit_queued()                      hand it over; whether the
//                                             kernel took anything
// and may replace submit_and_reap() and process() (io_uring does, to run
// only in the thread its ring allows).
//
// The completion pass.  A woken coroutine may run a nested aio_poll before
// the pass is over.  Each completion is consumed before its request is
// completed, so a nested pass continues where the outer one stopped and
// none is seen twice.  While a pass runs, the engine's completion bottom
// half is scheduled, so a nested aio_poll enters a pass of its own (and
// flushes the queue) even if the wake-up fd has already been read.  Every
// pass ends with a flush of whatever is queued, nested passes included, so
// a request is never left queued behind a loop that waits for it.
#pragma once

#include "lib/blockio/engines.hh"
#include "lib/blockio/request.hh"
#include "lib/loop/bh.hh"
#include "lib/loop/context.hh"
#include "lib/loop/level_hooks.hh"

#include <cstdint>

namespace qaio::blockio {

// The state, and the checks that need no knowledge of the engine's type
// (engine.cc): misuse QEMU would assert on, fatal with QEMU's function name.
struct engine_core {
    explicit engine_core(const engine_kind &kind) noexcept : kind_(kind) {}

    // For attach: the engine is detached.
    void check_detached() const noexcept;
    // For detach: the engine is attached to ctx.
    void check_attached_to(loop::context *ctx) const noexcept;
    // For cleanup: detached and idle.
    void check_idle() const noexcept;
    // For co_submit: in coroutine context, and attached.
    void check_submit() const noexcept;
    // For unplug: drops one plug; the engine was plugged.
    void drop_plug() noexcept;

    // Submit/reap rounds one turn may run before it lets the loop do other
    // work.
    static constexpr int max_rounds = 16;

    const engine_kind &kind_;
    loop::context *ctx_ = nullptr;
    loop::bh *completion_bh_ = nullptr;
    request_queue queue_;
    unsigned in_flight_ = 0;  // handed to the kernel, not completed yet
    unsigned plugged_ = 0;
    bool blocked_ = false;    // the kernel refused more: wait for a completion
    unsigned reaping_ = 0;    // completion passes on the stack
    uint64_t passes_ = 0;     // passes started, to notice nested ones
};

template <class Engine>
struct engine : engine_core {
    using engine_core::engine_core;

    // Queue r, submit at once if submit_now() says so after the push (else,
    // at 10.0, when the caller's deferral section ends), and wait in
    // coroutine context for the result.
    template <typename SubmitNow>
    int queue_and_wait(request *r, SubmitNow submit_now) noexcept
    {
        queue_.push(r);
        if (!blocked_) {
            if (submit_now()) {
                self()->submit_and_reap();
            } else if (const loop::deferral *defer = loop::level_hooks.defer) {
                defer->call(flush_deferred, self());
            }
        }
        return r->wait();
    }

    // The end of a deferral section: hand over what it queued.
    static void flush_deferred(void *opaque)
    {
        Engine *s = static_cast<Engine *>(opaque);
        if (!s->plugged_ && !s->blocked_ && s->has_work()) {
            s->submit_and_reap();
        }
    }

    // One pass over the completions available now (see the top of this
    // file).  Returns whether its final flush handed new requests to the
    // kernel.
    bool reap_pass() noexcept
    {
        // At 10.0 a pass is a deferral section, so that what the woken
        // coroutines defer (QEMU's devices: their notifications) is batched.
        const loop::deferral *defer = loop::level_hooks.defer;
        if (defer) {
            defer->begin();
        }
        ++reaping_;
        uint64_t pass = ++passes_;
        loop::bh_schedule(completion_bh_, 0);
        request *r;
        long res;
        while (self()->next_completion(&r, &res)) {
            --in_flight_;
            blocked_ = false;  // a slot was freed
            self()->complete(r, res);
            if (passes_ != pass) {
                // A nested pass ran and cancelled the BH at its end.
                pass = passes_;
                loop::bh_schedule(completion_bh_, 0);
            }
        }
        loop::bh_cancel(completion_bh_);
        --reaping_;
        bool submitted = false;
        if (!plugged_ && !blocked_ && self()->has_work()) {
            submitted = self()->submit_queued();
        }
        if (defer) {
            defer->end();  // this engine's deferred flush finds nothing left
        }
        return submitted;
    }

    // Submit the queue now; reap if the kernel took something.
    void submit_and_reap() noexcept
    {
        if (self()->submit_queued() && !reaping_) {
            self()->process();
        }
    }

    // Complete what is done and submit what was queued meanwhile; repeat
    // while submissions may have completed at once.
    void process() noexcept
    {
        for (int round = 0; round < max_rounds; round++) {
            if (!reap_pass() || reaping_) {
                return;
            }
        }
        // Left for the next loop iteration: the wake-up fd has been
        // signalled for whatever completes meanwhile.
    }

    // The completion BH, and io_poll's handler once the ring shows events.
    static void on_ready(void *opaque) { static_cast<Engine *>(opaque)->process(); }

    Engine *self() noexcept { return static_cast<Engine *>(this); }
};

template <class Engine> Engine *engine_new(init_failure *why) noexcept
{
    return Engine::create(why);
}

template <class Engine> void engine_free(Engine *s) noexcept
{
    s->check_idle();
    s->release_kernel_side();
    delete s;
}

template <class Engine> void engine_attach(Engine *s, loop::context *ctx) noexcept
{
    s->check_detached();
    s->ctx_ = ctx;
    s->completion_bh_ = loop::bh_new(ctx, Engine::on_ready, s, s->kind_.completion_bh_name);
    s->watch(ctx);
}

template <class Engine> void engine_detach(Engine *s, loop::context *ctx) noexcept
{
    s->check_attached_to(ctx);
    s->watch(nullptr);
    loop::bh_delete(s->completion_bh_);
    s->completion_bh_ = nullptr;
    s->ctx_ = nullptr;
}

template <class Engine> void engine_plug(Engine *s) noexcept
{
    s->plugged_++;
}

template <class Engine> Engine *context_engine(loop::context *ctx) noexcept
{
    return static_cast<Engine *>(ctx->attached(Engine::attachment));
}

template <class Engine>
Engine *context_engine_setup(loop::context *ctx, init_failure *why) noexcept
{
    if (!context_engine<Engine>(ctx)) {
        Engine *e = Engine::create(why);
        if (!e) {
            return nullptr;
        }
        engine_attach(e, ctx);
        ctx->attach(Engine::attachment, e);
    }
    return context_engine<Engine>(ctx);
}

template <class Engine> void context_engine_finalize(loop::context *ctx) noexcept
{
    if (Engine *e = context_engine<Engine>(ctx)) {
        engine_detach(e, ctx);
        engine_free(e);
        ctx->attach(Engine::attachment, nullptr);
    }
}

// Emits engines.hh's operations for one engine, in the engine's own file.
#define QAIO_BLOCKIO_ENGINE_OPERATIONS(E)                                          \
    template E *engine_new<E>(init_failure *) noexcept;                            \
    template void engine_free<E>(E *) noexcept;                                    \
    template void engine_attach<E>(E *, loop::context *) noexcept;                 \
    template void engine_detach<E>(E *, loop::context *) noexcept;                 \
    template void engine_plug<E>(E *) noexcept;                                    \
    template E *context_engine_setup<E>(loop::context *, init_failure *) noexcept; \
    template E *context_engine<E>(loop::context *) noexcept

} // namespace qaio::blockio
