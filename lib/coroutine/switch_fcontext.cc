// SPDX-License-Identifier: MIT
// The switch backend on Boost.Context's fcontext (see switch.hh).  The
// pointer passed through jump_fcontext is the coroutine left, with the
// action in its two low bits (coroutines are 64-byte aligned), so the
// resumed side stores the left handle and reads the action without TLS.
#include "lib/coroutine/coroutine.hh"

#include "lib/coroutine/fcontext.hh"

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

#if defined(QAIO_SWITCH_ASM)
static_assert(offsetof(coroutine, sw_) + offsetof(switch_state, fctx_) == QAIO_CO_FCTX);
static_assert(offsetof(Coroutine, caller) == QAIO_CO_CALLER);
static_assert(offsetof(Coroutine, co_queue_wakeup.sqh_first) == QAIO_CO_WAKEUP);
static_assert(offsetof(detail::thread_state, current_) == QAIO_TS_CURRENT);
static_assert(sizeof(enter_frame) == QAIO_FRAME_SIZE);
static_assert(offsetof(enter_frame, self_) == QAIO_FRAME_SELF);
static_assert(offsetof(enter_frame, to_) == QAIO_FRAME_TO);
static_assert(offsetof(enter_frame, pending_) == QAIO_FRAME_PENDING);
static_assert(COROUTINE_ENTER == 3 && COROUTINE_YIELD == 1);

#endif

} // namespace qaio::coroutine
