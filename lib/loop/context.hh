// SPDX-License-Identifier: MIT
// The AioContext's C++ state: creation and finalization (through GSource
// reference counting), the lock, the notify protocol.  A context is one
// g_source_new allocation: the C AioContext, then this class at a fixed
// offset, so the two views convert by pointer arithmetic.
//
// Notify protocol: a waker publishes its work, sets notified_, then (full
// barrier) reads notify_me_ and wakes the backend only if the loop
// announced a sleep.  The loop announces (notify_me_ += 2 in aio_poll, |= 1
// in GSource prepare), then (full barrier) looks for work and notified_.
// Either the waker sees the announcement or the loop sees the work.
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

namespace qaio::loop {

// What another module attaches to a context on demand (thread pool, block
// engines), released at finalization; the loop knows the kinds only by this.
struct attachment_kind {
    // Also the finalization order: the pool (0) before the engines, as in
    // QEMU, so that no worker completes into a dying engine or BH.
    unsigned slot;
    void (*finalize)(context *ctx) noexcept;
};
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
    // For work the pre-sleep check sees itself (a pending BH), published by
    // a seq_cst RMW.  Pairs with announce_sleep() / gs_prepare().
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
        // Pairs with notify()'s exchange: work published before a later
        // notify() is seen, or that notify() sets the flag again.
        std::atomic_thread_fence(std::memory_order_seq_cst);
    }

    // The RMW pairs with notify(); true: a notification is pending already.
    bool announce_sleep() noexcept
    {
        notify_me_.fetch_add(2, std::memory_order_seq_cst);
        return notified_.load(std::memory_order_relaxed);
    }
    // Release keeps the wait before it; no acquire partner: a stale non-zero
    // read in notify() costs one spare wake-up.
    void withdraw_sleep() noexcept { notify_me_.fetch_sub(2, std::memory_order_release); }
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
    void set_poll_params(int64_t max_ns, int64_t grow, int64_t shrink) noexcept
    {
        backend_->set_poll_params(max_ns, grow, shrink);
        notify();
    }

    // --- home thread -----------------------------------------------------------
    // The last thread that bound the context, else its creator.
    void set_home_thread() noexcept;
    // Aborts unless the calling thread may poll the context.
    void check_poller(const char *what) noexcept
    {
        if (__builtin_expect(
                !pthread_equal(home_thread_.load(std::memory_order_relaxed), pthread_self()),
                0)) {
            check_foreign_poller(what);
        }
    }

    // --- event processing ------------------------------------------------------
    bool poll(bool blocking) noexcept { return backend_->poll(blocking); }
    void poll_entered() noexcept
    {
        check_poller("aio_poll");
        if (stats_enabled()) {
            stats_.aio_poll_calls++;
        }
    }
    // 0 if a BH is due, else until the next timer or idle BH (< 0: forever).
    int64_t compute_timeout() noexcept
    {
        int64_t timeout = bh_timeout(this);
        if (timeout == 0) {
            return 0;
        }
        int64_t deadline = timer::group_deadline_ns(&c()->tlg);
        return static_cast<uint64_t>(deadline) < static_cast<uint64_t>(timeout) ? deadline
                                                                                 : timeout;
    }
    stats &counters() noexcept { return stats_; }

    // --- GSource mode (gsource.cc) --------------------------------------------
    bool gs_prepare(int *timeout_ms) noexcept;
    bool gs_check() noexcept;
    void gs_dispatch() noexcept;

    // --- attachments -----------------------------------------------------------
    void *attached(const attachment_kind &k) const noexcept
    {
        return attachments_[k.slot].object;
    }
    // nullptr detaches.  In the context's home thread.
    void attach(const attachment_kind &k, void *object) noexcept
    {
        attachments_[k.slot] = {object ? &k : nullptr, object};
    }

    // --- parameters other modules read --------------------------------------
    int64_t max_batch() const noexcept { return aio_max_batch_; }
    void set_max_batch(int64_t max_batch) noexcept { aio_max_batch_ = max_batch; }
    // Kept here for a pool made later.
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
    friend int bh_poll(context *ctx) noexcept;
    friend int64_t bh_timeout(context *ctx) noexcept;
    friend void bh_finalize(context *ctx) noexcept;
    friend void co_schedule_init(context *ctx) noexcept;
    friend void co_schedule_finalize(context *ctx) noexcept;
    friend void co_schedule(AioContext *ctx, Coroutine *co) noexcept;
    friend void stats_register(context *ctx) noexcept;
    friend void stats_unregister(context *ctx) noexcept;
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

    std::unique_ptr<wait_backend> backend_;
    bool gs_checked_ = false;  // check() ran in this glib iteration

    int64_t aio_max_batch_ = 0;
    int64_t thread_pool_min_ = 0;
    int64_t thread_pool_max_ = 64;

    // Lock-free stack through Coroutine::co_scheduled_next, drained by a BH.
    std::atomic<Coroutine *> co_scheduled_{nullptr};
    bh *co_schedule_bh_ = nullptr;

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
void co_schedule_init(context *ctx) noexcept;
void co_schedule_finalize(context *ctx) noexcept;
// aio_co_schedule: from any thread; aborts if `co` is already scheduled.
void co_schedule(AioContext *ctx, Coroutine *co) noexcept;
void co_enter(AioContext *ctx, Coroutine *co) noexcept;
// aio_co_enter in the context `co` last ran in.
void co_wake(Coroutine *co) noexcept;
void co_reschedule_self(AioContext *new_ctx) noexcept;

using support::current_context;
using support::main_context;
using support::own_context;
using support::set_main_context;
// Binds the calling thread to ctx and makes it ctx's home thread.
void set_current_context(AioContext *ctx) noexcept;

// The thread bound ctx and ctx is not the main context: only this thread
// polls it and runs its coroutines.
bool polled_by_this_thread_alone(AioContext *ctx) noexcept;

} // namespace qaio::loop
