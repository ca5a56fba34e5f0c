// SPDX-License-Identifier: MIT
// The main loop (QEMU's util/main-loop): the main AioContext and the
// iohandler context, both GSources of glib's default GMainContext, driven by
// main_loop_wait together with the main-loop timers and the poll notifiers;
// plus aio-wait, which waits on other contexts from the main thread, and the
// IOThread that standalone programs use for a context of their own.
//
// Speed: glib polls one fd per context (the fd monitor's epoll or io_uring
// fd, see lib/loop/gsource.cc), so an iteration costs the same with 1 or
// 10,000 handlers registered through qemu_set_fd_handler; QEMU 7.2 hands
// every handler's fd to glib's poll instead.
//
// Threads: init, wait and the poll notifiers belong to the main thread;
// notify_event, main_context and iohandler_context may be called from any.
#pragma once

#include "block/aio.h"
#include "block/aio-wait.h"
#include "qemu/main-loop.h"

namespace qaio::mainloop {

// qemu_init_main_loop: clocks with @timer_notify as the main-loop lists'
// notifier, signals, the main context (bound to this thread and published as
// qemu_get_aio_context) and both GSources attached to glib's default
// context.  Returns 0, or -errno with *failed_step saying what failed.
int init(QEMUTimerListGroup *main_tlg, QEMUTimerListNotifyCB *timer_notify,
         const char **failed_step) noexcept;
bool initialized() noexcept;

// main_loop_wait.  Returns the poll's result (< 0 on error).
int wait(bool nonblocking) noexcept;

// qemu_notify_event: wakes main_loop_wait; a no-op before init.
void notify_event() noexcept;

// The iohandler context, created on first use (even before init): handlers
// of qemu_set_fd_handler, run by glib but never by aio_poll on the main
// context.
AioContext *iohandler_context() noexcept;
void set_fd_handler(int fd, IOHandler *fd_read, IOHandler *fd_write, void *opaque) noexcept;

void poll_notifier_add(Notifier *n) noexcept;
void poll_notifier_remove(Notifier *n) noexcept;

// qemu_init_main_loop's signal set-up (signals.cc): blocks QEMU's set in
// the calling thread and delivers SIGIO, SIGALRM and SIGBUS through a
// signalfd handled in the iohandler context.  Returns 0 or -errno.
int signals_init() noexcept;

// aio-wait (aio_wait.cc); @w is global_aio_wait, owned by cabi/.
void wait_kick(AioWait *w) noexcept;
void wait_bh_oneshot(AioWait *w, AioContext *ctx, QEMUBHFunc *cb, void *opaque) noexcept;

} // namespace qaio::mainloop
