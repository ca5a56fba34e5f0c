// SPDX-License-Identifier: MIT
// Stack mappings with a guard page, and the bounded dormant cache of ended
// coroutines that keeps them mapped for reuse (see stack_pool.hh).
//
// The cache is a plain list under a mutex: it is only touched when the QEMU
// pools in front of it miss or overflow, where a few uncontended atomic
// operations are nothing next to the mmap/mprotect/munmap they save.
#include "lib/coroutine/stack_pool.hh"

#include "lib/coroutine/coroutine.hh"
#include "lib/support/fatal.hh"
#include "lib/support/knobs.hh"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <sys/mman.h>
#include <unistd.h>

namespace qaio::coroutine {

namespace {

constexpr size_t min_stack_size = 16 * 1024;

std::mutex dormant_lock;
coroutine *dormant_head;  // guarded by dormant_lock
unsigned dormant_count;   // guarded by dormant_lock

std::atomic<uint64_t> n_mapped{0};
std::atomic<uint64_t> n_unmapped{0};
std::atomic<uint64_t> n_dormant_hits{0};
std::atomic<uint64_t> n_dormant_refused{0};

size_t read_stack_size() noexcept
{
    size_t page = page_size();
    auto knob = support::knob_int("QAIO_COROUTINE_STACK_SIZE");
    if (!knob) {
        return COROUTINE_STACK_SIZE;
    }
    auto wanted = static_cast<size_t>(*knob);
    size_t size = wanted < min_stack_size ? min_stack_size : wanted;
    size = (size + page - 1) / page * page;
    if (size != wanted) {
        support::knob_adjusted("QAIO_COROUTINE_STACK_SIZE",
                               "coroutine stacks are %zu bytes (%s)", size,
                               wanted < min_stack_size ? "the minimum" : "whole pages");
    }
    return size;
}

} // namespace

size_t page_size() noexcept
{
    static const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    return page;
}

size_t stack_size() noexcept
{
    static const size_t size = read_stack_size();
    return size;
}

char *map_stack(size_t *map_size) noexcept
{
    size_t guard = page_size();
    size_t total = guard + stack_size();
    // MAP_NORESERVE: a stack is mostly untouched; only what a coroutine
    // uses becomes resident, as with QEMU's stacks.
    void *p = mmap(nullptr, total, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    QAIO_CHECK(p != MAP_FAILED, "cannot map a %zu-byte coroutine stack: %s", total,
               std::strerror(errno));
    if (mprotect(p, guard, PROT_NONE) != 0) {
        QAIO_FATAL("cannot protect the guard page of coroutine stack %p: %s", p,
                   std::strerror(errno));
    }
    n_mapped.fetch_add(1, std::memory_order_relaxed);
    *map_size = total;
    return static_cast<char *>(p);
}

void unmap_stack(char *map, size_t map_size) noexcept
{
    QAIO_CHECK(munmap(map, map_size) == 0, "cannot unmap coroutine stack %p: %s",
               static_cast<void *>(map), std::strerror(errno));
    n_unmapped.fetch_add(1, std::memory_order_relaxed);
}

coroutine *dormant_take() noexcept
{
    std::lock_guard<std::mutex> guard(dormant_lock);
    coroutine *co = dormant_head;
    if (co) {
        dormant_head = co->dormant_next_;
        dormant_count--;
        n_dormant_hits.fetch_add(1, std::memory_order_relaxed);
    }
    return co;
}

bool dormant_put(coroutine *co) noexcept
{
    std::lock_guard<std::mutex> guard(dormant_lock);
    if (dormant_count >= dormant_cap) {
        n_dormant_refused.fetch_add(1, std::memory_order_relaxed);
        return false;
    }
    co->dormant_next_ = dormant_head;
    dormant_head = co;
    dormant_count++;
    return true;
}

stack_stats stack_counters() noexcept
{
    return {n_mapped.load(std::memory_order_relaxed),
            n_unmapped.load(std::memory_order_relaxed),
            n_dormant_hits.load(std::memory_order_relaxed),
            n_dormant_refused.load(std::memory_order_relaxed)};
}

} // namespace qaio::coroutine
