// SPDX-License-Identifier: MIT
// The lock of a timer list, biased to one thread: while only one thread
// uses the list (a context's home thread, nearly always), it locks with
// plain loads and stores; the first other thread that locks it revokes the
// bias for good, and from then on every thread takes a mutex.  Without the
// bias, timer_mod_ns + timer_del costs four atomic read-modify-writes.
//
// state_: 0, nobody's yet; a thread's token (the address of a thread-local
// word: even, unique among live threads), biased to it; token | 1, being
// revoked; `revoked`, the mutex for everybody.  The owner's step: busy_ =
// true, compiler barrier, check that state_ is still its token, work,
// busy_ = false (release).  The revoker: state_ = token | 1, then
// membarrier(PRIVATE_EXPEDITED), so the owner either sees the mark at its
// check or had made busy_ visible before; then it waits for busy_ to be
// false (acquire) and sets `revoked`.  Dekker's pairing with the owner's
// fence moved to the revoker, as in lib/colock/co_mutex_bias.hh.
//
// A new thread may reuse an exited owner's token and so take over its bias
// (the old owner can no longer step).  Membarrier registration waits for
// the first revocation; without PRIVATE_EXPEDITED, under TSan (blind to
// membarrier) or with QAIO_TIMER_BIAS=0 no bias is taken.  A fork() while
// another thread is inside a step leaves busy_ set in the child, whose
// first revocation would wait for good; QEMU forks before it starts threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>

namespace qaio::timer {

// Its address is the thread's token; inline so that locking makes no call.
inline thread_local uint64_t list_lock_token __attribute__((tls_model("initial-exec")));

class list_lock {
public:
    // Takes the lock if it is biased to this thread; false, and nothing
    // held, otherwise.  Makes no call, so that callers stay leaf functions.
    bool try_lock_biased() noexcept
    {
        uintptr_t me = reinterpret_cast<uintptr_t>(&list_lock_token);
        if (state_.load(std::memory_order_relaxed) != me) {
            return false;
        }
        busy_.store(true, std::memory_order_relaxed);
        // The compiler must not sink the store below the check; the CPU fence
        // is the revoker's membarrier.
        std::atomic_signal_fence(std::memory_order_seq_cst);
        if (__builtin_expect(state_.load(std::memory_order_relaxed) == me, 1)) {
            return true;
        }
        busy_.store(false, std::memory_order_release);
        return false;
    }

    // True if the lock was taken biased: pass it back to unlock().
    bool lock() noexcept
    {
        return try_lock_biased() || lock_slow();
    }

    void unlock(bool biased) noexcept
    {
        if (biased) {
            // Release: the step's writes before a revoker's acquire of busy_.
            busy_.store(false, std::memory_order_release);
        } else {
            mutex_.unlock();
        }
    }

private:
    static constexpr uintptr_t revoked = 1;

    bool lock_slow() noexcept;
    void revoke() noexcept;

    std::atomic<uintptr_t> state_{0};
    std::atomic<bool> busy_{false};  // written by the owner only
    std::mutex mutex_;
};

// Scoped holder; unlock()/lock() let a timer pass drop it around callbacks.
class list_guard {
public:
    explicit list_guard(list_lock &l) noexcept : lock_(l), biased_(l.lock()) {}
    ~list_guard() { lock_.unlock(biased_); }
    void unlock() noexcept { lock_.unlock(biased_); }
    void lock() noexcept { biased_ = lock_.lock(); }

    list_guard(const list_guard &) = delete;
    list_guard &operator=(const list_guard &) = delete;

private:
    list_lock &lock_;
    bool biased_;
};

} // namespace qaio::timer
