// SPDX-License-Identifier: MIT
// Choosing a context's fd monitor, by measured cost (qaio-bench fd, see
// docs/performance.md): QAIO_FDMON forces one; otherwise epoll, the cheapest
// dispatch at every fd count under aio_poll (the io_uring monitor re-arms a
// one-shot poll per dispatched fd, about 1.3x epoll's cost), whose io_uring
// doorbell spares an idle non-blocking aio_poll its system call as the
// io_uring monitor did; without epoll, poll(2), upgraded to epoll once the
// context watches epoll_threshold fds.  A context handed to glib while it
// watches fewer fds than that moves to poll(2): glib then polls the fds
// themselves in one system call, where epoll costs a poll of the epoll fd
// plus an epoll_wait (QEMU 7.2 likewise leaves io_uring for poll(2) there).
// A refused backend is a fallback, counted in the statistics, never an
// error; when QAIO_FDMON forced the refused backend, the fallback is also
// said once on stderr, since whoever forced it is measuring or testing that
// backend and must not be misled.
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
        monitor_ = fdmon::make_io_uring(error);
        break;
    case fdmon_choice::automatic:
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
        std::strcmp(monitor_->name(), "poll") != 0) {
        return;
    }
    int error = 0;
    std::unique_ptr<fdmon::monitor> next = fdmon::make_epoll(error);
    if (!next) {
        fdmon_choice_ = fdmon_choice::poll;  // do not try again
        stats_.fdmon_fallbacks++;
        return;
    }
    switch_monitor(std::move(next));
    stats_.fdmon_upgrades++;
}

void context::prefer_poll_under_glib() noexcept
{
    if (fdmon_choice_ != fdmon_choice::automatic ||
        monitor_->watched() >= fdmon::epoll_threshold ||
        std::strcmp(monitor_->name(), "epoll") != 0) {
        return;
    }
    if (std::unique_ptr<fdmon::monitor> next = fdmon::make_poll()) {
        switch_monitor(std::move(next));
    }
}

void context::switch_monitor(std::unique_ptr<fdmon::monitor> next) noexcept
{
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
    // The poll monitor detaches its GPollFDs from the source as it goes; the
    // lock keeps their handlers alive meanwhile.
    next.reset();
    lockcnt::unlock(&list_lock_);
}

} // namespace qaio::loop
