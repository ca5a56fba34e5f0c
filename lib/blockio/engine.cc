// SPDX-License-Identifier: MIT
// engine_core's checks (engine.hh).
#include "lib/blockio/engine.hh"
#include "lib/support/fatal.hh"

#include <cstdio>

namespace qaio::blockio {

void engine_core::check_detached() const noexcept
{
    QAIO_CHECK(!ctx_, "%s_attach_aio_context: %s engine %p is already attached to AioContext %p",
               kind_.api, kind_.name, static_cast<const void *>(this),
               static_cast<void *>(ctx_->c()));
}

void engine_core::check_attached_to(loop::context *ctx) const noexcept
{
    QAIO_CHECK(ctx_ == ctx, "%s_detach_aio_context: %s engine %p is attached to AioContext "
               "%p, not %p",
               kind_.api, kind_.name, static_cast<const void *>(this),
               ctx_ ? static_cast<void *>(ctx_->c()) : nullptr, static_cast<void *>(ctx->c()));
}

void engine_core::check_idle() const noexcept
{
    QAIO_CHECK(!ctx_, "%s_cleanup: %s engine %p is still attached to AioContext %p",
               kind_.api, kind_.name, static_cast<const void *>(this),
               static_cast<void *>(ctx_->c()));
    // QEMU frees such an engine without a word; the kernel ends what is in
    // flight (io_destroy waits, a ring's exit cancels), and the coroutines
    // waiting are never resumed, which is said here.
    if (in_flight_ || !queue_.empty()) {
        fprintf(stderr,
                "%s_cleanup: %s engine %p freed with %u requests in flight and %u queued; "
                "their coroutines will not be resumed\n",
                kind_.api, kind_.name, static_cast<const void *>(this), in_flight_,
                queue_.size());
    }
}

void engine_core::check_submit() const noexcept
{
    QAIO_CHECK(coroutine::in_coroutine(), "%s_co_submit called outside coroutine context",
               kind_.api);
    QAIO_CHECK(ctx_, "%s_co_submit: %s engine %p is not attached to an AioContext",
               kind_.api, kind_.name, static_cast<const void *>(this));
}

void engine_core::drop_plug() noexcept
{
    QAIO_CHECK(plugged_ > 0, "%s_io_unplug: %s engine %p was not plugged", kind_.api,
               kind_.name, static_cast<const void *>(this));
    plugged_--;
}

} // namespace qaio::blockio
