/* SPDX-License-Identifier: MIT */
/*
 * Waiting for a condition that another context's activity makes true.
 *
 * AIO_WAIT_WHILE(ctx, cond) polls until cond is false.  In ctx's home thread
 * it polls ctx itself; from the main thread, waiting on an IOThread's
 * context, it polls the main context.  At API level 7.2 it releases ctx's
 * lock around each poll so that the IOThread can make progress
 * (AIO_WAIT_WHILE_UNLOCKED keeps the lock alone); 10.0 has no context lock,
 * and both macros are the same.  Whoever changes the condition from another thread calls
 * aio_wait_kick(), which wakes the main loop when somebody waits.  The waiter
 * count is raised before the condition is first read, and aio_wait_kick reads
 * it after a full barrier: either the kicker sees the waiter, or the waiter
 * sees the new condition.
 */
#ifndef QEMU_AIO_WAIT_H
#define QEMU_AIO_WAIT_H

#include "block/aio.h"
#include "qemu/main-loop.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    /* Number of AIO_WAIT_WHILE callers waiting right now. */
    unsigned num_waiters;
} AioWait;

extern AioWait global_aio_wait;

#if QAIO_QEMU_API_AT_LEAST(10, 0)
#define AIO_WAIT_WHILE_INTERNAL(ctx, cond) ({                                 \
    bool qaio_waited_ = false;                                                \
    AioContext *qaio_ctx_ = (ctx);                                            \
    qatomic_inc(&global_aio_wait.num_waiters);                                \
    /* the increment is a full barrier; pairs with aio_wait_kick() */         \
    smp_mb__after_rmw();                                                      \
    if (qaio_ctx_ && in_aio_context_home_thread(qaio_ctx_)) {                 \
        while ((cond)) {                                                      \
            aio_poll(qaio_ctx_, true);                                        \
            qaio_waited_ = true;                                              \
        }                                                                     \
    } else {                                                                  \
        assert(qemu_get_current_aio_context() == qemu_get_aio_context());     \
        while ((cond)) {                                                      \
            aio_poll(qemu_get_aio_context(), true);                           \
            qaio_waited_ = true;                                              \
        }                                                                     \
    }                                                                         \
    qatomic_dec(&global_aio_wait.num_waiters);                                \
    qaio_waited_; })

#define AIO_WAIT_WHILE(ctx, cond) AIO_WAIT_WHILE_INTERNAL(ctx, cond)
#define AIO_WAIT_WHILE_UNLOCKED(ctx, cond) AIO_WAIT_WHILE_INTERNAL(ctx, cond)
#else
#define AIO_WAIT_WHILE_INTERNAL(ctx, cond, unlock) ({                         \
    bool qaio_waited_ = false;                                                \
    AioContext *qaio_ctx_ = (ctx);                                            \
    qatomic_inc(&global_aio_wait.num_waiters);                                \
    smp_mb(); /* pairs with the barrier in aio_wait_kick() */                 \
    if (qaio_ctx_ && in_aio_context_home_thread(qaio_ctx_)) {                 \
        while ((cond)) {                                                      \
            aio_poll(qaio_ctx_, true);                                        \
            qaio_waited_ = true;                                              \
        }                                                                     \
    } else {                                                                  \
        assert(qemu_get_current_aio_context() == qemu_get_aio_context());     \
        while ((cond)) {                                                      \
            if ((unlock) && qaio_ctx_) {                                      \
                aio_context_release(qaio_ctx_);                               \
            }                                                                 \
            aio_poll(qemu_get_aio_context(), true);                           \
            if ((unlock) && qaio_ctx_) {                                      \
                aio_context_acquire(qaio_ctx_);                               \
            }                                                                 \
            qaio_waited_ = true;                                              \
        }                                                                     \
    }                                                                         \
    qatomic_dec(&global_aio_wait.num_waiters);                                \
    qaio_waited_; })

#define AIO_WAIT_WHILE(ctx, cond) AIO_WAIT_WHILE_INTERNAL(ctx, cond, true)
#define AIO_WAIT_WHILE_UNLOCKED(ctx, cond) AIO_WAIT_WHILE_INTERNAL(ctx, cond, false)
#endif

void aio_wait_kick(void);
void aio_wait_bh_oneshot(AioContext *ctx, QEMUBHFunc *cb, void *opaque);

/*
 * in_aio_context_home_thread: whether the calling thread may poll @ctx: its
 * current context, or the main context while it holds the big QEMU lock.
 */
static inline bool in_aio_context_home_thread(AioContext *ctx)
{
    if (ctx == qemu_get_current_aio_context()) {
        return true;
    }
    if (ctx == qemu_get_aio_context()) {
#if QAIO_QEMU_API_AT_LEAST(10, 0)
        return bql_locked();
#else
        return qemu_mutex_iothread_locked();
#endif
    }
    return false;
}

#ifdef __cplusplus
}
#endif

#endif
