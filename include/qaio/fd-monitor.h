/* SPDX-License-Identifier: MIT */
/*
 * Which fd monitor a context waits with, for tests and benchmarks that must
 * know what they measured (QAIO_FDMON asks for one; the automatic choice
 * moves between poll(2) and epoll as the context grows or is handed to glib).
 */
#ifndef QAIO_FD_MONITOR_H
#define QAIO_FD_MONITOR_H

#include "block/aio.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * qaio_aio_context_fd_monitor: the fd monitor @ctx uses now.
 * @ctx: a context from aio_context_new; not NULL.
 *
 * The answer can change later: a context on poll(2) under the automatic
 * choice moves to epoll once it watches many fds, and one handed to glib
 * with few fds moves from epoll to poll(2).
 *
 * Returns: a static string, "poll", "epoll" or "io_uring".
 */
const char *qaio_aio_context_fd_monitor(AioContext *ctx);

#ifdef __cplusplus
}
#endif

#endif
