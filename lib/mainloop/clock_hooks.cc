// SPDX-License-Identifier: MIT
// Stand-ins for the virtual-clock hooks of QEMU's softmmu: without a guest,
// as in QEMU's tools, the virtual clock is the host clock.  Support
// runtime: libqaio only, never libqaio-core.a.
#include "lib/mainloop/main_loop.hh"
#include "lib/timer/clock.hh"

#define QAIO_RUNTIME_EXPORT extern "C" __attribute__((visibility("default")))

QAIO_RUNTIME_EXPORT int64_t cpu_get_clock(void)
{
    return qaio::timer::wall_ns();
}

QAIO_RUNTIME_EXPORT int64_t cpus_get_virtual_clock(void)
{
    return cpu_get_clock();
}

// The main-loop timer lists' notifier.
QAIO_RUNTIME_EXPORT void qemu_timer_notify_cb(void *, QEMUClockType)
{
    qaio::mainloop::notify_event();
}
