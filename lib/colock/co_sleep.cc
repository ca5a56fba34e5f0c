// SPDX-License-Identifier: MIT
// Sleeping coroutines.  A sleeper publishes itself in the QemuCoSleep and
// parks with the sleep marker in `scheduled`; the timed form adds a timer
// in its frame, deleted when it resumes.  Unlike 7.2's plain accesses, the
// wake-up clears `to_wake` with an exchange, so of racing wakers (timer,
// owner, other threads) exactly one gets the coroutine.
#include "lib/colock/colock.hh"

#include "block/aio.h"
#include "lib/support/fatal.hh"
#include "lib/timer/clock.hh"
#include "lib/timer/timer_list.hh"

#include <atomic>

namespace qaio::colock {

const char sleep_marker[] = "qemu_co_sleep_ns";

namespace {

void sleep_timer_cb(void *opaque)
{
    co_sleep_wake(static_cast<QemuCoSleep *>(opaque));
}

} // namespace

void co_sleep_wake(QemuCoSleep *w) noexcept
{
    // Acquire: pairs with co_sleep's release of to_wake; we see the marker.
    Coroutine *co = std::atomic_ref(w->to_wake).exchange(nullptr, std::memory_order_acquire);
    if (!co) {
        return;
    }
    const char *expected = sleep_marker;
    // acq_rel: pairs with co_sleep's CAS and co_schedule's (co_schedule.cc).
    if (!std::atomic_ref(co->scheduled)
             .compare_exchange_strong(expected, nullptr, std::memory_order_acq_rel,
                                      std::memory_order_acquire)) {
        QAIO_FATAL("qemu_co_sleep_wake: coroutine %p sleeping on %p is marked '%s', not "
                   "'%s'", static_cast<void *>(co), static_cast<void *>(w),
                   expected ? expected : "(nothing)", sleep_marker);
    }
    loop::co_wake(co);
}

void co_sleep(QemuCoSleep *w) noexcept
{
    QAIO_CHECK(coroutine::in_coroutine(), "qemu_co_sleep on %p called outside a coroutine",
               static_cast<void *>(w));
    Coroutine *self = coroutine::self();
    const char *expected = nullptr;

    // acq_rel: pairs with co_sleep_wake's CAS, which clears the marker.
    if (!std::atomic_ref(self->scheduled)
             .compare_exchange_strong(expected, sleep_marker, std::memory_order_acq_rel,
                                      std::memory_order_acquire)) {
        QAIO_FATAL("qemu_co_sleep: coroutine %p was already scheduled in '%s'",
                   static_cast<void *>(self), expected);
    }
    // Release: a waker that finds us here also finds the marker set.
    std::atomic_ref(w->to_wake).store(self, std::memory_order_release);
    coroutine::yield();

    QAIO_CHECK(std::atomic_ref(w->to_wake).load(std::memory_order_relaxed) == nullptr,
               "qemu_co_sleep: coroutine %p resumed while still published in %p",
               static_cast<void *>(self), static_cast<void *>(w));
}

void co_sleep_ns(QemuCoSleep *w, QEMUClockType type, int64_t ns) noexcept
{
    AioContext *ctx = loop::current_context();
    QAIO_CHECK(ctx, "qemu_co_sleep_ns_wakeable: no current AioContext for the timer of %p",
               static_cast<void *>(w));
    QEMUTimer timer;

    timer::timer_setup(&timer, ctx->tlg.tl[type], SCALE_NS, 0, sleep_timer_cb, w);
    // The timer fires in this thread, so not before we have parked.
    int64_t now = timer::clock_now_ns(type);
    timer::timer_arm_ns(&timer, ns > INT64_MAX - now ? INT64_MAX : now + ns);
    co_sleep(w);
    timer::timer_disarm(&timer);
}

} // namespace qaio::colock
