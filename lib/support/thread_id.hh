// SPDX-License-Identifier: MIT
// The calling thread's id as debuggers show it, for messages.
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
