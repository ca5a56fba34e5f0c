// SPDX-License-Identifier: MIT
// Placeholder until the thread pool and block engines land: nothing is ever
// attached to a context yet.
#include "lib/loop/context.hh"

namespace qaio::loop {

void attached_finalize(context *) noexcept {}

} // namespace qaio::loop
