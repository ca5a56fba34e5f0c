// SPDX-License-Identifier: MIT
// The context-switch backend interface and the sanitizer/valgrind fiber
// annotations that must sit right next to every switch.
//
// Two backends implement the operations below, one file each; the build
// compiles exactly one of them: switch_fcontext.cc (Boost.Context's
// jump_fcontext: a few register moves, no system call) and switch_ucontext.cc
// (makecontext/swapcontext once per stack to start it, then sigsetjmp and
// siglongjmp without the signal mask, QEMU's technique).  Both keep their
// state in the same switch_state, so a coroutine has one layout whatever the
// build chose.  The entry points enter(), yield() and switch_to() of
// coroutine.hh are coroutine.cc's, around backend_switch(), except on
// x86-64 with fcontext (switch_x86_64.S).
//
// What a switch promises: `from` is the coroutine running on this thread; the
// caller has already made `to` the thread's current coroutine; the call
// returns when some thread switches back to `from`, with the action that
// thread passed.  Nothing is read from thread-local storage after the jump:
// the coroutine may have been resumed by another thread.
//
// Annotations (without them the sanitizers report false stack errors, and
// ASan corrupts a pooled coroutine's fake stack): ASan must hear of a switch
// before the jump (__sanitizer_start_switch_fiber, with the bounds of the
// stack being entered and a slot for the fake stack being left) and after
// it, on the resumed side (__sanitizer_finish_switch_fiber, which also tells
// us the bounds of the stack just left: that is how a thread's own stack, the
// leader's, gets known).  A coroutine that is suspended and will be resumed
// keeps its fake stack in its slot, including a pooled one that "ended" but
// whose stack frames stay alive in the entry loop; only a coroutine that is
// retired for good passes no slot, which frees its fake stack.  TSan needs
// __tsan_switch_to_fiber immediately before the jump, from code inlined into
// the switching function, so its shadow call stack stays balanced.  Valgrind
// needs each stack registered once, or it takes every switch for a stack
// overflow.
#pragma once

#include "qemu/osdep.h"
#include "qemu/coroutine_int.h"

#include "lib/coroutine/switch_asm.h"

#include <csetjmp>
#include <cstddef>
#include <cstdint>

#include "lib/support/sanitizer.hh"

#if defined(QAIO_ASAN)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#if defined(QAIO_TSAN)
#include <sanitizer/tsan_interface.h>
#endif
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define QAIO_HAVE_VALGRIND_H 1
#endif

namespace qaio::coroutine {

struct coroutine;

// Beyond QEMU's three actions: the last switch into a coroutine whose stack
// is about to be unmapped, so that it can leave its fiber for good (only
// sanitizer builds need it; see retire()).
constexpr int action_retire = 0;

// Where a suspended coroutine (or a thread's own stack) resumes.
struct switch_state {
    void *fctx_;       // fcontext backend: the suspended context
#ifndef _WIN32
    sigjmp_buf env_;   // ucontext backend: the same, as a jump buffer
#endif
};

// What the sanitizers and valgrind know about one stack.
struct fiber_state {
    void *asan_fake_stack_;    // ASan: fake frames saved while suspended
    const void *bottom_;       // the stack's lowest address and size (for a
    size_t size_;              // leader: learnt from ASan, else unknown)
    void *tsan_fiber_;         // TSan: the fiber handle
    unsigned valgrind_id_;     // valgrind: the registered stack's id
};

// ---- the backend (switch_fcontext.cc or switch_ucontext.cc) ----------------

// Makes `co`, whose stack is set, ready: the first switch to it will run
// run_coroutine(co) on that stack.  Called once per stack.
void backend_prepare(coroutine *co) noexcept;

// Switches from `from` to `to`, handing over `action`; returns the action
// `from` is resumed with.  `final` means `from` will never be resumed.
int backend_switch(coroutine *from, coroutine *to, int action, bool final) noexcept;

// The loop every coroutine stack runs (coroutine.cc); never returns.
[[noreturn]] void run_coroutine(coroutine *self) noexcept;

// ---- annotations (inlined into the backends' switch functions) -------------

struct fiber_bounds {
    const void *bottom;
    size_t size;
};

// Before leaving `from` for `to` (whose bounds are given; for a thread's own
// stack, learnt at its first switch).
__attribute__((always_inline)) inline void
fiber_start_switch(fiber_state *from, fiber_state *to, bool final) noexcept
{
#if defined(QAIO_ASAN)
    __sanitizer_start_switch_fiber(final ? nullptr : &from->asan_fake_stack_,
                                   to->bottom_, to->size_);
#endif
#if defined(QAIO_TSAN)
    __tsan_switch_to_fiber(to->tsan_fiber_, 0);
#endif
    (void)from;
    (void)to;
    (void)final;
}

// On the resumed side: `self` runs again, `origin` is the one that switched
// to it (its stack bounds are recorded, which teaches us the leader's).
__attribute__((always_inline)) inline void
fiber_finish_switch(fiber_state *self, fiber_state *origin) noexcept
{
#if defined(QAIO_ASAN)
    __sanitizer_finish_switch_fiber(self->asan_fake_stack_, &origin->bottom_,
                                    &origin->size_);
#endif
    (void)self;
    (void)origin;
}

// A new stack [base, base + size) for the fiber of `f`.
inline void fiber_create(fiber_state *f, void *base, size_t size) noexcept
{
#if defined(QAIO_ASAN)
    // The address range may have been something else before (an unmapped
    // stack, a thread's): start from clean shadow.
    __asan_unpoison_memory_region(base, size);
#endif
    f->asan_fake_stack_ = nullptr;
    f->bottom_ = base;
    f->size_ = size;
#if defined(QAIO_TSAN)
    f->tsan_fiber_ = __tsan_create_fiber(0);
#else
    f->tsan_fiber_ = nullptr;
#endif
#if defined(QAIO_HAVE_VALGRIND_H)
    f->valgrind_id_ = VALGRIND_STACK_REGISTER(base, static_cast<char *>(base) + size);
#else
    f->valgrind_id_ = 0;
#endif
}

// The thread's own stack, whose bounds ASan tells us at the first switch.
inline void fiber_adopt_thread(fiber_state *f) noexcept
{
    f->asan_fake_stack_ = nullptr;
    f->bottom_ = nullptr;
    f->size_ = 0;
#if defined(QAIO_TSAN)
    f->tsan_fiber_ = __tsan_get_current_fiber();
#else
    f->tsan_fiber_ = nullptr;
#endif
    f->valgrind_id_ = 0;
}

// The stack goes away; its fiber has switched away for the last time.
inline void fiber_destroy(fiber_state *f) noexcept
{
#if defined(QAIO_TSAN)
    __tsan_destroy_fiber(f->tsan_fiber_);
#endif
#if defined(QAIO_HAVE_VALGRIND_H)
    VALGRIND_STACK_DEREGISTER(f->valgrind_id_);
#endif
#if defined(QAIO_ASAN)
    // Frames abandoned on the stack leave poisoned shadow behind; a later
    // mapping at the same address must not inherit it.
    __asan_unpoison_memory_region(f->bottom_, f->size_);
#endif
    (void)f;
}

// Whether a retiring coroutine must be switched into once more so that its
// fiber can end (ASan keeps per-fiber fake stacks that only a final switch
// frees).
constexpr bool retire_needs_switch =
#if defined(QAIO_ASAN)
    true;
#else
    false;
#endif

} // namespace qaio::coroutine
