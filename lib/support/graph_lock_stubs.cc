// SPDX-License-Identifier: MIT
// QEMU 10.0's block graph lock registration, as QEMU's stubs: nothing
// (bdrv_graph stays NULL).  Support runtime: libqaio only.
#include "block/graph-lock.h"

#define QAIO_RUNTIME_EXPORT extern "C" __attribute__((visibility("default")))

QAIO_RUNTIME_EXPORT void register_aiocontext(AioContext *)
{
}

QAIO_RUNTIME_EXPORT void unregister_aiocontext(AioContext *)
{
}
