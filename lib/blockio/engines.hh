// SPDX-License-Identifier: MIT
// The block I/O engines' interface to the rest of qaio: the C ABI layer
// (cabi/block/linux-aio.cc, cabi/block/io_uring.cc) forwards laio_* and
// luring_* here, and the context releases an engine attached to it with
// aio_setup_linux_* when it is finalized.  Each engine exists only when
// configure found its library (CONFIG_LINUX_AIO, CONFIG_LINUX_IO_URING);
// otherwise only the finalization hooks remain, as inline no-ops, so callers
// need no #ifdef.  The engine types are the opaque C structs themselves
// (LinuxAioState, LuringState), defined in the engines' own files.
//
// Threading: every function except *_new and *_free runs in the thread of
// the AioContext the engine is attached to (submissions from that context's
// coroutines); *_new may run in any thread, and an engine can be created in
// one thread and attached and used in another.
#pragma once

#include "qemu/iov.h"
#include "lib/loop/context.hh"

#include <cstdint>

namespace qaio::blockio {

// Why an engine could not be created: the errno and what failed, for the
// message the C layer builds with error_setg_errno().
struct init_failure {
    int errno_;
    const char *what_;
};

// What a submission asks for.  The C layer maps QEMU_AIO_* onto it and
// handles the types an engine does not support, as QEMU does.
enum class op { read, write, flush };

// What tells the engines apart where they are named (messages, the
// qaio_block_engine table).
struct engine_kind {
    const char *name;                // "linux-aio", "io_uring"
    const char *api;                 // the prefix of QEMU's functions
    const char *completion_bh_name;  // the BH's name in diagnostics
    unsigned max_in_flight;          // requests handed to the kernel at most
};

#ifdef CONFIG_LINUX_AIO

extern const engine_kind linux_aio_kind;

// laio_new: a detached engine with a 1024-event kernel AIO context and its
// eventfd; nullptr and *why filled in on failure.
LinuxAioState *laio_new(init_failure *why) noexcept;
// laio_free: the engine must be detached and idle.
void laio_free(LinuxAioState *s) noexcept;
void laio_attach(LinuxAioState *s, loop::context *ctx) noexcept;
void laio_detach(LinuxAioState *s, loop::context *ctx) noexcept;
// laio_submit_co: queue, submit per the batching rules, wait (in coroutine
// context) and return 0 / -errno.  dev_max_batch 0 means no device limit.
int laio_submit_co(LinuxAioState *s, int fd, uint64_t offset, QEMUIOVector *qiov,
                   op kind, uint64_t dev_max_batch) noexcept;
void laio_plug(LinuxAioState *s) noexcept;
void laio_unplug(LinuxAioState *s, uint64_t dev_max_batch) noexcept;

// The context's engine, created and attached on first use.
LinuxAioState *linux_aio_setup(loop::context *ctx, init_failure *why) noexcept;
// The context's engine, or nullptr before linux_aio_setup.
LinuxAioState *linux_aio_of(loop::context *ctx) noexcept;
// At context finalization: detach and free the context's engine, if any.
void linux_aio_context_finalize(loop::context *ctx) noexcept;

#else

inline void linux_aio_context_finalize(loop::context *) noexcept {}

#endif

#ifdef CONFIG_LINUX_IO_URING

extern const engine_kind io_uring_kind;

// luring_new: a detached engine with a 128-entry io_uring; nullptr and *why
// filled in on failure.
LuringState *luring_new(init_failure *why) noexcept;
// luring_free: the engine must be detached and idle.
void luring_free(LuringState *s) noexcept;
void luring_attach(LuringState *s, loop::context *ctx) noexcept;
void luring_detach(LuringState *s, loop::context *ctx) noexcept;
// luring_submit_co: queue, submit, wait (in coroutine context) and return
// 0 / -errno; short reads, -EAGAIN and -EINTR are handled inside.
int luring_submit_co(LuringState *s, int fd, uint64_t offset, QEMUIOVector *qiov,
                     op kind) noexcept;
void luring_plug(LuringState *s) noexcept;
void luring_unplug(LuringState *s) noexcept;

// The context's engine, created and attached on first use.
LuringState *io_uring_setup(loop::context *ctx, init_failure *why) noexcept;
// The context's engine, or nullptr before io_uring_setup.
LuringState *io_uring_of(loop::context *ctx) noexcept;
// At context finalization: detach and free the context's engine, if any.
void io_uring_context_finalize(loop::context *ctx) noexcept;

#else

inline void io_uring_context_finalize(loop::context *) noexcept {}

#endif

} // namespace qaio::blockio
