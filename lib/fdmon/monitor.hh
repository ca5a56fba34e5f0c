// SPDX-License-Identifier: MIT
// The fd monitor interface: how a context waits for its fds.  Three
// implementations (poll.cc, epoll.cc, io_uring.cc); select.cc picks one at
// context creation, falls back when a probe fails, and upgrades poll to epoll
// past a threshold of registered fds.
//
// Threading: update() runs with the context's registry lock held, from any
// thread, possibly while the home thread is inside wait(); everything else
// runs in the home thread.  A monitor never frees handlers, and must not
// touch a handler after update(h, old, 0) returned, except through state it
// owns (io_uring keeps a slot table so late completions find no handler).
#pragma once

#include "lib/loop/handlers.hh"

#include <cerrno>
#include <cstdint>
#include <memory>

namespace qaio::fdmon {

class monitor {
public:
    virtual ~monitor() = default;

    // "poll", "epoll" or "io_uring", for statistics and QAIO_FDMON.
    virtual const char *name() const noexcept = 0;

    // Starts (old_events == 0), changes, or stops (new_events == 0)
    // watching h->fd_ for the G_IO_* bits in new_events.  h->events_ already
    // holds new_events when this is called.
    virtual void update(loop::handler *h, int old_events,
                        int new_events) noexcept = 0;

    // Waits up to timeout_ns (< 0: no limit, 0: just look) and pushes every
    // ready handler onto `ready` with its revents.  Returns the number pushed;
    // a wait interrupted by a signal returns 0.
    virtual int wait(loop::ready_list &ready, int64_t timeout_ns) noexcept = 0;

    // True when busy polling must stop because a real wait has work to do
    // (io_uring: completions ready or requests unsubmitted).
    virtual bool need_wait() noexcept { return false; }

    // True only when the monitor knows, without a system call, that a wait
    // of timeout 0 would find nothing (io_uring: empty completion queue and
    // nothing to submit).  Lets a non-blocking aio_poll skip the wait.
    virtual bool surely_idle() noexcept { return false; }

    // Whether busy polling may run while some handlers have no io_poll
    // (io_uring can still see fd events by peeking its completion queue).
    virtual bool polls_with_unpollable_handlers() const noexcept { return false; }

    // --- GSource mode --------------------------------------------------
    // From now on the context is driven by glib: register with `source`
    // whatever glib must poll (the epoll fd, the ring fd, or every handler's
    // pfd_).  Called once, in the home thread, with the registry lock held.
    virtual void gsource_attach(GSource *source) noexcept = 0;
    // Before glib polls: flush queued kernel requests.
    virtual void gsource_prepare() noexcept {}
    // After glib polled: push the ready handlers without blocking.
    virtual int gsource_check(loop::ready_list &ready) noexcept = 0;

    // Number of fds currently watched (for the poll -> epoll upgrade).
    virtual int watched() const noexcept = 0;
};

// Constructors; each returns nullptr when the kernel refuses the backend or
// the backend was not configured, with the reason in `error` (-errno;
// -ENOSYS when not configured), for the message of a forced choice.
std::unique_ptr<monitor> make_poll() noexcept;
#ifdef CONFIG_EPOLL
std::unique_ptr<monitor> make_epoll(int &error) noexcept;
#else
inline std::unique_ptr<monitor> make_epoll(int &error) noexcept
{
    error = -ENOSYS;
    return nullptr;
}
#endif
#ifdef CONFIG_LINUX_IO_URING
std::unique_ptr<monitor> make_io_uring(int &error) noexcept;
#else
inline std::unique_ptr<monitor> make_io_uring(int &error) noexcept
{
    error = -ENOSYS;
    return nullptr;
}
#endif

// Registered fds at which an automatically chosen poll monitor becomes epoll.
constexpr int epoll_threshold = 64;

} // namespace qaio::fdmon
