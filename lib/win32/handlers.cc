// SPDX-License-Identifier: MIT
// The Win32 backend's registry of wait objects (backend.hh).
#include "lib/win32/backend.hh"

#include "lib/support/fatal.hh"

#include <cerrno>
#include <cstdio>
#include <new>

namespace qaio::win32 {

namespace {

// A socket's event is ours (WSACreateEvent); a notifier's is its owner's.
void free_waiter(waiter *w) noexcept
{
    if (w->socket != INVALID_SOCKET) {
        WSACloseEvent(w->event);
    }
    delete w;
}

} // namespace

handle_backend::~handle_backend()
{
    for (waiter *w = head_.load(std::memory_order_relaxed); w;) {
        waiter *next = w->next.load(std::memory_order_relaxed);
        if (!w->deleted.load(std::memory_order_relaxed)) {
            // A destroyed source refuses it; its poll list goes anyway.
            if (!g_source_is_destroyed(ctx_->source())) {
                g_source_remove_poll(ctx_->source(), &w->pfd);
            }
            if (w->socket != INVALID_SOCKET) {
                WSAEventSelect(w->socket, nullptr, 0);
            }
        }
        free_waiter(w);
        w = next;
    }
    CloseHandle(notifier_.event);
    lockcnt::destroy(&list_lock_);
}

void handle_backend::attach(loop::context *ctx) noexcept
{
    ctx_ = ctx;
    lockcnt::init(&list_lock_);
    // aio_poll accepts the notification itself.
    auto clear = [](EventNotifier *e) { ResetEvent(e->event); };
    set_event_notifier(&notifier_, false, clear, nullptr, nullptr);
    head_.load(std::memory_order_relaxed)->is_ctx_notifier = true;
}

waiter *handle_backend::find_socket(SOCKET s) const noexcept
{
    for (waiter *w = head_.load(std::memory_order_relaxed); w;
         w = w->next.load(std::memory_order_relaxed)) {
        if (w->socket == s && !w->deleted.load(std::memory_order_relaxed)) {
            return w;
        }
    }
    return nullptr;
}

waiter *handle_backend::find_notifier(EventNotifier *e) const noexcept
{
    for (waiter *w = head_.load(std::memory_order_relaxed); w;
         w = w->next.load(std::memory_order_relaxed)) {
        if (w->notifier && !w->deleted.load(std::memory_order_relaxed) &&
            (w->notifier == e || w->event == e->event)) {
            return w;
        }
    }
    return nullptr;
}

// With the registry lock held.
void handle_backend::add(waiter *w) noexcept
{
    w->pfd.fd = reinterpret_cast<gintptr>(w->event);
    w->pfd.events = G_IO_IN;
    w->next.store(head_.load(std::memory_order_relaxed), std::memory_order_relaxed);
    // Release: pairs with the visitors' acquire loads of head_.
    head_.store(w, std::memory_order_release);
    live_++;
    g_source_add_poll(ctx_->source(), &w->pfd);
}

// With the registry lock held.
void handle_backend::remove(waiter *w) noexcept
{
    g_source_remove_poll(ctx_->source(), &w->pfd);
    if (w->socket != INVALID_SOCKET) {
        WSAEventSelect(w->socket, nullptr, 0);
    }
    w->deleted.store(true, std::memory_order_relaxed);
    has_deleted_.store(true, std::memory_order_relaxed);
    live_--;
}

// With the registry lock held and no visitor (lockcnt count 0, acquired).
void handle_backend::free_deleted() noexcept
{
    has_deleted_.store(false, std::memory_order_relaxed);
    for (std::atomic<waiter *> *link = &head_; waiter *w = link->load(std::memory_order_relaxed);) {
        if (w->deleted.load(std::memory_order_relaxed)) {
            link->store(w->next.load(std::memory_order_relaxed), std::memory_order_relaxed);
            free_waiter(w);
        } else {
            link = &w->next;
        }
    }
}

// The end of a registration change, with the registry lock held.
void handle_backend::change_done() noexcept
{
    if (lockcnt::count(&list_lock_) == 0) {
        free_deleted();
    }
    lockcnt::unlock(&list_lock_);
    ctx_->notify();
}

void handle_backend::visit_end() noexcept
{
    if (!has_deleted_.load(std::memory_order_relaxed)) {
        lockcnt::dec(&list_lock_);
    } else if (lockcnt::dec_and_lock(&list_lock_)) {
        free_deleted();
        lockcnt::unlock(&list_lock_);
    }
}

static bool over_limit(const char *what, int live) noexcept
{
    if (live < MAXIMUM_WAIT_OBJECTS) {
        return false;
    }
    std::fprintf(stderr, "qaio: %s: a context waits on at most %d objects "
                 "(MAXIMUM_WAIT_OBJECTS), its own notifier included; not registered\n",
                 what, MAXIMUM_WAIT_OBJECTS);
    return true;
}

void handle_backend::set_fd_handler(int fd, bool is_external, IOHandler *io_read,
                                    IOHandler *io_write, AioPollFn *, IOHandler *,
                                    void *opaque) noexcept
{
    SOCKET s = static_cast<SOCKET>(fd);
    bool removing = !io_read && !io_write;  // io_poll: no busy polling here
    int type;
    int len = sizeof type;
    if (!removing && getsockopt(s, SOL_SOCKET, SO_TYPE, reinterpret_cast<char *>(&type),
                                &len) == SOCKET_ERROR) {
        std::fprintf(stderr, "qaio: aio_set_fd_handler: fd %d is not a socket (error %d); "
                     "Windows contexts wait on sockets only; not registered\n",
                     fd, WSAGetLastError());
        return;
    }
    lockcnt::lock(&list_lock_);
    waiter *old = find_socket(s);
    if (!removing && (old || !over_limit("aio_set_fd_handler", live_))) {
        auto *w = new (std::nothrow) waiter;
        QAIO_CHECK(w, "out of memory registering socket %d", fd);
        w->event = WSACreateEvent();
        QAIO_CHECK(w->event != WSA_INVALID_EVENT, "WSACreateEvent failed (%d)",
                   WSAGetLastError());
        w->socket = s;
        w->is_external = is_external;
        w->io_read = io_read;
        w->io_write = io_write;
        w->opaque = opaque;
        if (old) {
            remove(old);
        }
        long events = (io_read ? FD_READ | FD_ACCEPT | FD_CLOSE | FD_OOB : 0) |
                      (io_write ? FD_WRITE | FD_CONNECT : 0);
        WSAEventSelect(s, w->event, events);
        add(w);
    } else if (removing && old) {
        remove(old);
    }
    change_done();
}

void handle_backend::set_event_notifier(EventNotifier *e, bool is_external,
                                        EventNotifierHandler *io_notify, AioPollFn *,
                                        EventNotifierHandler *) noexcept
{
    lockcnt::lock(&list_lock_);
    waiter *old = find_notifier(e);
    if (old && old->notifier != e && io_notify) {
        std::fprintf(stderr, "qaio: aio_set_event_notifier: HANDLE %p is already registered "
                     "by another EventNotifier; not registered\n", e->event);
    } else if (io_notify && (old || !over_limit("aio_set_event_notifier", live_))) {
        auto *w = new (std::nothrow) waiter;
        QAIO_CHECK(w, "out of memory registering an event notifier");
        w->notifier = e;
        w->event = e->event;
        w->is_external = is_external;
        w->io_notify = io_notify;
        if (old) {
            remove(old);
        }
        add(w);
    } else if (!io_notify && old && old->notifier == e) {
        remove(old);
    }
    change_done();
}

} // namespace qaio::win32

std::unique_ptr<qaio::loop::wait_backend> qaio::loop::make_wait_backend() noexcept
{
    HANDLE event = CreateEvent(nullptr, TRUE, FALSE, nullptr);
    if (!event) {
        errno = EMFILE;
        return nullptr;
    }
    auto *b = new (std::nothrow) win32::handle_backend(event);
    if (!b) {
        CloseHandle(event);
        errno = ENOMEM;
    }
    return std::unique_ptr<wait_backend>(b);
}
