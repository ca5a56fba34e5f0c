// SPDX-License-Identifier: MIT
// The thread's current context and QEMU's main context.
#include "lib/support/current_context.hh"

#include "lib/support/fatal.hh"

#include <atomic>
#include "qemu/main-loop.h"

namespace qaio::support {

namespace {

thread_local AioContext *tls_current_context;
std::atomic<AioContext *> main_ctx{nullptr};

} // namespace

AioContext *current_context() noexcept
{
    if (AioContext *own = tls_current_context) {
        return own;
    }
    AioContext *main = main_context();
    return main && qaio_big_lock_held() ? main : nullptr;
}

AioContext *own_context() noexcept
{
    return tls_current_context;
}

void bind_own_context(AioContext *ctx) noexcept
{
    QAIO_CHECK(!tls_current_context,
               "this thread already has a current AioContext (%p); it can be set once",
               static_cast<void *>(tls_current_context));
    tls_current_context = ctx;
}

AioContext *main_context() noexcept
{
    // Acquire: pairs with the release in set_main_context.
    return main_ctx.load(std::memory_order_acquire);
}

void set_main_context(AioContext *ctx) noexcept
{
    // Release: pairs with the acquire in main_context.
    main_ctx.store(ctx, std::memory_order_release);
}

} // namespace qaio::support
