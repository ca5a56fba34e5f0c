// SPDX-License-Identifier: MIT
// The block engines' interface to cabi/block/.  A context's engine is its
// attachment (loop::attachment_kind).  All but engine_new/engine_free run
// in the attached context's thread; an engine may be created in another.
#pragma once

#include "qemu/iov.h"
#include "lib/loop/context.hh"

#include <cstdint>

namespace qaio::blockio {

// For the C layer's error_setg_errno().
struct init_failure {
    int errno_;
    const char *what_;
};

// The C layer maps QEMU_AIO_* and handles the rest, as QEMU does.
enum class op { read, write, flush };

struct engine_kind {
    const char *name;                // "linux-aio", "io_uring"
    const char *api;                 // the prefix of QEMU's functions
    const char *completion_bh_name;  // the BH's name in diagnostics
    unsigned max_in_flight;          // requests handed to the kernel at most
};

// Operations of each engine type (the opaque C structs), written in
// engine.hh, instantiated in each engine's file.
template <class Engine> Engine *engine_new(init_failure *why) noexcept;
// Detached and idle.
template <class Engine> void engine_free(Engine *s) noexcept;
template <class Engine> void engine_attach(Engine *s, loop::context *ctx) noexcept;
template <class Engine> void engine_detach(Engine *s, loop::context *ctx) noexcept;
template <class Engine> void engine_plug(Engine *s) noexcept;
// Created and attached on first use.
template <class Engine>
Engine *context_engine_setup(loop::context *ctx, init_failure *why) noexcept;
template <class Engine> Engine *context_engine(loop::context *ctx) noexcept;

// Submissions wait in coroutine context and return 0 / -errno.
#ifdef CONFIG_LINUX_AIO
extern const engine_kind linux_aio_kind;
// dev_max_batch 0: no device limit; fua: RWF_DSYNC.
int laio_submit_co(LinuxAioState *s, int fd, uint64_t offset, QEMUIOVector *qiov,
                   op kind, uint64_t dev_max_batch, bool fua = false) noexcept;
bool laio_fdsync_supported(int fd) noexcept;
void laio_unplug(LinuxAioState *s, uint64_t dev_max_batch) noexcept;
#endif

#ifdef CONFIG_LINUX_IO_URING
extern const engine_kind io_uring_kind;
int luring_submit_co(LuringState *s, int fd, uint64_t offset, QEMUIOVector *qiov,
                     op kind, bool fua = false) noexcept;
void luring_unplug(LuringState *s) noexcept;
// Whether the engine's ring defers its task work (IORING_SETUP_DEFER_TASKRUN)
// now; for the white-box tests.
bool luring_ring_defers(const LuringState *s) noexcept;
#endif

} // namespace qaio::blockio
