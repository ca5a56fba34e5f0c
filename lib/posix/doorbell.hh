// SPDX-License-Identifier: MIT
// A doorbell on the epoll fd: a multishot poll in a small io_uring of its
// own, rung by every wakeup of that fd, so "nothing rang since the last
// drain" is read from memory and an idle non-blocking aio_poll skips its
// system call.  (The io_uring monitor re-arms a one-shot poll per dispatch,
// 1.25x epoll's cost; a multishot poll only reports wakeups.)
//
// The ring defers its task work (IORING_SETUP_DEFER_TASKRUN) where the
// kernel has it: a ring only queues work and raises IORING_SQ_TASKRUN, where
// an ordinary ring runs task work on the woken thread at every cross-thread
// aio_notify.  The price is a system call in a drain after a ring, so a
// monitor drains only where the next wait may let it skip one.
//
// Threads: the ring is the arming thread's (the home thread's), made anew
// when another takes over.  Without io_uring there is no doorbell.
#pragma once

#include "qaio/config.h"

#include <memory>

namespace qaio::posix {

class doorbell {
public:
    virtual ~doorbell() = default;
    // Rang since the last drain (or the poll ended).  No system call.
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
