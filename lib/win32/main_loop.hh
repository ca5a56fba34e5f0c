// SPDX-License-Identifier: MIT
// The Windows half of QEMU's main loop: wait objects, polling callbacks
// (one that reports work keeps the iteration from sleeping) and
// qemu_fd_register.  Main thread only, as in QEMU.
#pragma once

#include "qemu/main-loop.h"

namespace qaio::win32 {

// -1 when MAXIMUM_WAIT_OBJECTS are registered or the HANDLE already is.
int add_wait_object(HANDLE handle, WaitObjectFunc *func, void *opaque) noexcept;
void del_wait_object(HANDLE handle) noexcept;
int add_polling_cb(PollingFunc *func, void *opaque) noexcept;
void del_polling_cb(PollingFunc *func, void *opaque) noexcept;
// True if one reported work.
bool run_polling_cbs() noexcept;
// Around main_loop_wait's poll; dispatch truncates `fds` to `end` again.
void append_wait_objects(GArray *fds) noexcept;
void dispatch_wait_objects(GArray *fds, guint end) noexcept;
// Binds the socket's network events to `ctx`'s notifier.
void fd_register(int fd, AioContext *ctx) noexcept;

} // namespace qaio::win32
