// SPDX-License-Identifier: MIT
// The doorbell of a monitor that must otherwise ask the kernel whether
// anything is ready: a multishot poll, in a small io_uring of its own, on
// the monitor's own fd (the epoll fd).  Every wakeup of that fd rings it,
// so "nothing rang since the last drain" can be read from memory, and a
// non-blocking aio_poll that finds it quiet (and found nothing at its last
// real wait) skips the system call, as the io_uring monitor's peek does.
//
// A poll on the epoll fd rather than the io_uring monitor: that monitor
// re-arms a one-shot poll per dispatch to stay level-triggered, 1.25x
// epoll's cost per dispatched fd; a multishot poll only reports wakeups.
//
// Where the kernel has it, the ring defers its task work
// (IORING_SETUP_DEFER_TASKRUN): a ring only queues work on the ring and
// raises IORING_SQ_TASKRUN, and later rings until a drain cost an atomic
// add.  On an ordinary ring every wakeup runs task work on the waiting
// thread, about 2 us per cross-thread aio_notify on this machine class.
// The price is a system call in a drain after a ring, so a monitor drains
// only where the next wait may let it skip one.
//
// Threads: the ring belongs to the thread that armed it (the context's home
// thread) and is made anew when another thread takes over.  Without
// io_uring there is no doorbell and callers always ask the kernel.
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
