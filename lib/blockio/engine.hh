// SPDX-License-Identifier: MIT
// What the block engines share: the request queue, the context and its
// completion BH, plug counting, the completion pass, submit-and-wait.  An
// engine derives from engine<Itself> (CRTP: per-request calls stay direct)
// and provides create(why), `attachment`, release_kernel_side(),
// watch(ctx) (nullptr: stop), next_completion(&r, &res), complete(r, res),
// has_work() and submit_queued() (whether the kernel took anything); it may
// replace submit_and_reap() and process().
//
// The completion pass: a woken coroutine may run a nested aio_poll.  Each
// completion is consumed before its request completes, so a nested pass
// goes on where the outer stopped; the completion BH stays scheduled while
// a pass runs, so a nested aio_poll runs a pass even with the fd already
// read.  Every pass ends with a flush: no request stays queued behind a
// loop that waits for it.
#pragma once

#include "lib/blockio/engines.hh"
#include "lib/blockio/request.hh"
#include "lib/loop/bh.hh"
#include "lib/loop/context.hh"
#include "lib/loop/level_hooks.hh"

#include <cstdint>

namespace qaio::blockio {

// The state, and the misuse checks QEMU would assert on (engine.cc).
struct engine_core {
    explicit engine_core(const engine_kind &kind) noexcept : kind_(kind) {}

    void check_detached() const noexcept;
    void check_attached_to(loop::context *ctx) const noexcept;
    // Before freeing: fatal if attached; outstanding requests are said.
    void check_idle() const noexcept;
    void check_submit() const noexcept;
    void drop_plug() noexcept;

    // Submit/reap rounds before the loop gets to do other work.
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

    // Submits at once if submit_now() says so after the push, else (10.0)
    // when the caller's deferral section ends.
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

    static void flush_deferred(void *opaque)
    {
        Engine *s = static_cast<Engine *>(opaque);
        if (!s->plugged_ && !s->blocked_ && s->has_work()) {
            s->submit_and_reap();
        }
    }

    // Returns whether its final flush handed new requests to the kernel.
    bool reap_pass() noexcept
    {
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

    void submit_and_reap() noexcept
    {
        if (self()->submit_queued() && !reaping_) {
            self()->process();
        }
    }

    // Repeats while submissions may have completed at once.
    void process() noexcept
    {
        for (int round = 0; round < max_rounds; round++) {
            if (!reap_pass() || reaping_) {
                return;
            }
        }
    }

    // The completion BH, and io_poll's handler.
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

#define QAIO_BLOCKIO_ENGINE_OPERATIONS(E)                                          \
    template E *engine_new<E>(init_failure *) noexcept;                            \
    template void engine_free<E>(E *) noexcept;                                    \
    template void engine_attach<E>(E *, loop::context *) noexcept;                 \
    template void engine_detach<E>(E *, loop::context *) noexcept;                 \
    template void engine_plug<E>(E *) noexcept;                                    \
    template E *context_engine_setup<E>(loop::context *, init_failure *) noexcept; \
    template E *context_engine<E>(loop::context *) noexcept

} // namespace qaio::blockio
