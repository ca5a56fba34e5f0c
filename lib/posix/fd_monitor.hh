// SPDX-License-Identifier: MIT
// How the POSIX backend waits: an fd monitor (poll.cc, epoll.cc,
// io_uring.cc) and the choice of one (choice.cc).
//
// Threads: update() runs under the context's registry lock in any thread,
// maybe while the home thread is in wait(); the rest in the home thread.  A
// monitor never frees handlers nor touches one after update(h, old, 0)
// returned (its slot table makes late events find no handler).
#pragma once

#include "lib/posix/handlers.hh"
#include "lib/loop/stats.hh"

#include <cstdint>
#include <memory>

namespace qaio::posix {

class fd_monitor {
public:
    virtual ~fd_monitor() = default;

    // "poll", "epoll" or "io_uring", for statistics and QAIO_FDMON.
    virtual const char *name() const noexcept = 0;

    // What a monitor can do, for the choice and the loop.
    enum feature : unsigned {
        // A wait costs the same however many fds are watched.
        watches_many = 1u << 0,
        // Busy polling may run while some handlers have no io_poll: the
        // monitor sees fd events by peeking (io_uring's completion ring).
        polls_unpollable = 1u << 1,
        // Under glib an iteration is glib's poll alone, at any fd count.
        glib_polls_alone = 1u << 2,
    };
    virtual unsigned features() const noexcept = 0;

    // Starts (old_events == 0), changes, or stops (new_events == 0)
    // watching h->fd_ for the G_IO_* bits in new_events.  h->events_ already
    // holds new_events when this is called.
    virtual void update(handler *h, int old_events, int new_events) noexcept = 0;

    // Waits up to timeout_ns (< 0: no limit, 0: just look) and pushes every
    // ready handler with its revents; the number pushed (0 after a signal).
    virtual int wait(ready_list &ready, int64_t timeout_ns) noexcept = 0;

    // Busy polling must stop: a real wait has work to do.
    virtual bool need_wait() noexcept { return false; }

    // Known without a system call: a wait of timeout 0 would find nothing,
    // so a non-blocking aio_poll may skip it.
    virtual bool surely_idle() noexcept { return false; }

    // --- GSource mode --------------------------------------------------
    // glib drives the context from now on: register with `source` what glib
    // must poll.  Once, in the home thread, under the registry lock.
    virtual void gsource_attach(GSource *source) noexcept = 0;
    // Before glib polls: flush queued kernel requests.
    virtual void gsource_prepare() noexcept {}
    // After glib polled: push the ready handlers without blocking.
    virtual int gsource_check(ready_list &ready) noexcept = 0;

    // Number of fds currently watched (for the poll -> epoll upgrade).
    virtual int watched() const noexcept = 0;
};

// How a context picks its monitor and when it changes it (QAIO_FDMON,
// fallbacks, upgrades); one per context.
class monitor_choice {
public:
    virtual ~monitor_choice() = default;
    // The monitor a new context starts with; never nullptr.
    virtual std::unique_ptr<fd_monitor> first(loop::stats &s) noexcept = 0;
    // A monitor to move to now that `current` watches more fds, or nullptr.
    virtual std::unique_ptr<fd_monitor> grown(const fd_monitor &current,
                                              loop::stats &s) noexcept = 0;
    // Whether grown() may ever return a monitor while `current` is the one.
    virtual bool may_grow(const fd_monitor &current) const noexcept = 0;
    // A monitor to move to when glib takes over, or nullptr.
    virtual std::unique_ptr<fd_monitor> under_glib(const fd_monitor &current) noexcept = 0;
    // The monitor QAIO_FDMON forced and could not be set up, or nullptr.
    virtual const char *unhonoured() const noexcept = 0;
};

// The index of h's slot in a monitor's table, or UINT32_MAX: mon_index_ may
// be another monitor's or stale, so it counts only if the slot names h.
template <class Slots> uint32_t slot_of(const Slots &slots, const handler *h) noexcept
{
    int i = h->mon_index_;
    if (i >= 0 && static_cast<size_t>(i) < slots.size() && slots[i].h == h) {
        return static_cast<uint32_t>(i);
    }
    return UINT32_MAX;
}

// The choice QAIO_FDMON asks for; aborts on a value it does not know.
std::unique_ptr<monitor_choice> make_monitor_choice() noexcept;

// The monitors: nullptr when refused (`error`: -errno, -ENOSYS if not built).
using monitor = fd_monitor;
std::unique_ptr<monitor> make_poll() noexcept;
std::unique_ptr<monitor> make_epoll(int &error) noexcept;
std::unique_ptr<monitor> make_io_uring(int &error) noexcept;

} // namespace qaio::posix
