// SPDX-License-Identifier: MIT
// The AioContext's C++ state and the context-wide operations: creation and
// finalization (through GSource reference counting), the recursive context
// lock, the notify protocol and the thread's current context.
//
// Memory: a context is one glib allocation, g_source_new(funcs, size), laid
// out as the C AioContext (GSource first, then the fields QEMU's inlines
// touch) followed by this class at a fixed offset, so switching between the
// two views is pointer arithmetic, never a lookup.
//
// Notify protocol: a waker first publishes its work (BH flags, timer list),
// then sets notified_, then (full barrier) reads notify_me_ and wakes the
// wait backend only if the loop has announced it may sleep.  The loop announces
// (notify_me_ += 2 in aio_poll, |= 1 in GSource prepare), then (full barrier)
// looks for work and at notified_ before sleeping.  Either the waker sees the
// announcement, or the loop sees the work: no wake-up is lost.
#pragma once

#include "block/aio.h"
#include "lib/loop/bh.hh"
#include "lib/loop/stats.hh"
#include "lib/loop/wait_backend.hh"
#include "lib/support/current_context.hh"
#include "lib/timer/timer_list.hh"

#include <atomic>
#include <memory>
#include <pthread.h>
#include <vector>

namespace qaio::loop {

// What another module attaches to a context on demand (its thread pool, its
// block engines) and the context releases when it is finalized: a small
// table of slots, one per kind.  The loop knows the kinds only through this
// record; each module defines its own.
struct attachment_kind {
    // The kind's slot, also its finalization order: the pool (0) before the
    // engines, as QEMU does, so that no worker can still complete into an
    // engine or a BH of a dying context.
    unsigned slot;
    // Detaches and frees the context's object of this kind.
    void (*finalize)(context *ctx) noexcept;
};
// Slots of a context's attachment table; a kind's slot is below this.
constexpr unsigned attachment_slots = 4;

class context {
public:
    static context *create() noexcept;  // nullptr if the backend fails; errno set

    static context *from(AioContext *c) noexcept
    {
        return reinterpret_cast<context *>(reinterpret_cast<char *>(c) + offset);
    }
    static context *from(GSource *s) noexcept
    {
        return from(reinterpret_cast<AioContext *>(s));
    }
    AioContext *c() noexcept
    {
        return reinterpret_cast<AioContext *>(reinterpret_cast<char *>(this) - offset);
    }
    GSource *source() noexcept { return &c()->source; }

    // --- lock ---------------------------------------------------------------
    void acquire() noexcept { pthread_mutex_lock(&lock_); }
    void release() noexcept { pthread_mutex_unlock(&lock_); }

    // --- notify protocol ------------------------------------------------------
    void notify() noexcept;
    // For wakers whose work is itself visible to the loop's pre-sleep check
    // (a BH on the pending stack) and was published with a seq_cst RMW:
    // only a loop that announced a sleep needs the full notify().  Pairs
    // with the seq_cst announcement in poll() / gs_prepare().
    void kick() noexcept
    {
        if (notify_me_.load(std::memory_order_seq_cst)) {
            notify();
        }
    }
    void notify_accept() noexcept
    {
        if (!notified_.load(std::memory_order_relaxed)) {
            return;  // nothing to clear, nothing to order
        }
        notified_.store(false, std::memory_order_relaxed);
        // Clear the flag before looking at events; pairs with the exchange
        // in notify(): whatever was published before a later notify() is
        // seen, or that notify() sets the flag again.
        std::atomic_thread_fence(std::memory_order_seq_cst);
    }

    // Announced by aio_poll before it looks for work and may sleep (the
    // RMW is the full barrier that pairs with notify()); returns whether a
    // notification is already pending, when the wait must only look.
    bool announce_sleep() noexcept
    {
        notify_me_.fetch_add(2, std::memory_order_seq_cst);
        return notified_.load(std::memory_order_relaxed);
    }
    // Release: the wait stays before the withdrawal.  No acquire reads it:
    // notify() reads notify_me_ relaxed after its seq_cst exchange, and a
    // stale non-zero costs one spare wake-up, which the backend absorbs.
    void withdraw_sleep() noexcept { notify_me_.fetch_sub(2, std::memory_order_release); }
    // Busy polling sees notifications through the flag, without a system call.
    bool notified() const noexcept { return notified_.load(std::memory_order_relaxed); }

