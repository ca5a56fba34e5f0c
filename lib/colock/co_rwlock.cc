// SPDX-License-Identifier: MIT
// CoRwlock: strict FIFO.  The embedded CoMutex guards `owners` (readers
// inside, or -1 for a writer) and `tickets`, queued in waiters' frames.
// wake_head() admits the head ticket (counts it in `owners` before the
// wake-up, so no newcomer sneaks in); an admitted reader repeats it for the
// next, so a run of readers gets in and a writer stops it.  Newcomers queue
// whenever anybody waits, and an upgrade queues as a writer, so writers do
// not starve.  locks_held counts a CoRwlock once per holder.
#include "lib/colock/colock.hh"

#include "block/aio.h"
#include "lib/support/fatal.hh"

// Lives in the waiter's frame.
struct CoRwTicket {
    bool read_;
    Coroutine *co_;
    QSIMPLEQ_ENTRY(CoRwTicket) next_;
};

namespace qaio::colock {

namespace {

// Called with lock->mutex held; releases it.
void wake_head(CoRwlock *lock) noexcept
{
    CoRwTicket *head = QSIMPLEQ_FIRST(&lock->tickets);
    Coroutine *co = nullptr;
    if (head && (head->read_ ? lock->owners >= 0 : lock->owners == 0)) {
        lock->owners = head->read_ ? lock->owners + 1 : -1;
        co = head->co_;
        QSIMPLEQ_REMOVE_HEAD(&lock->tickets, next_);
    }
    co_mutex_unlock(&lock->mutex);
    if (co) {
        loop::co_wake(co);
    }
}

// Called with lock->mutex held; releases it (through wake_head if `wake`).
void wait_in_line(CoRwlock *lock, bool read, bool wake) noexcept
{
    CoRwTicket ticket{read, coroutine::self(), {nullptr}};

    QSIMPLEQ_INSERT_TAIL(&lock->tickets, &ticket, next_);
    if (wake) {
        wake_head(lock);
    } else {
        co_mutex_unlock(&lock->mutex);
    }
    coroutine::yield();
}

// A writer reads `owners` without the mutex: only it changes -1.
void check_owners(CoRwlock *lock, bool writer, const char *what) noexcept
{
    QAIO_CHECK(writer ? lock->owners == -1 : lock->owners > 0,
               "%s: CoRwlock %p woken with owners %d", what, static_cast<void *>(lock),
               lock->owners);
}

} // namespace

void co_rwlock_init(CoRwlock *lock) noexcept
{
    co_mutex_init(&lock->mutex);
    lock->owners = 0;
    QSIMPLEQ_INIT(&lock->tickets);
}

void co_rwlock_rdlock(CoRwlock *lock) noexcept
{
    Coroutine *self = coroutine::self();

    co_mutex_lock(&lock->mutex);
    // A waiting writer holds back new readers.
    if (lock->owners == 0 || (lock->owners > 0 && QSIMPLEQ_EMPTY(&lock->tickets))) {
        lock->owners++;
        co_mutex_unlock(&lock->mutex);
    } else {
        wait_in_line(lock, true, false);
        co_mutex_lock(&lock->mutex);
        check_owners(lock, false, "qemu_co_rwlock_rdlock");
        wake_head(lock);
    }
    self->locks_held++;
}

void co_rwlock_wrlock(CoRwlock *lock) noexcept
{
    Coroutine *self = coroutine::self();

    co_mutex_lock(&lock->mutex);
    if (lock->owners == 0) {
        lock->owners = -1;
        co_mutex_unlock(&lock->mutex);
    } else {
        wait_in_line(lock, false, false);
        check_owners(lock, true, "qemu_co_rwlock_wrlock");
    }
    self->locks_held++;
}

void co_rwlock_unlock(CoRwlock *lock) noexcept
{
    QAIO_CHECK(coroutine::in_coroutine(), "qemu_co_rwlock_unlock: CoRwlock %p unlocked outside "
               "a coroutine", static_cast<void *>(lock));
    Coroutine *self = coroutine::self();

    co_mutex_lock(&lock->mutex);
    if (lock->owners > 0) {
        lock->owners--;
    } else {
        QAIO_CHECK(lock->owners == -1, "qemu_co_rwlock_unlock: CoRwlock %p is not locked",
                   static_cast<void *>(lock));
        lock->owners = 0;
    }
    self->locks_held--;
    wake_head(lock);
}

void co_rwlock_upgrade(CoRwlock *lock) noexcept
{
    co_mutex_lock(&lock->mutex);
    QAIO_CHECK(lock->owners > 0, "qemu_co_rwlock_upgrade: CoRwlock %p is not read-locked "
               "(owners %d)", static_cast<void *>(lock), lock->owners);
    if (lock->owners == 1 && QSIMPLEQ_EMPTY(&lock->tickets)) {
        lock->owners = -1;
        co_mutex_unlock(&lock->mutex);
        return;
    }
    // Queue as a writer; our leaving may admit the head.  locks_held stays.
    lock->owners--;
    wait_in_line(lock, false, true);
    check_owners(lock, true, "qemu_co_rwlock_upgrade");
}

void co_rwlock_downgrade(CoRwlock *lock) noexcept
{
    co_mutex_lock(&lock->mutex);
    QAIO_CHECK(lock->owners == -1, "qemu_co_rwlock_downgrade: CoRwlock %p is not "
               "write-locked (owners %d)", static_cast<void *>(lock), lock->owners);
    lock->owners = 1;
    wake_head(lock);
}

} // namespace qaio::colock
