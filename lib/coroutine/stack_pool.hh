// SPDX-License-Identifier: MIT
// Coroutine stacks: how big they are (where they live is stack_slab.hh: a
// guard page below every stack, so an overflow faults instead of corrupting
// the neighbour), and the dormant cache that lets ended coroutines keep their
// stack for the next qemu_coroutine_new() instead of unmapping it.
//
// The cache holds whole coroutines whose entry loop is suspended, so taking
// one costs neither a system call nor a new fiber.  It is global (coroutines
// created on one thread and ended on another meet here) and bounded, which,
// with the bounded QEMU pools in front of it, bounds the number of mappings
// a process keeps whatever its threads do (coroutines created on one thread
// and freed on another must not grow the mappings past vm.max_map_count).
#pragma once

#include <cstddef>
#include <cstdint>

namespace qaio::coroutine {

struct coroutine;

// Most dormant coroutines kept: 1024 stacks (2048 mappings where stacks do
// not share slabs, far below the kernel's default vm.max_map_count of
// 65530), more than a 1000-deep nesting needs beyond what the QEMU pools
// keep.
constexpr unsigned dormant_cap = 1024;

// The stack size of every coroutine: QAIO_COROUTINE_STACK_SIZE if set
// (bytes, rounded up to whole pages, at least 16 KiB; stderr says when the
// value is adjusted), else COROUTINE_STACK_SIZE (1 MiB).  Read once, at the
// process's first coroutine: pooled coroutines keep their stacks, so a
// later value could not apply to the coroutines created afterwards anyway.
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
