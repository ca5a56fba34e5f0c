// SPDX-License-Identifier: MIT
// The context-switch backend (switch_fcontext.cc, on Boost.Context's
// jump_fcontext) and the sanitizer/valgrind annotations next to every
// switch.  A switch: `from` runs on this thread, the caller has made `to`
// current; it returns when some thread switches back, so nothing is read
// from TLS after the jump.
//
// Annotations (else false stack errors, and ASan corrupts a pooled
// coroutine's fake stack): ASan before the jump (the stack entered, a slot
// for the fake stack left; no slot only when retired for good, as a pooled
// "ended" one's frames live on) and after it (which gives the bounds of the
// stack left: how a leader's become known); TSan right before the jump,
// inlined; valgrind needs each stack registered once.
#pragma once

#include "qemu/osdep.h"
#include "qemu/coroutine_int.h"

#include "lib/coroutine/switch_asm.h"

#include <cstddef>

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

// Beyond QEMU's actions: the last switch into a coroutine whose stack is
// about to go, so that it leaves its fiber (sanitizer builds; see retire()).
constexpr int action_retire = 0;

struct switch_state {
    void *fctx_;       // the suspended fcontext
};

struct fiber_state {
    void *asan_fake_stack_;    // ASan: fake frames saved while suspended
    const void *bottom_;       // a leader's: learnt from ASan, else unknown
    size_t size_;
    void *tsan_fiber_;         // TSan: the fiber handle
    unsigned valgrind_id_;     // valgrind: the registered stack's id
};

// ---- the backend (switch_fcontext.cc) ---------------------------------------

// The first switch to `co` will run run_coroutine(co); once per stack.
void backend_prepare(coroutine *co) noexcept;

// Returns the action `from` is resumed with; `final`: never resumed.
int backend_switch(coroutine *from, coroutine *to, int action, bool final) noexcept;

// The loop every coroutine stack runs (coroutine.cc); never returns.
[[noreturn]] void run_coroutine(coroutine *self) noexcept;

// ---- annotations (inlined into the backends' switch functions) -------------

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
}

// On the resumed side; records `origin`'s bounds (how a leader's are learnt).
__attribute__((always_inline)) inline void
fiber_finish_switch(fiber_state *self, fiber_state *origin) noexcept
{
#if defined(QAIO_ASAN)
    __sanitizer_finish_switch_fiber(self->asan_fake_stack_, &origin->bottom_, &origin->size_);
#endif
}

inline void fiber_create(fiber_state *f, void *base, size_t size) noexcept
{
#if defined(QAIO_ASAN)
    // The range may have been another stack before: clean shadow.
    __asan_unpoison_memory_region(base, size);
#endif
    *f = fiber_state{nullptr, base, size, nullptr, 0};
#if defined(QAIO_TSAN)
    f->tsan_fiber_ = __tsan_create_fiber(0);
#endif
#if defined(QAIO_HAVE_VALGRIND_H)
    f->valgrind_id_ = VALGRIND_STACK_REGISTER(base, static_cast<char *>(base) + size);
#endif
}

inline void fiber_adopt_thread(fiber_state *f) noexcept
{
    *f = fiber_state{};
#if defined(QAIO_TSAN)
    f->tsan_fiber_ = __tsan_get_current_fiber();
#endif
}

inline void fiber_destroy(fiber_state *f) noexcept
{
#if defined(QAIO_TSAN)
    __tsan_destroy_fiber(f->tsan_fiber_);
#endif
#if defined(QAIO_HAVE_VALGRIND_H)
    VALGRIND_STACK_DEREGISTER(f->valgrind_id_);
#endif
#if defined(QAIO_ASAN)
    // Abandoned frames leave poisoned shadow a later mapping must not get.
    __asan_unpoison_memory_region(f->bottom_, f->size_);
#endif
}

// ASan's per-fiber fake stacks are freed only by a final switch.
constexpr bool retire_needs_switch =
#if defined(QAIO_ASAN)
    true;
#else
    false;
#endif

} // namespace qaio::coroutine
