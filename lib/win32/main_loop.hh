// SPDX-License-Identifier: MIT
// The Windows half of QEMU's main loop: wait objects (HANDLEs whose callback
// runs when main_loop_wait finds them signalled), polling callbacks (run at
// the start of each iteration; one that reports work makes the iteration
// not sleep) and qemu_fd_register.  Main thread only, as in QEMU.
// lib/mainloop calls these around its glib iteration.
#pragma once

#include "qemu/main-loop.h"

namespace qaio::win32 {

// qemu_add_wait_object: -1 when MAXIMUM_WAIT_OBJECTS are registered or the
// HANDLE already is.
int add_wait_object(HANDLE handle, WaitObjectFunc *func, void *opaque) noexcept;
// qemu_del_wait_object: by HANDLE only, as QEMU.
void del_wait_object(HANDLE handle) noexcept;
int add_polling_cb(PollingFunc *func, void *opaque) noexcept;
void del_polling_cb(PollingFunc *func, void *opaque) noexcept;
// Runs every polling callback; true if one reported work.
bool run_polling_cbs() noexcept;
// main_loop_wait's poll: appends the wait objects' HANDLEs to the GPollFDs
// (after glib's), and after the poll runs the callbacks of the signalled
// ones and drops them from `fds` again (the array ends at `end` after it).
void append_wait_objects(GArray *fds) noexcept;
void dispatch_wait_objects(GArray *fds, guint end) noexcept;
// qemu_fd_register: binds the socket's network events to `ctx`'s notifier.
void fd_register(int fd, AioContext *ctx) noexcept;

} // namespace qaio::win32
