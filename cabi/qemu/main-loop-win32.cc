// SPDX-License-Identifier: MIT
// qemu/main-loop.h on Windows only (QEMU's Win32 half of util/main-loop):
// wait objects and polling callbacks, which main_loop_wait serves.
#include "qemu/main-loop.h"

#include "cabi/export.hh"
#include "lib/win32/main_loop.hh"

namespace w32 = qaio::win32;

QAIO_EXPORT int qemu_add_wait_object(HANDLE handle, WaitObjectFunc *func, void *opaque)
{
    return w32::add_wait_object(handle, func, opaque);
}

QAIO_EXPORT void qemu_del_wait_object(HANDLE handle, WaitObjectFunc *func, void *opaque)
{
    // By HANDLE alone, as QEMU.
    w32::del_wait_object(handle);
}

QAIO_EXPORT int qemu_add_polling_cb(PollingFunc *func, void *opaque)
{
    return w32::add_polling_cb(func, opaque);
}

QAIO_EXPORT void qemu_del_polling_cb(PollingFunc *func, void *opaque)
{
    w32::del_polling_cb(func, opaque);
}
