// SPDX-License-Identifier: MIT
// MEMBARRIER_CMD_PRIVATE_EXPEDITED: a full barrier on every running thread,
// which orders a biased lock owner's fence-free fast path against its
// revoker.  Functions return false with errno set.  On Windows, Debian 12's
// Wine stubs FlushProcessWriteBuffers, so the barrier is reported missing
// and biased locks stay unbiased.
#pragma once

#ifdef _WIN32
#include <cerrno>

namespace qaio::support::membarrier {

inline bool available() noexcept
{
    return false;
}

inline bool register_process() noexcept
{
    errno = ENOSYS;
    return false;
}

inline bool run_on_every_thread() noexcept
{
    errno = ENOSYS;
    return false;
}

} // namespace qaio::support::membarrier
#else
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace qaio::support::membarrier {

inline int call(int cmd) noexcept
{
    return int(syscall(__NR_membarrier, cmd, 0, 0));
}

inline bool available() noexcept
{
    int cmds = call(MEMBARRIER_CMD_QUERY);
    return cmds > 0 && (cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED);
}

// Microseconds with one thread, an RCU grace period (0.2-70 ms) with more.
inline bool register_process() noexcept
{
    return call(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0;
}

inline bool run_on_every_thread() noexcept
{
    return call(MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0;
}

} // namespace qaio::support::membarrier
#endif

namespace qaio::support::membarrier {

// Registers first if need be (registration survives fork()).
inline bool run_on_every_thread_registered() noexcept
{
    return run_on_every_thread() || (register_process() && run_on_every_thread());
}

} // namespace qaio::support::membarrier
