// SPDX-License-Identifier: MIT
// The biased timer-list lock's slow paths (protocol: list_lock.hh).
#include "lib/timer/list_lock.hh"

#include "lib/support/fatal.hh"
#include "lib/support/knobs.hh"
#include "lib/support/membarrier.hh"
#include "lib/support/sanitizer.hh"

#include <cerrno>
#include <cstring>
#include <sched.h>

namespace qaio::timer {

namespace {

// A query registers nothing: registration waits for a revocation.
bool bias_allowed() noexcept
{
#if defined(QAIO_TSAN)
    return false;  // TSan cannot see membarrier's ordering
#else
    static const bool allowed = support::knob_int(support::knob::timer_bias).value_or(1) != 0 &&
                                support::membarrier::available();
    return allowed;
#endif
}

// For a thread that was preempted in the middle of a step.
void pause_a_little(unsigned spins) noexcept
{
    if (spins > 100) {
        sched_yield();
    }
}

} // namespace

bool list_lock::lock_slow() noexcept
{
    uintptr_t me = reinterpret_cast<uintptr_t>(&list_lock_token);
    uintptr_t st = state_.load(std::memory_order_relaxed);
    // The first locker claims the bias (or revokes it where it is not
    // allowed); acq_rel, with the acquire loads below and in revoke().
    if (st == 0 &&
        state_.compare_exchange_strong(st, bias_allowed() ? me : revoked,
                                       std::memory_order_acq_rel) &&
        try_lock_biased()) {
        return true;
    }
    // Acquire: pairs with the claim above and revoke()'s release store.
    st = state_.load(std::memory_order_acquire);
    // An owner that met a revocation is in no step: it may take the mutex.
    // Anybody else waits until no step can be running.
    if ((st & ~uintptr_t{1}) != me) {
        revoke();
    }
    mutex_.lock();
    return false;
}

void list_lock::revoke() noexcept
{
    for (unsigned spins = 0;; spins++) {
        // Acquire: pairs with lock_slow()'s claim and another revoker's
        // release store of `revoked` below.
        uintptr_t st = state_.load(std::memory_order_acquire);
        if (st == revoked ||
            (st == 0 && state_.compare_exchange_weak(st, revoked, std::memory_order_acq_rel))) {
            return;
        }
        if (st & 1) {
            pause_a_little(spins);  // another thread is revoking: wait for it
            continue;
        }
        if (st == 0 || !state_.compare_exchange_weak(st, st | 1, std::memory_order_acq_rel)) {
            continue;
        }
        // The owner's next check sees the mark, or its busy_ shows its step.
        QAIO_CHECK(support::membarrier::run_on_every_thread_registered(),
                   "membarrier failed while revoking a timer list's bias: %s",
                   std::strerror(errno));
        // Acquire: pairs with the owner's release of busy_ at the end of its
        // step (list_lock.hh), so the step's writes are seen under the mutex.
        for (unsigned waits = 0; busy_.load(std::memory_order_acquire); waits++) {
            pause_a_little(waits);
        }
        // Release: pairs with the acquire loads of state_ above and in
        // lock_slow(); their threads then meet at the mutex.
        state_.store(revoked, std::memory_order_release);
        return;
    }
}

} // namespace qaio::timer
