// SPDX-License-Identifier: MIT
// Thin wrappers over the Linux futex system call on a 32-bit word.  qaio
// uses them instead of std::atomic::wait, whose libstdc++ implementation
// brings a global symbol (its waiter pool) into libqaio-core.a.
#pragma once

#include <climits>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace qaio::support {

// Sleeps while *word == expected (spurious returns are possible).
inline void futex_wait(const void *word, unsigned expected) noexcept
{
    syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, expected, nullptr, nullptr, 0);
}

inline void futex_wake(const void *word, int n) noexcept
{
    syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, n, nullptr, nullptr, 0);
}

inline void futex_wake_all(const void *word) noexcept
{
    futex_wake(word, INT_MAX);
}

} // namespace qaio::support
