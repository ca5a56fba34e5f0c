// SPDX-License-Identifier: MIT
// Stand-ins for the virtual-clock hooks that QEMU's softmmu (or its tool
// stubs) provide and qemu-timer calls for QEMU_CLOCK_VIRTUAL: a standalone
// program has no guest, so, like QEMU's tools, its virtual clock is the host
// clock; and the main-loop timers' notifier.  Part of the support runtime:
// libqaio only, never libqaio-core.a.
#include "lib/mainloop/main_loop.hh"
#include "lib/timer/clock.hh"

#define QAIO_RUNTIME_EXPORT extern "C" __attribute__((visibility("default")))

QAIO_RUNTIME_EXPORT int64_t cpu_get_clock(void);
QAIO_RUNTIME_EXPORT int64_t cpus_get_virtual_clock(void);

int64_t cpu_get_clock(void)
{
    return qaio::timer::wall_ns();
}

int64_t cpus_get_virtual_clock(void)
{
    return cpu_get_clock();
}

// The notifier qemu_init_main_loop gives the main-loop timer lists: a timer
// that becomes the earliest, armed from any thread, wakes main_loop_wait.
QAIO_RUNTIME_EXPORT void qemu_timer_notify_cb(void *opaque, QEMUClockType type);

void qemu_timer_notify_cb(void *, QEMUClockType)
{
    qaio::mainloop::notify_event();
}
