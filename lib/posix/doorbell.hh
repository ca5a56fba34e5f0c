// SPDX-License-Identifier: MIT
// The doorbell of a monitor that must otherwise ask the kernel whether
// anything is ready: a multishot poll, in a small io_uring of its own, on
// the monitor's own fd (the epoll fd).  The kernel posts a completion into
// the shared ring at every wakeup of that fd, so "nothing rang since the
// last drain" can be read from memory, and a non-blocking aio_poll that
// finds the ring empty (and found nothing at its last real wait) skips the
// system call, as the io_uring monitor's peek does.
//
// Why a poll on the epoll fd rather than the io_uring monitor: that monitor
// must re-arm a one-shot poll per dispatch to keep handlers level-triggered,
// one system call with a poll setup and teardown in the kernel each time,
// which made it 1.25x epoll's cost per dispatched fd.  Here the level
// semantics stay epoll's; the doorbell only has to report transitions, which
// is what a multishot poll does.
//
// Threads: the poll's completions are posted by task work of the thread
// that armed it, so the doorbell is armed by the thread that waits (the
// context's home thread) and re-armed, on a new ring, when another thread
// takes over.  All calls come from that thread.  Without io_uring (not
// configured, or refused by the kernel) ring() says no and callers always
// ask the kernel.
#pragma once

#include "qaio/config.h"

#include <memory>

namespace qaio::posix {

class doorbell {
public:
    virtual ~doorbell() = default;
    // True only when nothing rang since the last drain() and the poll is
    // armed (by this thread).  No system call.
    virtual bool quiet() const noexcept = 0;
    // Consumes what rang; arms the poll (again) where needed, for the
    // calling thread.  Call before asking the kernel what is ready.
    virtual void drain() noexcept = 0;
};

// A doorbell on `fd` (polled for POLLIN), or nullptr without io_uring.
#ifdef CONFIG_LINUX_IO_URING
std::unique_ptr<doorbell> make_doorbell(int fd) noexcept;
#else
inline std::unique_ptr<doorbell> make_doorbell(int) noexcept { return nullptr; }
#endif

} // namespace qaio::posix
