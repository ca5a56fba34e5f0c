// SPDX-License-Identifier: MIT
// The fallback switch backend (see switch.hh): ucontext to start a stack,
// sigsetjmp/siglongjmp to switch, the technique of QEMU's
// coroutine-ucontext.  swapcontext saves and restores the signal mask with a
// system call, so it is used only once per stack: to run fiber_main there,
// which records the stack's jump buffer and jumps straight back.  Every
// switch after that is a sigsetjmp without the mask (savemask 0) and a
// siglongjmp, neither of which enters the kernel.
//
// siglongjmp hands over an int, so the action travels in it (offset, since
// a zero value would arrive as 1), and the coroutine being left travels in a
// thread-local slot that the resumed side reads right after the jump, on the
// same thread.
//
// glibc's fortified longjmp refuses to jump to another stack, so this file
// is built without _FORTIFY_SOURCE.
#ifdef _FORTIFY_SOURCE
#undef _FORTIFY_SOURCE
#endif

#include "lib/coroutine/coroutine.hh"

#include "lib/support/fatal.hh"

#include <cerrno>
#include <csetjmp>
#include <cstring>
#include <ucontext.h>

namespace qaio::coroutine {

namespace {

constexpr int action_bias = 0x100;

thread_local coroutine *tls_origin __attribute__((tls_model("initial-exec")));

// Out of line and opaque for the same reason as this_thread() in
// coroutine.cc: the resumed side may be on another thread than the one
// that suspended it.
__attribute__((noinline, noclone)) void set_origin(coroutine *co) noexcept
{
    coroutine **slot = &tls_origin;
    asm volatile("" : "+r"(slot));
    *slot = co;
}

__attribute__((noinline, noclone)) coroutine *origin() noexcept
{
    coroutine **slot = &tls_origin;
    asm volatile("" : "+r"(slot));
    return *slot;
}

// What backend_prepare hands to fiber_main across makecontext, whose
// arguments are ints.
struct start_record {
    coroutine *co;
    sigjmp_buf *back;
};

union start_pointer {
    start_record *p;
    int i[2];
};

void fiber_main(int lo, int hi) noexcept
{
    start_pointer u;
    u.i[0] = lo;
    u.i[1] = hi;
    coroutine *self = u.p->co;
    sigjmp_buf *back = u.p->back;

    if (sigsetjmp(self->sw_.env_, 0) == 0) {
        // Set up: back to backend_prepare, on its stack.
        coroutine *creator = origin();
        set_origin(self);
        fiber_start_switch(&self->fiber_, &creator->fiber_, false);
        siglongjmp(*back, 1);
    }
    // The first real switch to this coroutine.
    fiber_finish_switch(&self->fiber_, &origin()->fiber_);
    run_coroutine(self);
}

} // namespace

void backend_prepare(coroutine *co) noexcept
{
    const fiber_state &f = co->fiber_;
    ucontext_t here, there;
    sigjmp_buf back;
    start_record rec = {co, &back};
    start_pointer u;
    u.p = &rec;

    QAIO_CHECK(getcontext(&there) == 0, "getcontext: %s", std::strerror(errno));
    there.uc_link = nullptr;
    there.uc_stack.ss_sp = const_cast<void *>(f.bottom_);
    there.uc_stack.ss_size = f.size_;
    there.uc_stack.ss_flags = 0;
    makecontext(&there, reinterpret_cast<void (*)()>(fiber_main), 2, u.i[0], u.i[1]);

    coroutine *self = running();
    if (sigsetjmp(back, 0) == 0) {
        set_origin(self);
        fiber_start_switch(&self->fiber_, &co->fiber_, false);
        swapcontext(&here, &there);
    }
    fiber_finish_switch(&self->fiber_, &origin()->fiber_);
}

int backend_switch(coroutine *from, coroutine *to, int action, bool final) noexcept
{
    int r = sigsetjmp(from->sw_.env_, 0);
    if (r == 0) {
        set_origin(from);
        fiber_start_switch(&from->fiber_, &to->fiber_, final);
        siglongjmp(to->sw_.env_, action + action_bias);
    }
    fiber_finish_switch(&from->fiber_, &origin()->fiber_);
    return r - action_bias;
}

} // namespace qaio::coroutine
