// SPDX-License-Identifier: MIT
// The fd handler registry of a context: registration, replacement and
// removal from any thread, deferred freeing while the home thread visits the
// handlers, and the bookkeeping that follows aio_disable/enable_external.
//
// A replaced handler becomes a new node and the old one is retired like a
// removed one, so the home thread never reads a callback/opaque pair that
// another thread is rewriting.
#include "lib/loop/context.hh"

#include "lib/fdmon/monitor.hh"
#include "lib/loop/lockcnt.hh"
#include "lib/support/fatal.hh"

#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <new>

namespace qaio::loop {

namespace {

// Detaches h from the registry; it is freed now if nobody visits, or by the
// last visitor.  Called with the registry lock held.
void retire(context *ctx, handler *h) noexcept
{
    if (h->events_) {
        int old = h->events_;
        h->events_ = 0;
        ctx->monitor_->update(h, old, 0);
    }
    if (h->is_external_) {
        ctx->external_count_--;
    }
    if (!h->io_poll_) {
        ctx->poll_disable_cnt_--;
    }
    ctx->handler_count_--;
    h->deleted_ = true;
    h->deleted_next_ = ctx->deleted_;
    ctx->deleted_ = h;
}

void free_deleted(context *ctx) noexcept
{
    handler **link = &ctx->deleted_;
    while (handler *h = *link) {
        if (h->queued_) {
            // Still on a GSource ready list; freed after dispatch pops it.
            link = &h->deleted_next_;
            continue;
        }
        *link = h->deleted_next_;
        if (h->on_poll_list_) {
            auto &pl = ctx->poll_list_;
            for (size_t i = 0; i < pl.size(); i++) {
                if (pl[i] == h) {
                    pl[i] = pl.back();
                    pl.pop_back();
                    break;
                }
            }
        }
        delete h;
    }
}

int effective_events(context *ctx, const handler *h) noexcept
{
    if (h->is_external_ && ctx->external_disabled_seen_) {
        return 0;
    }
    return h->wanted_events();
}

} // namespace

void context::set_fd_handler(int fd, bool is_external, IOHandler *io_read,
                             IOHandler *io_write, AioPollFn *io_poll,
                             IOHandler *io_poll_ready, void *opaque,
                             bool is_ctx_notifier) noexcept
{
    QAIO_CHECK(fd >= 0, "aio_set_fd_handler: invalid fd %d", fd);
    // A polling callback is useless without a way to report its readiness.
    if (!io_poll_ready) {
        io_poll = nullptr;
    }
    bool removing = !io_read && !io_write && !io_poll;

    handler *h = nullptr;
    if (!removing && fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
        // Watching a closed fd would wake every wait with POLLNVAL and run
        // nothing: refuse it loudly instead.
        std::fprintf(stderr, "qaio: aio_set_fd_handler: fd %d is not open; "
                     "handler not registered\n", fd);
        return;
    }
    if (!removing) {
        h = new (std::nothrow) handler;
        QAIO_CHECK(h, "out of memory registering fd %d", fd);
        h->fd_ = fd;
        h->is_external_ = is_external;
        h->is_ctx_notifier_ = is_ctx_notifier;
        h->drain_by_read_ = is_ctx_notifier && notifier_.rfd == notifier_.wfd;
        h->io_read_ = io_read;
        h->io_write_ = io_write;
        h->io_poll_ = io_poll;
        h->io_poll_ready_ = io_poll_ready;
        h->opaque_ = opaque;
        h->pfd_.fd = fd;
    }

    lockcnt::lock(&list_lock_);
    if (static_cast<size_t>(fd) >= by_fd_.size()) {
        if (removing) {
            lockcnt::unlock(&list_lock_);
            return;  // never registered: nothing to do, nothing to notify
        }
        by_fd_.resize(static_cast<size_t>(fd) + 1 + by_fd_.size() / 2, nullptr);
    }
    handler *old = by_fd_[fd];
    if (!old && removing) {
        lockcnt::unlock(&list_lock_);
        return;
    }
    if (old) {
        // Keep the begin/end hooks across a replacement, as they belong to
        // the fd rather than to one set of callbacks.
        if (h) {
            h->io_poll_begin_ = old->io_poll_begin_;
            h->io_poll_end_ = old->io_poll_end_;
        }
        retire(this, old);
    }
    by_fd_[fd] = h;
    if (h) {
        handler_count_++;
        if (is_external) {
            external_count_++;
        }
        if (!h->io_poll_) {
            poll_disable_cnt_++;
        }
        h->events_ = effective_events(this, h);
        h->pfd_.events = static_cast<gushort>(h->wanted_events());
        if (h->events_) {
            monitor_->update(h, 0, h->events_);
        }
    }
    // Free at once if the home thread is not visiting.
    if (lockcnt::count(&list_lock_) == 0) {
        free_deleted(this);
    }
    lockcnt::unlock(&list_lock_);
    notify();
}

void context::set_fd_poll(int fd, IOHandler *begin, IOHandler *end) noexcept
{
    lockcnt::lock(&list_lock_);
    if (fd >= 0 && static_cast<size_t>(fd) < by_fd_.size() && by_fd_[fd]) {
        by_fd_[fd]->io_poll_begin_ = begin;
        by_fd_[fd]->io_poll_end_ = end;
    }
    lockcnt::unlock(&list_lock_);
}

void context::visit_begin() noexcept
{
    lockcnt::inc(&list_lock_);
}

void context::visit_end() noexcept
{
    // The last visitor frees what was removed meanwhile.  A removal racing
    // with the unlocked peek below is freed by the next visit instead.
    if (!__atomic_load_n(&deleted_, __ATOMIC_RELAXED)) {
        lockcnt::dec(&list_lock_);
    } else if (lockcnt::dec_and_lock(&list_lock_)) {
        free_deleted(this);
        lockcnt::unlock(&list_lock_);
    }
}

void context::sync_external() noexcept
{
    bool disabled = qatomic_read(&c()->external_disable_cnt) != 0;
    if (disabled == external_disabled_seen_) {
        return;
    }
    lockcnt::lock(&list_lock_);
    external_disabled_seen_ = disabled;
    if (external_count_ > 0) {
        for (handler *h : by_fd_) {
            if (h && h->is_external_) {
                int old = h->events_;
                h->events_ = effective_events(this, h);
                if (old != h->events_) {
                    monitor_->update(h, old, h->events_);
                }
            }
        }
    }
    lockcnt::unlock(&list_lock_);
}

} // namespace qaio::loop
