// SPDX-License-Identifier: MIT
// Runtime knobs: QAIO_* environment variables; the table is knobs.def.
#pragma once

#include <cstdint>
#include <optional>

namespace qaio::support {

enum class knob {
#define QAIO_KNOB(id, name, values, type, default_, when, help) id,
#include "lib/support/knobs.def"
};

// Knobs other than "once" and "load" ones read the environment at every call
// (tests set them in a forked child).  nullptr if unset or empty.
const char *knob_text(knob k) noexcept;
// nullopt if unset; a malformed value is fatal (a typo must not silently
// run defaults).
std::optional<int64_t> knob_int(knob k) noexcept;
bool knob_flag(knob k) noexcept;

// "qaio: NAME=value: why", for a knob raised, saturated or rounded.
void knob_adjusted(knob k, const char *fmt, ...) noexcept __attribute__((format(printf, 2, 3)));

// Exit reports run last added first, as atexit would.
void stats_report_at_exit(void (*report)()) noexcept;

} // namespace qaio::support
