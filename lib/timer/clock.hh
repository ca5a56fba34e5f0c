// SPDX-License-Identifier: MIT
// The four QEMU clocks: their time, their enabled flag, and the registry of
// the timer lists on each, through which clock-wide operations (notify,
// enable, deadline) reach the lists of every AioContext and the main loop.
// Also the ns/ms timeout helpers and qemu_poll_ns's ppoll.
#pragma once

#include <cstdint>
#ifndef _WIN32
#include <poll.h>
#endif

#include "qemu/timer.h"

namespace qaio::timer {

// Host monotonic time in ns (wall time if CLOCK_MONOTONIC is unavailable).
int64_t monotonic_ns() noexcept;
// Host wall time in ns, with gettimeofday's microsecond resolution.
int64_t wall_ns() noexcept;
// QEMU's use_rt_clock: whether CLOCK_MONOTONIC can be read.
bool monotonic_available() noexcept;

// Current time of a clock; an unknown type reads VIRTUAL, as QEMU does.
int64_t clock_now_ns(QEMUClockType type) noexcept;
bool clock_enabled(QEMUClockType type) noexcept;
// Enabling notifies the clock's lists; disabling waits for the clock's timer
// passes under way, so a timer callback of the clock must not disable it.
void clock_enable(QEMUClockType type, bool enabled) noexcept;
void clock_notify(QEMUClockType type) noexcept;
// ns to the soonest timer whose attributes are within attr_mask, over all
// lists of the clock (0 if due); -1 if none or the clock is disabled.
int64_t clock_deadline_ns_all(QEMUClockType type, int attr_mask) noexcept;
// Always true: qaio has no icount, which is what excludes VIRTUAL in QEMU.
bool clock_use_for_deadline(QEMUClockType type) noexcept;
// Adds @tl to its clock's registry, or removes it (list_new, list_free).
void clock_register_list(QEMUTimerList *tl, bool add) noexcept;
// A timer pass on a list of the clock: pass_begin is false, counting nothing,
// if the clock is disabled; else pass_end must follow the last callback.
bool pass_begin(QEMUClockType type) noexcept;
void pass_end(QEMUClockType type) noexcept;

// ns -> ms rounding up; negative stays -1; capped at INT32_MAX.
int timeout_ns_to_ms(int64_t ns) noexcept;
// ppoll with an ns timeout (negative: forever); ppoll's result and errno.
#ifdef _WIN32
// No ppoll: glib's poll with the timeout rounded up to ms, as QEMU does.
int poll_ns(GPollFD *fds, unsigned nfds, int64_t timeout) noexcept;
// The performance counter's ticks per second (QEMU's clock_freq).
int64_t counter_frequency() noexcept;
#else
int poll_ns(struct pollfd *fds, nfds_t nfds, int64_t timeout) noexcept;
#endif
// Timer slack of 1 ns for this thread and those it creates later (Linux), so
// that the poller's sleeps end at their deadline, not up to 50 us late.
void set_timer_slack() noexcept;

} // namespace qaio::timer
