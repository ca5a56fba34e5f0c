// SPDX-License-Identifier: MIT
// block/raw-aio.h: the linux-aio engine (laio_*) as both API levels have
// it, and block/aio.h's per-context engine (aio_setup_linux_aio,
// aio_get_linux_aio).  Submission is per level (linux-aio-7.2.cc,
// linux-aio-10.0.cc).  Built only with CONFIG_LINUX_AIO.
#include "block/aio.h"
#include "block/raw-aio.h"
#include "qapi/error.h"

#include "cabi/block/engine-request.hh"
#include "cabi/error.hh"
#include "cabi/export.hh"
#include "cabi/opaque.hh"
#include "lib/blockio/engines.hh"
#include "lib/loop/context.hh"

using qaio::blockio::init_failure;
using qaio::cabi::from;

QAIO_EXPORT LinuxAioState *laio_init(Error **errp)
{
    init_failure why{};
    LinuxAioState *s = qaio::blockio::engine_new<LinuxAioState>(&why);
    if (!s) {
        qaio::cabi::set_init_error(errp, why.errno_, why.what_);
    }
    return s;
}

QAIO_EXPORT void laio_cleanup(LinuxAioState *s)
{
    qaio::blockio::engine_free(s);
}

QAIO_EXPORT void laio_detach_aio_context(LinuxAioState *s, AioContext *old_context)
{
    qaio::blockio::engine_detach(s, from(old_context));
}

QAIO_EXPORT void laio_attach_aio_context(LinuxAioState *s, AioContext *new_context)
{
    qaio::blockio::engine_attach(s, from(new_context));
}

QAIO_EXPORT LinuxAioState *aio_setup_linux_aio(AioContext *ctx, Error **errp)
{
    init_failure why{};
    LinuxAioState *s = qaio::blockio::context_engine_setup<LinuxAioState>(from(ctx), &why);
    if (!s) {
        qaio::cabi::set_init_error(errp, why.errno_, why.what_);
    }
    return s;
}

QAIO_EXPORT LinuxAioState *aio_get_linux_aio(AioContext *ctx)
{
    return qaio::cabi::context_engine_of<LinuxAioState>(ctx, "linux-aio", "aio_setup_linux_aio");
}
