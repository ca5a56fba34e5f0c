// SPDX-License-Identifier: MIT
#include "lib/mainloop/virtual_time.hh"

#include "block/aio.h"
#include "lib/support/current_context.hh"
#include "lib/timer/clock.hh"
#include "lib/timer/timer_list.hh"

namespace qaio::mainloop {

int64_t advance_virtual_time(QEMUTimerListGroup *main_tlg, int64_t target_ns,
                             void (*set_clock)(int64_t)) noexcept
{
    int64_t now = timer::clock_now_ns(QEMU_CLOCK_VIRTUAL);
    while (now < target_ns) {
        int64_t step = target_ns - now;
        int64_t deadline = timer::clock_deadline_ns_all(QEMU_CLOCK_VIRTUAL, QEMU_TIMER_ATTR_ALL);
        if (deadline >= 0 && deadline < step) {
            step = deadline;
        }
        set_clock(now + step);
        timer::list_run(timer::main_list(main_tlg, QEMU_CLOCK_VIRTUAL));
        if (AioContext *main = support::main_context()) {
            timer::list_run(main->tlg.tl[QEMU_CLOCK_VIRTUAL]);
        }
        now = timer::clock_now_ns(QEMU_CLOCK_VIRTUAL);
    }
    timer::clock_notify(QEMU_CLOCK_VIRTUAL);
    return now;
}

} // namespace qaio::mainloop
