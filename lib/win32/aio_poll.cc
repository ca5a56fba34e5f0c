// SPDX-License-Identifier: MIT
// aio_poll on Windows, and under glib.  One aio_poll: select() the sockets
// without waiting, announce a sleep, WaitForMultipleObjects (blocking in
// the first round only), BHs once after that wait, dispatch and look again
// without blocking until nothing is signalled, timers.
#include "lib/win32/backend.hh"

#include "lib/timer/clock.hh"
#include "lib/timer/timer_list.hh"

namespace qaio::win32 {

namespace {

bool is_socket(const waiter *w) noexcept
{
    return w->socket != INVALID_SOCKET;
}

} // namespace

// In a visit.  Events are reset first, so what arrives after select()
// signals them again.
bool handle_backend::select_sockets() noexcept
{
    fd_set rfds, wfds;
    FD_ZERO(&rfds);
    FD_ZERO(&wfds);
    bool any = false;
    AioContext *c = ctx_->c();
    for (waiter *w = head_.load(std::memory_order_acquire); w;
         w = w->next.load(std::memory_order_acquire)) {
        if (!is_socket(w) || w->deleted.load(std::memory_order_relaxed) ||
            (w->is_external && qaio_external_disable_count(c))) {
            continue;
        }
        WSAResetEvent(w->event);
        if (w->io_read) {
            FD_SET(w->socket, &rfds);
            any = true;
        }
        if (w->io_write) {
            FD_SET(w->socket, &wfds);
            any = true;
        }
    }
    if (!any) {
        return false;
    }
    timeval zero = {0, 0};
    if (select(0, &rfds, &wfds, nullptr, &zero) <= 0) {
        return false;
    }
    bool ready = false;
    for (waiter *w = head_.load(std::memory_order_acquire); w;
         w = w->next.load(std::memory_order_acquire)) {
        if (is_socket(w) && !w->deleted.load(std::memory_order_relaxed)) {
            w->revents |= (FD_ISSET(w->socket, &rfds) ? G_IO_IN : 0) |
                          (FD_ISSET(w->socket, &wfds) ? G_IO_OUT : 0);
            ready |= w->revents != 0;
        }
    }
    return ready;
}

// In a visit.
bool handle_backend::dispatch() noexcept
{
    bool progress = false;
    AioContext *c = ctx_->c();
    for (waiter *w = head_.load(std::memory_order_acquire); w;
         w = w->next.load(std::memory_order_acquire)) {
        int rev = w->revents;
        if (!rev || w->deleted.load(std::memory_order_relaxed) ||
            (w->is_external && qaio_external_disable_count(c))) {
            continue;
        }
        w->revents = 0;
        bool ran = false;
        if (w->io_notify) {
            w->io_notify(w->notifier);
            ran = true;
        } else {
            if ((rev & G_IO_IN) && w->io_read) {
                w->io_read(w->opaque);
                ran = true;
            }
            if (!w->deleted.load(std::memory_order_relaxed) && (rev & G_IO_OUT) &&
                w->io_write) {
                w->io_write(w->opaque);
                ran = true;
            }
        }
        if (ran && !w->is_ctx_notifier) {
            progress = true;
            if (loop::stats_enabled()) {
                ctx_->counters().fd_events++;
            }
        }
    }
    return progress;
}

bool handle_backend::poll(bool blocking) noexcept
{
    ctx_->poll_entered();
    loop::context *ctx = ctx_;
    AioContext *c = ctx->c();
    visit_begin();
    bool ready = select_sockets();
    int64_t timeout = 0;
    if (blocking) {
        timeout = ctx->announce_sleep() ? 0 : ctx->compute_timeout();
    }
    HANDLE handles[MAXIMUM_WAIT_OBJECTS];
    waiter *owners[MAXIMUM_WAIT_OBJECTS];
    DWORD count = 0;
    for (waiter *w = head_.load(std::memory_order_acquire); w && count < MAXIMUM_WAIT_OBJECTS;
         w = w->next.load(std::memory_order_acquire)) {
        if (!w->deleted.load(std::memory_order_relaxed) && !(w->is_external && qaio_external_disable_count(c))) {
            handles[count] = w->event;
            owners[count++] = w;
        }
    }
    bool progress = false;
    bool first = true;
    auto after_first_wait = [&] {
        if (blocking) {
            ctx->withdraw_sleep();
        }
        ctx->notify_accept();
        progress |= loop::bh_poll(ctx) != 0;
        first = false;
    };
    while (count > 0) {
        int ms = first && !ready ? timer::timeout_ns_to_ms(timeout) : 0;
        if (ms && loop::stats_enabled()) {
            ctx->counters().blocking_waits++;
        }
        DWORD ret = WaitForMultipleObjects(count, handles, FALSE, ms < 0 ? INFINITE : DWORD(ms));
        if (first) {
            after_first_wait();
        }
        if (ret - WAIT_OBJECT_0 < count) {
            DWORD i = ret - WAIT_OBJECT_0;
            waiter *w = owners[i];
            handles[i] = handles[--count];
            owners[i] = owners[count];
            if (is_socket(w)) {
                select_sockets();
            } else {
                w->revents |= G_IO_IN;
            }
        } else if (!ready) {
            break;  // timeout, or a handle closed under us
        }
        ready = false;
        progress |= dispatch();
    }
    if (first) {
        after_first_wait();  // nothing to wait on: all external and disabled
    }
    visit_end();
    progress |= timer::group_run(&c->tlg);
    return progress;
}

// --- under glib ------------------------------------------------------------

bool handle_backend::prepare() noexcept
{
    visit_begin();
    bool ready = select_sockets();
    visit_end();
    return ready;
}

// In a visit.
void handle_backend::collect_glib() noexcept
{
    bool socket_signalled = false;
    for (waiter *w = head_.load(std::memory_order_acquire); w;
         w = w->next.load(std::memory_order_acquire)) {
        if (w->pfd.revents && !w->deleted.load(std::memory_order_relaxed)) {
            if (is_socket(w)) {
                socket_signalled = true;
            } else {
                w->revents |= G_IO_IN;
            }
        }
        w->pfd.revents = 0;
    }
    if (socket_signalled) {
        select_sockets();
    }
}

void handle_backend::gs_check() noexcept
{
    visit_begin();
    collect_glib();
    visit_end();
}

bool handle_backend::gs_pending() noexcept
{
    bool pending = false;
    visit_begin();
    for (waiter *w = head_.load(std::memory_order_acquire); w && !pending;
         w = w->next.load(std::memory_order_acquire)) {
        pending = w->revents && !w->deleted.load(std::memory_order_relaxed);
    }
    visit_end();
    return pending;
}

void handle_backend::gs_dispatch(bool collect) noexcept
{
    visit_begin();
    if (collect) {
        collect_glib();
    }
    loop::bh_poll(ctx_);
    dispatch();
    visit_end();
}

} // namespace qaio::win32
