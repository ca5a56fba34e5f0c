// SPDX-License-Identifier: MIT
// The POSIX backend under glib (the context's side is lib/loop/gsource.cc).
//
// The fd monitor decides what glib polls: one fd for epoll and io_uring (so
// a GMainContext iteration costs the same with 10 or 10,000 registered fds),
// or each handler's GPollFD for the poll monitor.  Unlike QEMU 7.2, taking
// the GSource does not drop io_uring (see ChangeLog).
//
// Ready handlers found in check() wait on gs_ready_ until dispatch(); a
// handler removed meanwhile is only marked (queued handlers are not freed
// until popped), and dispatch skips it.
#include "lib/posix/backend.hh"


namespace qaio::posix {

void fd_backend::use_g_source() noexcept
{
    if (!gsource_mode_) {
        prefer_poll_under_glib();
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
