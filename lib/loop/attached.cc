// SPDX-License-Identifier: MIT
// Objects other subsystems attach to a context on demand (its thread pool,
// the linux-aio and io_uring engines), released when the context is
// finalized: the pool first, as QEMU does, so that no worker can still
// complete into an engine or a BH of a dying context.
#include "lib/blockio/engines.hh"
#include "lib/loop/context.hh"
#include "lib/pool/thread_pool.hh"

namespace qaio::loop {

void attached_finalize(context *ctx) noexcept
{
    pool::context_pool_finalize(ctx);
    blockio::linux_aio_context_finalize(ctx);
    blockio::io_uring_context_finalize(ctx);
}

} // namespace qaio::loop
