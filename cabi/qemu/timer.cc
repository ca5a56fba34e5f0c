// SPDX-License-Identifier: MIT
// The C ABI of include/qemu/timer.h: QEMU 7.2's clock, timer list, group and
// timer functions, each forwarding into lib/timer, plus the three exported
// data symbols (main_loop_tlg, use_rt_clock, clock_start) and the
// constructor that fills them, as QEMU's qemu-timer-common.c does at load.
#include <cstddef>
#ifndef _WIN32
#include <poll.h>
#endif

#include "cabi/export.hh"
#include "qemu/timer.h"
#include "lib/timer/clock.hh"
#include "lib/timer/timer_list.hh"

namespace qt = qaio::timer;

// Callers embed QEMUTimer and device code reads expire_time directly.
static_assert(sizeof(QEMUTimer) == 48);
static_assert(offsetof(QEMUTimer, expire_time) == 0);
static_assert(offsetof(QEMUTimer, timer_list) == 8);
static_assert(offsetof(QEMUTimer, cb) == 16);
static_assert(offsetof(QEMUTimer, opaque) == 24);
static_assert(offsetof(QEMUTimer, next) == 32);
static_assert(offsetof(QEMUTimer, attributes) == 40);
static_assert(offsetof(QEMUTimer, scale) == 44);
static_assert(sizeof(QEMUTimerListGroup) == 32);
#ifndef _WIN32
// qemu_poll_ns hands GPollFD arrays straight to ppoll.
static_assert(sizeof(GPollFD) == sizeof(struct pollfd));
static_assert(offsetof(GPollFD, fd) == offsetof(struct pollfd, fd));
static_assert(offsetof(GPollFD, events) == offsetof(struct pollfd, events));
static_assert(offsetof(GPollFD, revents) == offsetof(struct pollfd, revents));
#endif

// The braces make these definitions (zero-initialized, in .bss like QEMU's).
extern "C" {
__attribute__((visibility("default"))) QEMUTimerListGroup main_loop_tlg;
__attribute__((visibility("default"))) int use_rt_clock;
__attribute__((visibility("default"))) int64_t clock_start;
#ifdef _WIN32
// What QEMU's Windows get_clock() (an inline of qemu/timer.h) scales by.
int64_t clock_freq;
#endif
}

__attribute__((constructor)) static void timer_data_init()
{
#ifdef _WIN32
    clock_freq = qt::counter_frequency();
#endif
    use_rt_clock = qt::monotonic_available();
    clock_start = qt::monotonic_ns();
    qt::main_list(&main_loop_tlg, QEMU_CLOCK_REALTIME);
}

// ---- clocks -------------------------------------------------------------

QAIO_EXPORT int64_t qemu_clock_get_ns(QEMUClockType type)
{
    return qt::clock_now_ns(type);
}

QAIO_EXPORT bool qemu_clock_has_timers(QEMUClockType type)
{
    return qt::list_has_timers(qt::main_list(&main_loop_tlg, type));
}

QAIO_EXPORT bool qemu_clock_expired(QEMUClockType type)
{
    return qt::list_expired(qt::main_list(&main_loop_tlg, type));
}

QAIO_EXPORT bool qemu_clock_use_for_deadline(QEMUClockType type)
{
    return qt::clock_use_for_deadline(type);
}

QAIO_EXPORT int64_t qemu_clock_deadline_ns_all(QEMUClockType type, int attr_mask)
{
    return qt::clock_deadline_ns_all(type, attr_mask);
}

QAIO_EXPORT void qemu_clock_notify(QEMUClockType type)
{
    qt::clock_notify(type);
}

QAIO_EXPORT void qemu_clock_enable(QEMUClockType type, bool enabled)
{
    qt::clock_enable(type, enabled);
}

QAIO_EXPORT bool qemu_clock_run_timers(QEMUClockType type)
{
    return qt::list_run(qt::main_list(&main_loop_tlg, type));
}

QAIO_EXPORT bool qemu_clock_run_all_timers(void)
{
    return qt::main_run_all(&main_loop_tlg);
}

QAIO_EXPORT void init_clocks(QEMUTimerListNotifyCB *notify_cb)
{
    qt::init_main_lists(&main_loop_tlg, notify_cb);
}

