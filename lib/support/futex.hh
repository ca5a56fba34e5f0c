// SPDX-License-Identifier: MIT
// Waiting on a 32-bit word: the Linux futex system call, and on Windows its
// counterpart WaitOnAddress (Windows 8, the oldest QEMU 7.2 supports).  qaio
// uses them instead of std::atomic::wait, whose libstdc++ implementation
// brings a global symbol (its waiter pool) into libqaio-core.a.
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

// Sleeps while *word == expected (spurious returns are possible).
inline void futex_wait(const void *word, unsigned expected) noexcept
{
    WaitOnAddress(const_cast<void *>(word), &expected, sizeof expected, INFINITE);
}

// Windows wakes one waiter or all: more than one means all, which callers
// allow (a woken waiter re-checks its word).
inline void futex_wake(const void *word, int n) noexcept
{
    if (n == 1) {
        WakeByAddressSingle(const_cast<void *>(word));
    } else {
        WakeByAddressAll(const_cast<void *>(word));
    }
}

#else

// Sleeps while *word == expected (spurious returns are possible).
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
