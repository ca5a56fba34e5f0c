// SPDX-License-Identifier: MIT
// The win32-aio block engine (QEMU's block/win32-aio: win32_aio_*), the C
// layer's interface to it (cabi/block/win32-aio.cc).  The engine type is the
// opaque C struct QEMUWin32AIOState, defined in aio_engine.cc; like the
// Linux engines it is created, freed, attached to and detached from an
// AioContext through lib/blockio/engines.hh's operations (engine_new,
// engine_free, engine_attach, engine_detach), instantiated there.
//
// Threading: submissions and completions run in the thread of the
// AioContext the engine is attached to; win32_aio_attach may run in any
// thread.
#pragma once

#include "block/aio.h"
#include "qemu/iov.h"
#include "lib/blockio/engines.hh"

#include <cstdint>

struct QEMUWin32AIOState;

namespace qaio::win32 {

// Associates file with the engine's completion port: 0, or -EINVAL when
// Windows refuses (a handle not opened with FILE_FLAG_OVERLAPPED, or one
// already associated with a port).
int aio_attach_file(QEMUWin32AIOState *s, HANDLE file) noexcept;

// Starts an overlapped read or write of bytes of qiov at offset of file;
// the request, or nullptr when it cannot start (the file is not attached,
// bytes exceeds qiov or a DWORD, no bounce buffer, Windows refuses it), in
// which case cb never runs.
BlockAIOCB *aio_submit(QEMUWin32AIOState *s, BlockDriverState *bs, HANDLE file,
                       uint64_t offset, uint64_t bytes, QEMUIOVector *qiov,
                       BlockCompletionFunc *cb, void *opaque, blockio::op kind) noexcept;

} // namespace qaio::win32
