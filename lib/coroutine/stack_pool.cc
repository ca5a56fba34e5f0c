// SPDX-License-Identifier: MIT
// The stack size and the dormant cache (stack_pool.hh).  The cache is a list
// under a mutex: only touched when the QEMU pools miss or overflow, where the
// lock is nothing next to the system calls it saves.
#include "lib/coroutine/stack_pool.hh"

#include "lib/coroutine/coroutine.hh"
#include "lib/support/knobs.hh"

#include <atomic>
#include <mutex>
#ifdef _WIN32
#include <windows.h>
#else
#include <unistd.h>
#endif

namespace qaio::coroutine {

namespace {

constexpr size_t min_stack_size = 16 * 1024;

std::mutex dormant_lock;
coroutine *dormant_head;  // guarded by dormant_lock
unsigned dormant_count;   // guarded by dormant_lock

std::atomic<uint64_t> n_dormant_hits{0};
std::atomic<uint64_t> n_dormant_refused{0};

} // namespace

size_t page_size() noexcept
{
#ifdef _WIN32
    static const size_t page = [] {
        SYSTEM_INFO info;
        GetSystemInfo(&info);
        return size_t(info.dwPageSize);
    }();
#else
    static const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
#endif
    return page;
}

size_t stack_size() noexcept
{
    static const size_t size = [] {
        size_t page = page_size();
        auto knob = support::knob_int(support::knob::coroutine_stack_size);
        if (!knob) {
            return size_t(COROUTINE_STACK_SIZE);
        }
        auto wanted = static_cast<size_t>(*knob);
        size_t size = wanted < min_stack_size ? min_stack_size : wanted;
        size = (size + page - 1) / page * page;
        if (size != wanted) {
            support::knob_adjusted(support::knob::coroutine_stack_size,
                                   "coroutine stacks are %zu bytes (%s)", size,
                                   wanted < min_stack_size ? "the minimum" : "whole pages");
        }
        return size;
    }();
    return size;
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
    return {n_dormant_hits.load(std::memory_order_relaxed),
            n_dormant_refused.load(std::memory_order_relaxed)};
}

} // namespace qaio::coroutine
