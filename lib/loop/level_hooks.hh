// SPDX-License-Identifier: MIT
// What the QEMU API level adds to every context's life: at 10.0 a context
// registers with the block graph lock, and completions run in deferral
// sections.  cabi/api-LEVEL/ defines `level_hooks`, so lib/ never names a
// level.
#pragma once

#include "block/aio.h"

namespace qaio::loop {

// qemu/defer-call.h (QEMU's in a QEMU tree, else the support runtime's).
// Engines defer submissions to the end of the caller's section; completion
// passes are sections of their own.  nullptr at 7.2 (plug/unplug batch).
struct deferral {
    void (*begin)();
    void (*end)();
    void (*call)(void (*fn)(void *), void *opaque);
};

struct context_level_hooks {
    void (*created)(AioContext *ctx);     // last step of a context's creation
    void (*finalizing)(AioContext *ctx);  // first step of its finalization
    const deferral *defer;
};

extern const context_level_hooks level_hooks;

} // namespace qaio::loop
