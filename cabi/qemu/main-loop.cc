// SPDX-License-Identifier: MIT
// qemu/main-loop.h: the main loop, the iohandler context, main-loop BHs.
#include "qemu/main-loop.h"
#include "qapi/error.h"

#include "cabi/error.hh"
#include "cabi/export.hh"
#include "cabi/opaque.hh"
#include "lib/loop/bh.hh"
#include "lib/loop/context.hh"
#ifndef _WIN32
#include "lib/posix/event_notifier.hh"
#endif
#include "lib/mainloop/main_loop.hh"
#include "lib/support/fatal.hh"

namespace ml = qaio::mainloop;
using qaio::cabi::from;
using qaio::cabi::to_c;

// QEMU's (softmmu/cpus.c, or its tools' stub); the support runtime's in
// libqaio.
extern "C" void qemu_timer_notify_cb(void *opaque, QEMUClockType type);

QAIO_EXPORT int qemu_init_main_loop(Error **errp)
{
    const char *failed_step = nullptr;
    int r = ml::init(&main_loop_tlg, qemu_timer_notify_cb, &failed_step);
    if (r < 0) {
        qaio::cabi::set_init_error(errp, -r, failed_step);
    }
    return r;
}

QAIO_EXPORT void main_loop_wait(int nonblocking)
{
    ml::wait(nonblocking != 0);
}

QAIO_EXPORT AioContext *qemu_get_aio_context(void)
{
    return qaio::loop::main_context();
}

QAIO_EXPORT void qemu_notify_event(void)
{
    ml::notify_event();
}

QAIO_EXPORT void qemu_set_fd_handler(int fd, IOHandler *fd_read, IOHandler *fd_write,
                                     void *opaque)
{
    ml::set_fd_handler(fd, fd_read, fd_write, opaque);
}

QAIO_EXPORT void event_notifier_set_handler(EventNotifier *e, EventNotifierHandler *handler)
{
    // The handler receives the notifier itself, as in QEMU.
#ifdef _WIN32
    from(ml::iohandler_context())->backend().set_event_notifier(e, false, handler, nullptr,
                                                                 nullptr);
#else
    ml::set_fd_handler(qaio::posix::notifier::read_fd(e), reinterpret_cast<IOHandler *>(handler),
                       nullptr, e);
#endif
}

QAIO_EXPORT AioContext *iohandler_get_aio_context(void)
{
    return ml::iohandler_context();
}

QAIO_EXPORT GSource *iohandler_get_g_source(void)
{
    AioContext *ctx = ml::iohandler_context();
    from(ctx)->backend().use_g_source();
    g_source_ref(&ctx->source);
    return &ctx->source;
}

QAIO_EXPORT QEMUBH *qemu_bh_new_full(QEMUBHFunc *cb, void *opaque, const char *name,
                                     MemReentrancyGuard *reentrancy_guard)
{
    AioContext *main = qaio::loop::main_context();
    QAIO_CHECK(main, "qemu_bh_new(%s) before qemu_init_main_loop", name ? name : "");
    return to_c(
        qaio::loop::bh_new(from(main), cb, opaque, name, reentrancy_guard));
}

QAIO_EXPORT void main_loop_poll_add_notifier(Notifier *notify)
{
    ml::poll_notifier_add(notify);
}

QAIO_EXPORT void main_loop_poll_remove_notifier(Notifier *notify)
{
    ml::poll_notifier_remove(notify);
}
