// SPDX-License-Identifier: MIT
// Where coroutine stacks live: slots of [guard page][stack] cut from shared
// mappings ("slabs"), or one mapping per stack where the kernel cannot guard
// a page inside a mapping.
//
// Why: an mprotect() guard splits its mapping, two map entries per stack, so
// vm.max_map_count (65530) stops a process near 30 000 live coroutines.
// MADV_GUARD_INSTALL (Linux 6.13) puts a faulting marker in the page table
// instead: a slab of 64 stacks stays one entry, and a million coroutines fit.
// Where the kernel refuses it, stderr says so once.
#pragma once

#include <cstddef>
#include <cstdint>

namespace qaio::coroutine {

// `size_` bytes from `map_`, the guard page first; `slab_` null: own mapping.
struct stack_slot {
    char *map_;
    size_t size_;
    void *slab_;
};

// stack_size() bytes above a guard page; aborts when refused the memory.
stack_slot take_stack() noexcept;

void give_back_stack(const stack_slot &s) noexcept;

// Counters for QAIO_STATS (relaxed).
struct slab_stats {
    uint64_t stacks_taken;
    uint64_t stacks_given_back;
    uint64_t slabs_mapped;
    uint64_t slabs_unmapped;
};
slab_stats slab_counters() noexcept;

} // namespace qaio::coroutine
