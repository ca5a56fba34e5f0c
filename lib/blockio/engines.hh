// SPDX-License-Identifier: MIT
// The block I/O engines' interface to the rest of qaio: the C ABI layer
// (cabi/block/linux-aio.cc, cabi/block/io_uring.cc) forwards laio_* and
// luring_* here; an engine set up with aio_setup_linux_* is the context's
// attachment (loop::attachment_kind), released when it is finalized.  Each
// engine exists only when configure found its library (CONFIG_LINUX_AIO,
// CONFIG_LINUX_IO_URING).
//
// Threading: every function except engine_new and engine_free runs in the
// thread of the AioContext the engine is attached to (submissions from that
// context's coroutines); engine_new may run in any thread, and an engine can
// be created in one thread and attached and used in another.
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

// What every engine type (the opaque C structs LinuxAioState and
// LuringState, defined in the engines' own files) offers: written once in
// engine.hh, instantiated in each engine's file.
//
// engine_new: a detached engine; nullptr and *why filled in on failure.
template <class Engine> Engine *engine_new(init_failure *why) noexcept;
// engine_free: the engine must be detached and idle.
template <class Engine> void engine_free(Engine *s) noexcept;
template <class Engine> void engine_attach(Engine *s, loop::context *ctx) noexcept;
template <class Engine> void engine_detach(Engine *s, loop::context *ctx) noexcept;
template <class Engine> void engine_plug(Engine *s) noexcept;
// The context's engine, created and attached on first use.
template <class Engine>
Engine *context_engine_setup(loop::context *ctx, init_failure *why) noexcept;
// The context's engine, or nullptr before context_engine_setup.
template <class Engine> Engine *context_engine(loop::context *ctx) noexcept;

// Submissions queue, submit per the engine's batching rules, wait (in
// coroutine context) and return 0 / -errno.
#ifdef CONFIG_LINUX_AIO
extern const engine_kind linux_aio_kind;
// A 1024-event kernel AIO context; dev_max_batch 0 means no device limit;
// fua: a write that is on stable storage when it completes (RWF_DSYNC).
int laio_submit_co(LinuxAioState *s, int fd, uint64_t offset, QEMUIOVector *qiov,
                   op kind, uint64_t dev_max_batch, bool fua = false) noexcept;
// Whether the kernel takes IO_CMD_FDSYNC for fd (a one-request probe).
bool laio_fdsync_supported(int fd) noexcept;
void laio_unplug(LinuxAioState *s, uint64_t dev_max_batch) noexcept;
#endif

#ifdef CONFIG_LINUX_IO_URING
extern const engine_kind io_uring_kind;
// A 128-entry io_uring; short reads, -EAGAIN and -EINTR are handled inside.
int luring_submit_co(LuringState *s, int fd, uint64_t offset, QEMUIOVector *qiov,
                     op kind, bool fua = false) noexcept;
void luring_unplug(LuringState *s) noexcept;
#endif

} // namespace qaio::blockio
