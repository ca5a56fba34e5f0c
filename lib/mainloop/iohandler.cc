// SPDX-License-Identifier: MIT
// The iohandler context: where qemu_set_fd_handler and
// event_notifier_set_handler put their handlers.  glib drives it beside the
// main context, but aio_poll on the main context never runs it, so the
// block layer's nested waits do not re-enter chardevs, monitors or signal
// handlers.  Created on first use, even before qemu_init_main_loop.
#include "lib/mainloop/main_loop.hh"

#include "lib/loop/context.hh"
#include "lib/support/fatal.hh"

#include <cerrno>

namespace qaio::mainloop {

AioContext *iohandler_context() noexcept
{
    // A function-local static: created once, by the first caller of any
    // thread, and seen whole by the others.
    static AioContext *const ctx = [] {
        loop::context *c = loop::context::create();
        QAIO_CHECK(c, "cannot create the iohandler AioContext (errno %d)", errno);
        return c->c();
    }();
    return ctx;
}

void set_fd_handler(int fd, IOHandler *fd_read, IOHandler *fd_write, void *opaque) noexcept
{
    // Not external (device activity never disables them) and not polled.
    loop::context::from(iohandler_context())
        ->set_fd_handler(fd, false, fd_read, fd_write, nullptr, nullptr, opaque);
}

} // namespace qaio::mainloop
