// SPDX-License-Identifier: MIT
// The big QEMU lock at API level 7.2 (10.0: bql.cc), as QEMU's tool stubs:
// never held, taking and dropping do nothing.  Support runtime: libqaio
// only; in a QEMU tree the emulator or its stubs bring it.

#define QAIO_RUNTIME_EXPORT extern "C" __attribute__((visibility("default")))

QAIO_RUNTIME_EXPORT bool qemu_mutex_iothread_locked(void)
{
    return false;
}

QAIO_RUNTIME_EXPORT void qemu_mutex_lock_iothread_impl(const char *, int)
{
}

QAIO_RUNTIME_EXPORT void qemu_mutex_unlock_iothread(void)
{
}
