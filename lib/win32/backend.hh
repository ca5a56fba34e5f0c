// SPDX-License-Identifier: MIT
// The Win32 wait backend (QEMU's aio-win32): a list of wait objects, each
// a HANDLE: an EventNotifier's event, or one per socket bound with
// WSAEventSelect.  WaitForMultipleObjects limits a context to
// MAXIMUM_WAIT_OBJECTS, its notifier included; beyond that, a HANDLE twice
// or an fd that is no socket is refused on stderr.  Sockets are level-
// triggered as on POSIX (a zero-timeout select() before each wait).  No
// busy polling (QEMU has none on Windows).
//
// Lifetime as on POSIX (lib/posix/handlers.cc): writers hold the registry
// lock, the home thread visits; new waiters are pushed at the head with a
// release store (pairs with the visitors' acquire loads); a removed waiter
// is only marked while someone visits and freed by the last visitor.
#pragma once

#include "lib/loop/context.hh"
#include "lib/loop/lockcnt.hh"

#include <winsock2.h>
#include <windows.h>

#include <atomic>

namespace qaio::win32 {

namespace lockcnt = loop::lockcnt;

struct waiter {
    SOCKET socket = INVALID_SOCKET;  // a socket handler, or
    EventNotifier *notifier = nullptr;  // an event notifier
    HANDLE event = nullptr;  // what is waited on; a socket's is ours
    bool is_external = false;
    bool is_ctx_notifier = false;  // the context's own: never progress
    std::atomic<bool> deleted{false};
    IOHandler *io_read = nullptr;
    IOHandler *io_write = nullptr;
    EventNotifierHandler *io_notify = nullptr;
    void *opaque = nullptr;
    GPollFD pfd = {};  // the event, for glib
    int revents = 0;   // G_IO_* found ready and not yet dispatched
    std::atomic<waiter *> next{nullptr};
};

class handle_backend final : public loop::wait_backend {
public:
    explicit handle_backend(HANDLE notifier_event) noexcept { notifier_.event = notifier_event; }
    ~handle_backend() override;

    void attach(loop::context *ctx) noexcept override;
    void setup() noexcept override {}
    void destroy() noexcept override {}
    bool poll(bool blocking) noexcept override;
    void wake() noexcept override { SetEvent(notifier_.event); }
    void set_fd_handler(int fd, bool is_external, IOHandler *io_read, IOHandler *io_write,
                        AioPollFn *io_poll, IOHandler *io_poll_ready,
                        void *opaque) noexcept override;
    void set_fd_poll(int, IOHandler *, IOHandler *) noexcept override {}
    void set_event_notifier(EventNotifier *e, bool is_external, EventNotifierHandler *io_notify,
                            AioPollFn *io_poll,
                            EventNotifierHandler *io_poll_ready) noexcept override;
    void set_event_notifier_poll(EventNotifier *, EventNotifierHandler *,
                                 EventNotifierHandler *) noexcept override {}
    void set_poll_params(int64_t, int64_t, int64_t) noexcept override {}
    bool poll_disabled() const noexcept override { return true; }
    void use_g_source() noexcept override {}
    void gs_prepare() noexcept override { prepare(); }
    bool prepare() noexcept override;
    void gs_check() noexcept override;
    bool gs_pending() noexcept override;
    void gs_dispatch(bool collect) noexcept override;
    const char *name() const noexcept override { return "win32"; }

    // qemu_fd_register binds sockets to it.
    HANDLE notifier_event() const noexcept { return notifier_.event; }

private:
    // handlers.cc
    void add(waiter *w) noexcept;
    void remove(waiter *w) noexcept;
    waiter *find_socket(SOCKET s) const noexcept;
    waiter *find_notifier(EventNotifier *e) const noexcept;
    void free_deleted() noexcept;
    void change_done() noexcept;
    void visit_begin() noexcept { lockcnt::inc(&list_lock_); }
    void visit_end() noexcept;
    // aio_poll.cc
    bool select_sockets() noexcept;
    void collect_glib() noexcept;
    bool dispatch() noexcept;

    loop::context *ctx_ = nullptr;
    EventNotifier notifier_{};  // the context's own: aio_notify sets it
    QemuLockCnt list_lock_{};
    std::atomic<waiter *> head_{nullptr};
    int live_ = 0;  // waiters not removed, under the lock
    std::atomic<bool> has_deleted_{false};
};

} // namespace qaio::win32
