// SPDX-License-Identifier: MIT
// CoQueue: the coroutine condition variable, linked through
// Coroutine::co_queue_next, so it allocates nothing.  A waiter is unlinked
// by its waker before the wake-up, which frees the link for the core.
#include "lib/colock/colock.hh"

#include "block/aio.h"
#include "lib/support/fatal.hh"

namespace qaio::colock {

void co_queue_init(CoQueue *queue) noexcept
{
    QSIMPLEQ_INIT(&queue->entries);
}

void co_queue_wait(CoQueue *queue, QemuLockable *lock, CoQueueWaitFlags flags) noexcept
{
    QAIO_CHECK(coroutine::in_coroutine(),
               "qemu_co_queue_wait on CoQueue %p called outside a coroutine",
               static_cast<void *>(queue));
    Coroutine *self = coroutine::self();

    if (flags & CO_QUEUE_WAIT_FRONT) {
        QSIMPLEQ_INSERT_HEAD(&queue->entries, self, co_queue_next);
    } else {
        QSIMPLEQ_INSERT_TAIL(&queue->entries, self, co_queue_next);
    }
    if (lock) {
        qemu_lockable_unlock(lock);
    }

    coroutine::yield();  // unlinked by the waker; callers re-check the condition

    if (lock) {
        qemu_lockable_lock(lock);
    }
}

bool co_queue_wake_next(CoQueue *queue, QemuLockable *lock) noexcept
{
    Coroutine *next = QSIMPLEQ_FIRST(&queue->entries);
    if (!next) {
        return false;
    }
    QSIMPLEQ_REMOVE_HEAD(&queue->entries, co_queue_next);

    // Outside a coroutine the waiter may run right here and take the lock.
    if (lock) {
        qemu_lockable_unlock(lock);
    }
    loop::co_wake(next);
    if (lock) {
        qemu_lockable_lock(lock);
    }
    return true;
}

void co_queue_wake_all(CoQueue *queue, QemuLockable *lock) noexcept
{
    while (co_queue_wake_next(queue, lock)) {
    }
}

bool co_queue_empty(const CoQueue *queue) noexcept
{
    return QSIMPLEQ_EMPTY(&queue->entries);
}

} // namespace qaio::colock
