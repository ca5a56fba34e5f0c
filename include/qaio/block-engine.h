/* SPDX-License-Identifier: MIT */
/*
 * The block engines this libqaio was built with (linux-aio, io_uring), each
 * described by the same table of its QEMU functions (block/raw-aio.h,
 * block/aio.h), so that a program can drive every engine of the build
 * through one interface, as qaio's own engine tests and stress programs do.
 * Each entry calls the engine's exported function itself (laio_init,
 * luring_co_submit, aio_setup_linux_io_uring...): the engine pointer is
 * passed as void *, the BlockDriverState as NULL, and io_uring ignores
 * dev_max_batch, which only linux-aio takes.  At the 10.0 level, where QEMU
 * submits only to the current context's engine and batches with defer_call
 * sections, co_submit hands the request to the given engine through the
 * same path as laio_co_submit / luring_co_submit, and plug/unplug are
 * defer_call_begin / defer_call_end.
 */
#ifndef QAIO_BLOCK_ENGINE_H
#define QAIO_BLOCK_ENGINE_H

#include "block/aio.h"
#include "qapi/error.h"
#include "qemu/iov.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct QaioBlockEngine {
    const char *name;       /* "linux-aio", "io_uring" */
    unsigned max_in_flight; /* requests the engine hands the kernel at once */
    void *(*init)(Error **errp);                        /* laio_init */
    void (*cleanup)(void *s);                           /* laio_cleanup */
    void (*attach)(void *s, AioContext *new_context);   /* laio_attach_aio_context */
    void (*detach)(void *s, AioContext *old_context);   /* laio_detach_aio_context */
    void *(*setup)(AioContext *ctx, Error **errp);      /* aio_setup_linux_aio */
    void *(*get)(AioContext *ctx);                      /* aio_get_linux_aio */
    int coroutine_fn (*co_submit)(void *s, int fd, uint64_t offset,
                                  QEMUIOVector *qiov, int type,
                                  uint64_t dev_max_batch); /* laio_co_submit */
    void (*plug)(void *s);                              /* laio_io_plug */
    void (*unplug)(void *s, uint64_t dev_max_batch);    /* laio_io_unplug */
} QaioBlockEngine;

/*
 * qaio_block_engine: the engine called @name ("linux-aio" or "io_uring").
 *
 * Returns: a static table, or NULL if this build has no such engine.
 */
const QaioBlockEngine *qaio_block_engine(const char *name);

#ifdef __cplusplus
}
#endif

#endif
