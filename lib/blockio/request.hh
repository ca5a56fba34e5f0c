// SPDX-License-Identifier: MIT
// A block request as both engines see it, and the FIFO it waits on until
// the kernel takes it.  A request lives in the frame of the coroutine that
// submitted it, so it costs no allocation; each engine derives its own type
// with what its kernel interface needs (an iocb, a vector for the rest of a
// short read).
//
// A request completes exactly once: finish() stores the result and wakes
// the coroutine with aio_co_wake, unless that coroutine is the one running
// (its request completed while it was still submitting), in which case
// wait() finds the result without yielding.  Nothing may touch a request
// after its coroutine was woken: the frame may be gone.
#pragma once

#include "lib/blockio/engines.hh"
#include "lib/coroutine/coroutine.hh"

namespace qaio::blockio {

struct request {
    explicit request(op kind) noexcept : co_(coroutine::self()), kind_(kind) {}

    // Store the result and wake the waiter; `this` may be gone afterwards.
    void finish(int ret) noexcept
    {
        Coroutine *co = co_;
        ret_ = ret;
        done_ = true;
        // A coroutine with a caller is the one running: it is still
        // submitting and finds the result without yielding.
        if (!co->caller) {
            loop::co_wake(co);
        }
    }

    // In the submitting coroutine: yield until finish(), then the result.
    int wait() noexcept
    {
        while (!done_) {
            coroutine::yield();
        }
        return ret_;
    }

    Coroutine *co_;
    request *next_ = nullptr;  // the queue's link
    int ret_ = 0;
    bool done_ = false;
    op kind_;
};

// Requests not yet handed to the kernel, oldest first.
class request_queue {
public:
    bool empty() const noexcept { return !head_; }
    unsigned size() const noexcept { return size_; }
    request *front() const noexcept { return head_; }

    void push(request *r) noexcept
    {
        r->next_ = nullptr;
        *tail_ = r;
        tail_ = &r->next_;
        ++size_;
    }

    request *pop() noexcept
    {
        request *r = head_;
        head_ = r->next_;
        if (!head_) {
            tail_ = &head_;
        }
        --size_;
        return r;
    }

private:
    request *head_ = nullptr;
    request **tail_ = &head_;
    unsigned size_ = 0;
};

} // namespace qaio::blockio
