// SPDX-License-Identifier: MIT
// Per-context counters for QAIO_STATS=1; only the home thread increments
// them, except the notify counts (relaxed atomics).
#pragma once

#include <atomic>
#include <cstdint>

namespace qaio::loop {

struct stats {
    uint64_t aio_poll_calls = 0;
    uint64_t blocking_waits = 0;
    uint64_t bhs_run = 0;
    uint64_t fd_events = 0;
    uint64_t poll_hits = 0;
    uint64_t gsource_dispatches = 0;
    std::atomic<uint64_t> notify_writes{0};
    std::atomic<uint64_t> notify_writes_avoided{0};
    uint64_t fdmon_fallbacks = 0;
    uint64_t fdmon_upgrades = 0;
};

class context;

// Hot paths test this before touching counters.
inline std::atomic<bool> stats_on{false};
inline bool stats_enabled() noexcept { return stats_on.load(std::memory_order_relaxed); }

void stats_register(context *ctx) noexcept;
// Prints the context's counters (if registered) and forgets it.
void stats_unregister(context *ctx) noexcept;

} // namespace qaio::loop
