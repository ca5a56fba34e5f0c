// SPDX-License-Identifier: MIT
// The iohandler context (qemu_set_fd_handler's): glib drives it, but
// aio_poll on the main context never runs it, so nested block waits do not
// re-enter chardevs, monitors or signal handlers.
#include "lib/mainloop/main_loop.hh"

#include "lib/loop/context.hh"
#include "lib/support/fatal.hh"

#include <cerrno>

namespace qaio::mainloop {

AioContext *iohandler_context() noexcept
{
    static AioContext *const ctx = [] {
        loop::context *c = loop::context::create();
        QAIO_CHECK(c, "cannot create the iohandler AioContext (errno %d)", errno);
        return c->c();
    }();
    return ctx;
}

void set_fd_handler(int fd, IOHandler *fd_read, IOHandler *fd_write, void *opaque) noexcept
{
    loop::context::from(iohandler_context())
        ->set_fd_handler(fd, false, fd_read, fd_write, nullptr, nullptr, opaque);
}

} // namespace qaio::mainloop
