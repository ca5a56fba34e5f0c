// SPDX-License-Identifier: MIT
// QemuLockCnt on Linux: a visitor counter and a lock in one 32-bit futex word
// (see lockcnt.hh for what callers use it for).
//
// The word.  Bits 0-1 are the lock state, the rest is the visitor counter in
// units of STEP (4):
//   FREE       0  nobody holds the lock;
//   LOCKED     1  held, and nobody sleeps on the futex;
//   CONTENDED  2  held, and some thread may sleep on the futex.
// Keeping both in one word lets the operations that must combine a counter
// change with a lock change (dec_and_lock, dec_if_lock, inc_and_unlock) do it
// in one compare-and-swap, so no thread can see the intermediate state.
//
// Who waits.  The lock excludes other lock holders and *first* visitors: an
// inc that would raise the counter from zero waits while the lock is held,
// because a lock holder that saw the counter at zero may be freeing what
// visitors would walk.  An inc on a nonzero counter never waits.  A thread
// that must wait (lock, first inc, and dec_and_lock / dec_if_lock when they
// would take the lock) first makes sure the state says CONTENDED, then
// sleeps with FUTEX_WAIT on the exact word it saw.  If the word changed in
// between (any counter or lock change), the kernel refuses to sleep and the
// thread simply re-reads; so a wake-up can never be lost between the check
// and the sleep.
//
// Who wakes.  Releasing the lock (unlock, inc_and_unlock) clears the state
// bits in the same atomic operation; if they were CONTENDED it wakes one
// sleeper.  A thread that has slept does not know whether others still sleep,
// so:
//   - if it then takes the lock, it stores CONTENDED rather than LOCKED, and
//     its own unlock will wake the next sleeper;
//   - if it finishes without the lock (a first inc that now finds the lock
//     free, a dec that no longer needs it), it wakes one sleeper itself,
//     passing on the wake-up it consumed.
// A spare wake-up costs a system call and nothing else: the woken thread
// re-reads the word and sleeps again if it must.
//
// Ordering.  Every read-modify-write of the word is sequentially consistent.
// The barriers that matter, and what they pair with, are named where the
// operations are: lock acquisition (acquire) pairs with the release of the
// previous holder; the decrements of visitors (release) pair with the
// acquisition in dec_and_lock / dec_if_lock that sees the counter reach zero;
// a first inc (acquire) pairs with the release of the lock.
#include "lib/support/futex.hh"
#include "lib/loop/lockcnt.hh"
#include "lib/support/fatal.hh"

//
// Windows: QEMU 7.2 lays QemuLockCnt out there as a QemuMutex beside the
// count (24 bytes, qemu/thread.h), which callers embed.  The same one-word
// algorithm runs on `count`, waiting with WaitOnAddress (futex.hh); the
// mutex field only keeps QEMU's size and is never used.
#if !defined(__linux__) && !defined(_WIN32)
// The BSDs and macOS have no futex and are not built.
#error "qaio's QemuLockCnt is implemented for Linux and Windows only"
#endif

#include <atomic>
#include <cerrno>
#include <climits>

