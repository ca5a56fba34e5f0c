// SPDX-License-Identifier: MIT
// What the QEMU API level adds to the life of every context, however it is
// created (aio_context_new, the main loop's, an IOThread's): at 10.0 a new
// context registers with QEMU's block graph lock and unregisters when it is
// finalized, and completions run inside the program's deferral sections.
// The level's C layer (cabi/api-LEVEL/) defines `level_hooks`; the loop
// only calls them, so that lib/ never names a level.
#pragma once

#include "block/aio.h"

namespace qaio::loop {

// The program's deferred calls (qemu/defer-call.h: QEMU's own in a QEMU
// tree, the support runtime's otherwise).  A block engine defers a
// submission that need not go at once to the end of the caller's section
// (at once outside one); an engine's completion pass and the thread pool's
// completion BH are each a section of their own, so that what their
// callbacks defer is batched.  nullptr at 7.2, where plug/unplug batch.
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
