// SPDX-License-Identifier: MIT
// Waiting on a 32-bit word: futex, or WaitOnAddress on Windows.  Not
// std::atomic::wait, whose libstdc++ waiter pool is a global symbol.
#pragma once

#include <climits>
#include <cstdint>
#ifdef _WIN32
#include <algorithm>
#include <windows.h>
#else
#include <ctime>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace qaio::support {

#ifdef _WIN32

// Spurious returns are possible; ns < 0: no timeout.
inline void futex_wait(const void *word, unsigned expected, int64_t ns = -1) noexcept
{
    DWORD ms = ns < 0 ? INFINITE
                      : static_cast<DWORD>(std::min<int64_t>(ns / 1000000 + 1, INFINITE - 1));
    WaitOnAddress(const_cast<void *>(word), &expected, sizeof expected, ms);
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

inline void futex_wait(const void *word, unsigned expected, int64_t ns = -1) noexcept
{
    timespec t = {static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
    syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, expected, ns < 0 ? nullptr : &t, nullptr, 0);
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
