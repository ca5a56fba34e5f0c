// SPDX-License-Identifier: MIT
// Biased CoMutexes: while only one thread's coroutines use a CoMutex, they
// take and release it with plain loads and stores; the first other thread
// that touches it revokes the bias, for good, and from then on the mutex
// follows the atomic protocol of co_mutex.cc.
//
// Why.  Most CoMutexes are only ever used from one AioContext, hence one
// thread, yet QEMU's protocol pays two atomic read-modify-writes per
// lock+unlock (about 10 ns here, more than two coroutine switches).
//
// State: CoMutex::bias, padding in QEMU's layout.  0: nobody owns the bias
// yet (a zero-filled mutex); the first locker claims it with a CAS.  An id:
// the thread with that id may use the fast path.  id | revoking: another
// thread is taking the bias away.  `revoked`: the atomic protocol.
//
// Fast path (the owner): announce the mutex in the thread's slot
// (slot->busy = m), compiler barrier, check that the bias is still ours,
// work on locked/holder/ctx with plain stores, clear the slot.  Revocation
// (any other thread): mark the bias revoking, membarrier() — every thread
// of the process runs a full barrier, so the owner either sees the mark
// before its next fast-path step or had published its slot before it — then
// wait until the owner's slot no longer names the mutex, and set `revoked`.
// This is Dekker's pairing with the owner's fence moved to the revoker.  In
// biased mode the state is always one the atomic protocol accepts (locked
// 0 or 1, no waiters: a second coroutine of the owner's that finds the
// mutex taken revokes the bias itself first), so nothing is converted.
//
// Registration.  The revoker's membarrier needs the process registered
// (MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED), which costs microseconds
// while the process has one thread but an RCU grace period (0.2-70 ms) once
// it has more: far too much for the first lock of a short-lived tool.  So
// libqaio registers at load, when the process normally has one thread; one
// that has more by then (libqaio loaded late) registers on a thread of its
// own at its first CoMutex.  No slot, hence no bias, is handed out before
// registration is done, so every revocation follows it; the mutexes locked
// meanwhile take the atomic protocol for good.
//
// Without membarrier (kernels before 4.14) or under TSan (which does not
// see membarrier's ordering) no bias is ever claimed; QAIO_COMUTEX_BIAS=0
// turns it off for experiments.  The cost of the scheme is the revocation:
// one membarrier (an IPI to each CPU running a thread of the process) per
// mutex that a second thread touches.
#pragma once

#include "qemu/coroutine.h"

#include <atomic>
#include <cstdint>

namespace qaio::colock {

// A thread's fast-path slot; fixed storage, reused after the thread exits.
// A cache line each: the owner writes it twice per lock or unlock.
struct alignas(64) bias_slot {
    std::atomic<CoMutex *> busy{nullptr};  // the mutex of a fast-path step
    uint32_t id = 0;
};

constexpr uint32_t bias_revoking = 0x80000000u;
constexpr uint32_t bias_revoked = 0xffffffffu;

// A slot for this thread, which has none yet (coroutine::set_lock_slot
// records it); null when biasing is off or all slots are taken.
bias_slot *bias_slot_create() noexcept;

// Makes `m` biased to `me` if nobody owns it yet.  Returns whether `m` is
// now biased to `me`.
bool bias_claim(CoMutex *m, bias_slot *me) noexcept;

// Leaves `m` in the atomic protocol (`revoked`), revoking the bias of
// whichever thread has it.  `me` (may be null) is the caller's slot; the
// caller is not inside a fast-path step of `m`.
void bias_revoke(CoMutex *m, bias_slot *me) noexcept;

} // namespace qaio::colock
