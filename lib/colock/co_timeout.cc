// SPDX-License-Identifier: MIT
// qemu_co_timeout: the function runs in its own coroutine while the caller
// sleeps on QEMU_CLOCK_REALTIME.  A heap state shared by both decides the
// race with one CAS (the function may move to another context, so 7.2's
// plain flag is not enough) and is freed by the last side out.
#include "lib/colock/colock.hh"

#include "block/aio.h"
#include "lib/support/fatal.hh"

#include <atomic>
#include <new>

namespace qaio::colock {

namespace {

enum class outcome : int { running, finished, timed_out };

struct timeout_state {
    CoroutineEntry *entry_;
    void *opaque_;
    CleanupFunc *clean_;
    QemuCoSleep sleep_{};
    std::atomic<outcome> outcome_{outcome::running};
    std::atomic<int> refs_{2};  // the caller and the function's coroutine

    void unref() noexcept
    {
        // acq_rel: pairs with the other side's unref.
        if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            delete this;
        }
    }

    // acq_rel: pairs with the other side's decide.
    bool decide(outcome o) noexcept
    {
        outcome expected = outcome::running;
        return outcome_.compare_exchange_strong(expected, o, std::memory_order_acq_rel);
    }
};

void timeout_entry(void *opaque)
{
    auto *s = static_cast<timeout_state *>(opaque);

    s->entry_(s->opaque_);
    if (s->decide(outcome::finished)) {
        // A no-op if its timer has just woken the caller; it returns 0.
        co_sleep_wake(&s->sleep_);
    } else if (s->clean_) {
        s->clean_(s->opaque_);
    }
    s->unref();
}

} // namespace

int co_timeout(CoroutineEntry *entry, void *opaque, uint64_t timeout_ns,
               CleanupFunc *clean) noexcept
{
    if (timeout_ns == 0) {
        entry(opaque);
        return 0;
    }

    auto *s = new (std::nothrow) timeout_state{entry, opaque, clean};
    QAIO_CHECK(s, "qemu_co_timeout: out of memory");
    Coroutine *co = coroutine::create(timeout_entry, s);

    // Starts once we are asleep.
    loop::co_enter(loop::current_context(), co);
    co_sleep_ns(&s->sleep_, QEMU_CLOCK_REALTIME,
                timeout_ns > INT64_MAX ? INT64_MAX : static_cast<int64_t>(timeout_ns));

    int ret = s->decide(outcome::timed_out) ? -ETIMEDOUT : 0;
    s->unref();
    return ret;
}

} // namespace qaio::colock