namespace qaio::loop::lockcnt {

namespace {

constexpr unsigned FREE = 0;
constexpr unsigned LOCKED = 1;
constexpr unsigned CONTENDED = 2;
constexpr unsigned STATE_MASK = 3;
constexpr unsigned STEP = 4;

using word_ref = std::atomic_ref<unsigned>;
static_assert(word_ref::required_alignment <= alignof(unsigned));

word_ref word(QemuLockCnt *l) noexcept
{
    return word_ref(l->count);
}

void futex_wait(QemuLockCnt *l, unsigned expected) noexcept
{
    // EAGAIN (word changed), EINTR and spurious returns all mean: re-read.
    support::futex_wait(&l->count, expected);
}

void futex_wake_one(QemuLockCnt *l) noexcept
{
    support::futex_wake(&l->count, 1);
}

// The word `v` has the lock held: mark it CONTENDED (if it is not already)
// and sleep until it changes.  Returns whether it went to the kernel (and so
// may have consumed a wake-up); either way `v` is re-read for the caller to
// examine again.
bool wait_for_unlock(QemuLockCnt *l, unsigned &v) noexcept
{
    unsigned contended = (v & ~STATE_MASK) | CONTENDED;
    if ((v & STATE_MASK) != CONTENDED &&
        !word(l).compare_exchange_strong(v, contended)) {
        return false; // v now holds the new word
    }
    futex_wait(l, contended);
    v = word(l).load();
    return true;
}

// The lock state that a thread taking the lock stores: a thread that has
// slept may leave sleepers behind, and must make its unlock wake one.
unsigned held_state(bool slept) noexcept
{
    return slept ? CONTENDED : LOCKED;
}

// Take the lock while changing the counter from `v`'s to `counter_bits`, as
// one atomic step; waits while another thread holds the lock.  The successful
// compare-and-swap is the acquire that pairs with the release in unlock() or
// inc_and_unlock() of the previous holder, and with the decrements of the
// visitors that brought the counter down.  Returns false if the word changed
// so that the caller's decision no longer holds (v is then re-read).
bool lock_with_counter(QemuLockCnt *l, unsigned &v, unsigned counter_bits,
                       bool &slept) noexcept
{
    if ((v & STATE_MASK) == FREE) {
        return word(l).compare_exchange_strong(
            v, counter_bits | held_state(slept));
    }
    if (wait_for_unlock(l, v)) {
        slept = true;
    }
    return false;
}

void check_visitor(unsigned v, const char *op) noexcept
{
    QAIO_CHECK(v >= STEP, "qemu_lockcnt_%s on a counter that is zero", op);
}

} // namespace

void init(QemuLockCnt *l) noexcept
{
    word(l).store(0);
}

void destroy(QemuLockCnt *l) noexcept
{
    (void)l;
}

void inc(QemuLockCnt *l) noexcept
{
    bool slept = false;
    unsigned v = word(l).load();
    for (;;) {
        if (v >= STEP) {
            // Not the first visitor: the lock does not matter.  The visitor
            // that made the counter nonzero already synchronized with the
            // last unlock; this CAS (acquire) orders our walk after it.
            QAIO_CHECK(v <= UINT_MAX - STEP, "qemu_lockcnt_inc: counter overflow");
            if (word(l).compare_exchange_weak(v, v + STEP)) {
                break;
            }
        } else if ((v & STATE_MASK) == FREE) {
            // First visitor: the acquire of this CAS pairs with the release
            // in the last unlock(), so we see what the lock holder changed.
            if (word(l).compare_exchange_weak(v, v + STEP)) {
                break;
            }
        } else if (wait_for_unlock(l, v)) {
            slept = true;
        }
    }
    if (slept) {
        futex_wake_one(l); // pass on the wake-up we consumed (see top)
    }
}

void dec(QemuLockCnt *l) noexcept
{
    // Release: our reads of the protected data complete before a lock holder
    // can see the counter at zero (pairs with the acquire in lock_with_counter).
    unsigned old = word(l).fetch_sub(STEP);
    check_visitor(old, "dec");
}

bool dec_and_lock(QemuLockCnt *l) noexcept
{
    bool slept = false;
    unsigned v = word(l).load();
    for (;;) {
        check_visitor(v, "dec_and_lock");
        if (v >= 2 * STEP) {
            // Others still visit: a plain decrement (release, as in dec()).
            if (word(l).compare_exchange_weak(v, v - STEP)) {
                if (slept) {
                    futex_wake_one(l);
                }
                return false;
            }
            continue;
        }
        // Last visitor: reach zero and take the lock in one step, so no first
        // inc can slip in between.
        if (lock_with_counter(l, v, 0, slept)) {
            return true;
        }
    }
}

bool dec_if_lock(QemuLockCnt *l) noexcept
{
    bool slept = false;
    unsigned v = word(l).load();
    for (;;) {
        check_visitor(v, "dec_if_lock");
        if (v >= 2 * STEP) {
            // Not the last visitor: leave the counter alone.
            if (slept) {
                futex_wake_one(l);
            }
            return false;
        }
        // Exactly one visitor (us): to zero and locked in one step.
        if (lock_with_counter(l, v, 0, slept)) {
            return true;
        }
    }
}

void lock(QemuLockCnt *l) noexcept
{
    bool slept = false;
    unsigned v = word(l).load();
    while (!lock_with_counter(l, v, v & ~STATE_MASK, slept)) {
    }
}

void unlock(QemuLockCnt *l) noexcept
{
    // Release: pairs with the acquire of the next lock holder or first
    // visitor.  Clearing the state and reading whether it was CONTENDED is
    // one operation, so a sleeper that set CONTENDED before it is always woken.
    unsigned old = word(l).fetch_and(~STATE_MASK);
    QAIO_CHECK((old & STATE_MASK) != FREE, "qemu_lockcnt_unlock: not locked");
    if ((old & STATE_MASK) == CONTENDED) {
        futex_wake_one(l);
    }
}

void inc_and_unlock(QemuLockCnt *l) noexcept
{
    unsigned v = word(l).load();
    unsigned next;
    do {
        QAIO_CHECK((v & STATE_MASK) != FREE,
                   "qemu_lockcnt_inc_and_unlock: not locked");
        next = (v & ~STATE_MASK) + STEP;
    } while (!word(l).compare_exchange_weak(v, next)); // release, as unlock()
    if ((v & STATE_MASK) == CONTENDED) {
        futex_wake_one(l);
    }
}

unsigned count(QemuLockCnt *l) noexcept
{
    // Acquire: a lock holder that sees zero may free what visitors read;
    // pairs with the release decrement of the last visitor (dec), so that
    // their reads happen-before the free.  A plain load on x86 and ARMv8.
    return word(l).load(std::memory_order_acquire) / STEP;
}

} // namespace qaio::loop::lockcnt
