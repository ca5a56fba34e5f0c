/* SPDX-License-Identifier: MIT */
/*
 * The calls whose prototype differs between QEMU API levels, in one form the
 * suites use at either level (configure --with-qemu-api).  Handlers
 * registered through these are never external (QEMU 7.2's is_external, which
 * 10.0 removed); the suites about external handlers, the context lock and the
 * other 7.2-only functions are compiled at 7.2 only.
 */
#ifndef QAIO_TESTS_API_LEVEL_H
#define QAIO_TESTS_API_LEVEL_H

#include "qemu/osdep.h"
#include "block/aio.h"

#if QAIO_QEMU_API_AT_LEAST(10, 0)
#define t_set_fd_handler(ctx, fd, io_read, io_write, io_poll, ready, opaque) \
    aio_set_fd_handler((ctx), (fd), (io_read), (io_write), (io_poll), (ready), (opaque))
#define t_set_event_notifier(ctx, e, io_read, io_poll, ready) \
    aio_set_event_notifier((ctx), (e), (io_read), (io_poll), (ready))
#else
#define t_set_fd_handler(ctx, fd, io_read, io_write, io_poll, ready, opaque) \
    aio_set_fd_handler((ctx), (fd), false, (io_read), (io_write), (io_poll), (ready), (opaque))
#define t_set_event_notifier(ctx, e, io_read, io_poll, ready) \
    aio_set_event_notifier((ctx), (e), false, (io_read), (io_poll), (ready))
#endif

/* QEMU 7.2's API: is_external, aio_disable_external, the context lock,
 * aio_set_fd_poll, qemu_fd_register ... */
#define T_API_7_2 (!QAIO_QEMU_API_AT_LEAST(10, 0))

#endif
