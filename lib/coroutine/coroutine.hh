// SPDX-License-Identifier: MIT
// The coroutine core behind qemu/coroutine.h and coroutine_int.h: a
// coroutine object, the thread's view of which one is running, the pools
// that recycle them, and the enter/yield protocol.
//
// A coroutine is one stack slot (stack_slab.hh): a guard page, then the
// stack, with this object at the very top of the stack (so a new coroutine
// costs no allocation besides its slot, and a pooled one keeps both in one
// place).  The C
// struct Coroutine is the first member, so the pointer callers hold is the
// object itself.  Each thread has a "leader", a coroutine without a stack of
// its own that stands for the thread's original stack: it is what
// qemu_coroutine_self() returns outside coroutines, and the caller of the
// coroutines that thread enters.
//
// Lifetimes, from the outside in: the QEMU pools (a capped free list per
// thread and a global release pool, with QEMU 7.2's bounds) recycle ended
// coroutines with their stacks; what they refuse goes to the dormant cache
// (stack_pool.hh), which keeps a bounded number of stacks, still mapped and
// with their guard page, for qemu_coroutine_new(); only what the cache
// refuses is unmapped.
//
// Thread-local state is reached through out-of-line accessors only, and never
// reused after a switch: a coroutine may be resumed by another thread, and a
// compiler that kept a thread-local address across the switch would read the
// old thread's values (a coroutine moved between threads sees stale TLS).
#pragma once

#include "qemu/osdep.h"
#include "qemu/coroutine_int.h"

#include "lib/coroutine/stack_slab.hh"
#include "lib/coroutine/switch.hh"

#include <cstddef>
#include <type_traits>

// Hidden, as everything in lib/ is; said here too so that the compiler knows
// these functions bind locally (the backend's assembly calls them directly).
#pragma GCC visibility push(hidden)

// The names switch_x86_64.S knows these symbols by.  Windows builds no
// assembly, and its emulated thread-locals cannot take an assembler name.
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

// A coroutine that will run entry(opaque) when first entered, from this
// thread's pool, the release pool, or qemu_coroutine_new().
Coroutine *create(CoroutineEntry *entry, void *opaque) noexcept;

// qemu_aio_coroutine_enter: runs `co` (recording `ctx` as its context) until
// it yields or ends, then the coroutines it woke, depth-first.  Aborts if
// `co` is scheduled or already entered.
void enter(AioContext *ctx, Coroutine *co) noexcept QAIO_ASM_NAME("qaio.coroutine.enter");
// qemu_coroutine_enter: enter() in this thread's current context.
void enter_here(Coroutine *co) noexcept QAIO_ASM_NAME("qaio.coroutine.enter_here");

// Back to whoever entered the running coroutine; aborts outside coroutines.
void yield() noexcept QAIO_ASM_NAME("qaio.coroutine.yield");

// The running coroutine, or the thread's leader (never null).
Coroutine *self() noexcept;

// self() and the CoMutex fast-path slot of the thread (null until
// set_lock_slot), read together: the lock's fast path needs both.
struct self_and_lock_slot {
    Coroutine *self;
    void *lock_slot;
};
self_and_lock_slot self_with_lock_slot() noexcept;
void set_lock_slot(void *slot) noexcept;

// True inside a coroutine (one that has a caller).
bool in_coroutine() noexcept;

// `co` has a caller: it runs, or waits for a coroutine it entered.
inline bool entered(const Coroutine *co) noexcept
{
    return co->caller != nullptr;
}

// The context `co` last ran in; other threads may be recording a new one.
inline AioContext *context_of(Coroutine *co) noexcept
{
    return __atomic_load_n(&co->ctx, __ATOMIC_RELAXED);
}

void inc_pool_size(unsigned n) noexcept;
void dec_pool_size(unsigned n) noexcept;

// ---- coroutine_int.h: the lower layer ----------------------------------------

// A fresh coroutine (zeroed Coroutine fields) with its stack.
Coroutine *make() noexcept;
// Gives a coroutine back for good: to the dormant cache, or unmapped.
void destroy(Coroutine *co) noexcept;
// Makes `to` current and switches to it; returns the action `from` is
// resumed with.
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
// %fs-relative access instead of a __tls_get_addr call, 8 bytes of static
// TLS.  Read only as coroutine.cc's accessors and the fcontext backend's
// assembly do: never across a switch.
extern thread_local thread_state *tls_thread QAIO_ASM_NAME("qaio.coroutine.tls_thread")
    __attribute__((tls_model("initial-exec")));

} // namespace detail

// ---- the steps the backends compose -------------------------------------------
// enter(), yield() and switch_to() are the steps below around one switch
// per coroutine entered.  coroutine.cc composes them with backend_switch();
// the fcontext backend on x86-64 composes them in assembly instead
// (switch_x86_64.S), so that the resumed side reaches its caller by a jump
// rather than by a return the CPU's return-stack predictor gets wrong (it
// holds the other stack's return addresses after a switch).  The asm labels
// give the assembly plain names to define and call.

// The state of one enter() across its switches (32 bytes, on its stack).
struct enter_frame {
    coroutine *self_;      // the enterer: a coroutine or the thread's leader
    AioContext *ctx_;      // recorded in every coroutine entered
    Coroutine *to_;        // being entered
    Coroutine *pending_;   // to run next, linked through co_queue_next
};

// Checks `co` (not scheduled, not entered), records the enterer and `ctx` in
// it and makes it current: the caller then switches f->self_ -> result with
// COROUTINE_ENTER.
coroutine *enter_start(AioContext *ctx, Coroutine *co, enter_frame *f) noexcept
    QAIO_ASM_NAME("qaio.coroutine.enter_start");
// The same in this thread's current context.
coroutine *enter_start_here(Coroutine *co, enter_frame *f) noexcept
    QAIO_ASM_NAME("qaio.coroutine.enter_start_here");
// After f->to_ came back with `action`: recycles it if it ended, queues what
// it woke, and returns the next coroutine to switch to (prepared as by
// enter_start), or nullptr when enter() is done.
coroutine *enter_resumed(enter_frame *f, int action) noexcept
    QAIO_ASM_NAME("qaio.coroutine.enter_resumed");

// yield()'s first half: leaves the running coroutine for its caller, which
// is made current; aborts outside coroutines.
struct switch_pair {
    coroutine *from_;
    coroutine *to_;
};
switch_pair yield_start() noexcept QAIO_ASM_NAME("qaio.coroutine.yield_start");

// switch_to()'s first half: makes `to` current.
void switch_start(coroutine *to) noexcept QAIO_ASM_NAME("qaio.coroutine.switch_start");

// The coroutine running on this thread, or its leader.
coroutine *running() noexcept;

} // namespace qaio::coroutine

#pragma GCC visibility pop
