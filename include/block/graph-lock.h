/* SPDX-License-Identifier: MIT */
/*
 * The block graph lock's types that block/aio.h needs (QEMU 10.0).  The lock
 * itself is QEMU's block layer (block/graph-lock.c), outside this subsystem:
 * aio_context_new() calls register_aiocontext(), which may store the
 * context's BdrvGraphRWlock in AioContext.bdrv_graph, and the context's
 * finalization calls unregister_aiocontext().  A standalone libqaio carries
 * QEMU's stubs for both (they do nothing); libqaio-core.a leaves them to the
 * QEMU tree.
 */
#ifndef GRAPH_LOCK_H
#define GRAPH_LOCK_H

#include "qemu/osdep.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct BdrvGraphRWlock BdrvGraphRWlock;

/* QEMU 10.0's header (installed at that API level only). */
#if QAIO_QEMU_API_AT_LEAST(10, 0)
void register_aiocontext(AioContext *ctx);
void unregister_aiocontext(AioContext *ctx);
#endif

#ifdef __cplusplus
}
#endif

#endif
