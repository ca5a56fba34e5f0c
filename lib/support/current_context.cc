// SPDX-License-Identifier: MIT
// The thread's current context and QEMU's main context (see the header).
#include "lib/support/current_context.hh"

#include "lib/support/fatal.hh"

#include <atomic>

// The big QEMU lock's "held by this thread?" (qaio_big_lock_held): QEMU's
// own inside a QEMU tree (a system emulator's real lock, the tools' stub),
// the support runtime's stand-in in libqaio.
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
    // QEMU 7.2's rule: a thread without a context of its own (a vCPU
    // thread) acts in the main context while it holds the big lock.
    AioContext *main = main_context();
    if (main && qaio_big_lock_held()) {
        return main;
    }
    return nullptr;
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
    // Acquire: pairs with the release in set_main_context, so a thread that
    // sees the pointer sees the context it points to.
    return main_ctx.load(std::memory_order_acquire);
}

void set_main_context(AioContext *ctx) noexcept
{
    // Release: pairs with the acquire in main_context.
    main_ctx.store(ctx, std::memory_order_release);
}

} // namespace qaio::support
