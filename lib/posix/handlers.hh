// SPDX-License-Identifier: MIT
// fd handlers (QEMU's AioHandler) and the per-context registry that owns them.
//
// Lifetime: a handler is created, changed and removed under the registry lock
// (the context's QemuLockCnt lock) from any thread.  The home thread walks
// handlers (waits, dispatch, polling) as a lockcnt visitor without the lock;
// a handler removed while a visit is in progress is only marked deleted and
// moved to the deleted list, and the last visitor frees it.  So a pointer
// obtained during a visit stays valid until the visit ends; callers skip
// handlers that is_deleted().  handlers.cc tells the whole protocol.
#pragma once

#include "block/aio.h"

#include <atomic>
#include <cstdint>
#include <vector>

namespace qaio::posix {

// Pseudo event bit: busy polling found the handler ready (call io_poll_ready).
constexpr int revents_poll_ready = 1 << 16;
// Pseudo event bit: the monitor already read the fd's eventfd counter (the
// context's own notifier under io_uring), so io_read has nothing to do.
constexpr int revents_drained = 1 << 17;

class ready_list;

struct handler {
    int fd_ = -1;
    bool is_external_ = false;
    // Set by a remover while a visitor may read it: a hint that lets a pass
    // skip a handler removed mid-pass, never what keeps memory valid.
    std::atomic<bool> deleted_{false};
    bool is_ctx_notifier_ = false;  // the context's own notifier: never progress
    bool on_poll_list_ = false;     // adaptive polling: ready at least once
    // A blocking eventfd that a monitor may wait on by reading it (io_uring
    // IORING_OP_READ), saving the read system call after each wake-up.
    bool drain_by_read_ = false;
    IOHandler *io_read_ = nullptr;
    IOHandler *io_write_ = nullptr;
    AioPollFn *io_poll_ = nullptr;
    IOHandler *io_poll_ready_ = nullptr;
    // aio_set_fd_poll may change these under a running visitor.
    std::atomic<IOHandler *> io_poll_begin_{nullptr};
    std::atomic<IOHandler *> io_poll_end_{nullptr};
    void *opaque_ = nullptr;

    // G_IO_* bits the fd monitor currently watches (0 while the handler is
    // external and external clients are disabled).
    int events_ = 0;
    // G_IO_* bits reported by the last wait; valid while on a ready_list.
    int revents_ = 0;
    // For monitors that hand each fd to glib (poll monitor under a GSource).
    GPollFD pfd_ = {-1, 0, 0};

    // ready_list links; ready_owner_ is set while the handler is queued on
    // one, and a queued handler is not freed until it is popped.
    ready_list *ready_owner_ = nullptr;
    handler *ready_next_ = nullptr;
    handler **ready_pprev_ = nullptr;
    handler *deleted_next_ = nullptr;

    // Storage owned by the fd monitor that registered the handler.
    int mon_index_ = -1;
    uint32_t mon_flags_ = 0;

    bool queued() const noexcept { return ready_owner_ != nullptr; }
    bool is_deleted() const noexcept { return deleted_.load(std::memory_order_relaxed); }
    IOHandler *poll_begin() const noexcept
    {
        return io_poll_begin_.load(std::memory_order_relaxed);
    }
    IOHandler *poll_end() const noexcept { return io_poll_end_.load(std::memory_order_relaxed); }

    // The G_IO_* set a handler asks for, from its callbacks.
    int wanted_events() const noexcept
    {
        return (io_read_ ? (G_IO_IN | G_IO_HUP | G_IO_ERR) : 0) |
               (io_write_ ? (G_IO_OUT | G_IO_ERR) : 0);
    }
};

// Handlers found ready by one wait, in the order the monitor reported them.
// Intrusive: a handler is on at most one ready list at a time.
//
// A handler that a wait reports while it is still queued on another list
// moves to this one, keeping the events of both.  That other list belongs
// to an outer pass (aio_poll called from a callback of aio_poll, or from a
// glib dispatch while the context's GSource holds handlers found by its
// check()): the inner pass saw the fd ready and must run it now, since
// whatever the inner caller waits for may be this very handler's work.
// The outer pass then no longer finds it.
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
