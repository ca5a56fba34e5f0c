// SPDX-License-Identifier: MIT
// cpus_set_virtual_clock (10.0) without a guest does nothing, as in QEMU's
// tools.  Support runtime: libqaio only.
#include <cstdint>

extern "C" __attribute__((visibility("default"))) void cpus_set_virtual_clock(int64_t)
{
}
