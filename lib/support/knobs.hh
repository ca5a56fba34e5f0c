// SPDX-License-Identifier: MIT
// Runtime knobs: QAIO_* environment variables, for experiments without
// rebuilding.  The table is lib/support/knobs.def (name, values, type,
// default, the one moment each is read, help); README.md and qaio-bench
// --help show it.
#pragma once

#include <cstdint>
#include <optional>

namespace qaio::support {

enum class knob {
#define QAIO_KNOB(id, name, values, type, default_, when, help) id,
#include "lib/support/knobs.def"
};

// "QAIO_..."
const char *knob_name(knob k) noexcept;

// A text knob's value (nullptr if unset or empty).
const char *knob_text(knob k) noexcept;

// An integer knob as a non-negative integer; nullopt if unset; a malformed
// value is fatal (an experiment with a typo must not silently run defaults).
std::optional<int64_t> knob_int(knob k) noexcept;

// A flag knob: set, and not "0".
bool knob_flag(knob k) noexcept;

// Knobs read "once" or at "load" (knobs.def) are parsed at the first of
// these calls and keep that value; the others read the environment at every call, so tests
// can set them in a forked child before creating their context.

// Tells stderr that a knob is used as something other than what it says
// (raised to a minimum, saturated, rounded): "qaio: NAME=value: why".
void knob_adjusted(knob k, const char *fmt, ...) noexcept
    __attribute__((format(printf, 2, 3)));

// QAIO_STATS's one exit report: `report` runs at exit with the others,
// the last added first (as atexit would order them).
void stats_report_at_exit(void (*report)()) noexcept;

} // namespace qaio::support
