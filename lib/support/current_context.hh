// SPDX-License-Identifier: MIT
// The thread's current AioContext as QEMU 7.2 defines it (qemu_get_current_
// aio_context): the context the thread bound, else the main context while
// the thread holds the big QEMU lock (vCPU threads), else none.  Kept below
// the loop, as plain AioContext pointers, so that coroutine entry (which
// records the context a coroutine runs in) need not know the loop.
#pragma once

#include "block/aio.h"

namespace qaio::support {

// Not inline: a coroutine may resume on another thread, and the compiler
// must not cache the TLS address across a switch.
AioContext *current_context() noexcept;
// Only the context the thread bound itself, nullptr if none.
AioContext *own_context() noexcept;
// Binds the thread to ctx (once per thread; aborts on a second binding).
void bind_own_context(AioContext *ctx) noexcept;
// QEMU's main context (qemu_get_aio_context), nullptr until the main loop
// registers it.
AioContext *main_context() noexcept;
void set_main_context(AioContext *ctx) noexcept;

} // namespace qaio::support
