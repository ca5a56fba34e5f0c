// SPDX-License-Identifier: MIT
// The switch backend on Boost.Context's fcontext (see switch.hh).
//
// jump_fcontext saves the callee-saved registers on the current stack,
// loads the target's and hands over one pointer; it returns, on the resumed
// side, the handle of the context that jumped (now suspended) and its
// pointer.  That pointer is the coroutine being left, with the action in its
// two low bits (coroutines are 64-byte aligned), so the resumed side stores
// the handle where the left coroutine will be resumed from, and reads the
// action, without touching thread-local storage.  A fresh stack starts in
// fiber_main, which does the same and enters the coroutine's entry loop.
//
// The fast path (x86-64, no sanitizer, no CET).  After jump_fcontext the
// CPU's return-stack predictor holds the return addresses of the stack we
// left, so every `ret` into a frame of the resumed stack mispredicts; on
// the machines we measured one such return costs more than the jump itself.
// So enter(), yield() and switch_to() are written here as small assembly
// functions around the C++ steps of coroutine.hh: before the jump they only
// make calls that return before it (predicted), and after the jump they
// store the left context's handle, call the remaining steps (predicted
// again), and go back to their caller by popping the return address and
// jumping to it, which the indirect-branch predictor learns.  They keep no
// callee-saved register of their own (jump_fcontext saves those), keep the
// stack 16-byte aligned at every call, and, as the C++ versions, never
// reuse thread-local state after the jump.  A pop-and-jump return leaves
// the shadow stack behind, hence no fast path when CET is enabled; the
// sanitizers need their annotations around each jump, hence the generic
// path for them.
#include "lib/coroutine/coroutine.hh"

#include "lib/support/current_context.hh"

#include <boost/context/detail/fcontext.hpp>

