// SPDX-License-Identifier: MIT
// QEMU's record/replay lock, which does nothing without record/replay, as
// in QEMU's tools.  Support runtime: libqaio only.
#define QAIO_RUNTIME_EXPORT extern "C" __attribute__((visibility("default")))

QAIO_RUNTIME_EXPORT void replay_mutex_lock(void)
{
}

QAIO_RUNTIME_EXPORT void replay_mutex_unlock(void)
{
}
