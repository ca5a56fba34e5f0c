// SPDX-License-Identifier: MIT
// What both block engines share: a request queue, the context they are
// attached to with its completion bottom half, plug/unplug, the completion
// pass, submit-and-wait, and the per-context engine of aio_setup_linux_*.
// An engine derives from engine<Itself> (CRTP, so that per-request calls
// stay direct) and provides:
//
//   static Engine *create(init_failure *why)  a detached engine, or nullptr
//   void release_kernel_side()                undo create's kernel objects
//   void watch(loop::context *ctx)            watch its fd in ctx, or stop
//                                             watching in ctx_ if nullptr
//   bool next_completion(request **r, long *res)
//                                             take one completion, consumed
//                                             before it is processed
//   void complete(request *r, long res)       finish (or requeue) it
//   bool has_work()                           something waits for the kernel
//   bool submit_queued()                      hand it over; whether the
//                                             kernel took anything
//   void submit_and_reap()                    submit now, then reap
//   void process()                            passes until nothing is left
//
// The completion pass.  A woken coroutine may run a nested aio_poll before
// the pass is over.  Each completion is consumed before its request is
// completed, so a nested pass continues where the outer one stopped and
// none is seen twice.  While a pass runs, the engine's completion bottom
// half is scheduled, so a nested aio_poll enters a pass of its own (and
// flushes the queue) even if the wake-up fd has already been read.  Every
// pass ends with a flush of whatever is queued, nested passes included, so
// a request is never left queued behind a loop that waits for it.
//
// Threading: everything but create runs in the home thread of the context
// the engine is attached to.
#pragma once

#include "lib/blockio/engines.hh"
#include "lib/blockio/request.hh"
#include "lib/coroutine/coroutine.hh"
#include "lib/loop/bh.hh"
#include "lib/loop/context.hh"

#include <cstdint>

namespace qaio::blockio {

// The state and the checks that need no knowledge of the engine's type
// (engine.cc).
class engine_core {
protected:
    explicit engine_core(const engine_kind &kind) noexcept : kind_(kind) {}

    // Fatal unless the engine is detached, for attach (QEMU's function
    // name `api_fn` in the message).
    void check_detached(const char *api_fn) const noexcept;
    // Fatal unless the engine is attached to ctx, for detach.
    void check_attached_to(loop::context *ctx) const noexcept;
    // Fatal unless detached and idle, for cleanup.
    void check_idle() const noexcept;
    // Fatal unless in coroutine context and attached, for co_submit.
    void check_submit() const noexcept;
    // Drops one plug; fatal if the engine was not plugged.
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
class engine : public engine_core {
public:
    void attach(loop::context *ctx) noexcept
    {
        check_detached("attach_aio_context");
        ctx_ = ctx;
        completion_bh_ = loop::bh_new(ctx, on_bh, self(), kind_.completion_bh_name);
        self()->watch(ctx);
    }

    void detach(loop::context *ctx) noexcept
    {
        check_attached_to(ctx);
        self()->watch(nullptr);
        loop::bh_delete(completion_bh_);
        completion_bh_ = nullptr;
        ctx_ = nullptr;
    }

    // The engine must be detached and idle.
    static void free(Engine *e) noexcept
    {
        e->check_idle();
        e->release_kernel_side();
        delete e;
    }

    void plug() noexcept { plugged_++; }

    // Queue r, submit at once if submit_now() says so after the push, and
    // wait in coroutine context for the result.
    template <typename SubmitNow>
    int queue_and_wait(request *r, SubmitNow submit_now) noexcept
    {
        queue_.push(r);
        if (!blocked_ && submit_now()) {
            self()->submit_and_reap();
        }
        return r->wait();
    }

    // The engine in `slot` (a context's), created and attached on first use.
    static Engine *setup_in(Engine *&slot, loop::context *ctx, init_failure *why) noexcept
    {
        if (!slot) {
            Engine *e = Engine::create(why);
            if (!e) {
                return nullptr;
            }
            e->attach(ctx);
            slot = e;
        }
        return slot;
    }

    // At context finalization: detach and free the engine in `slot`, if any.
    static void finalize_in(Engine *&slot, loop::context *ctx) noexcept
    {
        if (Engine *e = slot) {
            e->detach(ctx);
            free(e);
            slot = nullptr;
        }
    }

protected:
    using engine_core::engine_core;

    // One pass over the completions available now (see the top of this
    // file).  Returns whether its final flush handed new requests to the
    // kernel.
    bool reap_pass() noexcept
    {
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
        if (!plugged_ && !blocked_ && self()->has_work()) {
            return self()->submit_queued();
        }
        return false;
    }

private:
    Engine *self() noexcept { return static_cast<Engine *>(this); }

    static void on_bh(void *opaque) { static_cast<Engine *>(opaque)->process(); }
};

} // namespace qaio::blockio
