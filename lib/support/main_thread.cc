// SPDX-License-Identifier: MIT
// qemu_in_main_thread for standalone programs (libqaio only).
#include "lib/support/current_context.hh"

extern "C" __attribute__((visibility("default"))) bool qemu_in_main_thread(void)
{
    return qaio::support::current_context() == qaio::support::main_context();
}
