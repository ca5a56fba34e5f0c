// SPDX-License-Identifier: MIT
// CoMutex: fair, for coroutines in several threads; waiting yields, never
// blocks a thread.  `locked` counts holder plus lockers that counted
// themselves (0 free).  A locker tries 0 -> 1, else increments (0 found: it
// got the mutex), pushes a CoWaitRecord from its frame on `from_push`
// (lock-free stack) and parks.  The unlocker decrements; from 1 the mutex
// is free, otherwise it is never released but passed to the oldest waiter,
// popped from `to_pop` (private to the passer, refilled by exchanging out
// and reversing `from_push`) and woken with aio_co_wake.  `locked` stays
// above zero while waiters exist, so newcomers cannot barge in.
//
// The gap: a locker counts itself before it pushes, so an unlocker may find
// no record.  It must not wait (the locker may be preempted): it publishes
// a ticket in `handoff`, then looks at `from_push` again; the locker, after
// its push, looks at `handoff` (Dekker, a full fence on each side).  Whoever
// sees the other CASes the ticket to 0; the one that wins pops and wakes
// the oldest (a locker finding its own record keeps the mutex).  Tickets
// come from `sequence` (never 0) so that a stale ticket cannot be taken.
// Only one party pops at a time.  Before all that: the bias (co_mutex_bias.hh).
#include "lib/colock/colock.hh"
#include "lib/colock/co_mutex_bias.hh"

#include "block/aio.h"
#include "lib/support/fatal.hh"

#include <atomic>

// In the parked locker's frame.
struct CoWaitRecord {
    Coroutine *co_;
    CoWaitRecord *next_;
};

namespace qaio::colock {

namespace {

// Spins of a locker whose holder runs elsewhere, before it parks.
constexpr int spin_limit = 1000;

template <typename T>
std::atomic_ref<T> at(T &field) noexcept
{
    return std::atomic_ref<T>(field);
}

inline void cpu_relax() noexcept
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#endif
}

void push_waiter(CoMutex *m, CoWaitRecord *w) noexcept
{
    auto head = at(m->from_push.slh_first);
    CoWaitRecord *old = head.load(std::memory_order_relaxed);
    do {
        w->next_ = old;
        // Release: pairs with pop_waiter's acquire exchange.
    } while (!head.compare_exchange_weak(old, w, std::memory_order_seq_cst,
                                         std::memory_order_relaxed));
}

// Only the party passing the mutex on calls this.
CoWaitRecord *pop_waiter(CoMutex *m) noexcept
{
    CoWaitRecord *w = m->to_pop.slh_first;
    if (!w) {
        // Acquire: pairs with push_waiter's release.
        CoWaitRecord *pushed =
            at(m->from_push.slh_first).exchange(nullptr, std::memory_order_acquire);
        while (pushed) {
            CoWaitRecord *next = pushed->next_;
            pushed->next_ = w;
            w = pushed;
            pushed = next;
        }
        if (!w) {
            return nullptr;
        }
    }
    m->to_pop.slh_first = w->next_;
    return w;
}

unsigned next_ticket(CoMutex *m) noexcept
{
    auto seq = at(m->sequence);
    unsigned t = seq.load(std::memory_order_relaxed) + 1;
    if (t == 0) {
        t = 1;
    }
    seq.store(t, std::memory_order_relaxed);
    return t;
}

// `locked` already counts us; returns once we hold the mutex.
[[gnu::noinline]] void lock_slow(CoMutex *m, Coroutine *self) noexcept
{
    CoWaitRecord w{self, nullptr};
    push_waiter(m, &w);

    // Barrier A: push before reading `handoff`; pairs with barrier B in unlock.
    std::atomic_thread_fence(std::memory_order_seq_cst);

    auto handoff = at(m->handoff);
    unsigned ticket = handoff.load(std::memory_order_seq_cst);
    // Acquire: pairs with the unlocker's seq_cst store of the ticket.
    if (ticket && handoff.compare_exchange_strong(ticket, 0, std::memory_order_acq_rel,
                                                  std::memory_order_relaxed)) {
        CoWaitRecord *oldest = pop_waiter(m);
        QAIO_CHECK(oldest, "CoMutex %p: hand-off ticket taken with no waiter queued",
                   static_cast<void *>(m));
        if (oldest == &w) {
            return;
        }
        loop::co_wake(oldest->co_);
    }

    coroutine::yield();  // woken as the holder
}

} // namespace

void co_mutex_init(CoMutex *mutex) noexcept
{
    *mutex = CoMutex{};
}

