// SPDX-License-Identifier: MIT
// CoQueue: coroutines parked until someone signals a condition, the
// coroutine counterpart of a condition variable.  The queue threads the
// parked coroutines through their own Coroutine::co_queue_next link, so it
// allocates nothing; the lock the caller passes in (any QemuLockable, or
// none) is what makes it safe across threads.  A waiter is removed by the
// one who wakes it, before the wake-up, so the same link is free again when
// the core uses it to queue the woken coroutine behind its waker.
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

    // Woken by co_queue_wake_next, which has already unlinked us.  The
    // condition may have changed again before we run: callers re-check it.
    coroutine::yield();

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

    // Outside a coroutine the wake-up may enter the waiter right here, and
    // the waiter's first act is to take the lock: hand it over meanwhile.
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
