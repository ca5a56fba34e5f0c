// SPDX-License-Identifier: MIT
// Waiting on a 32-bit word: futex, or WaitOnAddress on Windows.  Not
// std::atomic::wait, whose libstdc++ waiter pool is a global symbol.
#pragma once

#include <climits>
#ifdef _WIN32
#include <windows.h>
#else
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace qaio::support {

#ifdef _WIN32

// Spurious returns are possible.
inline void futex_wait(const void *word, unsigned expected) noexcept
{
    WaitOnAddress(const_cast<void *>(word), &expected, sizeof expected, INFINITE);
}

// More than one means all: woken waiters re-check their word.
inline void futex_wake(const void *word, int n) noexcept
{
    if (n == 1) {
        WakeByAddressSingle(const_cast<void *>(word));
    } else {
        WakeByAddressAll(const_cast<void *>(word));
    }
}

#else

inline void futex_wait(const void *word, unsigned expected) noexcept
{
    syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, expected, nullptr, nullptr, 0);
}

inline void futex_wake(const void *word, int n) noexcept
{
    syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, n, nullptr, nullptr, 0);
}

#endif

inline void futex_wake_all(const void *word) noexcept
{
    futex_wake(word, INT_MAX);
}

} // namespace qaio::support
