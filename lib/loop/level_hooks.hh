// SPDX-License-Identifier: MIT
// What the QEMU API level adds to the life of every context, however it is
// created (aio_context_new, the main loop's, an IOThread's): at 10.0 a new
// context registers with QEMU's block graph lock and unregisters when it is
// finalized.  The level's C layer (cabi/api-LEVEL/) defines `level_hooks`;
// the loop only calls them, so that lib/ never names a level.
#pragma once

#include "block/aio.h"

namespace qaio::loop {

struct context_level_hooks {
    void (*created)(AioContext *ctx);     // last step of a context's creation
    void (*finalizing)(AioContext *ctx);  // first step of its finalization
};

extern const context_level_hooks level_hooks;

} // namespace qaio::loop
