// SPDX-License-Identifier: MIT
// The lock of a timer list, biased to one thread: while only one thread
// arms, disarms and runs the list's timers (a context's home thread, nearly
// always), it takes and releases the lock with plain loads and stores; the
// first other thread that locks it revokes the bias, for good, and from
// then on every thread takes a mutex.
//
// Why.  timer_mod_ns + timer_del is two lock/unlock pairs, four atomic
// read-modify-writes: three quarters of what the pair cost, and what kept
// it behind libuv, whose single-threaded timers take no lock at all.
//
// State (state_): 0, nobody's yet; a thread's token (the address of a
// thread-local byte: even, unique among live threads), biased to it; token
// | 1, being revoked; `revoked`, the mutex for everybody.  The owner's step:
// busy_ = true, compiler barrier, check that state_ is still its token,
// work, busy_ = false (release).  The revoker: state_ = token | 1,
// membarrier(PRIVATE_EXPEDITED) -- every CPU running a thread of the
// process executes a full barrier, so the owner either sees the mark at its
// check, or had made busy_ visible before -- then wait for busy_ to be
// false (acquire: the owner's last step happens before what follows) and
// set `revoked`.  This is Dekker's pairing with the owner's fence moved to
// the revoker, as in the biased CoMutex (lib/colock/co_mutex_bias.hh).
//
// The owner may exit: its token is then free for a new thread, which takes
// over the bias safely since the old owner can no longer step.  Membarrier
// registration waits for the first revocation (it costs a grace period, and
// most processes never revoke); without PRIVATE_EXPEDITED in the kernel,
// under TSan (which cannot see membarrier's ordering), or with
// QAIO_TIMER_BIAS=0, no bias is ever taken.  A fork() taken while another
// thread is inside a step would leave busy_ set in the child, whose first
// revocation would then wait for good; QEMU forks only before it starts
// threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>

namespace qaio::timer {

// Its address is the thread's token; inline so that locking makes no call.
inline thread_local uint64_t list_lock_token __attribute__((tls_model("initial-exec")));

class list_lock {
public:
    void lock() noexcept
    {
        uintptr_t me = this_thread_token();
        uintptr_t st = state_.load(std::memory_order_relaxed);
        if (st == me || (st == 0 && claim(me))) {
            busy_.store(true, std::memory_order_relaxed);
            // The compiler must not sink the store below the check; the CPU
            // fence is the revoker's membarrier.
            std::atomic_signal_fence(std::memory_order_seq_cst);
            if (__builtin_expect(state_.load(std::memory_order_relaxed) == me, 1)) {
                biased_hold_ = true;
                return;
            }
            busy_.store(false, std::memory_order_release);
        }
        lock_slow();
    }

    void unlock() noexcept
    {
        if (biased_hold_) {
            biased_hold_ = false;
            // Release: the step's writes before a revoker's acquire of busy_.
            busy_.store(false, std::memory_order_release);
            return;
        }
        mutex_.unlock();
    }

private:
    static constexpr uintptr_t revoked = 1;

    static uintptr_t this_thread_token() noexcept
    {
        return reinterpret_cast<uintptr_t>(&list_lock_token);
    }
    bool claim(uintptr_t me) noexcept;
    void lock_slow() noexcept;
    void revoke() noexcept;

    std::atomic<uintptr_t> state_{0};
    std::atomic<bool> busy_{false};  // written by the owner only
    bool biased_hold_ = false;       // the holder's: which way it locked
    std::mutex mutex_;
};

} // namespace qaio::timer
