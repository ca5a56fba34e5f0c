// SPDX-License-Identifier: MIT
// qemu/main-loop.h at API level 7.2: qemu_fd_register (10.0 dropped it).
#include "qemu/main-loop.h"

#include "cabi/export.hh"
#ifdef _WIN32
#include "lib/win32/main_loop.hh"
#endif

QAIO_EXPORT void qemu_fd_register(int fd)
{
#ifdef _WIN32
    // The socket's network events wake the main context.
    qaio::win32::fd_register(fd, qemu_get_aio_context());
#else
    // POSIX: nothing to do (Win32 ties sockets to the main context here).
#endif
}
