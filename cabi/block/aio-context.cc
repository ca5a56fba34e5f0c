// SPDX-License-Identifier: MIT
// block/aio.h: context lifetime, lock, notification, parameters, GSource.
#include "block/aio.h"
#include "qapi/error.h"

#include "cabi/error.hh"
#include "cabi/export.hh"
#include "cabi/opaque.hh"
#include "lib/loop/context.hh"

#include <cerrno>

using qaio::cabi::from;
using qaio::cabi::to_c;
using qaio::loop::context;

QAIO_EXPORT AioContext *aio_context_new(Error **errp)
{
    context *ctx = context::create();
    if (!ctx) {
        qaio::cabi::set_init_error(errp, errno, "Failed to initialize event notifier");
        return nullptr;
    }
    return to_c(ctx);
}

QAIO_EXPORT void aio_context_ref(AioContext *ctx)
{
    g_source_ref(&ctx->source);
}

QAIO_EXPORT void aio_context_unref(AioContext *ctx)
{
    g_source_unref(&ctx->source);
}

QAIO_EXPORT void aio_context_setup(AioContext *ctx)
{
    from(ctx)->backend().setup();
}

QAIO_EXPORT void aio_context_destroy(AioContext *ctx)
{
    from(ctx)->backend().destroy();
}

QAIO_EXPORT void aio_context_use_g_source(AioContext *ctx)
{
    from(ctx)->backend().use_g_source();
}

QAIO_EXPORT GSource *aio_get_g_source(AioContext *ctx)
{
    from(ctx)->backend().use_g_source();
    g_source_ref(&ctx->source);
    return &ctx->source;
}

#ifndef _WIN32
// Windows: cabi/block/aio-win32.cc (no busy polling there).
QAIO_EXPORT void aio_context_set_poll_params(AioContext *ctx, int64_t max_ns,
                                             int64_t grow, int64_t shrink,
                                             Error **errp)
{
    from(ctx)->set_poll_params(max_ns, grow, shrink);
}
#endif

#ifndef _WIN32
// util/aio-posix's: QEMU's Windows build has none.
QAIO_EXPORT bool aio_poll_disabled(AioContext *ctx)
{
    return from(ctx)->backend().poll_disabled();
}
#endif

QAIO_EXPORT void aio_notify(AioContext *ctx)
{
    from(ctx)->notify();
}

QAIO_EXPORT void aio_notify_accept(AioContext *ctx)
{
    from(ctx)->notify_accept();
}

QAIO_EXPORT AioContext *qemu_get_current_aio_context(void)
{
    return qaio::loop::current_context();
}

QAIO_EXPORT void qemu_set_current_aio_context(AioContext *ctx)
{
    qaio::loop::set_current_context(ctx);
}
