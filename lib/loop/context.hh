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
// then sets notified_, then (full barrier) reads notify_me_ and writes the
// eventfd only if the loop has announced it may sleep.  The loop announces
// (notify_me_ += 2 in aio_poll, |= 1 in GSource prepare), then (full barrier)
// looks for work and at notified_ before sleeping.  Either the waker sees the
// announcement, or the loop sees the work: no wake-up is lost.
#pragma once

#include "block/aio.h"
#include "lib/loop/bh.hh"
#include "lib/loop/handlers.hh"
#include "lib/loop/stats.hh"

#include <atomic>
#include <memory>
#include <pthread.h>
#include <vector>

namespace qaio::fdmon {
class monitor;
}

namespace qaio::loop {

enum class fdmon_choice { automatic, poll, epoll, io_uring };

class context {
public:
    static context *create() noexcept;  // nullptr if the notifier fails; errno set

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

    // --- fd handlers (handlers.cc) -------------------------------------------
    void set_fd_handler(int fd, bool is_external, IOHandler *io_read,
                        IOHandler *io_write, AioPollFn *io_poll,
                        IOHandler *io_poll_ready, void *opaque,
                        bool is_ctx_notifier = false) noexcept;
    void set_fd_poll(int fd, IOHandler *begin, IOHandler *end) noexcept;
    void visit_begin() noexcept;
    void visit_end() noexcept;
    void sync_external() noexcept;   // follow aio_disable/enable_external
    void maybe_upgrade_monitor() noexcept;
    // Automatic choice, handed to glib with few fds: epoll -> poll(2).
    void prefer_poll_under_glib() noexcept;
    // Moves every registration to `next` and makes it the monitor.
    void switch_monitor(std::unique_ptr<fdmon::monitor> next) noexcept;
    bool poll_disabled() const noexcept
    {
        return poll_disable_cnt_.load(std::memory_order_relaxed) > 0;
    }

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

    // --- event processing (poll_loop.cc) -------------------------------------
    bool poll(bool blocking) noexcept;
    int64_t compute_timeout() noexcept;
    bool dispatch_ready(ready_list &ready) noexcept;
    void poll_set_started(ready_list &ready, bool started) noexcept;
    void set_poll_params(int64_t max_ns, int64_t grow, int64_t shrink) noexcept;

    // --- GSource mode (gsource.cc) --------------------------------------------
    void use_g_source() noexcept;
    bool gs_prepare(int *timeout_ms) noexcept;
    bool gs_check() noexcept;
    void gs_dispatch() noexcept;
    bool gs_pending() noexcept;

    // --- fd monitor (select.cc) -----------------------------------------------
    void setup_monitor() noexcept;
    void destroy_monitor() noexcept;
    const char *monitor_name() const noexcept;

    void finalize() noexcept;

    static const size_t offset;

    std::atomic<pthread_t> home_thread_{};
    std::atomic<int> home_tid_{0};  // for messages only

    // Fields below are the context's state; the loop's files use them freely.
    pthread_mutex_t lock_;

    std::atomic<unsigned> notify_me_{0};
    std::atomic<bool> notified_{false};
    EventNotifier notifier_{};

    std::atomic<bh *> bh_pending_{nullptr};
    bh_slice *slices_head_ = nullptr;
    bh_slice **slices_tail_ = &slices_head_;

    QemuLockCnt list_lock_{};
    std::vector<handler *> by_fd_;
    std::atomic<handler *> deleted_{nullptr};  // see handlers.cc
    std::vector<handler *> poll_list_;
    int handler_count_ = 0;
    int external_count_ = 0;
    std::atomic<int> poll_disable_cnt_{0};  // written under the lock, peeked without
    bool external_disabled_seen_ = false;

    std::unique_ptr<fdmon::monitor> monitor_;
    fdmon_choice fdmon_choice_ = fdmon_choice::automatic;
    bool gsource_mode_ = false;
    ready_list gs_ready_;
    bool gs_checked_ = false;  // check() ran in this glib iteration

    int64_t poll_max_ns_ = 0;
    int64_t poll_grow_ = 0;
    int64_t poll_shrink_ = 0;
    int64_t poll_ns_ = 0;
    bool poll_started_ = false;

    int64_t aio_max_batch_ = 0;
    int64_t thread_pool_min_ = 0;
    int64_t thread_pool_max_ = 64;

    // Coroutines scheduled into this context (co_schedule.cc): a lock-free
    // stack linked through Coroutine::co_scheduled_next, drained by a BH.
    std::atomic<Coroutine *> co_scheduled_{nullptr};
    bh *co_schedule_bh_ = nullptr;

    // Objects other subsystems attach on demand (attached.cc).
    struct ThreadPool *thread_pool_ = nullptr;
    struct LinuxAioState *linux_aio_ = nullptr;
    struct LuringState *linux_io_uring_ = nullptr;

    stats stats_;
    context *stats_next_ = nullptr;

private:
    void check_foreign_poller(const char *what) noexcept __attribute__((cold));
};

// Set-up and teardown of what co_schedule.cc and attached.cc own.
void co_schedule_init(context *ctx) noexcept;
void co_schedule_finalize(context *ctx) noexcept;
void attached_finalize(context *ctx) noexcept;

// The thread's current context as QEMU 7.2 defines it (qemu_get_current_
// aio_context): the context the thread bound with set_current_context; else
// the main context while the thread holds the big QEMU lock (vCPU threads);
// else nullptr.  The one place of that rule: everything in qaio that asks
// "which context am I in" (coroutine entry, sleeps, AIO_WAIT_WHILE's home
// thread test, aio_poll's own-thread check) goes through it.  Not inline: a
// coroutine may resume on another thread, and the compiler must not cache
// the TLS address across a switch.
AioContext *current_context() noexcept;
// Only the context the thread bound itself, nullptr if none.
AioContext *own_context() noexcept;
void set_current_context(AioContext *ctx) noexcept;

// Whether the calling thread may poll ctx (QEMU's in_aio_context_home_thread,
// which aio_poll asserts): ctx is the thread's current context, or the thread
// is ctx's home (see context::set_home_thread), or ctx is QEMU's main context
// (which any thread holding the BQL may poll).
bool may_poll(AioContext *ctx) noexcept;
// QEMU's main context (qemu_get_aio_context), nullptr until the main loop
// (lib/mainloop) registers it.  Kept here so that the loop's rules can name
// it without depending on the main loop.
AioContext *main_context() noexcept;
void set_main_context(AioContext *ctx) noexcept;

// Whether, by QEMU's rules, only the calling thread polls ctx and runs its
// coroutines: the thread bound ctx (set_current_context) and ctx is not
// QEMU's main context, which any thread holding the BQL may poll.
bool polled_by_this_thread_alone(AioContext *ctx) noexcept;

} // namespace qaio::loop
