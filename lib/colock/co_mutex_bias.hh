// SPDX-License-Identifier: MIT
// Biased CoMutexes: while one thread's coroutines alone use a CoMutex (most
// are only ever used from one AioContext), they take and release it with
// plain loads and stores instead of co_mutex.cc's two atomic RMWs.
//
// CoMutex::bias (padding in QEMU's layout): 0 unowned (the first locker
// claims it with a CAS), a thread's slot id (that thread may take the fast
// path), id | revoking (another thread is taking it away), or `revoked`.
//
// Fast path (owner): slot->busy = m, compiler barrier, check the bias is
// still ours, plain stores to locked/holder/ctx, clear the slot.  Revoker:
// mark revoking, membarrier() (a full barrier on every thread: the owner
// either sees the mark or had published its slot before), wait until the
// owner's slot no longer names m, set `revoked`.  Dekker with the owner's
// fence moved to the revoker.  Biased state is always valid for the atomic
// protocol (locked 0 or 1, no waiters), so nothing is converted.
//
// membarrier registration is slow once threads exist (membarrier.hh): done
// at load, else on a thread of its own, and no slot before it is done.  No
// bias under TSan or QAIO_COMUTEX_BIAS=0.
#pragma once

#include "qemu/coroutine.h"

#include <atomic>
#include <cstdint>

namespace qaio::colock {

// A thread's fast-path slot, reused after the thread exits; a cache line
// each, as the owner writes it twice per lock or unlock.
struct alignas(64) bias_slot {
    std::atomic<CoMutex *> busy{nullptr};  // the mutex of a fast-path step
    uint32_t id = 0;
};

constexpr uint32_t bias_revoking = 0x80000000u;
constexpr uint32_t bias_revoked = 0xffffffffu;

// Recorded with coroutine::set_lock_slot; null when off or all taken.
bias_slot *bias_slot_create() noexcept;

// Biases `m` to `me` if nobody owns it yet; whether it is now biased to `me`.
bool bias_claim(CoMutex *m, bias_slot *me) noexcept;

// Puts `m` in the atomic protocol for good.  `me` (may be null) is the
// caller's slot, not inside a fast-path step of `m`.
void bias_revoke(CoMutex *m, bias_slot *me) noexcept;

} // namespace qaio::colock
