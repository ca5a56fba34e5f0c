// SPDX-License-Identifier: MIT
// Coroutine stacks on Windows (stack_slab.hh's interface): one reservation
// per stack, its lowest page a no-access guard.  Windows has no cheap guard
// inside a shared mapping (the reason for Linux's slabs), and its address
// space is not capped by a map count.  The stack is committed whole, as
// Boost's fcontext tells Windows (the TIB's stack limit) that all of it is
// usable; pages still cost memory only once touched.
#include "lib/coroutine/stack_slab.hh"

#include "lib/coroutine/stack_pool.hh"
#include "lib/support/fatal.hh"

#include <atomic>
#include <windows.h>

namespace qaio::coroutine {

namespace {

std::atomic<uint64_t> n_taken{0};
std::atomic<uint64_t> n_given_back{0};

} // namespace

stack_slot take_stack() noexcept
{
    size_t guard = page_size();
    size_t total = guard + stack_size();
    void *p = VirtualAlloc(nullptr, total, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    QAIO_CHECK(p, "cannot allocate a %llu-byte coroutine stack (Windows error %lu)",
               static_cast<unsigned long long>(total), GetLastError());
    DWORD old;
    QAIO_CHECK(VirtualProtect(p, guard, PAGE_NOACCESS, &old),
               "cannot protect the guard page of coroutine stack %p (Windows error %lu)", p,
               GetLastError());
    n_taken.fetch_add(1, std::memory_order_relaxed);
    return {static_cast<char *>(p), total, nullptr};
}

void give_back_stack(const stack_slot &s) noexcept
{
    n_given_back.fetch_add(1, std::memory_order_relaxed);
    QAIO_CHECK(VirtualFree(s.map_, 0, MEM_RELEASE),
               "cannot free coroutine stack %p (Windows error %lu)",
               static_cast<void *>(s.map_), GetLastError());
}

slab_stats slab_counters() noexcept
{
    return {n_taken.load(std::memory_order_relaxed),
            n_given_back.load(std::memory_order_relaxed), 0, 0};
}

} // namespace qaio::coroutine
