// SPDX-License-Identifier: MIT
// QemuLockCnt: a visitor counter and a lock in one 32-bit futex word, so
// that dec_and_lock, dec_if_lock and inc_and_unlock change both in one CAS.
// Bits 0-1 are the lock state (FREE, LOCKED, CONTENDED: held and someone
// may sleep on the futex), the rest counts visitors in units of STEP.
//
// The lock excludes other holders and *first* visitors (a holder that saw
// zero may be freeing what visitors walk).  A waiter sets CONTENDED, then
// FUTEX_WAITs on the exact word it saw, so no wake-up is lost; an unlock
// clears the state and wakes one sleeper if CONTENDED.  A thread that slept
// may leave sleepers behind: it stores CONTENDED if it takes the lock, else
// wakes one itself (a spare wake-up only costs a system call).  All RMWs
// are seq_cst; the pairings are named at each operation.
#include "lib/support/futex.hh"
#include "lib/loop/lockcnt.hh"
#include "lib/support/fatal.hh"

// On Windows QEMU's QemuLockCnt also has a QemuMutex (for its size only,
// never used here); the algorithm runs on `count` with WaitOnAddress.
#if !defined(__linux__) && !defined(_WIN32)
#error "qaio's QemuLockCnt is implemented for Linux and Windows only"
#endif

#include <atomic>
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

void futex_wake_one(QemuLockCnt *l) noexcept
{
    support::futex_wake(&l->count, 1);
}

// `v` has the lock held: mark it CONTENDED and sleep until it changes.
// Returns whether it slept (and may have consumed a wake-up); `v` is re-read.
bool wait_for_unlock(QemuLockCnt *l, unsigned &v) noexcept
{
    unsigned contended = (v & ~STATE_MASK) | CONTENDED;
    if ((v & STATE_MASK) != CONTENDED && !word(l).compare_exchange_strong(v, contended)) {
        return false; // v now holds the new word
    }
    support::futex_wait(&l->count, contended);  // any return: re-read
    v = word(l).load();
    return true;
}

// Takes the lock and sets the counter to `counter_bits` in one step; false
// when the word changed (v re-read) and the caller must decide again.  The
// CAS's acquire pairs with the release of unlock()/inc_and_unlock() and of
// the visitors' decrements.
bool lock_with_counter(QemuLockCnt *l, unsigned &v, unsigned counter_bits, bool &slept) noexcept
{
    if ((v & STATE_MASK) == FREE) {
        // Having slept, we may leave sleepers behind: our unlock wakes one.
        return word(l).compare_exchange_strong(v, counter_bits | (slept ? CONTENDED : LOCKED));
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
}

void inc(QemuLockCnt *l) noexcept
{
    bool slept = false;
    unsigned v = word(l).load();
    for (;;) {
        if (v >= STEP) {
            // Not the first visitor: the lock does not matter.  Acquire:
            // pairs with the first visitor's CAS.
            QAIO_CHECK(v <= UINT_MAX - STEP, "qemu_lockcnt_inc: counter overflow");
            if (word(l).compare_exchange_weak(v, v + STEP)) {
                break;
            }
        } else if ((v & STATE_MASK) == FREE) {
            // First visitor: acquire pairs with the last unlock()'s release.
            if (word(l).compare_exchange_weak(v, v + STEP)) {
                break;
            }
        } else if (wait_for_unlock(l, v)) {
            slept = true;
        }
    }
    if (slept) {
        futex_wake_one(l); // pass on the wake-up we consumed
    }
}

void dec(QemuLockCnt *l) noexcept
{
    // Release: pairs with the acquire in lock_with_counter and count().
    unsigned old = word(l).fetch_sub(STEP);
    check_visitor(old, "dec");
}

namespace {

// The last visitor goes to zero and takes the lock in one step (no first inc
// between); another decrements only if `dec_anyway` (release, as in dec()).
bool dec_last_and_lock(QemuLockCnt *l, bool dec_anyway, const char *op) noexcept
{
    bool slept = false;
    unsigned v = word(l).load();
    for (;;) {
        check_visitor(v, op);
        if (v < 2 * STEP) {
            if (lock_with_counter(l, v, 0, slept)) {
                return true;
            }
        } else if (!dec_anyway || word(l).compare_exchange_weak(v, v - STEP)) {
            if (slept) {
                futex_wake_one(l);
            }
            return false;
        }
    }
}

} // namespace

bool dec_and_lock(QemuLockCnt *l) noexcept
{
    return dec_last_and_lock(l, true, "dec_and_lock");
}

bool dec_if_lock(QemuLockCnt *l) noexcept
{
    return dec_last_and_lock(l, false, "dec_if_lock");
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
    // Release: pairs with the next holder's or first visitor's acquire.  One
    // operation, so a sleeper that set CONTENDED before it is always woken.
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
        QAIO_CHECK((v & STATE_MASK) != FREE, "qemu_lockcnt_inc_and_unlock: not locked");
        next = (v & ~STATE_MASK) + STEP;
    } while (!word(l).compare_exchange_weak(v, next)); // release, as unlock()
    if ((v & STATE_MASK) == CONTENDED) {
        futex_wake_one(l);
    }
}

unsigned count(QemuLockCnt *l) noexcept
{
    // Acquire: pairs with dec()'s release; a holder seeing zero may free
    // what visitors read.
    return word(l).load(std::memory_order_acquire) / STEP;
}

} // namespace qaio::loop::lockcnt
