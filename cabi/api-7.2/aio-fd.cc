// SPDX-License-Identifier: MIT
// block/aio.h at API level 7.2: fd handlers and event notifiers with their
// is_external flag (aio_disable_external pauses them), and aio_set_fd_poll.
#include "block/aio.h"

#include "cabi/export.hh"
#include "cabi/opaque.hh"
#include "lib/loop/context.hh"

using qaio::cabi::from;

QAIO_EXPORT void aio_set_fd_handler(AioContext *ctx, int fd, bool is_external,
                                    IOHandler *io_read, IOHandler *io_write,
                                    AioPollFn *io_poll, IOHandler *io_poll_ready,
                                    void *opaque)
{
    from(ctx)->set_fd_handler(fd, is_external, io_read, io_write, io_poll,
                                       io_poll_ready, opaque);
}

QAIO_EXPORT void aio_set_fd_poll(AioContext *ctx, int fd, IOHandler *io_poll_begin,
                                 IOHandler *io_poll_end)
{
    from(ctx)->backend().set_fd_poll(fd, io_poll_begin, io_poll_end);
}

#ifdef _WIN32
// Windows: the notifier's HANDLE is a wait object of the context.
QAIO_EXPORT void aio_set_event_notifier(AioContext *ctx, EventNotifier *notifier,
                                        bool is_external, EventNotifierHandler *io_notify,
                                        AioPollFn *io_poll,
                                        EventNotifierHandler *io_poll_ready)
{
    from(ctx)->backend().set_event_notifier(notifier, is_external, io_notify, io_poll,
                                            io_poll_ready);
}
#else
// Event-notifier handlers receive the notifier itself, as in QEMU.
QAIO_EXPORT void aio_set_event_notifier(AioContext *ctx, EventNotifier *notifier,
                                        bool is_external, EventNotifierHandler *io_read,
                                        AioPollFn *io_poll,
                                        EventNotifierHandler *io_poll_ready)
{
    from(ctx)->set_fd_handler(event_notifier_get_fd(notifier), is_external,
                                       reinterpret_cast<IOHandler *>(io_read), nullptr,
                                       io_poll,
                                       reinterpret_cast<IOHandler *>(io_poll_ready),
                                       notifier);
}
#endif
