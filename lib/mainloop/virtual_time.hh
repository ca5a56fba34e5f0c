// SPDX-License-Identifier: MIT
// QEMU 10.0's qemu_clock_advance_virtual_time (qtest-like drivers).
#pragma once

#include "qemu/timer.h"

namespace qaio::mainloop {

// Steps the clock through `set_clock` (cpus_set_virtual_clock) to each
// virtual deadline up to `target_ns`, running the main loop's and the main
// context's virtual timers after each.  Returns the clock at the end.
int64_t advance_virtual_time(QEMUTimerListGroup *main_tlg, int64_t target_ns,
                             void (*set_clock)(int64_t)) noexcept;

} // namespace qaio::mainloop
