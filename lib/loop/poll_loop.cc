// SPDX-License-Identifier: MIT
// aio_poll: one iteration of a context in its home thread, and the adaptive
// userspace polling that may replace the wait.
//
// Order of one call: announce a possible sleep (blocking only) -> compute the
// timeout -> busy-poll the io_poll handlers if allowed -> wait in the fd
// monitor -> accept notifications -> adapt the polling time -> BHs -> ready
// handlers -> free handlers removed meanwhile -> timers.
#include "lib/loop/context.hh"

#include "lib/loop/fd_monitor.hh"
#include "lib/timer/clock.hh"
#include "lib/timer/timer_list.hh"

namespace qaio::loop {

namespace {

constexpr int64_t poll_start_ns = 4000;

int64_t soonest(int64_t a, int64_t b) noexcept
{
    return static_cast<uint64_t>(a) < static_cast<uint64_t>(b) ? a : b;
}

} // namespace

// Calls io_poll of every polling handler once; pushes those that report
// readiness.  Returns whether any did, ignoring the context's own notifier.
bool run_poll_handlers_once(context *ctx, ready_list &ready) noexcept
{
    bool progress = false;
    AioContext *c = ctx->c();
    for (handler *h : ctx->poll_list_) {
        if (h->is_deleted() || h->queued() || (h->is_external_ && qaio_external_disable_count(c))) {
            continue;
        }
        if (h->io_poll_(h->opaque_)) {
            ready.push(h, revents_poll_ready);
            if (!h->is_ctx_notifier_) {
                progress = true;
            }
        }
    }
    return progress;
}

// Busy polling within the window min(poll_ns_, *timeout).  Returns true when
// a handler became ready; the wait then only looks (timeout 0).
bool try_poll_mode(context *ctx, ready_list &ready, int64_t *timeout) noexcept
{
    if (ctx->poll_ns_ == 0 || ctx->poll_list_.empty()) {
        return false;
    }
    if (ctx->poll_disabled() && !(ctx->monitor_->features() & fd_monitor::polls_unpollable)) {
        return false;
    }
    int64_t max_ns = soonest(*timeout, ctx->poll_ns_);
    if (max_ns == 0 || ctx->monitor_->need_wait()) {
        return false;
    }
    ctx->poll_set_started(ready, true);
    int64_t start = timer::monotonic_ns();
    bool found = false;
    do {
        found = run_poll_handlers_once(ctx, ready) || !ready.empty();
    } while (!found && timer::monotonic_ns() - start < max_ns && !ctx->monitor_->need_wait());
    if (found) {
        *timeout = 0;
        if (stats_enabled()) {
            ctx->stats_.poll_hits++;
        }
    }
    return found;
}

void adapt_poll_time(context *ctx, int64_t block_ns) noexcept
{
    if (block_ns <= ctx->poll_ns_) {
        return;  // the wait ended inside the window: keep it
    }
    if (block_ns > ctx->poll_max_ns_) {
        ctx->poll_ns_ = ctx->poll_shrink_ ? ctx->poll_ns_ / ctx->poll_shrink_ : 0;
    } else if (ctx->poll_ns_ < ctx->poll_max_ns_) {
        int64_t grow = ctx->poll_grow_ ? ctx->poll_grow_ : 2;
        int64_t next = ctx->poll_ns_ ? ctx->poll_ns_ * grow : poll_start_ns;
        ctx->poll_ns_ = next > ctx->poll_max_ns_ ? ctx->poll_max_ns_ : next;
    }
}

void context::poll_set_started(ready_list &ready, bool started) noexcept
{
    if (started == poll_started_) {
        return;
    }
    poll_started_ = started;
    for (handler *h : poll_list_) {
        if (h->is_deleted()) {
            continue;
        }
        IOHandler *hook = started ? h->poll_begin() : h->poll_end();
        if (hook) {
            hook(h->opaque_);
        }
        // Leaving polling mode: a last look catches an event that raced
        // with io_poll_end.
        if (!started && !h->queued() && h->io_poll_(h->opaque_)) {
            ready.push(h, revents_poll_ready);
        }
    }
}

void context::set_poll_params(int64_t max_ns, int64_t grow, int64_t shrink) noexcept
{
    poll_max_ns_ = max_ns;
    poll_grow_ = grow;
    poll_shrink_ = shrink;
    poll_ns_ = 0;
    notify();
}

int64_t context::compute_timeout() noexcept
{
    int64_t timeout = bh_timeout(this);
    if (timeout == 0) {
        return 0;
    }
    int64_t deadline = timer::group_deadline_ns(&c()->tlg);
    if (deadline == 0) {
        return 0;
    }
    return soonest(timeout, deadline);
}

bool context::dispatch_ready(ready_list &ready) noexcept
{
    bool progress = false;
    AioContext *c = this->c();
    while (handler *h = ready.pop()) {
        if (h->is_deleted() || (h->is_external_ && qaio_external_disable_count(c))) {
            continue;
        }
        int rev = h->revents_;
        bool ran = false;
        if (rev & revents_poll_ready) {
            h->io_poll_ready_(h->opaque_);
            ran = true;
        } else if (rev & revents_drained) {
            // The monitor consumed the notification already.
        } else {
            if ((rev & (G_IO_IN | G_IO_HUP | G_IO_ERR)) && h->io_read_) {
                h->io_read_(h->opaque_);
                ran = true;
            }
            if (!h->is_deleted() && (rev & (G_IO_OUT | G_IO_ERR)) && h->io_write_) {
                h->io_write_(h->opaque_);
                ran = true;
            }
            // Ready once: from now on it is worth busy polling.
            if (!h->is_deleted() && h->io_poll_ && !h->on_poll_list_) {
                h->on_poll_list_ = true;
                poll_list_.push_back(h);
                IOHandler *begin = h->poll_begin();
                if (poll_started_ && begin) {
                    begin(h->opaque_);
                }
            }
        }
        if (ran && !h->is_ctx_notifier_) {
            progress = true;
            if (stats_enabled()) {
                stats_.fd_events++;
            }
        }
    }
    return progress;
}

bool context::poll(bool blocking) noexcept
{
    check_poller("aio_poll");
    ready_list ready;
    bool progress = false;
    int64_t start = poll_max_ns_ ? timer::monotonic_ns() : 0;

    if (stats_enabled()) {
        stats_.aio_poll_calls++;
    }
    sync_external();
    maybe_upgrade_monitor();

    // Fast path of a non-blocking call when no fd can be ready: BHs and
    // timers only, without visiting the handlers.
    if (!blocking && !poll_started_ && monitor_->surely_idle()) {
        notify_accept();
        progress = bh_poll(this) != 0;
        return timer::group_run(&c()->tlg) || progress;
    }
    visit_begin();

    int64_t timeout = 0;
    if (blocking) {
        // Announce the possible sleep, then look for work; the RMW is the
        // full barrier that pairs with notify().
        notify_me_.fetch_add(2, std::memory_order_seq_cst);
        timeout = notified_.load(std::memory_order_relaxed) ? 0 : compute_timeout();
    }
    bool found = poll_max_ns_ && !poll_list_.empty() && try_poll_mode(this, ready, &timeout);
    if (!found) {
        // Leaving polling mode may itself find events; then only look.
        poll_set_started(ready, false);
        if (!ready.empty()) {
            timeout = 0;
        }
    }
    if (timeout != 0 || !found || monitor_->need_wait()) {
        if (timeout != 0 && stats_enabled()) {
            stats_.blocking_waits++;
        }
        monitor_->wait(ready, timeout);
    }
    if (blocking) {
        // Release: the wait stays before the withdrawal.  No acquire reads it:
        // notify() reads notify_me_ relaxed after its seq_cst exchange, and a
        // stale non-zero costs one spare eventfd write, read by the notifier.
        notify_me_.fetch_sub(2, std::memory_order_release);
    }
    notify_accept();

    if (poll_max_ns_) {
        adapt_poll_time(this, timer::monotonic_ns() - start);
    }

    progress |= bh_poll(this) != 0;
    progress |= dispatch_ready(ready);
    visit_end();
    progress |= timer::group_run(&c()->tlg);
    return progress;
}

} // namespace qaio::loop
