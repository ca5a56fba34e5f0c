// SPDX-License-Identifier: MIT
// block/aio.h at API level 10.0: fd handlers and event notifiers, none of
// them external (QEMU 8.2 removed aio_disable_external and the flag).
#include "block/aio.h"

#include "cabi/export.hh"
#include "cabi/opaque.hh"
#include "lib/loop/context.hh"

using qaio::cabi::from;

QAIO_EXPORT void aio_set_fd_handler(AioContext *ctx, int fd, IOHandler *io_read,
                                    IOHandler *io_write, AioPollFn *io_poll,
                                    IOHandler *io_poll_ready, void *opaque)
{
    from(ctx)->set_fd_handler(fd, false, io_read, io_write, io_poll, io_poll_ready, opaque);
}

// Event-notifier handlers receive the notifier itself, as in QEMU.
QAIO_EXPORT void aio_set_event_notifier(AioContext *ctx, EventNotifier *notifier,
                                        EventNotifierHandler *io_read, AioPollFn *io_poll,
                                        EventNotifierHandler *io_poll_ready)
{
#ifdef _WIN32
    // Windows: the notifier's HANDLE is a wait object of the context.
    from(ctx)->backend().set_event_notifier(notifier, false, io_read, io_poll,
                                            io_poll_ready);
#else
    from(ctx)->set_fd_handler(event_notifier_get_fd(notifier), false,
                              reinterpret_cast<IOHandler *>(io_read), nullptr, io_poll,
                              reinterpret_cast<IOHandler *>(io_poll_ready), notifier);
#endif
}
