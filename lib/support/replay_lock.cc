// SPDX-License-Identifier: MIT
// Stand-ins for QEMU's record/replay lock, which the main loop drops while
// it sleeps: without record/replay (always, outside a system emulator) it
// does nothing, as in QEMU's tools.  Support runtime: libqaio only.
#define QAIO_RUNTIME_EXPORT extern "C" __attribute__((visibility("default")))

QAIO_RUNTIME_EXPORT void replay_mutex_lock(void);
QAIO_RUNTIME_EXPORT void replay_mutex_unlock(void);

void replay_mutex_lock(void)
{
}

void replay_mutex_unlock(void)
{
}
