// SPDX-License-Identifier: MIT
// qemu/coroutine.h: CoQueue, CoMutex and CoRwlock (QEMU's
// util/qemu-coroutine-lock).  Callers embed all three, so their layouts are
// asserted here against QEMU 7.2's (shared/abi/layout.tsv, x86-64).
#include "qemu/osdep.h"
#include "qemu/coroutine.h"

#include "cabi/export.hh"
#include "lib/colock/colock.hh"

#include <cstddef>

#if defined(__LP64__)
static_assert(sizeof(CoQueue) == 16);
static_assert(offsetof(CoQueue, entries) == 0);
static_assert(sizeof(CoMutex) == 48);
static_assert(offsetof(CoMutex, locked) == 0);
static_assert(offsetof(CoMutex, ctx) == 8);
static_assert(offsetof(CoMutex, from_push) == 16);
static_assert(offsetof(CoMutex, to_pop) == 24);
static_assert(offsetof(CoMutex, handoff) == 32);
static_assert(offsetof(CoMutex, sequence) == 36);
static_assert(offsetof(CoMutex, holder) == 40);
static_assert(sizeof(CoRwlock) == 72);
static_assert(offsetof(CoRwlock, mutex) == 0);
static_assert(offsetof(CoRwlock, owners) == 48);
static_assert(offsetof(CoRwlock, tickets) == 56);
#endif

namespace colock = qaio::colock;

// ---- CoQueue ----------------------------------------------------------------

QAIO_EXPORT void qemu_co_queue_init(CoQueue *queue)
{
    colock::co_queue_init(queue);
}

QAIO_EXPORT void qemu_co_queue_wait_impl(CoQueue *queue, QemuLockable *lock,
                                         CoQueueWaitFlags flags)
{
    colock::co_queue_wait(queue, lock, flags);
}

QAIO_EXPORT bool qemu_co_queue_next(CoQueue *queue)
{
    // In a coroutine the wake-up is queued, so there is no lock to drop.
    return colock::co_queue_wake_next(queue, nullptr);
}

QAIO_EXPORT void qemu_co_queue_restart_all(CoQueue *queue)
{
    colock::co_queue_wake_all(queue, nullptr);
}

QAIO_EXPORT bool qemu_co_enter_next_impl(CoQueue *queue, QemuLockable *lock)
{
    return colock::co_queue_wake_next(queue, lock);
}

QAIO_EXPORT void qemu_co_enter_all_impl(CoQueue *queue, QemuLockable *lock)
{
    colock::co_queue_wake_all(queue, lock);
}

QAIO_EXPORT bool qemu_co_queue_empty(CoQueue *queue)
{
    return colock::co_queue_empty(queue);
}

// ---- CoMutex ----------------------------------------------------------------

QAIO_EXPORT void qemu_co_mutex_init(CoMutex *mutex)
{
    colock::co_mutex_init(mutex);
}

QAIO_EXPORT void qemu_co_mutex_lock(CoMutex *mutex)
{
    colock::co_mutex_lock(mutex);
}

QAIO_EXPORT void qemu_co_mutex_unlock(CoMutex *mutex)
{
    colock::co_mutex_unlock(mutex);
}

// ---- CoRwlock ---------------------------------------------------------------

QAIO_EXPORT void qemu_co_rwlock_init(CoRwlock *lock)
{
    colock::co_rwlock_init(lock);
}

QAIO_EXPORT void qemu_co_rwlock_rdlock(CoRwlock *lock)
{
    colock::co_rwlock_rdlock(lock);
}

QAIO_EXPORT void qemu_co_rwlock_wrlock(CoRwlock *lock)
{
    colock::co_rwlock_wrlock(lock);
}

QAIO_EXPORT void qemu_co_rwlock_unlock(CoRwlock *lock)
{
    colock::co_rwlock_unlock(lock);
}

QAIO_EXPORT void qemu_co_rwlock_upgrade(CoRwlock *lock)
{
    colock::co_rwlock_upgrade(lock);
}

QAIO_EXPORT void qemu_co_rwlock_downgrade(CoRwlock *lock)
{
    colock::co_rwlock_downgrade(lock);
}
