// SPDX-License-Identifier: MIT
// qemu/timer.h at API level 10.0: qemu_clock_advance_virtual_time.
#include "qemu/timer.h"

#include "cabi/export.hh"
#include "lib/mainloop/virtual_time.hh"

// QEMU's (system/cpus.c, or the tools' stub that ignores it); the support
// runtime's stand-in in libqaio.
extern "C" void cpus_set_virtual_clock(int64_t new_time);

QAIO_EXPORT int64_t qemu_clock_advance_virtual_time(int64_t target_ns)
{
    return qaio::mainloop::advance_virtual_time(&main_loop_tlg, target_ns,
                                                cpus_set_virtual_clock);
}
