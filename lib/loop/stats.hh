// SPDX-License-Identifier: MIT
// Per-context counters for QAIO_STATS=1.  Only the home thread increments
// them, except eventfd writes avoided by aio_notify, which any thread counts
// (relaxed atomics: statistics, not synchronization).
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

// Set once a context is created with QAIO_STATS=1; hot paths test it before
// touching shared counters.
inline std::atomic<bool> stats_on{false};
inline bool stats_enabled() noexcept { return stats_on.load(std::memory_order_relaxed); }

// Registers a context for the exit report when QAIO_STATS is set.
void stats_register(context *ctx) noexcept;
// Prints the context's counters (if QAIO_STATS is set) and forgets it.
void stats_unregister(context *ctx) noexcept;

} // namespace qaio::loop
