// SPDX-License-Identifier: MIT
// Stand-ins for QEMU's block graph lock registration (API level 10.0):
// aio_context_new registers every context with block/graph-lock.c, which a
// program without QEMU's block layer does not have; as QEMU's stubs do,
// registering does nothing and AioContext.bdrv_graph stays NULL.  Support
// runtime: libqaio only, never libqaio-core.a.
#include "block/graph-lock.h"

#define QAIO_RUNTIME_EXPORT extern "C" __attribute__((visibility("default")))

QAIO_RUNTIME_EXPORT void register_aiocontext(AioContext *ctx);
QAIO_RUNTIME_EXPORT void unregister_aiocontext(AioContext *ctx);

void register_aiocontext(AioContext *)
{
}

void unregister_aiocontext(AioContext *)
{
}
