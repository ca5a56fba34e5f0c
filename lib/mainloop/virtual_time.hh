// SPDX-License-Identifier: MIT
// Moving the virtual clock forward by hand (QEMU 10.0's
// qemu_clock_advance_virtual_time, used by qtest-like drivers).
#pragma once

#include "qemu/timer.h"

namespace qaio::mainloop {

// Sets QEMU_CLOCK_VIRTUAL through `set_clock` (QEMU's
// cpus_set_virtual_clock) one step at a time, each step ending at the
// soonest virtual deadline or at `target_ns`, and runs the virtual timers
// due after each step: the main loop's (`main_tlg`) and the main context's.
// A `set_clock` that does nothing (a program without a guest) leaves the
// host clock to get there.  Returns the virtual clock at the end.
int64_t advance_virtual_time(QEMUTimerListGroup *main_tlg, int64_t target_ns,
                             void (*set_clock)(int64_t)) noexcept;

} // namespace qaio::mainloop
