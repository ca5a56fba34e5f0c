// SPDX-License-Identifier: MIT
// A mutex for constinit objects: std::mutex (constexpr in glibc), or an
// SRWLOCK on Windows, whose winpthreads initializer is no constant.
#pragma once

#ifdef _WIN32
#include <windows.h>

namespace qaio::support {

class static_mutex {
public:
    constexpr static_mutex() noexcept = default;
    static_mutex(const static_mutex &) = delete;
    static_mutex &operator=(const static_mutex &) = delete;

    void lock() noexcept { AcquireSRWLockExclusive(&lock_); }
    void unlock() noexcept { ReleaseSRWLockExclusive(&lock_); }

private:
    SRWLOCK lock_ = SRWLOCK_INIT;
};

} // namespace qaio::support
#else
#include <mutex>

namespace qaio::support {

using static_mutex = std::mutex;

} // namespace qaio::support
#endif