    // --- what the wait backend does (wait_backend.hh) ------------------------
    wait_backend &backend() noexcept { return *backend_; }
    void set_fd_handler(int fd, bool is_external, IOHandler *io_read,
                        IOHandler *io_write, AioPollFn *io_poll,
                        IOHandler *io_poll_ready, void *opaque) noexcept
    {
        backend_->set_fd_handler(fd, is_external, io_read, io_write, io_poll,
                                 io_poll_ready, opaque);
    }
    void set_fd_poll(int fd, IOHandler *begin, IOHandler *end) noexcept
    {
        backend_->set_fd_poll(fd, begin, end);
    }
    void set_poll_params(int64_t max_ns, int64_t grow, int64_t shrink) noexcept
    {
        backend_->set_poll_params(max_ns, grow, shrink);
        notify();
    }
    bool poll_disabled() const noexcept { return backend_->poll_disabled(); }
    void setup_monitor() noexcept { backend_->setup(); }
    void destroy_monitor() noexcept { backend_->destroy(); }
    const char *monitor_name() const noexcept { return backend_->name(); }
    // The monitor QAIO_FDMON forced and the context could not set up, or
    // nullptr.
    const char *monitor_unhonoured() const noexcept { return backend_->unhonoured(); }

    // --- home thread -----------------------------------------------------------
    // The thread that may poll the context: the last one that bound it
    // (qemu_set_current_aio_context), or, until one does, the one that
    // created it.  Others may poll only where may_poll() says so.
    void set_home_thread() noexcept;
    // Aborts, naming the context and the thread, unless the calling thread
    // may poll the context.  One load and one compare on the hot path.
    void check_poller(const char *what) noexcept
    {
        if (__builtin_expect(
                !pthread_equal(home_thread_.load(std::memory_order_relaxed), pthread_self()),
                0)) {
            check_foreign_poller(what);
        }
    }

    // --- event processing ------------------------------------------------------
    // aio_poll: the backend waits and dispatches (wait_backend.hh), first
    // calling poll_entered().
    bool poll(bool blocking) noexcept { return backend_->poll(blocking); }
    void poll_entered() noexcept
    {
        check_poller("aio_poll");
        if (stats_enabled()) {
            stats_.aio_poll_calls++;
        }
    }
    // How long the loop may sleep: 0 if a BH is due, else until the next
    // timer or the idle BHs' 10 ms (< 0: no limit).
    int64_t compute_timeout() noexcept
    {
        int64_t timeout = bh_timeout(this);
        if (timeout == 0) {
            return 0;
        }
        int64_t deadline = timer::group_deadline_ns(&c()->tlg);
        // The sooner, a negative value (no limit) being the latest.
        return static_cast<uint64_t>(deadline) < static_cast<uint64_t>(timeout) ? deadline
                                                                                 : timeout;
    }
    stats &counters() noexcept { return stats_; }

    // --- GSource mode (gsource.cc) --------------------------------------------
    void use_g_source() noexcept { backend_->use_g_source(); }
    bool gs_prepare(int *timeout_ms) noexcept;
    bool gs_check() noexcept;
    void gs_dispatch() noexcept;
    bool gs_pending() noexcept { return backend_->gs_pending(); }
    bool aio_prepare() noexcept { return backend_->prepare(); }

    // --- attachments -----------------------------------------------------------
    // The object of kind `k` attached to this context, nullptr if none.
    void *attached(const attachment_kind &k) const noexcept
    {
        return attachments_[k.slot].object;
    }
    // Attaches `object` as the context's object of kind `k`, or with nullptr
    // forgets it.  In the context's home thread.
    void attach(const attachment_kind &k, void *object) noexcept
    {
        attachments_[k.slot] = {object ? &k : nullptr, object};
    }

    // --- parameters other modules read --------------------------------------
    // aio_context_set_aio_params: the linux-aio batch limit, 0 for default.
    int64_t max_batch() const noexcept { return aio_max_batch_; }
    void set_max_batch(int64_t max_batch) noexcept { aio_max_batch_ = max_batch; }
    // aio_context_set_thread_pool_params: kept here for a pool made later.
    int64_t thread_pool_min() const noexcept { return thread_pool_min_; }
    int64_t thread_pool_max() const noexcept { return thread_pool_max_; }
    void set_thread_pool_limits(int64_t min, int64_t max) noexcept
    {
        thread_pool_min_ = min;
        thread_pool_max_ = max;
    }

