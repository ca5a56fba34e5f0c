// SPDX-License-Identifier: MIT
// block/aio.h: fd handlers, event notifiers and event processing.
#include "block/aio.h"

#include "cabi/export.hh"
#include "cabi/opaque.hh"
#include "lib/loop/context.hh"

using qaio::cabi::from;

#ifndef _WIN32
// Windows: cabi/block/aio-win32.cc.
QAIO_EXPORT void aio_set_event_notifier_poll(AioContext *ctx, EventNotifier *notifier,
                                             EventNotifierHandler *io_poll_begin,
                                             EventNotifierHandler *io_poll_end)
{
    from(ctx)->backend().set_fd_poll(event_notifier_get_fd(notifier),
                                     reinterpret_cast<IOHandler *>(io_poll_begin),
                                     reinterpret_cast<IOHandler *>(io_poll_end));
}
#endif

QAIO_EXPORT bool aio_prepare(AioContext *ctx)
{
    return from(ctx)->backend().prepare();
}

QAIO_EXPORT bool aio_pending(AioContext *ctx)
{
    return from(ctx)->backend().gs_pending();
}

QAIO_EXPORT void aio_dispatch(AioContext *ctx)
{
    from(ctx)->gs_dispatch();
}

QAIO_EXPORT bool aio_poll(AioContext *ctx, bool blocking)
{
    return from(ctx)->poll(blocking);
}

QAIO_EXPORT int64_t aio_compute_timeout(AioContext *ctx)
{
    return from(ctx)->compute_timeout();
}
