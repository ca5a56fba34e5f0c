// SPDX-License-Identifier: MIT
// aio_poll on POSIX: one iteration in the home thread, with the adaptive
// busy polling of io_poll handlers; then the same under glib (the context's
// side: lib/loop/gsource.cc).
//
// Order of one call: announce a possible sleep (blocking only) -> compute the
// timeout -> busy-poll the io_poll handlers if allowed -> wait in the fd
// monitor -> accept notifications -> adapt the polling time -> BHs -> ready
// handlers -> free handlers removed meanwhile -> timers.
#include "lib/posix/backend.hh"

#include "lib/timer/clock.hh"
#include "lib/timer/timer_list.hh"

namespace qaio::posix {

namespace {

constexpr int64_t poll_start_ns = 4000;
// QEMU's POLL_IDLE_INTERVAL_NS: a handler not ready for this long stops
// being busy polled where the monitor polls beside unpollable handlers.
constexpr int64_t poll_idle_ns = 7 * 1000 * 1000 * 1000LL;

int64_t soonest(int64_t a, int64_t b) noexcept
{
    return static_cast<uint64_t>(a) < static_cast<uint64_t>(b) ? a : b;
}

} // namespace

// Calls io_poll of every polling handler once; pushes those that report
// readiness.  Returns whether any did, ignoring the context's own notifier.
bool fd_backend::run_poll_handlers_once(ready_list &ready, int64_t now) noexcept
{
    bool progress = false;
    AioContext *c = ctx_->c();
    for (handler *h : poll_list_) {
        if (h->is_deleted() || h->queued() || (h->is_external_ && qaio_external_disable_count(c))) {
            continue;
        }
        if (h->io_poll_(h->opaque_)) {
            ready.push(h, revents_poll_ready);
            h->poll_idle_until_ = now + poll_idle_ns;
            if (!h->is_ctx_notifier_) {
                progress = true;
            }
        }
    }
    return progress;
}

// Handlers not ready for poll_idle_ns leave the poll list (their fd fires
// them again, and dispatch_ready puts them back).  With polling started,
// each gets io_poll_end and a last look, which may find it ready.
bool fd_backend::remove_idle_poll_handlers(ready_list &ready, int64_t now) noexcept
{
    bool progress = false;
    for (size_t i = 0; i < poll_list_.size();) {
        handler *h = poll_list_[i];
        if (h->is_ctx_notifier_ || h->is_deleted()) {
            i++;
            continue;
        }
        if (h->poll_idle_until_ == 0) {
            h->poll_idle_until_ = now + poll_idle_ns;
        }
        if (now < h->poll_idle_until_) {
            i++;
            continue;
        }
        h->poll_idle_until_ = 0;
        h->on_poll_list_ = false;
        poll_list_[i] = poll_list_.back();
        poll_list_.pop_back();
        IOHandler *end = h->poll_end();
        if (poll_started_ && end) {
            end(h->opaque_);
            if (!h->queued() && h->io_poll_(h->opaque_)) {
                ready.push(h, revents_poll_ready);
                progress = true;
            }
        }
    }
    return progress;
}

// Busy polling within the window min(poll_ns_, *timeout).  Returns true when
// a handler became ready; the wait then only looks (timeout 0).
bool fd_backend::try_poll_mode(ready_list &ready, int64_t *timeout) noexcept
{
    if (poll_ns_ == 0 || poll_list_.empty()) {
        return false;
    }
    if (poll_disabled() && !(monitor_->features() & fd_monitor::polls_unpollable)) {
        return false;
    }
    int64_t max_ns = soonest(*timeout, poll_ns_);
    if (max_ns == 0 || monitor_->need_wait()) {
        return false;
    }
    poll_set_started(ready, true);
    int64_t start = timer::monotonic_ns();
    int64_t elapsed;
    bool found = false;
    do {
        found = run_poll_handlers_once(ready, start) || !ready.empty();
        elapsed = timer::monotonic_ns() - start;
    } while (!found && elapsed < max_ns && !monitor_->need_wait());
    if ((monitor_->features() & fd_monitor::polls_unpollable) &&
        remove_idle_poll_handlers(ready, start + elapsed)) {
        found = true;
    }
    if (found) {
        *timeout = 0;
        if (loop::stats_enabled()) {
            ctx_->counters().poll_hits++;
        }
    } else if (*timeout > 0) {
        // The wait that follows ends when the timeout would have.
        *timeout -= elapsed < *timeout ? elapsed : *timeout;
    }
    return found;
}

void fd_backend::adapt_poll_time(int64_t block_ns) noexcept
{
    if (block_ns <= poll_ns_) {
        return;  // the wait ended inside the window: keep it
    }
    if (block_ns > poll_max_ns_) {
        poll_ns_ = poll_shrink_ ? poll_ns_ / poll_shrink_ : 0;
    } else if (poll_ns_ < poll_max_ns_ && block_ns < poll_max_ns_) {
        int64_t grow = poll_grow_ ? poll_grow_ : 2;
        int64_t next = poll_ns_ ? poll_ns_ * grow : poll_start_ns;
        poll_ns_ = next > poll_max_ns_ ? poll_max_ns_ : next;
    }
}

void fd_backend::poll_set_started(ready_list &ready, bool started) noexcept
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

void fd_backend::set_poll_params(int64_t max_ns, int64_t grow, int64_t shrink) noexcept
{
    poll_max_ns_ = max_ns;
    poll_grow_ = grow;
    poll_shrink_ = shrink;
    poll_ns_ = 0;
}

bool fd_backend::dispatch_ready(ready_list &ready) noexcept
{
    bool progress = false;
    AioContext *c = ctx_->c();
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
            if (loop::stats_enabled()) {
                ctx_->counters().fd_events++;
            }
        }
    }
    return progress;
}

