/* SPDX-License-Identifier: MIT */
/*
 * qaio_iothread: a thread with an AioContext of its own, for standalone
 * programs (QEMU's IOThread object is emulator code, outside this library).
 * The thread makes its context current and runs aio_poll(ctx, true) until
 * it is stopped; the stop travels as a BH in that context, so it cannot
 * miss a wake-up.  Hand work to it with aio_bh_schedule_oneshot,
 * aio_co_schedule, aio_co_enter or fd handlers on its context; wait for it
 * from the main thread with AIO_WAIT_WHILE or aio_wait_bh_oneshot.
 */
#ifndef QAIO_IOTHREAD_H
#define QAIO_IOTHREAD_H

#include "block/aio.h"
#include "qapi/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct QaioIOThread QaioIOThread;

/*
 * qaio_iothread_new: creates a context and starts its thread.
 * @name: the thread's name (the first 15 bytes show in ps and gdb); not NULL.
 * @errp: set if the context or the thread cannot be created.
 *
 * Returns: the new IOThread, or NULL on failure.
 */
QaioIOThread *qaio_iothread_new(const char *name, Error **errp);

/*
 * qaio_iothread_get_aio_context: the IOThread's context, valid until
 * qaio_iothread_free.  Usable at once: the context exists before the thread.
 */
AioContext *qaio_iothread_get_aio_context(QaioIOThread *iothread);

/*
 * qaio_iothread_join: stops the thread once it has run what is already
 * scheduled in its context, and waits for it to exit.  Calling it twice is
 * harmless; it must not be called from the IOThread itself.
 */
void qaio_iothread_join(QaioIOThread *iothread);

/*
 * qaio_iothread_free: joins the thread if it still runs, then drops the
 * context (whose BHs and handlers must be gone by then) and frees @iothread.
 */
void qaio_iothread_free(QaioIOThread *iothread);

#ifdef __cplusplus
}
#endif

#endif
