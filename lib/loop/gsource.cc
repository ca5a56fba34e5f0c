// SPDX-License-Identifier: MIT
// The context as a GSource: glib's prepare/check/dispatch/finalize driving
// the same BHs, handlers and timers as aio_poll.  The notify protocol and
// the timers are the context's; what glib polls and the handlers it finds
// ready are the wait backend's (lib/posix/aio_poll.cc).
#include "lib/loop/context.hh"

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

bool context::gs_prepare(int *timeout_ms) noexcept
{
    // Announce that glib may sleep; pairs with notify().
    notify_me_.fetch_or(1, std::memory_order_seq_cst);
    gs_checked_ = false;
    backend_->gs_prepare();

    int64_t ns = (notified_.load(std::memory_order_relaxed) || backend_->gs_pending())
                     ? 0 : compute_timeout();
    *timeout_ms = ns_to_ms_round_up(ns);
    return *timeout_ms == 0;
}

bool context::gs_check() noexcept
{
    // Release, as aio_poll's withdrawal (withdraw_sleep) and for its reasons.
    notify_me_.fetch_and(~1u, std::memory_order_release);
    // A notification alone makes the source dispatch once (QEMU's GSource
    // contract: iterating after aio_notify returns TRUE).
    bool notified = notified_.exchange(false, std::memory_order_seq_cst);

    backend_->gs_check();
    gs_checked_ = true;

    return notified || backend_->gs_pending() || bh_timeout(this) == 0 ||
           timer::group_deadline_ns(&c()->tlg) == 0;
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
    bool collect = !gs_checked_;
    gs_checked_ = false;
    backend_->gs_dispatch(collect);
    timer::group_run(&c()->tlg);
}

} // namespace qaio::loop
