/* SPDX-License-Identifier: MIT */
/* A QEMU tree's side of libqaio-core.a's imports (tests/qemu_stand_in.c). */
#ifndef QAIO_TESTS_QEMU_STAND_IN_H
#define QAIO_TESTS_QEMU_STAND_IN_H

#include "qemu/osdep.h"
#include "block/aio.h"
#include "qemu/main-loop.h"
#include "qapi/error.h"

/* The big lock under the API level's names, per thread as QEMU's. */
void big_lock(void);
void big_unlock(void);

#if QAIO_QEMU_API_AT_LEAST(10, 0)
/* QEMU 10.0's block graph lock: contexts registered, and the mark each new
 * context gets in AioContext.bdrv_graph. */
extern int graph_registered;
extern BdrvGraphRWlock *const graph_marker;
#endif

#endif
