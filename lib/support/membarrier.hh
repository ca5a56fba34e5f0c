// SPDX-License-Identifier: MIT
// The process-wide barrier that lets a biased lock (the timer list's, the
// CoMutex's) revoke its owner's bias: MEMBARRIER_CMD_PRIVATE_EXPEDITED runs
// a full barrier on every running thread of the process, so the owner's
// fence-free fast path is ordered against the revoker's flag.
//
// Windows has FlushProcessWriteBuffers, but Debian 12's Wine 8 has it as a
// stub (real versions were only proposed to Wine from late 2022 on), and the
// tests run there: on Windows the barrier is reported missing and the biased
// locks take their unbiased path.
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

// Whether the kernel offers the barrier; a query registers nothing.
inline bool available() noexcept
{
    int cmds = call(MEMBARRIER_CMD_QUERY);
    return cmds > 0 && (cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED);
}

// Registers the process for run_on_every_thread(); false (errno set) if refused.  Costs
// microseconds in a process of one thread, an RCU grace period (0.2-70 ms
// measured) once there are others.
inline bool register_process() noexcept
{
    return call(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0;
}

// A full barrier on every running thread; false (errno set) if the process
// is not registered.
inline bool run_on_every_thread() noexcept
{
    return call(MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0;
}

} // namespace qaio::support::membarrier
#endif

namespace qaio::support::membarrier {

// The same, registering first if the process is not registered yet (the
// timer lists register at their first revocation; registration survives
// fork()); false (errno set) if the kernel refuses either call.
inline bool run_on_every_thread_registered() noexcept
{
    return run_on_every_thread() || (register_process() && run_on_every_thread());
}

} // namespace qaio::support::membarrier
