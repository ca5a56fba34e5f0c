// SPDX-License-Identifier: MIT
// The context as a GSource; what glib polls is the wait backend's.
#include "lib/loop/context.hh"

#include "lib/timer/clock.hh"
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
    g_assert(callback == nullptr);
    context::from(source)->gs_dispatch();
    return G_SOURCE_CONTINUE;
}

void source_finalize(GSource *source)
{
    context::from(source)->finalize();
}

} // namespace

GSourceFuncs gsource_funcs = {
    source_prepare, source_check, source_dispatch, source_finalize, nullptr, nullptr,
};

bool context::gs_prepare(int *timeout_ms) noexcept
{
    // Announces that glib may sleep; pairs with notify().
    notify_me_.fetch_or(1, std::memory_order_seq_cst);
    gs_checked_ = false;
    backend_->gs_prepare();

    int64_t ns = (notified_.load(std::memory_order_relaxed) || backend_->gs_pending())
                     ? 0 : compute_timeout();
    *timeout_ms = timer::timeout_ns_to_ms(ns);
    return *timeout_ms == 0;
}

bool context::gs_check() noexcept
{
    // Release, as withdraw_sleep() and for its reasons.
    notify_me_.fetch_and(~1u, std::memory_order_release);
    // QEMU's contract: an iteration after aio_notify dispatches.
    bool notified = notified_.exchange(false, std::memory_order_seq_cst);

    backend_->gs_check();
    gs_checked_ = true;

    // Any scheduled BH counts, an idle one too: prepare() let glib sleep
    // at most its 10 ms, and this is where it gets to run.
    return notified || backend_->gs_pending() || bh_timeout(this) >= 0 ||
           timer::group_deadline_ns(&c()->tlg) == 0;
}

void context::gs_dispatch() noexcept
{
    if (stats_enabled()) {
        stats_.gsource_dispatches++;
    }
    // glib skips check() when prepare() said "ready": collect here.
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
