// SPDX-License-Identifier: MIT
// What the context needs from the block engines: releasing an engine
// attached to a context when the context is finalized.  Engines that were
// not configured have inline no-ops here, so callers need no #ifdef.
#pragma once

#include "lib/loop/context.hh"

namespace qaio::blockio {

// Placeholders until the engines land: nothing attaches an engine yet.
inline void linux_aio_context_finalize(loop::context *) noexcept {}
inline void io_uring_context_finalize(loop::context *) noexcept {}

} // namespace qaio::blockio
