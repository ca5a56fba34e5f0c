// SPDX-License-Identifier: MIT
// qemu/timer.h at API level 7.2: the two timer-list queries QEMU 9.2 removed.
#include "qemu/timer.h"

#include "cabi/export.hh"
#include "lib/timer/timer_list.hh"

namespace qt = qaio::timer;

QAIO_EXPORT QEMUTimerList *qemu_clock_get_main_loop_timerlist(QEMUClockType type)
{
    return qt::main_list(&main_loop_tlg, type);
}

QAIO_EXPORT QEMUClockType timerlist_get_clock(QEMUTimerList *timer_list)
{
    return qt::list_clock(timer_list);
}
