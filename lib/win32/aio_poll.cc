// SPDX-License-Identifier: MIT
// aio_poll on Windows, and the same steps under glib (aio_prepare,
// aio_pending, aio_dispatch).
//
// One aio_poll: select() the sockets without waiting (level-triggered
// readiness) -> announce a possible sleep (blocking only) -> wait on every
// wait object with WaitForMultipleObjects, blocking at most in the first
// round -> BHs, once, after that first wait -> dispatch what is ready, then
// look again without blocking until nothing more is signalled -> timers.
#include "lib/win32/backend.hh"

#include "lib/timer/timer_list.hh"

namespace qaio::win32 {

namespace {

DWORD ns_to_ms_round_up(int64_t ns) noexcept
{
    if (ns < 0) {
        return INFINITE;
    }
    int64_t ms = (ns + 999999) / 1000000;
    return ms >= INFINITE ? INFINITE - 1 : static_cast<DWORD>(ms);
}

bool is_socket(const waiter *w) noexcept
{
    return w->socket != INVALID_SOCKET;
}

} // namespace

// In a visit.  Marks the sockets select() finds readable or writable now;
// returns whether any is.  A socket's event is reset first, so that what
// arrives after the select() signals it again.
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

// In a visit.  Runs every waiter with events; true if one other than the
// context's notifier ran.
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
    while (count > 0) {
        DWORD ms = first && !ready ? ns_to_ms_round_up(timeout) : 0;
        if (ms && loop::stats_enabled()) {
            ctx->counters().blocking_waits++;
        }
        DWORD ret = WaitForMultipleObjects(count, handles, FALSE, ms);
        if (first) {
            if (blocking) {
                ctx->withdraw_sleep();
            }
            ctx->notify_accept();
            progress |= loop::bh_poll(ctx) != 0;
            first = false;
        }
        if (ret - WAIT_OBJECT_0 < count) {
            DWORD i = ret - WAIT_OBJECT_0;
            waiter *w = owners[i];
            // Look at the others next round, without this one.
            handles[i] = handles[--count];
            owners[i] = owners[count];
            if (is_socket(w)) {
                select_sockets();
            } else {
                w->revents |= G_IO_IN;
            }
        } else if (!ready) {
            break;  // timeout (or a handle closed under us): nothing more
        }
        ready = false;
        progress |= dispatch();
    }
    if (first) {
        // Nothing to wait on (every object external and disabled).
        if (blocking) {
            ctx->withdraw_sleep();
        }
        ctx->notify_accept();
        progress |= loop::bh_poll(ctx) != 0;
    }
    visit_end();
    progress |= timer::group_run(&c->tlg);
    return progress;
}

// --- under glib ------------------------------------------------------------

// aio_prepare: true when a socket is ready, so that glib does not sleep.
bool handle_backend::prepare() noexcept
{
    visit_begin();
    bool ready = select_sockets();
    visit_end();
    return ready;
}

// In a visit: what glib's poll found signalled.
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
