// SPDX-License-Identifier: MIT
// The four QEMU clocks: how each reads its time, whether it is enabled, and
// the registry of every timer list created on it.  The registry is what lets
// clock-wide operations (notify, enable, deadline over all lists) reach the
// lists of every AioContext and of the main loop.  Disabling a clock waits
// for timer passes already under way on its lists; a pass brackets itself
// with pass_begin/pass_end for that.  Also here: the ns/ms timeout helpers
// and qemu_poll_ns's ppoll, which belong to "deadline computation".
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
// True if CLOCK_MONOTONIC can be read (the value of QEMU's use_rt_clock).
bool monotonic_available() noexcept;

// Current time of a clock; an unknown type reads VIRTUAL, as QEMU does.
int64_t clock_now_ns(QEMUClockType type) noexcept;

bool clock_enabled(QEMUClockType type) noexcept;
// enabled=true notifies every list of the clock if it was disabled;
// enabled=false returns only once no timer pass of the clock is running, so
// it must not be called from a timer callback of that clock.
void clock_enable(QEMUClockType type, bool enabled) noexcept;
void clock_notify(QEMUClockType type) noexcept;
// Soonest deadline (ns from now, 0 if due) over all lists of the clock,
// counting only timers whose attributes are a subset of attr_mask; -1 if
// there is none or the clock is disabled.
int64_t clock_deadline_ns_all(QEMUClockType type, int attr_mask) noexcept;
// Always true: qaio has no icount, which is what excludes VIRTUAL in QEMU.
bool clock_use_for_deadline(QEMUClockType type) noexcept;

// Registry of the lists of a clock; called by list_new / list_free.
void clock_register_list(QEMUTimerList *tl) noexcept;
void clock_unregister_list(QEMUTimerList *tl) noexcept;

// A timer pass (running callbacks) on a list of the clock.  pass_begin
// returns false, and counts nothing, if the clock is disabled; otherwise the
// caller must call pass_end when its last callback has returned.
bool pass_begin(QEMUClockType type) noexcept;
void pass_end(QEMUClockType type) noexcept;

// ns -> ms rounding up; negative stays -1; capped at INT32_MAX.
int timeout_ns_to_ms(int64_t ns) noexcept;
// ppoll with an ns timeout; negative waits forever.  Returns ppoll's result
// (-1 with errno set on failure, as QEMU's callers expect).
#ifdef _WIN32
// Windows has no ppoll: glib's poll, the timeout rounded up to ms as QEMU's
// Windows build does.
int poll_ns(GPollFD *fds, unsigned nfds, int64_t timeout) noexcept;
// The performance counter's ticks per second (QEMU's clock_freq).
int64_t counter_frequency() noexcept;
#else
int poll_ns(struct pollfd *fds, nfds_t nfds, int64_t timeout) noexcept;
#endif
// Shrinks the calling thread's timer slack to 1 ns (Linux), so that sleeps
// of the poller end at their deadline rather than up to 50 us late.  The
// slack is per thread and inherited by threads created afterwards.
void set_timer_slack() noexcept;

} // namespace qaio::timer
