// SPDX-License-Identifier: MIT
// The POSIX fd monitors' constructors, for the choice (choice.cc).  Each
// returns nullptr when the kernel refuses the backend or the backend was not
// configured, with the reason in `error` (-errno; -ENOSYS when not
// configured), for the message of a forced choice.
#pragma once

#include "lib/loop/fd_monitor.hh"

#include <cerrno>
#include <memory>

namespace qaio::fdmon {

using monitor = loop::fd_monitor;

std::unique_ptr<monitor> make_poll() noexcept;
#ifdef CONFIG_EPOLL
std::unique_ptr<monitor> make_epoll(int &error) noexcept;
#else
inline std::unique_ptr<monitor> make_epoll(int &error) noexcept
{
    error = -ENOSYS;
    return nullptr;
}
#endif
#ifdef CONFIG_LINUX_IO_URING
std::unique_ptr<monitor> make_io_uring(int &error) noexcept;
#else
inline std::unique_ptr<monitor> make_io_uring(int &error) noexcept
{
    error = -ENOSYS;
    return nullptr;
}
#endif

} // namespace qaio::fdmon
