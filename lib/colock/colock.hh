// SPDX-License-Identifier: MIT
// The coroutine locks and their companions (QEMU's util/qemu-coroutine-lock,
// -sleep, -io and qemu-co-timeout): CoQueue, CoMutex, CoRwlock, timed and
// wakeable sleeps, the timeout wrapper and the fd/socket helpers.  They work
// on the caller's C structs in place, because callers embed CoMutex,
// CoQueue, CoRwlock and QemuCoSleep and their layouts are QEMU's; the fields
// that other threads touch are accessed through std::atomic_ref.  Everything
// here is built on the coroutine core's entry points (lib/coroutine: create,
// enter, yield, self; lib/loop: co_wake, co_enter, the current context),
// the same ones qemu/coroutine.h and block/aio.h export, called directly:
// a waiter parks by yielding, and whoever releases it calls co_wake
// (aio_co_wake), which runs it in the context it last ran in (after the
// waker yields, when that is the waker's own context).
#pragma once

#include "qemu/osdep.h"
#include "qemu/coroutine.h"
#include "qemu/coroutine_int.h"

#include "lib/coroutine/coroutine.hh"
#include "lib/loop/context.hh"

#include <sys/types.h>
#ifndef _WIN32
#include <sys/uio.h>
#endif

namespace qaio::colock {

// ---- CoQueue (co_queue.cc) -------------------------------------------------
// A FIFO of parked coroutines, linked through Coroutine::co_queue_next.  Not
// thread-safe by itself: the caller's lock (the QemuLockable) protects it.

void co_queue_init(CoQueue *queue) noexcept;
// Enqueue self (at the head with CO_QUEUE_WAIT_FRONT), release `lock` (may
// be null), park; on wake-up take `lock` again.
void co_queue_wait(CoQueue *queue, QemuLockable *lock, CoQueueWaitFlags flags) noexcept;
// Dequeue the first waiter and wake it, releasing `lock` (may be null)
// around the wake-up; false when the queue was empty.
bool co_queue_wake_next(CoQueue *queue, QemuLockable *lock) noexcept;
void co_queue_wake_all(CoQueue *queue, QemuLockable *lock) noexcept;
bool co_queue_empty(const CoQueue *queue) noexcept;

// ---- CoMutex (co_mutex.cc) -------------------------------------------------
// Fair, cross-thread, with lock-free waiter lists and the hand-off protocol
// described in co_mutex.cc.  A zero-filled CoMutex is an unlocked one.

void co_mutex_init(CoMutex *mutex) noexcept;
void co_mutex_lock(CoMutex *mutex) noexcept;
void co_mutex_unlock(CoMutex *mutex) noexcept;

// ---- CoRwlock (co_rwlock.cc) -----------------------------------------------
// An owner count and a FIFO of on-stack tickets behind the embedded CoMutex.

void co_rwlock_init(CoRwlock *lock) noexcept;
void co_rwlock_rdlock(CoRwlock *lock) noexcept;
void co_rwlock_wrlock(CoRwlock *lock) noexcept;
void co_rwlock_unlock(CoRwlock *lock) noexcept;
void co_rwlock_upgrade(CoRwlock *lock) noexcept;
void co_rwlock_downgrade(CoRwlock *lock) noexcept;

// ---- sleeping (co_sleep.cc) ------------------------------------------------

// The `scheduled` marker a sleeping coroutine carries, so that a stray
// enter or aio_co_schedule of it aborts naming the sleep.
extern const char sleep_marker[];

// Park until qemu_co_sleep_wake(w); with a timer on `type` after `ns` too.
void co_sleep(QemuCoSleep *w) noexcept;
void co_sleep_ns(QemuCoSleep *w, QEMUClockType type, int64_t ns) noexcept;
// Wake whoever sleeps on `w` now; nothing if nobody does.
void co_sleep_wake(QemuCoSleep *w) noexcept;

// ---- timeout (co_timeout.cc) -----------------------------------------------

// 0 when entry(opaque) finished within timeout_ns, -ETIMEDOUT otherwise
// (entry keeps running; clean(opaque) follows its end).
int co_timeout(CoroutineEntry *entry, void *opaque, uint64_t timeout_ns,
               CleanupFunc *clean) noexcept;

// ---- fd and socket helpers (co_io.cc) --------------------------------------

void yield_until_readable(int fd) noexcept;
ssize_t co_sendv_recvv(int sockfd, struct iovec *iov, unsigned iov_cnt,
                       size_t offset, size_t bytes, bool do_send) noexcept;

} // namespace qaio::colock
