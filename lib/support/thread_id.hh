// SPDX-License-Identifier: MIT
// The system's id of the calling thread, for messages: the number a
// debugger or the process list shows (gettid on Linux, the Win32 thread id
// on Windows).
#pragma once

#ifdef _WIN32
#include <windows.h>
#else
#include <unistd.h>
#endif

namespace qaio::support {

inline int thread_id() noexcept
{
#ifdef _WIN32
    return static_cast<int>(GetCurrentThreadId());
#else
    return static_cast<int>(gettid());
#endif
}

} // namespace qaio::support
