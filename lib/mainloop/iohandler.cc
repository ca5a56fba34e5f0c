// SPDX-License-Identifier: MIT
// The iohandler context: where qemu_set_fd_handler and
// event_notifier_set_handler put their handlers.  glib drives it beside the
// main context, but aio_poll on the main context never runs it, so the
// block layer's nested waits do not re-enter chardevs, monitors or signal
// handlers.  Created on first use, even before qemu_init_main_loop.
#include "lib/mainloop/main_loop.hh"

#include "lib/loop/context.hh"
#include "lib/support/fatal.hh"

#include <atomic>
#include <mutex>

namespace qaio::mainloop {

namespace {

std::atomic<AioContext *> iohandler_ctx{nullptr};
std::mutex create_lock;

} // namespace

AioContext *iohandler_context() noexcept
{
    if (AioContext *c = iohandler_ctx.load(std::memory_order_acquire)) {
        return c;
    }
    std::lock_guard<std::mutex> g(create_lock);
    AioContext *c = iohandler_ctx.load(std::memory_order_relaxed);
    if (!c) {
        loop::context *ctx = loop::context::create();
        QAIO_CHECK(ctx, "cannot create the iohandler AioContext (errno %d)", errno);
        c = ctx->c();
        iohandler_ctx.store(c, std::memory_order_release);
    }
    return c;
}

void set_fd_handler(int fd, IOHandler *fd_read, IOHandler *fd_write, void *opaque) noexcept
{
    // Not external (device activity never disables them) and not polled.
    loop::context::from(iohandler_context())
        ->set_fd_handler(fd, false, fd_read, fd_write, nullptr, nullptr, opaque);
}

} // namespace qaio::mainloop
