// SPDX-License-Identifier: MIT
// Stand-in for qemu_in_main_thread (QEMU's system emulator, or its tools'
// stub): whether the calling thread acts in the main context.  Support
// runtime: libqaio only.
#include "lib/support/current_context.hh"

extern "C" __attribute__((visibility("default"))) bool qemu_in_main_thread(void);

bool qemu_in_main_thread(void)
{
    return qaio::support::current_context() == qaio::support::main_context();
}
