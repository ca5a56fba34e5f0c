// SPDX-License-Identifier: MIT
// The doorbell of the epoll monitor: a multishot poll, in a small io_uring
// of its own, on the epoll fd.  Every wakeup of that fd rings it, so "nothing
// rang since the last drain" is read from memory and an idle non-blocking
// aio_poll skips its system call.  (The io_uring monitor re-arms a one-shot
// poll per dispatch, 1.25x epoll's cost; a multishot poll only reports.)
//
// The ring defers its task work (IORING_SETUP_DEFER_TASKRUN) where the kernel
// can: a ring then only queues work and raises IORING_SQ_TASKRUN, and later
// rings cost an atomic add, where an ordinary ring runs task work on the
// woken thread at every cross-thread aio_notify (about 2 us here).  The
// price is a system call in the drain after a ring, so the monitor drains
// only where the next wait may skip one.
//
// Threads: the ring is the arming thread's (the home thread's) and is made
// anew when another thread takes over.  Without io_uring there is no
// doorbell and callers always ask the kernel.
#pragma once

#include "qaio/config.h"

#include <memory>

namespace qaio::posix {

class doorbell {
public:
    virtual ~doorbell() = default;
    // Something rang since the last drain (or the poll ended).  No system call.
    virtual bool rang() const noexcept = 0;
    // True only when the poll is armed by this thread and nothing rang.
    virtual bool quiet() const noexcept = 0;
    // Consumes what rang and arms the poll where needed, for the calling
    // thread.  Call before asking the kernel what is ready.
    virtual void drain() noexcept = 0;
};

// A doorbell on `fd` (polled for POLLIN), or nullptr without io_uring.
#ifdef CONFIG_LINUX_IO_URING
std::unique_ptr<doorbell> make_doorbell(int fd) noexcept;
#else
inline std::unique_ptr<doorbell> make_doorbell(int) noexcept { return nullptr; }
#endif

} // namespace qaio::posix