// ---- timer lists and groups -----------------------------------------------

QAIO_EXPORT QEMUTimerList *timerlist_new(QEMUClockType type,
                                         QEMUTimerListNotifyCB *cb, void *opaque)
{
    return qt::list_new(type, cb, opaque);
}

QAIO_EXPORT void timerlist_free(QEMUTimerList *timer_list)
{
    qt::list_free(timer_list);
}

QAIO_EXPORT bool timerlist_has_timers(QEMUTimerList *timer_list)
{
    return qt::list_has_timers(timer_list);
}

QAIO_EXPORT bool timerlist_expired(QEMUTimerList *timer_list)
{
    return qt::list_expired(timer_list);
}

QAIO_EXPORT int64_t timerlist_deadline_ns(QEMUTimerList *timer_list)
{
    return qt::list_deadline_ns(timer_list);
}

QAIO_EXPORT bool timerlist_run_timers(QEMUTimerList *timer_list)
{
    return qt::list_run(timer_list);
}

QAIO_EXPORT void timerlist_notify(QEMUTimerList *timer_list)
{
    qt::list_notify(timer_list);
}

QAIO_EXPORT void timerlistgroup_init(QEMUTimerListGroup *tlg,
                                     QEMUTimerListNotifyCB *cb, void *opaque)
{
    qt::group_init(tlg, cb, opaque);
}

QAIO_EXPORT void timerlistgroup_deinit(QEMUTimerListGroup *tlg)
{
    qt::group_deinit(tlg);
}

QAIO_EXPORT bool timerlistgroup_run_timers(QEMUTimerListGroup *tlg)
{
    return qt::group_run(tlg);
}

QAIO_EXPORT int64_t timerlistgroup_deadline_ns(QEMUTimerListGroup *tlg)
{
    return qt::group_deadline_ns(tlg);
}

// ---- timers -------------------------------------------------------------

QAIO_EXPORT void timer_init_full(QEMUTimer *ts,
                                 QEMUTimerListGroup *timer_list_group, QEMUClockType type,
                                 int scale, int attributes,
                                 QEMUTimerCB *cb, void *opaque)
{
    QEMUTimerList *tl = timer_list_group ? timer_list_group->tl[type]
                                         : qt::main_list(&main_loop_tlg, type);
    qt::timer_setup(ts, tl, scale, attributes, cb, opaque);
}

QAIO_EXPORT void timer_deinit(QEMUTimer *ts)
{
    qt::timer_teardown(ts);
}

QAIO_EXPORT void timer_del(QEMUTimer *ts)
{
    qt::timer_disarm(ts);
}

QAIO_EXPORT void timer_mod_ns(QEMUTimer *ts, int64_t expire_time)
{
    qt::timer_arm_ns(ts, expire_time);
}

QAIO_EXPORT void timer_mod_anticipate_ns(QEMUTimer *ts, int64_t expire_time)
{
    qt::timer_arm_ns(ts, expire_time, true);
}

QAIO_EXPORT void timer_mod(QEMUTimer *ts, int64_t expire_timer)
{
    qt::timer_arm(ts, expire_timer);
}

QAIO_EXPORT void timer_mod_anticipate(QEMUTimer *ts, int64_t expire_time)
{
    qt::timer_arm(ts, expire_time, true);
}

QAIO_EXPORT bool timer_pending(QEMUTimer *ts)
{
    return qt::timer_is_pending(ts);
}

QAIO_EXPORT bool timer_expired(QEMUTimer *timer_head, int64_t current_time)
{
    return qt::timer_has_expired(timer_head, current_time);
}

QAIO_EXPORT uint64_t timer_expire_time_ns(QEMUTimer *ts)
{
    return qt::timer_expiry_ns(ts);
}

// ---- utilities ----------------------------------------------------------

QAIO_EXPORT int qemu_timeout_ns_to_ms(int64_t ns)
{
    return qt::timeout_ns_to_ms(ns);
}

QAIO_EXPORT int qemu_poll_ns(GPollFD *fds, guint nfds, int64_t timeout)
{
#ifdef _WIN32
    return qt::poll_ns(fds, nfds, timeout);
#else
    return qt::poll_ns(reinterpret_cast<struct pollfd *>(fds), nfds, timeout);
#endif
}
