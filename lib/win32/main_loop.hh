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
// Polls `fds` (HANDLEs, as glib's GPollFDs are on Windows) and the wait
// objects for up to timeout_ns (< 0: no limit), then runs the callbacks of
// the signalled wait objects.  Returns g_poll's result.
int poll(GArray *fds, int64_t timeout_ns) noexcept;
// qemu_fd_register: binds the socket's network events to `ctx`'s notifier.
void fd_register(int fd, AioContext *ctx) noexcept;

} // namespace qaio::win32
