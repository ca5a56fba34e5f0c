// SPDX-License-Identifier: MIT
// A block request, in the submitting coroutine's frame (no allocation);
// each engine derives its own.  finish() wakes the coroutine, unless it is
// the one running (completed while still submitting: wait() does not
// yield).  Nothing touches a request after the wake-up: the frame may be
// gone.
#pragma once

#include "lib/blockio/engines.hh"
#include "lib/coroutine/coroutine.hh"

namespace qaio::blockio {

struct request {
    explicit request(op kind) noexcept : co_(coroutine::self()), kind_(kind) {}

    // `this` may be gone afterwards.
    void finish(int ret) noexcept
    {
        Coroutine *co = co_;
        ret_ = ret;
        done_ = true;
        if (!co->caller) {
            loop::co_wake(co);
        }
    }

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
