// SPDX-License-Identifier: MIT
// qaio/fd-monitor.h: which fd monitor a context waits with.
#include "qaio/fd-monitor.h"

#include "cabi/export.hh"
#include "cabi/opaque.hh"
#include "lib/loop/context.hh"

using qaio::cabi::from;

QAIO_EXPORT const char *qaio_aio_context_fd_monitor(AioContext *ctx)
{
    return from(ctx)->backend().name();
}
