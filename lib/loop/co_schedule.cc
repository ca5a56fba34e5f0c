// SPDX-License-Identifier: MIT
// Placeholder until cross-context coroutine scheduling lands: nothing can be
// scheduled yet, so there is nothing to set up or to drain.
#include "lib/loop/context.hh"

namespace qaio::loop {

void co_schedule_init(context *) noexcept {}
void co_schedule_finalize(context *) noexcept {}

} // namespace qaio::loop
