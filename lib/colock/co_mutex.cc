// SPDX-License-Identifier: MIT
// CoMutex: a fair mutex for coroutines that may run in several threads.
// While one thread uses it, taking and releasing it are plain loads and
// stores (the bias, below); after that, taking a free mutex and releasing
// one that nobody waits for cost one atomic read-modify-write each.
// Waiting never blocks a thread: the waiter yields and is woken in its own
// AioContext.
//
// The protocol.  `locked` counts the coroutines that hold or want the mutex:
// 0 free, 1 held, n > 1 held (or being passed on) with n - 1 lockers that
// have counted themselves.  A locker first tries 0 -> 1; failing that it
// counts itself with an increment (finding 0 there means it got the mutex
// after all), pushes a CoWaitRecord from its own frame on `from_push`, a
// lock-free stack, and parks.  The unlocking holder decrements `locked`; if
// it was 1 nobody waits and the mutex is free.  Otherwise the mutex is
// never released: it goes to the oldest waiter.  Waiters are taken from
// `to_pop`, a FIFO private to whoever is passing the mutex on, refilled by
// taking the whole `from_push` stack with one exchange and reversing it.
// The chosen record is unlinked, its coroutine read, and aio_co_wake runs
// that coroutine as the new holder; the record itself (in a frame that is
// about to resume) is not touched again.  As `locked` stays above zero while
// waiters exist, newcomers cannot barge in ahead of them.
//
// The gap.  A locker counts itself before it pushes, so an unlocker may see
// `locked` > 1 and still find no record.  It must not wait for the push (the
// locker may be preempted on another CPU), so it hands the duty over: it
// publishes a fresh ticket in `handoff`, then looks at `from_push` again.
// The locker, after its push, looks at `handoff`.  Each side writes, then
// reads what the other writes, with a full barrier in between, so at least
// one of them sees the other.  Whoever sees the other tries to take the
// ticket back to 0 with a compare-and-swap; exactly one succeeds and does
// the unlocker's job: pop the oldest record and wake it, or, for a locker
// that finds its own record, keep the mutex and return without parking.  An
// unlocker that finds no record leaves; the locker is then sure to see the
// ticket.  An unlocker that wins starts over at the pop.  Tickets come from
// `sequence` (never 0), so an unlocker whose ticket was taken long ago, and
// the mutex since passed on and a new ticket published, cannot take the new
// one with its stale value.  At any time only one party pops: the unlocking
// holder, or the one ticket holder while no coroutine holds the mutex.
//
// Bias.  Before any of that, a mutex used by one thread only is taken and
// released without atomic read-modify-writes (co_mutex_bias.hh); the first
// other thread, or a second coroutine of the owner's that finds it taken,
// revokes that for good and the protocol above applies.
#include "lib/colock/colock.hh"
#include "lib/colock/co_mutex_bias.hh"

#include "block/aio.h"
#include "lib/support/fatal.hh"

#include <atomic>

// A parked locker; lives in its frame until it is woken.
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
        // Release: the popper that takes the stack (acquire in pop_waiter)
        // sees the record's fields.
    } while (!head.compare_exchange_weak(old, w, std::memory_order_seq_cst,
                                         std::memory_order_relaxed));
}

