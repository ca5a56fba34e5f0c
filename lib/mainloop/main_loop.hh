// SPDX-License-Identifier: MIT
// The main loop (QEMU's util/main-loop): the main and iohandler contexts,
// GSources of glib's default context, driven by main_loop_wait with the
// main-loop timers and poll notifiers; aio-wait; qaio's IOThread.  glib
// polls one fd per context (the monitor's), not every fd as in 7.2.  init,
// wait and the poll notifiers are the main thread's; the rest any thread's.
#pragma once

#include "block/aio.h"
#include "block/aio-wait.h"
#include "qemu/main-loop.h"

namespace qaio::mainloop {

// Returns 0, or -errno with *failed_step saying what failed.
int init(QEMUTimerListGroup *main_tlg, QEMUTimerListNotifyCB *timer_notify,
         const char **failed_step) noexcept;

// Returns the poll's result (< 0 on error).
int wait(bool nonblocking) noexcept;

// A no-op before init.
void notify_event() noexcept;

// Created on first use, even before init.
AioContext *iohandler_context() noexcept;
void set_fd_handler(int fd, IOHandler *fd_read, IOHandler *fd_write, void *opaque) noexcept;

void poll_notifier_add(Notifier *n) noexcept;
void poll_notifier_remove(Notifier *n) noexcept;

// Returns 0 or -errno.
int signals_init() noexcept;

// @w is global_aio_wait, owned by cabi/.
void wait_kick(AioWait *w) noexcept;
// caller_holds_ctx: the caller holds ctx's lock once (7.2's contract), which
// is dropped while the main context is polled; else (10.0) it is not taken.
void wait_bh_oneshot(AioWait *w, AioContext *ctx, QEMUBHFunc *cb, void *opaque,
                     bool caller_holds_ctx) noexcept;

} // namespace qaio::mainloop
