// SPDX-License-Identifier: MIT
// Stand-ins for the big QEMU lock under its API level 7.2 names, with the
// behaviour of QEMU 7.2's stubs for its tools (qemu-img, qemu-io): a program
// without vCPUs never holds the lock, and taking or dropping it does
// nothing.  Part of the support runtime: libqaio only, never
// libqaio-core.a, where a system emulator brings its real lock and the
// tools their stubs.  (API level 10.0: bql.cc.)

#define QAIO_RUNTIME_EXPORT extern "C" __attribute__((visibility("default")))

QAIO_RUNTIME_EXPORT bool qemu_mutex_iothread_locked(void);
QAIO_RUNTIME_EXPORT void qemu_mutex_lock_iothread_impl(const char *file, int line);
QAIO_RUNTIME_EXPORT void qemu_mutex_unlock_iothread(void);

bool qemu_mutex_iothread_locked(void)
{
    return false;
}

void qemu_mutex_lock_iothread_impl(const char *, int)
{
}

void qemu_mutex_unlock_iothread(void)
{
}