namespace {

// The owner's fast-path step: announce it in the slot, then check the bias
// (the revoker's membarrier stands in for a fence between the two).
inline bool fast_step_begin(CoMutex *m, bias_slot *slot) noexcept
{
    slot->busy.store(m, std::memory_order_relaxed);
    std::atomic_signal_fence(std::memory_order_seq_cst);
    return at(m->bias).load(std::memory_order_relaxed) == slot->id;
}

inline void fast_step_end(bias_slot *slot) noexcept
{
    // Release: a revoker that sees the slot cleared sees the step's stores.
    slot->busy.store(nullptr, std::memory_order_release);
}

// False when the mutex is not biased to us or is taken.
inline bool lock_biased(CoMutex *mutex, Coroutine *self, bias_slot *slot) noexcept
{
    auto locked = at(mutex->locked);
    bool ok = fast_step_begin(mutex, slot) && locked.load(std::memory_order_relaxed) == 0;
    if (ok) {
        locked.store(1, std::memory_order_relaxed);
        at(mutex->ctx).store(self->ctx, std::memory_order_relaxed);
        at(mutex->holder).store(self, std::memory_order_relaxed);
        self->locks_held++;
    }
    fast_step_end(slot);
    return ok;
}

// Out of line so that the fast path saves no registers.
[[gnu::noinline]] void lock_unbiased(CoMutex *mutex, Coroutine *self, bias_slot *slot) noexcept
{
    AioContext *ctx = self->ctx;  // the current context, without a TLS lookup
    auto locked = at(mutex->locked);

    for (;;) {
        // Acquire: pairs with the acq_rel CAS of bias_claim or bias_revoke
        // that set it.
        unsigned b = at(mutex->bias).load(std::memory_order_acquire);
        if (b == bias_revoked) {
            break;
        }
        if (b == 0) {
            if (!slot) {
                slot = bias_slot_create();
            }
            if (slot && bias_claim(mutex, slot)) {
                if (lock_biased(mutex, self, slot)) {
                    return;
                }
                continue;  // revoked meanwhile
            }
        }
        bias_revoke(mutex, slot);
        break;
    }

    unsigned expected = 0;

    // Acquire: pairs with the release in unlock's decrement.
    if (!locked.compare_exchange_strong(expected, 1, std::memory_order_acquire,
                                        std::memory_order_relaxed)) {
        // Spin on a holder in another context (likely another CPU, short
        // critical section); one in our context cannot progress meanwhile.
        bool got = false;
        for (int i = 0; i < spin_limit; i++) {
            unsigned now = locked.load(std::memory_order_relaxed);
            if (now == 0) {
                expected = 0;
                // Acquire: pairs with the release in unlock's decrement.
                if (locked.compare_exchange_strong(expected, 1, std::memory_order_acquire,
                                                   std::memory_order_relaxed)) {
                    got = true;
                    break;
                }
                continue;
            }
            if (now != 1 || at(mutex->ctx).load(std::memory_order_relaxed) == ctx) {
                break;
            }
            cpu_relax();
        }
        // Seq_cst: pairs with unlock's seq_cst decrement, so that one of the
        // two sees the other (a waiter counted, or the mutex free).
        if (!got && locked.fetch_add(1, std::memory_order_seq_cst) != 0) {
            lock_slow(mutex, self);
            ctx = self->ctx;
        }
    }

    at(mutex->ctx).store(ctx, std::memory_order_relaxed);
    at(mutex->holder).store(self, std::memory_order_relaxed);
    self->locks_held++;
}

} // namespace

void co_mutex_lock(CoMutex *mutex) noexcept
{
    auto [self, slot_ptr] = coroutine::self_with_lock_slot();
    auto *slot = static_cast<bias_slot *>(slot_ptr);
    if (__builtin_expect(slot != nullptr, 1) && lock_biased(mutex, self, slot)) {
        return;
    }
    lock_unbiased(mutex, self, slot);
}

namespace {

[[gnu::noinline]] void unlock_unbiased(CoMutex *mutex, Coroutine *self, bias_slot *slot) noexcept
{
    auto locked = at(mutex->locked);
    // Also when held biased by a coroutine that moved off the owner's thread.
    bias_revoke(mutex, slot);

    at(mutex->ctx).store(nullptr, std::memory_order_relaxed);
    at(mutex->holder).store(nullptr, std::memory_order_relaxed);
    self->locks_held--;

    // Release: pairs with the next holder's CAS or fetch_add in lock.
    if (locked.fetch_sub(1, std::memory_order_seq_cst) == 1) {
        return;
    }

    auto handoff = at(mutex->handoff);
    for (;;) {
        CoWaitRecord *oldest = pop_waiter(mutex);
        if (oldest) {
            loop::co_wake(oldest->co_);
            return;
        }

        // A locker counted itself but has not pushed yet: leave a ticket.
        unsigned ticket = next_ticket(mutex);
        handoff.store(ticket, std::memory_order_seq_cst);

        // Barrier B: pairs with barrier A in lock_slow.
        std::atomic_thread_fence(std::memory_order_seq_cst);

        if (!at(mutex->from_push.slh_first).load(std::memory_order_seq_cst)) {
            return;  // the locker will see the ticket
        }
        // Pushed meanwhile: take the ticket back, unless the locker did.
        if (!handoff.compare_exchange_strong(ticket, 0, std::memory_order_acq_rel,
                                             std::memory_order_relaxed)) {
            return;
        }
    }
}

} // namespace

void co_mutex_unlock(CoMutex *mutex) noexcept
{
    auto [self, slot_ptr] = coroutine::self_with_lock_slot();
    auto *slot = static_cast<bias_slot *>(slot_ptr);
    auto locked = at(mutex->locked);

    QAIO_CHECK(locked.load(std::memory_order_relaxed) != 0,
               "qemu_co_mutex_unlock: CoMutex %p is not locked", static_cast<void *>(mutex));
    Coroutine *holder = at(mutex->holder).load(std::memory_order_relaxed);
    QAIO_CHECK(holder == self,
               "qemu_co_mutex_unlock: CoMutex %p is held by coroutine %p, not by the "
               "caller %p", static_cast<void *>(mutex), static_cast<void *>(holder),
               static_cast<void *>(self));
    // Outside coroutines self() is the thread's leader, which has no caller.
    QAIO_CHECK(self->caller, "qemu_co_mutex_unlock: CoMutex %p unlocked outside a coroutine",
               static_cast<void *>(mutex));

    if (__builtin_expect(slot != nullptr, 1)) {
        bool biased = fast_step_begin(mutex, slot);
        if (biased) {
            at(mutex->ctx).store(nullptr, std::memory_order_relaxed);
            at(mutex->holder).store(nullptr, std::memory_order_relaxed);
            self->locks_held--;
            locked.store(0, std::memory_order_relaxed);
        }
        fast_step_end(slot);
        if (biased) {
            return;
        }
    }
    unlock_unbiased(mutex, self, slot);
}

} // namespace qaio::colock