bool fd_backend::poll(bool blocking) noexcept
{
    ctx_->poll_entered();
    ready_list ready;
    bool progress = false;
    int64_t start = poll_max_ns_ ? timer::monotonic_ns() : 0;
    loop::context *ctx = ctx_;

    sync_external();
    maybe_upgrade_monitor();

    // Fast path of a non-blocking call when no fd can be ready: BHs and
    // timers only, without visiting the handlers.
    if (!blocking && !poll_started_ && monitor_->surely_idle()) {
        ctx->notify_accept();
        progress = loop::bh_poll(ctx) != 0;
        return timer::group_run(&ctx->c()->tlg) || progress;
    }
    visit_begin();

    int64_t timeout = 0;
    if (blocking) {
        // Announce the possible sleep, then look for work.
        timeout = ctx->announce_sleep() ? 0 : ctx->compute_timeout();
    }
    bool found = poll_max_ns_ && !poll_list_.empty() && try_poll_mode(ready, &timeout);
    if (!found) {
        // Leaving polling mode may itself find events; then only look.
        poll_set_started(ready, false);
        if (!ready.empty()) {
            timeout = 0;
        }
    }
    if (timeout != 0 || !found || monitor_->need_wait()) {
        if (timeout != 0 && loop::stats_enabled()) {
            ctx->counters().blocking_waits++;
        }
        monitor_->wait(ready, timeout);
    }
    if (blocking) {
        ctx->withdraw_sleep();
    }
    ctx->notify_accept();

    if (poll_max_ns_) {
        adapt_poll_time(timer::monotonic_ns() - start);
    }

    progress |= loop::bh_poll(ctx) != 0;
    progress |= dispatch_ready(ready);
    visit_end();
    progress |= timer::group_run(&ctx->c()->tlg);
    return progress;
}

// --- under glib ------------------------------------------------------------
// The monitor decides what glib polls: one fd (epoll, io_uring) or each
// handler's GPollFD (poll).  Unlike QEMU 7.2, the GSource keeps io_uring.
// Handlers found ready in check() wait on gs_ready_ until dispatch; one
// removed meanwhile is only marked (not freed while queued) and skipped.

void fd_backend::use_g_source() noexcept
{
    if (!gsource_mode_) {
        choose_monitor_under_glib();
    }
    lockcnt::lock(&list_lock_);
    if (!gsource_mode_) {
        gsource_mode_ = true;
        monitor_->gsource_attach(ctx_->source());
    }
    lockcnt::unlock(&list_lock_);
}

void fd_backend::gs_prepare() noexcept
{
    sync_external();
    maybe_upgrade_monitor();
    prepare();
    monitor_->gsource_prepare();
}

bool fd_backend::prepare() noexcept
{
    visit_begin();
    poll_set_started(gs_ready_, false);
    visit_end();
    return false;  // glib polls what the monitor handed it
}

void fd_backend::gs_check() noexcept
{
    visit_begin();
    monitor_->gsource_check(gs_ready_);
    visit_end();
}

void fd_backend::gs_dispatch(bool collect) noexcept
{
    visit_begin();
    if (collect) {
        monitor_->gsource_check(gs_ready_);
    }
    loop::bh_poll(ctx_);
    dispatch_ready(gs_ready_);
    visit_end();
}

} // namespace qaio::posix
