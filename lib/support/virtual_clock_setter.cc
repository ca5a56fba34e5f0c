// SPDX-License-Identifier: MIT
// Stand-in for cpus_set_virtual_clock (API level 10.0), which
// qemu_clock_advance_virtual_time calls: a program without a guest has no
// virtual clock of its own to set (its virtual clock is the host clock, see
// lib/mainloop/clock_hooks.cc), so, as in QEMU's tools, it does nothing.
// Support runtime: libqaio only.
#include <cstdint>

extern "C" __attribute__((visibility("default"))) void cpus_set_virtual_clock(int64_t new_time);

void cpus_set_virtual_clock(int64_t)
{
}
