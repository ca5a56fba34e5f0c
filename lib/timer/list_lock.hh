// SPDX-License-Identifier: MIT
// The lock of a timer list, biased to the one thread that uses it (nearly
// always a context's home thread), which locks with plain loads and stores
// instead of a mutex's atomic read-modify-writes.  The first other thread
// to lock revokes the bias for good; from then on all take the mutex.
//
// state_: 0, unclaimed; a thread's token (the address of a thread-local
// word), biased to it; token | 1, being revoked; `revoked`.  The owner's
// step: busy_ = true, compiler barrier, recheck state_, work, busy_ = false
// (release).  The revoker: state_ = token | 1, membarrier(PRIVATE_EXPEDITED)
// (so the owner sees the mark at its check, or its busy_ is visible), wait
// for busy_ false (acquire), state_ = revoked: Dekker's pairing with the
// owner's fence moved to the revoker, as in lib/colock/co_mutex_bias.hh.
// A thread reusing an exited owner's token takes over its bias safely.  No
// bias without PRIVATE_EXPEDITED, under TSan, or with QAIO_TIMER_BIAS=0.  A
// fork() in another thread's step leaves busy_ set in the child (its first
// revocation would hang); QEMU forks before it starts threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>

namespace qaio::timer {

// Its address is the thread's token; inline so that locking makes no call.
inline thread_local uint64_t list_lock_token __attribute__((tls_model("initial-exec")));

class list_lock {
public:
    // Takes the lock if biased to this thread (else false); makes no call.
    bool try_lock_biased() noexcept
    {
        uintptr_t me = reinterpret_cast<uintptr_t>(&list_lock_token);
        if (state_.load(std::memory_order_relaxed) != me) {
            return false;
        }
        busy_.store(true, std::memory_order_relaxed);
        // The CPU fence is the revoker's membarrier.
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

} // namespace qaio::timer
