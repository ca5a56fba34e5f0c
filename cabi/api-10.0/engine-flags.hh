// SPDX-License-Identifier: MIT
// The 10.0 level's engine submissions take QEMU's request flags; FUA is the
// one the engines honour.  (Batching goes through the program's deferred
// calls: level_hooks.defer, cabi/api-10.0/aio-context.cc.)
#pragma once

#include "cabi/block/engine-request.hh"

namespace qaio::cabi {

// A write asked to reach stable storage before it completes.
inline bool engine_fua(blockio::op kind, BdrvRequestFlags flags) noexcept
{
    return kind == blockio::op::write && (flags & BDRV_REQ_FUA);
}

// QEMU's request types as the 10.0 engines take them: those of both
// levels, and a zone append, which they issue as a plain write (never FUA).
inline bool engine_op_10(int type, BdrvRequestFlags *flags, blockio::op *kind) noexcept
{
    if (type == QEMU_AIO_ZONE_APPEND) {
        *kind = blockio::op::write;
        *flags = BdrvRequestFlags(0);
        return true;
    }
    return engine_op(type, kind);
}

} // namespace qaio::cabi