    void finalize() noexcept;

    static const size_t offset;

private:
    // The context's state is private: other modules go through the named
    // operations above; the loop's own functions below are its friends.
    friend int bh_poll(context *ctx) noexcept;
    friend int64_t bh_timeout(context *ctx) noexcept;
    friend void bh_finalize(context *ctx) noexcept;
    friend void co_schedule_init(context *ctx) noexcept;
    friend void co_schedule_finalize(context *ctx) noexcept;
    friend void co_schedule(AioContext *ctx, Coroutine *co) noexcept;
    friend void stats_register(context *ctx) noexcept;
    friend void stats_unregister(context *ctx) noexcept;
    friend bool may_poll(AioContext *ctx) noexcept;
    // File-local helpers of the loop (bh.cc, co_schedule.cc, stats.cc).
    friend void push_pending(context *ctx, bh *b) noexcept;
    friend void co_schedule_bh_cb(void *opaque);
    friend void stats_print(context *ctx) noexcept;
    friend void stats_print_all_at_exit();

    std::atomic<pthread_t> home_thread_{};
    std::atomic<int> home_tid_{0};  // for messages only

    pthread_mutex_t lock_;

    std::atomic<unsigned> notify_me_{0};
    std::atomic<bool> notified_{false};

    std::atomic<bh *> bh_pending_{nullptr};
    bh_slice *slices_head_ = nullptr;
    bh_slice **slices_tail_ = &slices_head_;

    // Everything platform-specific: handlers, notifier, how to wait.
    std::unique_ptr<wait_backend> backend_;
    bool gs_checked_ = false;  // check() ran in this glib iteration

    int64_t aio_max_batch_ = 0;
    int64_t thread_pool_min_ = 0;
    int64_t thread_pool_max_ = 64;

    // Coroutines scheduled into this context (co_schedule.cc): a lock-free
    // stack linked through Coroutine::co_scheduled_next, drained by a BH.
    std::atomic<Coroutine *> co_scheduled_{nullptr};
    bh *co_schedule_bh_ = nullptr;

    // Objects other modules attach on demand: a thread pool and two block
    // engines today.
    struct attachment {
        const attachment_kind *kind = nullptr;
        void *object = nullptr;
    };
    attachment attachments_[attachment_slots];

    stats stats_;
    context *stats_next_ = nullptr;

    void check_foreign_poller(const char *what) noexcept __attribute__((cold));
};

// ---- cross-context entry of coroutines (co_schedule.cc) -------------------
// Each context keeps a lock-free list of coroutines scheduled into it and a
// BH that enters them.
void co_schedule_init(context *ctx) noexcept;
void co_schedule_finalize(context *ctx) noexcept;
// aio_co_schedule: from any thread; aborts if `co` is already scheduled.
void co_schedule(AioContext *ctx, Coroutine *co) noexcept;
// aio_co_enter: schedule if `ctx` is not this thread's context, queue behind
// the running coroutine if called from one, else enter now under the lock.
void co_enter(AioContext *ctx, Coroutine *co) noexcept;
// aio_co_wake: aio_co_enter in the context `co` last ran in.
void co_wake(Coroutine *co) noexcept;
// aio_co_reschedule_self: move the running coroutine to `new_ctx`.
void co_reschedule_self(AioContext *new_ctx) noexcept;

// The thread's current context and QEMU's main context live below the loop
// (lib/support/current_context.hh); everything in qaio that asks "which
// context am I in" goes through them.
using support::current_context;
using support::main_context;
using support::own_context;
using support::set_main_context;
// Binds the calling thread to ctx and makes it ctx's home thread.
void set_current_context(AioContext *ctx) noexcept;

// Whether the calling thread may poll ctx (QEMU's in_aio_context_home_thread,
// which aio_poll asserts): ctx is the thread's current context, or the thread
// is ctx's home (see context::set_home_thread), or ctx is QEMU's main context
// (which any thread holding the BQL may poll).
bool may_poll(AioContext *ctx) noexcept;

// Whether, by QEMU's rules, only the calling thread polls ctx and runs its
// coroutines: the thread bound ctx (set_current_context) and ctx is not
// QEMU's main context, which any thread holding the BQL may poll.
bool polled_by_this_thread_alone(AioContext *ctx) noexcept;

} // namespace qaio::loop
