// SPDX-License-Identifier: MIT
// block/aio.h on Windows (QEMU's util/aio-win32): the functions whose
// Windows form differs from POSIX's: event notifiers are HANDLEs, and there
// is no busy polling.  The rest of aio-fd.cc and aio-context.cc serves both;
// the forms that differ by API level are in cabi/api-*/ (#ifdef _WIN32).
#include "block/aio.h"
#include "qapi/error.h"

#include "cabi/export.hh"
#include "cabi/opaque.hh"
#include "lib/loop/context.hh"

using qaio::cabi::from;

QAIO_EXPORT void aio_set_event_notifier_poll(AioContext *ctx, EventNotifier *notifier,
                                             EventNotifierHandler *io_poll_begin,
                                             EventNotifierHandler *io_poll_end)
{
    from(ctx)->backend().set_event_notifier_poll(notifier, io_poll_begin, io_poll_end);
}

QAIO_EXPORT void aio_context_set_poll_params(AioContext *ctx, int64_t max_ns,
                                             int64_t grow, int64_t shrink,
                                             Error **errp)
{
    if (max_ns) {
        error_setg(errp, "AioContext polling is not implemented on Windows");
    }
}

