// SPDX-License-Identifier: MIT
// The thread's current AioContext as QEMU 7.2 defines it: the one it bound,
// else the main context while it holds the big lock (vCPU threads).  Below
// the loop, so that coroutine entry need not know the loop.
#pragma once

#include "block/aio.h"

namespace qaio::support {

// Not inline: a coroutine may resume on another thread, and the compiler
// must not cache the TLS address across a switch.
AioContext *current_context() noexcept;
// The context the thread bound itself, nullptr if none.
AioContext *own_context() noexcept;
// Once per thread.
void bind_own_context(AioContext *ctx) noexcept;
// nullptr until the main loop registers it.
AioContext *main_context() noexcept;
void set_main_context(AioContext *ctx) noexcept;

} // namespace qaio::support
