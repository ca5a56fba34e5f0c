// SPDX-License-Identifier: MIT
// The big QEMU lock at API level 10.0 (7.2: big_lock.cc), as QEMU 10.0's
// tool stubs: held only if a test says so (rust_bql_mock_lock), taking and
// dropping do nothing, bql_block_unlock counts sections where dropping it
// is a bug.  Support runtime: libqaio only.
#include "qemu/main-loop.h"

#include "lib/support/fatal.hh"

#include <atomic>
#include <climits>
#include <ctime>
#include <pthread.h>

#define QAIO_RUNTIME_EXPORT extern "C" __attribute__((visibility("default")))

namespace {

std::atomic<bool> mock_locked{false};
std::atomic<unsigned> unlock_blocked{0};
// What a condition wait releases, the stand-in lock being no mutex.
#ifdef _WIN32
SRWLOCK cond_lock = SRWLOCK_INIT;
#else
pthread_mutex_t cond_mutex = PTHREAD_MUTEX_INITIALIZER;
#endif

} // namespace

QAIO_RUNTIME_EXPORT bool bql_locked(void)
{
    return mock_locked.load(std::memory_order_relaxed);
}

QAIO_RUNTIME_EXPORT void rust_bql_mock_lock(void)
{
    mock_locked.store(true, std::memory_order_relaxed);
}

QAIO_RUNTIME_EXPORT void bql_lock_impl(const char *, int)
{
}

QAIO_RUNTIME_EXPORT void bql_unlock(void)
{
    QAIO_CHECK(unlock_blocked.load(std::memory_order_relaxed) == 0,
               "bql_unlock inside a bql_block_unlock(true) section");
}

QAIO_RUNTIME_EXPORT void bql_block_unlock(bool increase)
{
    QAIO_CHECK(bql_locked(), "bql_block_unlock without the big lock");
    unsigned old = unlock_blocked.load(std::memory_order_relaxed);
    QAIO_CHECK(increase ? old < UINT_MAX : old > 0,
               "bql_block_unlock(%s): the count of blocked sections would %s",
               increase ? "true" : "false", increase ? "overflow" : "go below zero");
    unlock_blocked.store(increase ? old + 1 : old - 1, std::memory_order_relaxed);
}

#ifdef _WIN32
QAIO_RUNTIME_EXPORT void qemu_cond_wait_bql(QemuCond *cond)
{
    AcquireSRWLockExclusive(&cond_lock);
    SleepConditionVariableSRW(&cond->var, &cond_lock, INFINITE, 0);
    ReleaseSRWLockExclusive(&cond_lock);
}

QAIO_RUNTIME_EXPORT void qemu_cond_timedwait_bql(QemuCond *cond, int ms)
{
    AcquireSRWLockExclusive(&cond_lock);
    SleepConditionVariableSRW(&cond->var, &cond_lock, ms < 0 ? 0 : DWORD(ms), 0);
    ReleaseSRWLockExclusive(&cond_lock);
}
#else
QAIO_RUNTIME_EXPORT void qemu_cond_wait_bql(QemuCond *cond)
{
    pthread_mutex_lock(&cond_mutex);
    pthread_cond_wait(&cond->cond, &cond_mutex);
    pthread_mutex_unlock(&cond_mutex);
}

// QEMU initialises a QemuCond on the monotonic clock.
QAIO_RUNTIME_EXPORT void qemu_cond_timedwait_bql(QemuCond *cond, int ms)
{
    timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += ms / 1000;
    deadline.tv_nsec += long(ms % 1000) * 1000000;
    if (deadline.tv_nsec >= 1000000000) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&cond_mutex);
    pthread_cond_timedwait(&cond->cond, &cond_mutex, &deadline);
    pthread_mutex_unlock(&cond_mutex);
}
#endif
