// SPDX-License-Identifier: MIT
// The context as a GSource: glib's prepare/check/dispatch/finalize driving
// the same BHs, handlers and timers as aio_poll.
//
// The fd monitor decides what glib polls: one fd for epoll and io_uring (so
// a GMainContext iteration costs the same with 10 or 10,000 registered fds),
// or each handler's GPollFD for the poll monitor.  Unlike QEMU 7.2, taking
// the GSource does not drop io_uring (see ChangeLog).
//
// Ready handlers found in check() wait on gs_ready_ until dispatch(); a
// handler removed meanwhile is only marked (queued handlers are not freed
// until popped), and dispatch skips it.
#include "lib/loop/context.hh"

#include "lib/loop/fd_monitor.hh"
#include "lib/loop/lockcnt.hh"
#include "lib/timer/timer_list.hh"

namespace qaio::loop {

namespace {

gboolean source_prepare(GSource *source, gint *timeout)
{
    return context::from(source)->gs_prepare(timeout);
}

gboolean source_check(GSource *source)
{
    return context::from(source)->gs_check();
}

gboolean source_dispatch(GSource *source, GSourceFunc callback, gpointer)
{
    // A context source carries no callback of its own.
    g_assert(callback == nullptr);
    context::from(source)->gs_dispatch();
    return G_SOURCE_CONTINUE;
}

void source_finalize(GSource *source)
{
    context::from(source)->finalize();
}

int ns_to_ms_round_up(int64_t ns) noexcept
{
    if (ns < 0) {
        return -1;
    }
    int64_t ms = (ns + 999999) / 1000000;
    return ms > INT32_MAX ? INT32_MAX : static_cast<int>(ms);
}

} // namespace

GSourceFuncs gsource_funcs = {
    source_prepare, source_check, source_dispatch, source_finalize, nullptr, nullptr,
};

void context::use_g_source() noexcept
{
    if (!gsource_mode_) {
        prefer_poll_under_glib();
    }
    lockcnt::lock(&list_lock_);
    if (!gsource_mode_) {
        gsource_mode_ = true;
        monitor_->gsource_attach(source());
    }
    lockcnt::unlock(&list_lock_);
}

bool context::gs_prepare(int *timeout_ms) noexcept
{
    // Announce that glib may sleep; pairs with notify().
    notify_me_.fetch_or(1, std::memory_order_seq_cst);
    gs_checked_ = false;
    sync_external();
    maybe_upgrade_monitor();
    gs_leave_poll_mode();
    monitor_->gsource_prepare();

    int64_t ns = (notified_.load(std::memory_order_relaxed) || !gs_ready_.empty())
                     ? 0 : compute_timeout();
    *timeout_ms = ns_to_ms_round_up(ns);
    return *timeout_ms == 0;
}

void context::gs_leave_poll_mode() noexcept
{
    // Busy polling is for aio_poll only: under glib, leave polling mode.
    visit_begin();
    poll_set_started(gs_ready_, false);
    visit_end();
}

bool context::gs_check() noexcept
{
    // Release, as aio_poll's withdrawal (poll_loop.cc) and for its reasons.
    notify_me_.fetch_and(~1u, std::memory_order_release);
    // A notification alone makes the source dispatch once (QEMU's GSource
    // contract: iterating after aio_notify returns TRUE).
    bool notified = notified_.exchange(false, std::memory_order_seq_cst);

    visit_begin();
    monitor_->gsource_check(gs_ready_);
    visit_end();
    gs_checked_ = true;

    return notified || gs_pending() || bh_timeout(this) == 0 ||
           timer::group_deadline_ns(&c()->tlg) == 0;
}

bool context::gs_pending() noexcept
{
    // Only the context's own notifier counts for nothing.
    return gs_ready_.size() > 0;
}

void context::gs_dispatch() noexcept
{
    if (stats_enabled()) {
        stats_.gsource_dispatches++;
    }
    // glib skips check() when prepare() already said "ready"; then the
    // notification and the fds are collected here.
    if (!gs_checked_) {
        // Release: as in gs_check().
        notify_me_.fetch_and(~1u, std::memory_order_release);
        notified_.store(false, std::memory_order_relaxed);
        std::atomic_thread_fence(std::memory_order_seq_cst);
    }
    visit_begin();
    if (!gs_checked_) {
        monitor_->gsource_check(gs_ready_);
    }
    gs_checked_ = false;
    bh_poll(this);
    dispatch_ready(gs_ready_);
    visit_end();
    timer::group_run(&c()->tlg);
}

} // namespace qaio::loop
