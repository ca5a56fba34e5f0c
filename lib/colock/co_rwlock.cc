// SPDX-License-Identifier: MIT
// CoRwlock: a readers-writer lock for coroutines with strict FIFO fairness.
// The embedded CoMutex guards `owners` (the number of readers inside, or -1
// for a writer) and `tickets`, a queue of CoRwTickets that waiting
// coroutines keep in their own frames.  Whoever changes `owners` in a way
// that may let the head ticket in (unlock, downgrade, upgrade giving up its
// read lock, a reader just admitted) calls wake_head(), which admits the
// head ticket on its behalf (counts it in `owners` before the wake-up, so
// no newcomer sneaks in between) and wakes it.  An admitted reader repeats
// that for the ticket behind it, so a run of queued readers all get in while
// a queued writer stops the run.  Newcomers queue whenever anybody waits,
// which keeps a writer from starving behind a stream of readers; an upgrade
// does not jump the queue either: it gives up its read lock and queues as a
// writer.  locks_held counts a CoRwlock once per holder, like a CoMutex.
#include "lib/colock/colock.hh"

#include "block/aio.h"
#include "lib/support/fatal.hh"

// A waiting coroutine's place in the queue; lives in its frame.
struct CoRwTicket {
    bool read_;
    Coroutine *co_;
    QSIMPLEQ_ENTRY(CoRwTicket) next_;
};

namespace qaio::colock {

namespace {

// Called with lock->mutex held; releases it.  Admits and wakes the head
// ticket if the current owners let it in.
void wake_head(CoRwlock *lock) noexcept
{
    CoRwTicket *head = QSIMPLEQ_FIRST(&lock->tickets);
    Coroutine *co = nullptr;

    if (head) {
        if (head->read_ && lock->owners >= 0) {
            lock->owners++;
            co = head->co_;
        } else if (!head->read_ && lock->owners == 0) {
            lock->owners = -1;
            co = head->co_;
        }
    }
    if (co) {
        // Unlinked before the wake-up: the ticket dies with the frame.
        QSIMPLEQ_REMOVE_HEAD(&lock->tickets, next_);
    }
    co_mutex_unlock(&lock->mutex);
    if (co) {
        loop::co_wake(co);
    }
}

// Called with lock->mutex held; queues self, releases the mutex (waking the
// head first when `wake` says the caller's change may admit it) and parks
// until wake_head admits us.
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

// Called by an admitted coroutine.  A writer reads `owners` without the
// mutex: nobody changes -1 but the writer itself.  A reader holds the mutex.
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
        // Admitted: let the next ticket in if it is a reader too.
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
    // Give up the read lock and queue as a writer; our leaving may be what
    // the head ticket waits for.  locks_held is unchanged: we still count
    // as a holder while we wait for the write lock.
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
    // A reader at the head may join us now.
    wake_head(lock);
}

} // namespace qaio::colock