namespace qaio::coroutine {

namespace {

namespace bctx = boost::context::detail;

inline void *pack(coroutine *from, int action) noexcept
{
    return reinterpret_cast<void *>(reinterpret_cast<uintptr_t>(from) |
                                    static_cast<uintptr_t>(action));
}

inline coroutine *origin_of(void *data) noexcept
{
    return reinterpret_cast<coroutine *>(reinterpret_cast<uintptr_t>(data) &
                                         ~static_cast<uintptr_t>(3));
}

inline int action_of(void *data) noexcept
{
    return static_cast<int>(reinterpret_cast<uintptr_t>(data) & 3);
}

[[noreturn]] void fiber_main(bctx::transfer_t t) noexcept
{
    coroutine *origin = origin_of(t.data);
    origin->sw_.fctx_ = t.fctx;
    // The switch made us current before jumping.
    coroutine *self = running();
    fiber_finish_switch(&self->fiber_, &origin->fiber_);
    run_coroutine(self);
}

} // namespace

void backend_prepare(coroutine *co) noexcept
{
    const fiber_state &f = co->fiber_;
    void *top = static_cast<char *>(const_cast<void *>(f.bottom_)) + f.size_;
    co->sw_.fctx_ = bctx::make_fcontext(top, f.size_, fiber_main);
}

int backend_switch(coroutine *from, coroutine *to, int action, bool final) noexcept
{
    fiber_start_switch(&from->fiber_, &to->fiber_, final);
    bctx::transfer_t t = bctx::jump_fcontext(to->sw_.fctx_, pack(from, action));
    coroutine *origin = origin_of(t.data);
    origin->sw_.fctx_ = t.fctx;
    fiber_finish_switch(&from->fiber_, &origin->fiber_);
    return action_of(t.data);
}

// ---- the entry points ----------------------------------------------------------

#if defined(__x86_64__) && !defined(QAIO_ASAN) && !defined(QAIO_TSAN) && !defined(__CET__)

static_assert(sizeof(enter_frame) == 32, "enter() reserves 32 bytes for its frame");
static_assert(COROUTINE_ENTER == 3 && COROUTINE_YIELD == 1);

#define QAIO_FCTX_OFFSET "i"(offsetof(coroutine, sw_) + offsetof(switch_state, fctx_))

// enter()'s loop once the first coroutine is prepared (in rax): switch to
// it, and after each switch back let enter_resumed() pick the next one.
// Frame: 40 bytes (the enter_frame at 0) under the return address.
#define QAIO_ENTER_LOOP                                                       \
    "1:\n\t"                                                                 \
    "mov    %c[fctx](%%rax), %%rdi\n\t"                                      \
    "mov    %c[self](%%rsp), %%rsi\n\t"                                      \
    "or     $3, %%rsi\n\t"                  /* pack(self, ENTER) */          \
    "call   *jump_fcontext@GOTPCREL(%%rip)\n\t"                               \
    /* Resumed: rax = handle of the context left, rdx = its packed word. */   \
    "mov    %%rdx, %%rcx\n\t"                                                \
    "and    $-4, %%rcx\n\t"                                                  \
    "mov    %%rax, %c[fctx](%%rcx)\n\t"                                      \
    "mov    %%edx, %%esi\n\t"                                                \
    "and    $3, %%esi\n\t"                                                   \
    /* A yield that woke nobody, with nothing pending: enter_resumed()    */  \
    /* would only return null.                                            */  \
    "cmp    $1, %%esi\n\t"                                                   \
    "jne    2f\n\t"                                                          \
    "mov    %c[to](%%rsp), %%rcx\n\t"                                        \
    "cmpq   $0, %c[wakeup](%%rcx)\n\t"                                       \
    "jne    2f\n\t"                                                          \
    "cmpq   $0, %c[pending](%%rsp)\n\t"                                      \
    "je     3f\n\t"                                                          \
    "2:\n\t"                                                                 \
    "mov    %%rsp, %%rdi\n\t"                                                \
    "call   %P[resumed]\n\t"                /* rax = next or null */         \
    "test   %%rax, %%rax\n\t"                                                \
    "jnz    1b\n\t"                                                          \
    "3:\n\t"                                                                 \
    "add    $40, %%rsp\n\t"                                                  \
    ".cfi_adjust_cfa_offset -40\n\t"                                         \
    "pop    %%rcx\n\t"                                                       \
    ".cfi_adjust_cfa_offset -8\n\t"                                          \
    "jmp    *%%rcx\n\t"

#define QAIO_ENTER_OPERANDS                                                   \
    [resumed] "i"(enter_resumed), [fctx] QAIO_FCTX_OFFSET,                    \
    [self] "i"(offsetof(enter_frame, self_)), [to] "i"(offsetof(enter_frame, to_)), \
    [pending] "i"(offsetof(enter_frame, pending_)),                            \
    [wakeup] "i"(offsetof(Coroutine, co_queue_wakeup.sqh_first))

// rdi = ctx, rsi = co.
__attribute__((naked)) void enter(AioContext *, Coroutine *) noexcept
{
    asm("sub    $40, %%rsp\n\t"
        ".cfi_adjust_cfa_offset 40\n\t"
        "mov    %%rsp, %%rdx\n\t"
        "call   %P[start]\n\t"                 // rax = coroutine to enter
        QAIO_ENTER_LOOP
        :
        : [start] "i"(enter_start), QAIO_ENTER_OPERANDS);
}

// rdi = co.
__attribute__((naked)) void enter_here(Coroutine *) noexcept
{
    asm("sub    $40, %%rsp\n\t"
        ".cfi_adjust_cfa_offset 40\n\t"
        "mov    %%rsp, %%rsi\n\t"
        "call   %P[start]\n\t"
        QAIO_ENTER_LOOP
        :
        : [start] "i"(enter_start_here), QAIO_ENTER_OPERANDS);
}

#undef QAIO_ENTER_LOOP
#undef QAIO_ENTER_OPERANDS

// The thread's state, as coroutine.cc's inline accessor reads it.
#define QAIO_TLS_THREAD "_ZN4qaio9coroutine6detail10tls_threadE@gottpoff(%%rip)"

// yield_start() inline when the thread runs a coroutine with a caller;
// otherwise the call, which aborts.
__attribute__((naked)) void yield() noexcept
{
    asm("mov    " QAIO_TLS_THREAD ", %%rax\n\t"
        "mov    %%fs:(%%rax), %%rax\n\t"       // ts
        "test   %%rax, %%rax\n\t"
        "jz     2f\n\t"
        "mov    %c[cur](%%rax), %%rcx\n\t"     // self
        "test   %%rcx, %%rcx\n\t"
        "jz     2f\n\t"
        "mov    %c[caller](%%rcx), %%rdx\n\t"  // to
        "test   %%rdx, %%rdx\n\t"
        "jz     2f\n\t"
        "movq   $0, %c[caller](%%rcx)\n\t"
        "mov    %%rdx, %c[cur](%%rax)\n\t"
        "mov    %%rcx, %%rax\n\t"
        "jmp    3f\n\t"
        "2:\n\t"
        "sub    $8, %%rsp\n\t"
        ".cfi_adjust_cfa_offset 8\n\t"
        "call   %P[start]\n\t"                 // rax = from, rdx = to
        "add    $8, %%rsp\n\t"
        ".cfi_adjust_cfa_offset -8\n\t"
        "3:\n\t"
        "sub    $8, %%rsp\n\t"
        ".cfi_adjust_cfa_offset 8\n\t"
        "mov    %c[fctx](%%rdx), %%rdi\n\t"
        "lea    1(%%rax), %%rsi\n\t"           // pack(from, COROUTINE_YIELD)
        "call   *jump_fcontext@GOTPCREL(%%rip)\n\t"
        "mov    %%rdx, %%rcx\n\t"
        "and    $-4, %%rcx\n\t"
        "mov    %%rax, %c[fctx](%%rcx)\n\t"
        "add    $8, %%rsp\n\t"
        ".cfi_adjust_cfa_offset -8\n\t"
        "pop    %%rcx\n\t"
        ".cfi_adjust_cfa_offset -8\n\t"
        "jmp    *%%rcx\n\t"
        :
        : [start] "i"(yield_start), [fctx] QAIO_FCTX_OFFSET,
          [cur] "i"(offsetof(detail::thread_state, current_)),
          [caller] "i"(offsetof(Coroutine, caller)));
}

// rdi = from, rsi = to, edx = action; returns the action we are resumed with.
// switch_start() inline, unless the thread has no state yet.
__attribute__((naked)) int switch_to(Coroutine *, Coroutine *, int) noexcept
{
    asm("mov    %%edx, %%edx\n\t"              // the int's upper half is undefined
        "push   %%rdi\n\t"
        ".cfi_adjust_cfa_offset 8\n\t"
        "push   %%rsi\n\t"
        ".cfi_adjust_cfa_offset 8\n\t"
        "push   %%rdx\n\t"
        ".cfi_adjust_cfa_offset 8\n\t"
        "mov    " QAIO_TLS_THREAD ", %%rax\n\t"
        "mov    %%fs:(%%rax), %%rax\n\t"
        "test   %%rax, %%rax\n\t"
        "jz     2f\n\t"
        "mov    %%rsi, %c[cur](%%rax)\n\t"
        "jmp    3f\n\t"
        "2:\n\t"
        "mov    %%rsi, %%rdi\n\t"
        "call   %P[start]\n\t"
        "mov    8(%%rsp), %%rsi\n\t"
        "3:\n\t"
        "mov    %c[fctx](%%rsi), %%rdi\n\t"
        "mov    16(%%rsp), %%rsi\n\t"
        "or     (%%rsp), %%rsi\n\t"            // pack(from, action)
        "call   *jump_fcontext@GOTPCREL(%%rip)\n\t"
        "mov    %%rdx, %%rcx\n\t"
        "and    $-4, %%rcx\n\t"
        "mov    %%rax, %c[fctx](%%rcx)\n\t"
        "mov    %%edx, %%eax\n\t"
        "and    $3, %%eax\n\t"
        "add    $24, %%rsp\n\t"
        ".cfi_adjust_cfa_offset -24\n\t"
        "pop    %%rcx\n\t"
        ".cfi_adjust_cfa_offset -8\n\t"
        "jmp    *%%rcx\n\t"
        :
        : [start] "i"(switch_start), [fctx] QAIO_FCTX_OFFSET,
          [cur] "i"(offsetof(detail::thread_state, current_)));
}

#undef QAIO_TLS_THREAD
#undef QAIO_FCTX_OFFSET

#else

void enter(AioContext *ctx, Coroutine *co) noexcept
{
    enter_generic(ctx, co);
}

void enter_here(Coroutine *co) noexcept
{
    enter_generic(support::current_context(), co);
}

void yield() noexcept
{
    yield_generic();
}

int switch_to(Coroutine *from, Coroutine *to, int action) noexcept
{
    return switch_generic(of(from), of(to), action);
}

#endif

} // namespace qaio::coroutine
