// SPDX-License-Identifier: MIT
// Stand-ins for the big QEMU lock under its API level 10.0 names (QEMU 9.0
// renamed it), with the behaviour of QEMU 10.0's stubs for its tools: the
// lock is never held unless a test pretends it is (rust_bql_mock_lock),
// taking and dropping it do nothing, and bql_block_unlock counts nested
// sections in which dropping it is a bug.  Support runtime: libqaio only,
// never libqaio-core.a.  (API level 7.2: big_lock.cc.)
#include "qemu/main-loop.h"

#include "lib/support/fatal.hh"

#include <atomic>
#include <cerrno>
#include <climits>
#include <ctime>
#include <pthread.h>

#define QAIO_RUNTIME_EXPORT extern "C" __attribute__((visibility("default")))

QAIO_RUNTIME_EXPORT bool bql_locked(void);
QAIO_RUNTIME_EXPORT void rust_bql_mock_lock(void);
QAIO_RUNTIME_EXPORT void bql_lock_impl(const char *file, int line);
QAIO_RUNTIME_EXPORT void bql_unlock(void);
QAIO_RUNTIME_EXPORT void bql_block_unlock(bool increase);
QAIO_RUNTIME_EXPORT void qemu_cond_wait_bql(QemuCond *cond);
QAIO_RUNTIME_EXPORT void qemu_cond_timedwait_bql(QemuCond *cond, int ms);

namespace {

// Process-wide, as QEMU's stub state is: set once by a test, read anywhere.
std::atomic<bool> mock_locked{false};
// Only changed by the thread that "holds" the lock.
std::atomic<unsigned> unlock_blocked{0};
// What a condition wait releases and retakes, since the stand-in lock is
// no mutex: it orders the wait against nothing else.  Windows' QemuCond is
// a CONDITION_VARIABLE, which waits with an SRW lock.
#ifdef _WIN32
SRWLOCK cond_lock = SRWLOCK_INIT;
#else
pthread_mutex_t cond_mutex = PTHREAD_MUTEX_INITIALIZER;
#endif

} // namespace

bool bql_locked(void)
{
    return mock_locked.load(std::memory_order_relaxed);
}

void rust_bql_mock_lock(void)
{
    mock_locked.store(true, std::memory_order_relaxed);
}

void bql_lock_impl(const char *, int)
{
}

void bql_unlock(void)
{
    QAIO_CHECK(unlock_blocked.load(std::memory_order_relaxed) == 0,
               "bql_unlock inside a bql_block_unlock(true) section");
}

void bql_block_unlock(bool increase)
{
    QAIO_CHECK(bql_locked(), "bql_block_unlock without the big lock");
    unsigned old = unlock_blocked.load(std::memory_order_relaxed);
    QAIO_CHECK(increase ? old < UINT_MAX : old > 0,
               "bql_block_unlock(%s): the count of blocked sections would %s",
               increase ? "true" : "false", increase ? "overflow" : "go below zero");
    unlock_blocked.store(increase ? old + 1 : old - 1, std::memory_order_relaxed);
}

#ifdef _WIN32
void qemu_cond_wait_bql(QemuCond *cond)
{
    AcquireSRWLockExclusive(&cond_lock);
    SleepConditionVariableSRW(&cond->var, &cond_lock, INFINITE, 0);
    ReleaseSRWLockExclusive(&cond_lock);
}

void qemu_cond_timedwait_bql(QemuCond *cond, int ms)
{
    AcquireSRWLockExclusive(&cond_lock);
    SleepConditionVariableSRW(&cond->var, &cond_lock, ms < 0 ? 0 : DWORD(ms), 0);
    ReleaseSRWLockExclusive(&cond_lock);
}
#else
void qemu_cond_wait_bql(QemuCond *cond)
{
    pthread_mutex_lock(&cond_mutex);
    pthread_cond_wait(&cond->cond, &cond_mutex);
    pthread_mutex_unlock(&cond_mutex);
}

// QEMU initialises a QemuCond on the monotonic clock.
void qemu_cond_timedwait_bql(QemuCond *cond, int ms)
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