// Only the party passing the mutex on calls this (see the protocol).
CoWaitRecord *pop_waiter(CoMutex *m) noexcept
{
    CoWaitRecord *w = m->to_pop.slh_first;
    if (!w) {
        // Acquire: pairs with push_waiter's release.
        CoWaitRecord *pushed =
            at(m->from_push.slh_first).exchange(nullptr, std::memory_order_acquire);
        // The stack is newest first; reversed, the oldest comes out first.
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

// The contended half of lock(): `locked` already counts us, the mutex is
// held or being passed on.  Returns once we hold it.
[[gnu::noinline]] void lock_slow(CoMutex *m, Coroutine *self) noexcept
{
    CoWaitRecord w{self, nullptr};
    push_waiter(m, &w);

    // Barrier A: orders the push before the read of `handoff`; pairs with
    // barrier B in unlock (Dekker: each side writes, then reads the other).
    std::atomic_thread_fence(std::memory_order_seq_cst);

    auto handoff = at(m->handoff);
    unsigned ticket = handoff.load(std::memory_order_seq_cst);
    // Acquire on success: pairs with the unlocker's release of the ticket,
    // so its writes (and the previous holder's) are visible to us.
    if (ticket && handoff.compare_exchange_strong(ticket, 0, std::memory_order_acq_rel,
                                                  std::memory_order_relaxed)) {
        // We hold the ticket: nobody else pops until we are done.
        CoWaitRecord *oldest = pop_waiter(m);
        QAIO_CHECK(oldest, "CoMutex %p: hand-off ticket taken with no waiter queued",
                   static_cast<void *>(m));
        if (oldest == &w) {
            return;
        }
        loop::co_wake(oldest->co_);
    }

    // Woken by whoever passes the mutex to us; it is ours then.
    coroutine::yield();
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

// The biased fast path of lock(); false when the mutex is not ours or is
// taken.
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

// Everything but the biased fast path, out of line so that the fast path
// saves no registers.
[[gnu::noinline]] void lock_unbiased(CoMutex *mutex, Coroutine *self, bias_slot *slot) noexcept
{
    // The context the caller was entered in (the core records it on every
    // enter): in a coroutine that is the thread's current context, read
    // without another thread-local lookup on this path.
    AioContext *ctx = self->ctx;
    auto locked = at(mutex->locked);

    // The caller's biased attempt failed: the mutex is in the atomic
    // protocol, nobody's yet, another thread's, or ours and taken.
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
        // A holder that runs in another context has a short critical
        // section ahead, most likely on another CPU: waiting for it here
        // is cheaper than parking and being woken.  A holder in our own
        // context cannot progress while we spin, so we do not.
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
            // Woken by co_wake in the context we last ran in.
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

// The unlock of the atomic protocol, out of line like lock_unbiased().
[[gnu::noinline]] void unlock_unbiased(CoMutex *mutex, Coroutine *self, bias_slot *slot) noexcept
{
    auto locked = at(mutex->locked);
    // Revoked already, being revoked, or held in biased mode by a coroutine
    // that moved here from the owner's thread: the atomic protocol from now
    // on.
    bias_revoke(mutex, slot);

    at(mutex->ctx).store(nullptr, std::memory_order_relaxed);
    at(mutex->holder).store(nullptr, std::memory_order_relaxed);
    self->locks_held--;

    // Release: the next holder's acquire (lock's CAS or fetch_add) sees our
    // critical section.
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

        // A locker has counted itself but not pushed yet: leave it a ticket.
        unsigned ticket = next_ticket(mutex);
        handoff.store(ticket, std::memory_order_seq_cst);

        // Barrier B: orders the ticket before the look at `from_push`;
        // pairs with barrier A in lock_slow.
        std::atomic_thread_fence(std::memory_order_seq_cst);

        if (!at(mutex->from_push.slh_first).load(std::memory_order_seq_cst)) {
            // The locker will see the ticket after its push.
            return;
        }
        // It has pushed meanwhile: take the ticket back and pop, unless
        // the locker took it first and does the wake-up.
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
    // In a coroutine exactly when self has a caller (the thread's leader,
    // which self() returns outside coroutines, has none).
    QAIO_CHECK(self->caller,
               "qemu_co_mutex_unlock: CoMutex %p unlocked outside a coroutine",
               static_cast<void *>(mutex));

    if (__builtin_expect(slot != nullptr, 1)) {
        bool biased = fast_step_begin(mutex, slot);
        if (biased) {
            // Nobody else has touched the mutex, nobody waits.
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
