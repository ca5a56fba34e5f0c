// SPDX-License-Identifier: MIT
// fd handlers (QEMU's AioHandler).  A handler removed while the home thread
// visits is freed by the last visitor, so callers skip is_deleted() ones
// (protocol in handlers.cc).
#pragma once

#include "block/aio.h"

#include <atomic>

namespace qaio::posix {

// Pseudo event bits: busy polling found the handler ready; the monitor
// already read the eventfd (the notifier under io_uring).
constexpr int revents_poll_ready = 1 << 16;
constexpr int revents_drained = 1 << 17;

class ready_list;

struct handler {
    int fd_ = -1;
    bool is_external_ = false;
    std::atomic<bool> deleted_{false};
    bool is_ctx_notifier_ = false;  // the context's own notifier: never progress
    bool on_poll_list_ = false;     // adaptive polling: ready at least once
    // io_uring monitor: when the handler, not ready since, leaves the poll
    // list (0: to be set at the next polling round).
    int64_t poll_idle_until_ = 0;
    // A blocking eventfd io_uring may wait on with a READ, saving a syscall.
    bool drain_by_read_ = false;
    IOHandler *io_read_ = nullptr;
    IOHandler *io_write_ = nullptr;
    AioPollFn *io_poll_ = nullptr;
    IOHandler *io_poll_ready_ = nullptr;
    // aio_set_fd_poll may change these under a running visitor.
    std::atomic<IOHandler *> io_poll_begin_{nullptr};
    std::atomic<IOHandler *> io_poll_end_{nullptr};
    void *opaque_ = nullptr;

    int events_ = 0;   // watched by the monitor (0: external and disabled)
    int revents_ = 0;  // valid while on a ready_list
    // For the poll monitor under a GSource.
    GPollFD pfd_ = {-1, 0, 0};

    // A queued handler is not freed until it is popped.
    ready_list *ready_owner_ = nullptr;
    handler *ready_next_ = nullptr;
    handler **ready_pprev_ = nullptr;
    handler *deleted_next_ = nullptr;

    // The fd monitor's.
    int mon_index_ = -1;

    bool queued() const noexcept { return ready_owner_ != nullptr; }
    bool is_deleted() const noexcept { return deleted_.load(std::memory_order_relaxed); }
    IOHandler *poll_begin() const noexcept
    {
        return io_poll_begin_.load(std::memory_order_relaxed);
    }
    IOHandler *poll_end() const noexcept { return io_poll_end_.load(std::memory_order_relaxed); }

    int wanted_events() const noexcept
    {
        return (io_read_ ? (G_IO_IN | G_IO_HUP | G_IO_ERR) : 0) |
               (io_write_ ? (G_IO_OUT | G_IO_ERR) : 0);
    }
};

// Handlers found ready by one wait; a handler is on one list at most.  One
// still queued on an outer pass's list (nested aio_poll, or GSource check()
// to dispatch) moves here with both events: the inner caller may wait for
// its very work.
class ready_list {
public:
    ready_list() noexcept = default;
    ready_list(const ready_list &) = delete;
    ready_list &operator=(const ready_list &) = delete;

    void push(handler *h, int revents) noexcept
    {
        if (h->ready_owner_) {
            revents |= h->revents_;
            h->ready_owner_->unlink(h);
        }
        h->revents_ = revents;
        h->ready_owner_ = this;
        h->ready_next_ = nullptr;
        h->ready_pprev_ = tail_;
        *tail_ = h;
        tail_ = &h->ready_next_;
        ++count_;
    }
    handler *pop() noexcept
    {
        handler *h = head_;
        if (h) {
            unlink(h);
        }
        return h;
    }
    bool empty() const noexcept { return head_ == nullptr; }
    int size() const noexcept { return count_; }

private:
    void unlink(handler *h) noexcept
    {
        *h->ready_pprev_ = h->ready_next_;
        if (h->ready_next_) {
            h->ready_next_->ready_pprev_ = h->ready_pprev_;
        } else {
            tail_ = h->ready_pprev_;
        }
        h->ready_owner_ = nullptr;
        h->ready_next_ = nullptr;
        h->ready_pprev_ = nullptr;
        --count_;
    }

    handler *head_ = nullptr;
    handler **tail_ = &head_;
    int count_ = 0;
};

} // namespace qaio::posix
