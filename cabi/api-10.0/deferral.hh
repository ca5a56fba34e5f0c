// SPDX-License-Identifier: MIT
// The 10.0 level's engine submissions: FUA from the request flags, and
// batching through the program's deferred calls (util/defer-call.c: QEMU's
// own in a QEMU tree, lib/support/defer_call.cc's in libqaio).
#pragma once

#include "cabi/block/engine-request.hh"
#include "qemu/defer-call.h"

namespace qaio::cabi {

inline constexpr blockio::deferral program_deferral = {defer_call_begin, defer_call_end,
                                                       defer_call};

// A write asked to reach stable storage before it completes.
inline bool engine_fua(blockio::op kind, BdrvRequestFlags flags) noexcept
{
    return kind == blockio::op::write && (flags & BDRV_REQ_FUA);
}

} // namespace qaio::cabi
