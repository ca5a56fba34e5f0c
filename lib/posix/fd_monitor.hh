// SPDX-License-Identifier: MIT
// How the POSIX backend waits: an fd monitor (how a context waits for its
// fds) and the monitor choice (which monitor, and when to change it); three
// monitors (poll.cc, epoll.cc, io_uring.cc) and the choice (choice.cc).
//
// Threading: update() runs with the context's registry lock held, from any
// thread, possibly while the home thread is inside wait(); everything else
// runs in the home thread.  A monitor never frees handlers, and must not
// touch a handler after update(h, old, 0) returned, except through state it
// owns (io_uring keeps a slot table so late completions find no handler).
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

    // What a monitor can do, for the choice and the loop to ask instead of
    // comparing names.
    enum feature : unsigned {
        // A wait costs the same however many fds are watched (epoll,
        // io_uring); without it (poll) the cost grows with each fd.
        watches_many = 1u << 0,
        // Busy polling may run while some handlers have no io_poll: the
        // monitor still sees fd events by peeking (io_uring's completion
        // queue).
        polls_unpollable = 1u << 1,
        // Under glib an iteration costs glib's own poll and no system call
        // of the monitor's, whatever the number of fds (io_uring).
        glib_polls_alone = 1u << 2,
    };
    virtual unsigned features() const noexcept = 0;

    // Starts (old_events == 0), changes, or stops (new_events == 0)
    // watching h->fd_ for the G_IO_* bits in new_events.  h->events_ already
    // holds new_events when this is called.
    virtual void update(handler *h, int old_events,
                        int new_events) noexcept = 0;

    // Waits up to timeout_ns (< 0: no limit, 0: just look) and pushes every
    // ready handler onto `ready` with its revents.  Returns the number pushed;
    // a wait interrupted by a signal returns 0.
    virtual int wait(ready_list &ready, int64_t timeout_ns) noexcept = 0;

    // True when busy polling must stop because a real wait has work to do
    // (io_uring: completions ready or requests unsubmitted).
    virtual bool need_wait() noexcept { return false; }

    // True only when the monitor knows, without a system call, that a wait
    // of timeout 0 would find nothing (io_uring: empty completion queue and
    // nothing to submit).  Lets a non-blocking aio_poll skip the wait.
    virtual bool surely_idle() noexcept { return false; }

    // --- GSource mode --------------------------------------------------
    // From now on the context is driven by glib: register with `source`
    // whatever glib must poll (the epoll fd, the ring fd, or every handler's
    // pfd_).  Called once, in the home thread, with the registry lock held.
    virtual void gsource_attach(GSource *source) noexcept = 0;
    // Before glib polls: flush queued kernel requests.
    virtual void gsource_prepare() noexcept {}
    // After glib polled: push the ready handlers without blocking.
    virtual int gsource_check(ready_list &ready) noexcept = 0;

    // Number of fds currently watched (for the poll -> epoll upgrade).
    virtual int watched() const noexcept = 0;
};

// How a context picks its monitor and when it changes it (QAIO_FDMON, the
// automatic choice, fallbacks, the poll -> epoll upgrade): one object per
// context, made by the wait backend.
class monitor_choice {
public:
    virtual ~monitor_choice() = default;
    // The monitor a new context starts with; never nullptr.  Counts a
    // fallback in `s`.
    virtual std::unique_ptr<fd_monitor> first(loop::stats &s) noexcept = 0;
    // A monitor to move to now that `current` watches more fds, or nullptr.
    virtual std::unique_ptr<fd_monitor> grown(const fd_monitor &current,
                                              loop::stats &s) noexcept = 0;
    // Whether grown() may ever return a monitor while `current` is the one.
    virtual bool may_grow(const fd_monitor &current) const noexcept = 0;
    // A monitor to move to when glib takes over the context, or nullptr;
    // grown() then chooses for a glib-driven context.
    virtual std::unique_ptr<fd_monitor> under_glib(const fd_monitor &current) noexcept = 0;
    // The monitor QAIO_FDMON forced and could not be set up, or nullptr.
    virtual const char *unhonoured() const noexcept = 0;
};

// The choice QAIO_FDMON asks for (choice.cc); aborts on a value it does not
// know.
std::unique_ptr<monitor_choice> make_monitor_choice() noexcept;

// The monitors, for the choice: nullptr when the kernel refuses one, with the
// reason in `error` (-errno), or when it was not configured (-ENOSYS).
using monitor = fd_monitor;
std::unique_ptr<monitor> make_poll() noexcept;
std::unique_ptr<monitor> make_epoll(int &error) noexcept;
std::unique_ptr<monitor> make_io_uring(int &error) noexcept;

} // namespace qaio::posix
