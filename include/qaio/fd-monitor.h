/* SPDX-License-Identifier: MIT */
/*
 * Which fd monitor a context waits with, for tests and benchmarks that must
 * know what they measured (QAIO_FDMON asks for one; the automatic choice
 * moves between poll(2), epoll and io_uring as the context grows or is
 * handed to glib).
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
 * The answer can change later: under the automatic choice a context on
 * poll(2) moves to epoll once it watches many fds, and one handed to glib
 * moves to poll(2) with few fds and to io_uring with more.
 *
 * Returns: a static string, "poll", "epoll" or "io_uring".
 */
const char *qaio_aio_context_fd_monitor(AioContext *ctx);

#ifdef __cplusplus
}
#endif

#endif
