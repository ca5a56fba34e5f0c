// SPDX-License-Identifier: MIT
// The coroutine locks and their companions (QEMU's qemu-coroutine-lock,
// -sleep, -io, qemu-co-timeout).  They work on the caller's C structs in
// place, as callers embed them with QEMU's layouts; fields other threads
// touch go through std::atomic_ref.  A waiter parks by yielding; its waker
// calls co_wake, which runs it in the context it last ran in.
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

// ---- CoQueue (co_queue.cc): a FIFO guarded by the caller's QemuLockable ---

void co_queue_init(CoQueue *queue) noexcept;
// `lock` may be null; it is released while parked.
void co_queue_wait(CoQueue *queue, QemuLockable *lock, CoQueueWaitFlags flags) noexcept;
// False when the queue was empty.
bool co_queue_wake_next(CoQueue *queue, QemuLockable *lock) noexcept;
void co_queue_wake_all(CoQueue *queue, QemuLockable *lock) noexcept;
bool co_queue_empty(const CoQueue *queue) noexcept;

// ---- CoMutex (co_mutex.cc); zero-filled is unlocked -----------------------

void co_mutex_init(CoMutex *mutex) noexcept;
void co_mutex_lock(CoMutex *mutex) noexcept;
void co_mutex_unlock(CoMutex *mutex) noexcept;

// ---- CoRwlock (co_rwlock.cc) -----------------------------------------------

void co_rwlock_init(CoRwlock *lock) noexcept;
void co_rwlock_rdlock(CoRwlock *lock) noexcept;
void co_rwlock_wrlock(CoRwlock *lock) noexcept;
void co_rwlock_unlock(CoRwlock *lock) noexcept;
void co_rwlock_upgrade(CoRwlock *lock) noexcept;
void co_rwlock_downgrade(CoRwlock *lock) noexcept;

// ---- sleeping (co_sleep.cc) ------------------------------------------------

// A sleeper's `scheduled` marker: a stray enter or schedule aborts naming it.
extern const char sleep_marker[];

void co_sleep(QemuCoSleep *w) noexcept;
void co_sleep_ns(QemuCoSleep *w, QEMUClockType type, int64_t ns) noexcept;
void co_sleep_wake(QemuCoSleep *w) noexcept;

// ---- timeout (co_timeout.cc) -----------------------------------------------

// On -ETIMEDOUT entry keeps running; clean(opaque) follows its end.
int co_timeout(CoroutineEntry *entry, void *opaque, uint64_t timeout_ns,
               CleanupFunc *clean) noexcept;

// ---- fd and socket helpers (co_io.cc) --------------------------------------

void yield_until_readable(int fd) noexcept;
ssize_t co_sendv_recvv(int sockfd, struct iovec *iov, unsigned iov_cnt,
                       size_t offset, size_t bytes, bool do_send) noexcept;

} // namespace qaio::colock
