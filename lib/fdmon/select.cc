// SPDX-License-Identifier: MIT
// Choosing a context's fd monitor: QAIO_FDMON forces one; otherwise io_uring
// where the kernel allows it, else poll(2), upgraded to epoll once the
// context watches epoll_threshold fds.  A refused backend is a fallback,
// counted in the statistics, never an error; when QAIO_FDMON forced the
// refused backend, the fallback is also said once on stderr, since whoever
// forced it is measuring or testing that backend and must not be misled.
#include "lib/fdmon/monitor.hh"
#include "lib/loop/context.hh"
#include "lib/loop/lockcnt.hh"
#include "lib/support/fatal.hh"

#include <atomic>
#include <cstdio>
#include <cstring>

namespace qaio::loop {

namespace {

// Once per process and backend: every context of a program forced to one
// backend would otherwise repeat the same line.
void report_forced_fallback(fdmon_choice forced, int error) noexcept
{
    static std::atomic<bool> said[2];
    bool uring = forced == fdmon_choice::io_uring;
    if (said[uring].exchange(true, std::memory_order_relaxed)) {
        return;
    }
    const char *name = uring ? "io_uring" : "epoll";
    std::fprintf(stderr,
                 "qaio: QAIO_FDMON=%s, but %s cannot be set up here (%s); "
                 "using poll instead\n",
                 name, name, std::strerror(-error));
}

} // namespace

void context::setup_monitor() noexcept
{
    if (monitor_) {
        return;
    }
    int error = 0;
    switch (fdmon_choice_) {
    case fdmon_choice::io_uring:
    case fdmon_choice::automatic:
        monitor_ = fdmon::make_io_uring(error);
        break;
    case fdmon_choice::epoll:
        monitor_ = fdmon::make_epoll(error);
        break;
    case fdmon_choice::poll:
        break;
    }
    if (!monitor_) {
        if (fdmon_choice_ != fdmon_choice::poll) {
            stats_.fdmon_fallbacks++;
        }
        if (fdmon_choice_ == fdmon_choice::io_uring ||
            fdmon_choice_ == fdmon_choice::epoll) {
            report_forced_fallback(fdmon_choice_, error);
        }
        monitor_ = fdmon::make_poll();
    }
    QAIO_CHECK(monitor_, "out of memory creating an fd monitor");
}

void context::destroy_monitor() noexcept
{
    monitor_.reset();
}

const char *context::monitor_name() const noexcept
{
    return monitor_ ? monitor_->name() : "none";
}

void context::maybe_upgrade_monitor() noexcept
{
    if (fdmon_choice_ != fdmon_choice::automatic ||
        monitor_->watched() < fdmon::epoll_threshold ||
        monitor_->name()[0] != 'p') {
        return;
    }
    int error = 0;
    std::unique_ptr<fdmon::monitor> next = fdmon::make_epoll(error);
    if (!next) {
        fdmon_choice_ = fdmon_choice::poll;  // do not try again
        stats_.fdmon_fallbacks++;
        return;
    }
    lockcnt::lock(&list_lock_);
    for (handler *h : by_fd_) {
        if (h && h->events_) {
            next->update(h, 0, h->events_);
        }
    }
    monitor_.swap(next);
    if (gsource_mode_) {
        monitor_->gsource_attach(source());
    }
    stats_.fdmon_upgrades++;
    // The poll monitor detaches its GPollFDs from the source as it goes; the
    // lock keeps their handlers alive meanwhile.
    next.reset();
    lockcnt::unlock(&list_lock_);
}

} // namespace qaio::loop
