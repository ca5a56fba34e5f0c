// SPDX-License-Identifier: MIT
// The win32-aio engine's interface to cabi/block/win32-aio.cc; created and
// attached through lib/blockio/engines.hh.  Submissions and completions run
// in the attached context's thread; aio_attach_file in any.
#pragma once

#include "block/aio.h"
#include "qemu/iov.h"
#include "lib/blockio/engines.hh"

#include <cstdint>

struct QEMUWin32AIOState;

namespace qaio::win32 {

// -EINVAL when Windows refuses (no FILE_FLAG_OVERLAPPED, another port).
int aio_attach_file(QEMUWin32AIOState *s, HANDLE file) noexcept;

// nullptr (cb never runs) when the request cannot start.
BlockAIOCB *aio_submit(QEMUWin32AIOState *s, BlockDriverState *bs, HANDLE file,
                       uint64_t offset, uint64_t bytes, QEMUIOVector *qiov,
                       BlockCompletionFunc *cb, void *opaque, blockio::op kind) noexcept;

} // namespace qaio::win32
