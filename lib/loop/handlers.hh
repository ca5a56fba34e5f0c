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

namespace qaio::loop {

// Pseudo event bit: busy polling found the handler ready (call io_poll_ready).
constexpr int revents_poll_ready = 1 << 16;
// Pseudo event bit: the monitor already read the fd's eventfd counter (the
// context's own notifier under io_uring), so io_read has nothing to do.
constexpr int revents_drained = 1 << 17;

struct handler {
    int fd_ = -1;
    bool is_external_ = false;
    // Set by a remover while a visitor may read it: a hint that lets a pass
    // skip a handler removed mid-pass, never what keeps memory valid.
    std::atomic<bool> deleted_{false};
    bool is_ctx_notifier_ = false;  // the context's own notifier: never progress
    bool on_poll_list_ = false;     // adaptive polling: ready at least once
    bool queued_ = false;           // on a ready_list: not freed until popped
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

    handler *ready_next_ = nullptr;  // ready_list link
    handler *deleted_next_ = nullptr;

    // Storage owned by the fd monitor that registered the handler.
    int mon_index_ = -1;
    uint32_t mon_flags_ = 0;

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
class ready_list {
public:
    // A handler already queued (on a GSource ready list awaiting dispatch)
    // is left where it is, and false returned: it will be dispatched from
    // there.
    bool push(handler *h, int revents) noexcept
    {
        if (h->queued_) {
            return false;
        }
        h->revents_ = revents;
        h->queued_ = true;
        h->ready_next_ = nullptr;
        *tail_ = h;
        tail_ = &h->ready_next_;
        ++count_;
        return true;
    }
    handler *pop() noexcept
    {
        handler *h = head_;
        if (h) {
            head_ = h->ready_next_;
            if (!head_) {
                tail_ = &head_;
            }
            h->ready_next_ = nullptr;
            h->queued_ = false;
            --count_;
        }
        return h;
    }
    bool empty() const noexcept { return head_ == nullptr; }
    int size() const noexcept { return count_; }

private:
    handler *head_ = nullptr;
    handler **tail_ = &head_;
    int count_ = 0;
};

} // namespace qaio::loop
