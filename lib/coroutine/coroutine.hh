// SPDX-License-Identifier: MIT
// The coroutine core behind qemu/coroutine.h and coroutine_int.h.
//
// A coroutine is one stack slot (stack_slab.hh): guard page, stack, and
// this object at the top of the stack, so a coroutine costs no other
// allocation.  Each thread has a "leader" standing for its original stack:
// qemu_coroutine_self() outside coroutines, the caller of what it enters.
// Ended coroutines go to QEMU's pools (per-thread and global release pool,
// 7.2's bounds), then to the dormant cache of mapped stacks
// (stack_pool.hh), then are unmapped.
//
// TLS is never reused after a switch: a coroutine may resume elsewhere.
#pragma once

#include "qemu/osdep.h"
#include "qemu/coroutine_int.h"

#include "lib/coroutine/stack_slab.hh"
#include "lib/coroutine/switch.hh"

#include <cstddef>
#include <type_traits>

// Hidden, as all of lib/; said here so that the compiler binds these
// locally (the assembly calls them directly).
#pragma GCC visibility push(hidden)

// Names for switch_x86_64.S; Windows builds no assembly, and its emulated
// thread-locals take no assembler name.
#ifdef _WIN32
#define QAIO_ASM_NAME(name)
#else
#define QAIO_ASM_NAME(name) asm(name)
#endif

namespace qaio::coroutine {

struct alignas(64) coroutine {
    Coroutine c_;             // first: a Coroutine * is a coroutine *
    switch_state sw_;         // where it resumes while suspended
    fiber_state fiber_;       // sanitizer and valgrind bookkeeping
    stack_slot stack_;        // guard page, then stack; map_ null: a leader
    coroutine *dormant_next_; // link in the dormant cache
    bool started_;            // its stack has run code (the entry loop)
};

static_assert(std::is_standard_layout_v<coroutine>);
static_assert(offsetof(coroutine, c_) == 0);
static_assert(alignof(coroutine) >= 4, "actions travel in a pointer's low bits");

inline coroutine *of(Coroutine *c) noexcept
{
    return reinterpret_cast<coroutine *>(c);
}

// ---- qemu/coroutine.h ------------------------------------------------------

Coroutine *create(CoroutineEntry *entry, void *opaque) noexcept;

// Runs `co` until it yields or ends, then the coroutines it woke,
// depth-first.  Aborts if `co` is scheduled or already entered.
void enter(AioContext *ctx, Coroutine *co) noexcept QAIO_ASM_NAME("qaio.coroutine.enter");
// enter() in this thread's current context.
void enter_here(Coroutine *co) noexcept QAIO_ASM_NAME("qaio.coroutine.enter_here");

void yield() noexcept QAIO_ASM_NAME("qaio.coroutine.yield");

// Never null: the thread's leader outside coroutines.
Coroutine *self() noexcept;

// The CoMutex fast path needs self() and the thread's slot together.
struct self_and_lock_slot {
    Coroutine *self;
    void *lock_slot;
};
self_and_lock_slot self_with_lock_slot() noexcept;
void set_lock_slot(void *slot) noexcept;

bool in_coroutine() noexcept;

// `co` has a caller: it runs, or waits for a coroutine it entered.
inline bool entered(const Coroutine *co) noexcept
{
    return co->caller != nullptr;
}

// Other threads may be recording a new one.
inline AioContext *context_of(Coroutine *co) noexcept
{
    return __atomic_load_n(&co->ctx, __ATOMIC_RELAXED);
}

void inc_pool_size(unsigned n) noexcept;
void dec_pool_size(unsigned n) noexcept;

// ---- coroutine_int.h: the lower layer ----------------------------------------

Coroutine *make() noexcept;
// To the dormant cache, or unmapped.
void destroy(Coroutine *co) noexcept;
// Returns the action `from` is resumed with.
int switch_to(Coroutine *from, Coroutine *to, int action) noexcept
    QAIO_ASM_NAME("qaio.coroutine.switch_to");

// ---- the thread's state ---------------------------------------------------------
namespace detail {

struct thread_state {
    coroutine leader_;        // the thread's own stack
    coroutine *current_;      // running coroutine; null or &leader_ outside
    Coroutine *pool_;         // this thread's free list (pool_next)
    unsigned pool_size_;
    void *lock_slot_;         // the thread's CoMutex fast-path slot (colock)
};

// Null until the thread first touches coroutines.  Initial-exec: one
// %fs-relative access, not a __tls_get_addr call.  Never read across a switch.
extern thread_local thread_state *tls_thread QAIO_ASM_NAME("qaio.coroutine.tls_thread")
    __attribute__((tls_model("initial-exec")));

} // namespace detail

// ---- the steps the backends compose -------------------------------------------
// Around backend_switch() in coroutine.cc, or in switch_x86_64.S's assembly.

// The state of one enter() across its switches, on its stack.
struct enter_frame {
    coroutine *self_;      // the enterer: a coroutine or the thread's leader
    AioContext *ctx_;      // recorded in every coroutine entered
    Coroutine *to_;        // being entered
    Coroutine *pending_;   // to run next, linked through co_queue_next
};

// Checks and prepares `co`, makes it current; the caller then switches
// f->self_ -> result with COROUTINE_ENTER.
coroutine *enter_start(AioContext *ctx, Coroutine *co, enter_frame *f) noexcept
    QAIO_ASM_NAME("qaio.coroutine.enter_start");
coroutine *enter_start_here(Coroutine *co, enter_frame *f) noexcept
    QAIO_ASM_NAME("qaio.coroutine.enter_start_here");
// After f->to_ came back: recycles it if it ended, queues what it woke;
// returns the next coroutine to switch to, or nullptr when done.
coroutine *enter_resumed(enter_frame *f, int action) noexcept
    QAIO_ASM_NAME("qaio.coroutine.enter_resumed");

// Makes the caller current; aborts outside coroutines.
struct switch_pair {
    coroutine *from_;
    coroutine *to_;
};
switch_pair yield_start() noexcept QAIO_ASM_NAME("qaio.coroutine.yield_start");

void switch_start(coroutine *to) noexcept QAIO_ASM_NAME("qaio.coroutine.switch_start");

coroutine *running() noexcept;

} // namespace qaio::coroutine

#pragma GCC visibility pop
