// SPDX-License-Identifier: MIT
// Where coroutine stacks live: slots of [guard page][stack] cut from large
// shared mappings ("slabs"), or, on kernels that cannot guard a page inside
// a mapping, one mapping per stack.
//
// Why slabs: a guard page made with mprotect() splits its mapping, so every
// stack costs two entries of the kernel's map count (vm.max_map_count, 65530
// by default) and a process stops near 30 000 live coroutines.  Linux 6.13
// added MADV_GUARD_INSTALL, which puts a guard marker in the page table
// instead: the page faults on any access as a PROT_NONE page would, but the
// mapping stays whole, so a slab of many stacks is one entry (adjacent slabs
// even merge) and a million live coroutines fit.  Where the kernel refuses
// the advice the old scheme serves, and a line on stderr says so once.
#pragma once

#include <cstddef>
#include <cstdint>

namespace qaio::coroutine {

// One stack: `size_` bytes from `map_`, the guard page first.  `slab_` is the
// slab the slot belongs to, or null for a stack with a mapping of its own.
struct stack_slot {
    char *map_;
    size_t size_;
    void *slab_;
};

// A stack of stack_size() bytes above a guard page; aborts when the kernel
// refuses the memory.
stack_slot take_stack() noexcept;

// Gives a stack back: its memory is released (a slot's pages are discarded,
// a slab nobody uses any more is unmapped, a stack of its own is unmapped).
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
