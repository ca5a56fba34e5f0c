// SPDX-License-Identifier: MIT
// Coroutine stack size, and the dormant cache: ended coroutines (entry loop
// suspended) kept whole for the next qemu_coroutine_new(), which then costs
// no system call nor new fiber.  Global, as coroutines created on one thread
// and ended on another meet here; bounded, so that with the bounded QEMU
// pools in front the mappings stay far below vm.max_map_count.
#pragma once

#include <cstddef>
#include <cstdint>

namespace qaio::coroutine {

struct coroutine;

// 2048 mappings at most without slabs; more than a 1000-deep nesting needs.
constexpr unsigned dormant_cap = 1024;

// QAIO_COROUTINE_STACK_SIZE (whole pages, at least 16 KiB; stderr says when
// adjusted), else COROUTINE_STACK_SIZE (1 MiB).  Read at the first coroutine:
// pooled coroutines keep their stacks, so a later value could not apply.
size_t stack_size() noexcept;

size_t page_size() noexcept;

// A dormant coroutine, or nullptr when the cache is empty.
coroutine *dormant_take() noexcept;
// Keeps `co` for later; false when the cache is full.
bool dormant_put(coroutine *co) noexcept;

// Counters for QAIO_STATS (relaxed; slow paths only).
struct stack_stats {
    uint64_t dormant_hits;
    uint64_t dormant_refused;
};
stack_stats stack_counters() noexcept;

} // namespace qaio::coroutine
