// SPDX-License-Identifier: MIT
// stack_slab.hh's slabs and fallback.  A slab is one MAP_NORESERVE mapping
// of slab_slots slots, each slot's first page a guard marker installed once
// (discarding pages keeps markers, even inside the range).  Slabs with a
// free slot sit on a list under a mutex: a slot is taken and given back at
// most once per coroutine lifetime, behind the QEMU pools and the dormant
// cache, next to far costlier system calls.
//
// Discards are lazy and batched, as each one is a TLB flush.  A freed slot
// stays dirty (pages resident) and is reused first; a slab left empty is
// unmapped whole, except one kept for the next burst; once the dirty free
// slots of slabs in use pass dirty_cap, they are discarded, one madvise()
// per run of adjacent slots.  Memory so follows the live coroutines up to
// dirty_cap stacks.
#include "lib/coroutine/stack_slab.hh"

#include "lib/coroutine/stack_pool.hh"
#include "qemu/queue.h"
#include "lib/support/fatal.hh"

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <new>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102 // Linux 6.13 uapi
#endif

namespace qaio::coroutine {

namespace {

// Linux 6.15 uapi (linux/pidfd.h): the calling thread, as a pidfd.
constexpr int pidfd_self_thread = -10000;

// One bit each in a word: 64 MiB with 1 MiB stacks, so a million
// coroutines need some 16 000 slabs and at most as many map entries.
constexpr unsigned slab_slots = 64;
constexpr uint64_t all_slots = ~uint64_t{0};
constexpr unsigned empty_slabs_kept = 1;
// Dirty free slots tolerated in slabs in use: the dormant cache's size.
constexpr unsigned dirty_cap = dormant_cap;

struct slab {
    char *base_;
    QLIST_ENTRY(slab) open_;  // on the open list while it has a free slot
    QLIST_ENTRY(slab) all_;   // every slab, full ones too (leak checkers)
    uint64_t free_;           // bit i: slot i is free
    uint64_t dirty_;          // bit i: slot i may hold resident pages
};

std::mutex slabs_lock;
QLIST_HEAD(, slab) open_slabs;  // guarded by slabs_lock
QLIST_HEAD(, slab) all_slabs;   // guarded by slabs_lock
unsigned n_empty;            // guarded by slabs_lock: open slabs with no slot taken
unsigned n_dirty_free;       // guarded by slabs_lock: free dirty slots, all slabs

std::atomic<uint64_t> n_taken{0};
std::atomic<uint64_t> n_given_back{0};
std::atomic<uint64_t> n_slabs_mapped{0};
std::atomic<uint64_t> n_slabs_unmapped{0};

size_t slot_size() noexcept
{
    return page_size() + stack_size();
}

bool probe_guard_markers() noexcept
{
    size_t page = page_size();
    void *p = mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        return false;
    }
    bool ok = madvise(p, page, MADV_GUARD_INSTALL) == 0;
    int err = errno;
    munmap(p, 2 * page);
    if (!ok) {
        std::fprintf(stderr, "qaio: the kernel refuses MADV_GUARD_INSTALL (%s; Linux 6.13 has "
                     "it): each coroutine stack gets a mapping of its own, and "
                     "vm.max_map_count caps live coroutines at about half its value\n",
                     std::strerror(err));
    }
    return ok;
}

// One process_madvise() for a slab's markers where the kernel takes
// PIDFD_SELF_THREAD (Linux 6.15), else one madvise() per slot.
void install_guards(char *base) noexcept
{
    size_t slot = slot_size(), page = page_size();
#if defined(SYS_process_madvise)
    // Refused once (older kernel, valgrind), refused for good.
    static std::atomic<bool> batch_refused{false};
    if (!batch_refused.load(std::memory_order_relaxed)) {
        iovec guards[slab_slots];
        for (unsigned i = 0; i < slab_slots; i++) {
            guards[i] = {base + i * slot, page};
        }
        long done = syscall(SYS_process_madvise, pidfd_self_thread, guards, slab_slots,
                            MADV_GUARD_INSTALL, 0);
        if (done == long(slab_slots * page)) {
            return;
        }
        if (done < 0) {
            batch_refused.store(true, std::memory_order_relaxed);
        }
    }
#endif
    // Also after a partial success: installing a marker twice is harmless.
    for (unsigned i = 0; i < slab_slots; i++) {
        char *guard = base + i * slot;
        if (madvise(guard, page, MADV_GUARD_INSTALL) != 0) {
            QAIO_FATAL("cannot install the guard page of coroutine stack %p: %s",
                       static_cast<void *>(guard), std::strerror(errno));
        }
    }
}

slab *map_slab() noexcept
{
    size_t slot = slot_size();
    size_t total = slot * slab_slots;
    // MAP_NORESERVE: only the pages a coroutine touches become resident.
    void *p = mmap(nullptr, total, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    QAIO_CHECK(p != MAP_FAILED, "cannot map a %zu-byte slab of coroutine stacks: %s",
               total, std::strerror(errno));
    // A stack touches a page or two, not a 2 MiB huge page.
    (void)madvise(p, total, MADV_NOHUGEPAGE);
    auto *s = new (std::nothrow) slab{};
    QAIO_CHECK(s, "out of memory allocating a coroutine stack slab");
    s->base_ = static_cast<char *>(p);
    install_guards(s->base_);
    s->free_ = all_slots;
    n_slabs_mapped.fetch_add(1, std::memory_order_relaxed);
    return s;
}

// One call per run of adjacent slots in `runs` (off the free set, so
// unused meanwhile), the guard pages inside a run included (markers stay).
void discard_slots(slab *s, uint64_t runs) noexcept
{
    size_t slot = slot_size();
    while (runs) {
        unsigned first = unsigned(__builtin_ctzll(runs));
        uint64_t from_first = runs >> first;
        unsigned len = ~from_first ? unsigned(__builtin_ctzll(~from_first)) : 64 - first;
        char *start = s->base_ + first * slot + page_size();
        (void)madvise(start, len * slot - page_size(), MADV_DONTNEED);
        runs &= len + first >= 64 ? 0 : ~uint64_t{0} << (first + len);
    }
}

// Discards dirty free slots of open slabs down to half the cap; drops the
// held lock around each slab's discards.  Skips the kept empty slab.
void purge_dirty(std::unique_lock<std::mutex> &guard) noexcept
{
    for (slab *s = QLIST_FIRST(&open_slabs); s && n_dirty_free > dirty_cap / 2;
         s = QLIST_NEXT(s, open_)) {
        uint64_t runs = s->free_ & s->dirty_;
        if (!runs || s->free_ == all_slots) {
            continue;
        }
        // Off the free set meanwhile, so the slab cannot empty and unmap.
        s->free_ &= ~runs;
        s->dirty_ &= ~runs;
        n_dirty_free -= unsigned(__builtin_popcountll(runs));
        if (s->free_ == 0) {
            QLIST_REMOVE(s, open_);
        }
        guard.unlock();
        discard_slots(s, runs);
        guard.lock();
        // Unlinked above or by a taker since: back at the list's head.
        if (s->free_ == 0) {
            QLIST_INSERT_HEAD(&open_slabs, s, open_);
        }
        s->free_ |= runs;
    }
}

stack_slot take_from_slab() noexcept
{
    std::unique_lock<std::mutex> guard(slabs_lock);
    while (QLIST_EMPTY(&open_slabs)) {
        // Mapped without the lock (a slab opened meanwhile is harmless).
        guard.unlock();
        slab *fresh = map_slab();
        guard.lock();
        QLIST_INSERT_HEAD(&all_slabs, fresh, all_);
        QLIST_INSERT_HEAD(&open_slabs, fresh, open_);
        n_empty++;
    }
    slab *s = QLIST_FIRST(&open_slabs);
    if (s->free_ == all_slots) {
        n_empty--;
    }
    // A dirty slot first: its pages are resident already.
    uint64_t dirty = s->free_ & s->dirty_;
    unsigned idx = unsigned(__builtin_ctzll(dirty ? dirty : s->free_));
    uint64_t bit = uint64_t{1} << idx;
    if (dirty) {
        n_dirty_free--;
    }
    s->free_ &= ~bit;
    s->dirty_ |= bit;
    if (s->free_ == 0) {
        QLIST_REMOVE(s, open_);
    }
    return {s->base_ + idx * slot_size(), slot_size(), s};
}

void give_back_to_slab(const stack_slot &st) noexcept
{
    auto *s = static_cast<slab *>(st.slab_);
    uint64_t bit = uint64_t{1} << ((st.map_ - s->base_) / st.size_);
    slab *unmap = nullptr;
    std::unique_lock<std::mutex> guard(slabs_lock);
    if (s->free_ == 0) {
        QLIST_INSERT_HEAD(&open_slabs, s, open_);
    }
    s->free_ |= bit;
    n_dirty_free++;
    if (s->free_ == all_slots) {
        if (n_empty >= empty_slabs_kept) {
            QLIST_REMOVE(s, open_);
            QLIST_REMOVE(s, all_);
            n_dirty_free -= unsigned(__builtin_popcountll(s->dirty_));
            unmap = s;
        } else {
            n_empty++;
        }
    }
    if (n_dirty_free > dirty_cap) {
        purge_dirty(guard);
    }
    guard.unlock();
    if (unmap) {
        QAIO_CHECK(munmap(unmap->base_, slot_size() * slab_slots) == 0,
                   "cannot unmap coroutine stack slab %p: %s",
                   static_cast<void *>(unmap->base_), std::strerror(errno));
        delete unmap;
        n_slabs_unmapped.fetch_add(1, std::memory_order_relaxed);
    }
}

stack_slot map_own_stack() noexcept
{
    size_t guard = page_size();
    size_t total = slot_size();
    void *p = mmap(nullptr, total, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    QAIO_CHECK(p != MAP_FAILED, "cannot map a %zu-byte coroutine stack: %s", total,
               std::strerror(errno));
    if (mprotect(p, guard, PROT_NONE) != 0) {
        QAIO_FATAL("cannot protect the guard page of coroutine stack %p: %s", p,
                   std::strerror(errno));
    }
    return {static_cast<char *>(p), total, nullptr};
}

} // namespace

stack_slot take_stack() noexcept
{
    static const bool in_slabs = probe_guard_markers();
    n_taken.fetch_add(1, std::memory_order_relaxed);
    return in_slabs ? take_from_slab() : map_own_stack();
}

void give_back_stack(const stack_slot &s) noexcept
{
    n_given_back.fetch_add(1, std::memory_order_relaxed);
    if (s.slab_) {
        give_back_to_slab(s);
        return;
    }
    QAIO_CHECK(munmap(s.map_, s.size_) == 0, "cannot unmap coroutine stack %p: %s",
               static_cast<void *>(s.map_), std::strerror(errno));
}

slab_stats slab_counters() noexcept
{
    return {n_taken.load(std::memory_order_relaxed), n_given_back.load(std::memory_order_relaxed),
            n_slabs_mapped.load(std::memory_order_relaxed),
            n_slabs_unmapped.load(std::memory_order_relaxed)};
}

} // namespace qaio::coroutine
