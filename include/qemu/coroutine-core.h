/* SPDX-License-Identifier: MIT */
/*
 * The core coroutine API: creating, entering and yielding coroutines, and
 * CoMutex.  QEMU 10.0 declares it in this header, which block/aio.h and
 * qemu/coroutine.h include; at API level 7.2 it is part of qemu/coroutine.h.
 */
#ifndef QEMU_COROUTINE_CORE_H
#define QEMU_COROUTINE_CORE_H

#include "qemu/osdep.h"
#include "qemu/atomic.h"
#include "qemu/queue.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef void coroutine_fn CoroutineEntry(void *opaque);

Coroutine *qemu_coroutine_create(CoroutineEntry *entry, void *opaque);
void qemu_coroutine_enter(Coroutine *coroutine);
void qemu_coroutine_enter_if_inactive(Coroutine *co);
void qemu_aio_coroutine_enter(AioContext *ctx, Coroutine *co);
void coroutine_fn qemu_coroutine_yield(void);
AioContext *qemu_coroutine_get_aio_context(Coroutine *co);
Coroutine *qemu_coroutine_self(void);
bool qemu_in_coroutine(void);
bool qemu_coroutine_entered(Coroutine *co);

/* CoMutex: a fair mutex for coroutines, usable across threads. */
typedef struct CoMutex CoMutex;
typedef struct CoWaitRecord CoWaitRecord;
struct CoMutex {
    /* Count of pending lockers; 0 for a free mutex, 1 for an uncontended one. */
    unsigned locked;

    /* qaio: the thread allowed the lock-free fast path while no other thread
     * uses the mutex (padding in QEMU's layout; 0 in a zeroed mutex). */
    unsigned bias;

    /* Context of the holder, for the spinning heuristic. */
    AioContext *ctx;

    /* Waiters push here; the holder moves them to to_pop in FIFO order. */
    QSLIST_HEAD(, CoWaitRecord) from_push, to_pop;

    unsigned handoff, sequence;

    Coroutine *holder;
};

void qemu_co_mutex_init(CoMutex *mutex);
void coroutine_fn qemu_co_mutex_lock(CoMutex *mutex);
void coroutine_fn qemu_co_mutex_unlock(CoMutex *mutex);

static inline coroutine_fn void qemu_co_mutex_assert_locked(CoMutex *mutex)
{
    /* Holder is read without a barrier: only the holder itself can match. */
    assert(qatomic_read(&mutex->locked) &&
           mutex->holder == qemu_coroutine_self());
}

#ifdef __cplusplus
}
#endif

#endif
