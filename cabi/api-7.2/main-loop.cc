// SPDX-License-Identifier: MIT
// qemu/main-loop.h at API level 7.2: qemu_fd_register (10.0 dropped it).
#include "qemu/main-loop.h"

#include "cabi/export.hh"

QAIO_EXPORT void qemu_fd_register(int fd)
{
    // POSIX: nothing to do (Win32 ties sockets to the main context here).
}
