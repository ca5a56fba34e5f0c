// SPDX-License-Identifier: MIT
// The wait backend: the one platform-specific part of a context, owning
// what it waits for (fd handlers, its notifier) and how (aio_poll, busy
// polling, glib).  lib/posix implements it with fd monitors, lib/win32 with
// wait objects; the build links one.  Calls come from the home thread,
// except set_fd_handler, set_fd_poll and wake.
#pragma once

#include "block/aio.h"

#include <cstdint>
#include <memory>

namespace qaio::loop {

class context;

class wait_backend {
public:
    virtual ~wait_backend() = default;
    // Once, before any other call.
    virtual void attach(context *ctx) noexcept = 0;
    virtual void setup() noexcept = 0;    // aio_context_setup
    virtual void destroy() noexcept = 0;  // aio_context_destroy
    // Follows the notify protocol (context::announce_sleep).
    virtual bool poll(bool blocking) noexcept = 0;
    // Wakes a loop sleeping in poll() or in glib.
    virtual void wake() noexcept = 0;
    virtual void set_fd_handler(int fd, bool is_external, IOHandler *io_read,
                                IOHandler *io_write, AioPollFn *io_poll,
                                IOHandler *io_poll_ready, void *opaque) noexcept = 0;
    virtual void set_fd_poll(int fd, IOHandler *begin, IOHandler *end) noexcept = 0;
#ifdef _WIN32
    // Windows waits on the HANDLE (POSIX: the fd, through set_fd_handler).
    virtual void set_event_notifier(EventNotifier *e, bool is_external,
                                    EventNotifierHandler *io_notify, AioPollFn *io_poll,
                                    EventNotifierHandler *io_poll_ready) noexcept = 0;
    virtual void set_event_notifier_poll(EventNotifier *e, EventNotifierHandler *begin,
                                         EventNotifierHandler *end) noexcept = 0;
#endif
    virtual void set_poll_params(int64_t max_ns, int64_t grow, int64_t shrink) noexcept = 0;
    // Whether some handler has no io_poll (aio_poll_disabled).
    virtual bool poll_disabled() const noexcept = 0;

    // GSource mode: glib drives the context from use_g_source() on.
    virtual void use_g_source() noexcept = 0;
    virtual void gs_prepare() noexcept = 0;
    // aio_prepare: leaves busy polling; true when something is ready
    // already (Windows: a socket), so that glib must not sleep.
    virtual bool prepare() noexcept = 0;
    virtual void gs_check() noexcept = 0;
    virtual bool gs_pending() noexcept = 0;       // aio_pending
    // Collects first if check() did not run; timers are the context's.
    virtual void gs_dispatch(bool collect) noexcept = 0;

    // What the context waits with, and what QAIO_FDMON forced in vain.
    virtual const char *name() const noexcept = 0;
    virtual const char *unhonoured() const noexcept { return nullptr; }
};

// nullptr with errno set when the notifier cannot be made.
std::unique_ptr<wait_backend> make_wait_backend() noexcept;

} // namespace qaio::loop
