// SPDX-License-Identifier: MIT
// Runtime knobs: QAIO_* environment variables, read once, for experiments
// without rebuilding.  Every knob is listed in README.md and qaio-bench --help.
//   QAIO_FDMON=poll|epoll|io_uring   force an fd monitor for new contexts
//   QAIO_POLL_MAX_NS=N               default adaptive-polling limit
//   QAIO_STATS=1                     print per-context counters at exit
//   QAIO_COROUTINE_STACK_SIZE=N      coroutine stack size (bytes; read once)
//   QAIO_THREAD_POOL_IDLE_MS=N       idle time before a surplus worker exits
//   QAIO_COMUTEX_BIAS=0              no lock-free CoMutex fast path
//   QAIO_TIMER_BIAS=0                no lock-free timer-list fast path
//   QAIO_IO_URING_DEFER=0            no DEFER_TASKRUN io_uring engine rings
#pragma once

#include <cstdint>
#include <optional>

namespace qaio::support {

// The value of an environment variable at the time of the call (nullptr if
// unset or empty).  Read per context creation, so tests can set knobs in a
// forked child before creating their context.
const char *knob(const char *name) noexcept;

// A knob parsed as a non-negative integer; nullopt if unset; a malformed
// value is fatal (an experiment with a typo must not silently run defaults).
std::optional<int64_t> knob_int(const char *name) noexcept;

bool knob_flag(const char *name) noexcept;

// Tells stderr that knob `name` is used as something other than what it
// says (raised to a minimum, saturated, rounded): "qaio: NAME=value: why".
void knob_adjusted(const char *name, const char *fmt, ...) noexcept
    __attribute__((format(printf, 2, 3)));

} // namespace qaio::support
