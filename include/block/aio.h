/* SPDX-License-Identifier: MIT */
/*
 * AioContext: QEMU's event loop.  A context owns bottom halves, fd handlers,
 * event notifiers and a timer list group, and is run either by aio_poll() in
 * its home thread or as a GSource of a GMainContext.
 *
 * The context is a GSource (the source is its first member).  Only the fields
 * that inline functions of this header (and, at API level 10.0, QEMU's block
 * graph lock) touch have fixed offsets: `tlg`, and `external_disable_cnt` at
 * 7.2, `bdrv_graph` at 10.0; the rest is qaio's own state.
 *
 * The QEMU API level (qaio/config.h, configure --with-qemu-api) selects the
 * prototypes and inlines that differ between QEMU 7.2 and 10.0.
 */
#ifndef QEMU_AIO_H
#define QEMU_AIO_H

#include "qemu/osdep.h"
#include "qemu/atomic.h"
#include "qemu/queue.h"
#include "qemu/event_notifier.h"
#include "qemu/thread.h"
#include "qemu/timer.h"
#if QAIO_QEMU_API_AT_LEAST(10, 0)
#include "qemu/lockcnt.h"
#include "qemu/coroutine-core.h"
#include "block/graph-lock.h"
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef struct BlockAIOCB BlockAIOCB;
typedef void BlockCompletionFunc(void *opaque, int ret);

typedef struct AIOCBInfo {
    void (*cancel_async)(BlockAIOCB *acb);
#if !QAIO_QEMU_API_AT_LEAST(10, 0)
    AioContext *(*get_aio_context)(BlockAIOCB *acb);
#endif
    size_t aiocb_size;
} AIOCBInfo;

#ifdef QAIO_BUILDING_LIBQAIO
/* The library's own AIOCBInfo, written the same at every API level (10.0
 * dropped get_aio_context). */
#if QAIO_QEMU_API_AT_LEAST(10, 0)
#define QAIO_AIOCB_INFO(cancel, get_context, size) \
    { .cancel_async = (cancel), .aiocb_size = (size) }
#else
#define QAIO_AIOCB_INFO(cancel, get_context, size) \
    { .cancel_async = (cancel), .get_aio_context = (get_context), .aiocb_size = (size) }
#endif
#endif

struct BlockAIOCB {
    const AIOCBInfo *aiocb_info;
    BlockDriverState *bs;
    BlockCompletionFunc *cb;
    void *opaque;
    int refcnt;
};

void *qemu_aio_get(const AIOCBInfo *aiocb_info, BlockDriverState *bs,
                   BlockCompletionFunc *cb, void *opaque);
void qemu_aio_unref(void *p);
void qemu_aio_ref(void *p);

/*
 * A device's guard against re-entrant I/O (QEMU declares it in
 * hw/qdev-core.h; 7.2 stable series).  While a guarded BH's callback runs,
 * engaged_in_io is true; afterwards it has its earlier value again.
 */
#ifndef QEMU_MEM_REENTRANCY_GUARD_DEFINED
#define QEMU_MEM_REENTRANCY_GUARD_DEFINED
typedef struct MemReentrancyGuard {
    bool engaged_in_io;
} MemReentrancyGuard;
#endif

typedef struct AioHandler AioHandler;
typedef void QEMUBHFunc(void *opaque);
typedef bool AioPollFn(void *opaque);
typedef void IOHandler(void *opaque);

struct ThreadPool;
struct ThreadPoolAio;
struct LinuxAioState;
struct LuringState;

/*
 * Bytes of implementation state between the GSource and `tlg`: where QEMU
 * 7.2 keeps its fields, whose size depends on the engines that QEMU build
 * had.  The layout is configure's --enable-aio-context-layout (a row of
 * include/block/aio-context-layouts.tsv), independent of the engines this
 * qaio has, so programs run with any qaio build whose layout is the same
 * (libqaio refuses at start to run under a program built for another: see
 * qaio_program_aio_context_layout below).
 */
#define QAIO_AIO_CONTEXT_PRIVATE_BYTES (QAIO_AIO_CONTEXT_TLG_OFFSET - sizeof(GSource))

#if QAIO_QEMU_API_AT_LEAST(10, 0)
/* QEMU 10.0: the block graph lock's pointer sits after QEMU's unused context
 * lock, before every field that depends on the engines. */
#define QAIO_AIO_CONTEXT_BDRV_GRAPH_OFFSET 144
#define QAIO_AIO_CONTEXT_TAIL_BYTES \
    (QAIO_AIO_CONTEXT_SIZE - QAIO_AIO_CONTEXT_TLG_OFFSET - sizeof(QEMUTimerListGroup))

struct AioContext {
    GSource source;
    char qaio_private[QAIO_AIO_CONTEXT_BDRV_GRAPH_OFFSET - sizeof(GSource)];
    BdrvGraphRWlock *bdrv_graph;
    char qaio_private_mid[QAIO_AIO_CONTEXT_TLG_OFFSET - QAIO_AIO_CONTEXT_BDRV_GRAPH_OFFSET -
                          sizeof(BdrvGraphRWlock *)];
    QEMUTimerListGroup tlg;
    char qaio_private_tail[QAIO_AIO_CONTEXT_TAIL_BYTES];
};
#else
/* The rest of QEMU's AioContext, unused here: it keeps sizeof at QEMU's. */
#define QAIO_AIO_CONTEXT_TAIL_BYTES \
    (QAIO_AIO_CONTEXT_SIZE - QAIO_AIO_CONTEXT_TLG_OFFSET - sizeof(QEMUTimerListGroup) - sizeof(int))

struct AioContext {
    GSource source;
    char qaio_private[QAIO_AIO_CONTEXT_PRIVATE_BYTES];
    QEMUTimerListGroup tlg;
    int external_disable_cnt;
    char qaio_private_tail[QAIO_AIO_CONTEXT_TAIL_BYTES];
};
#endif

/*
 * The layout this program was compiled with, for libqaio to compare with
 * its own when it is loaded (a weak definition in every file that includes
 * this header; libqaio itself is built without it).
 */
#ifndef QAIO_BUILDING_LIBQAIO
#ifdef __cplusplus
extern
#endif
__attribute__((weak)) const char qaio_program_aio_context_layout[] =
    QAIO_AIO_CONTEXT_ABI;
#endif

/* Contexts */
AioContext *aio_context_new(Error **errp);
void aio_context_ref(AioContext *ctx);
void aio_context_unref(AioContext *ctx);
#if !QAIO_QEMU_API_AT_LEAST(10, 0)
void aio_context_acquire(AioContext *ctx);
void aio_context_release(AioContext *ctx);
#endif
void aio_context_setup(AioContext *ctx);
void aio_context_destroy(AioContext *ctx);
void aio_context_use_g_source(AioContext *ctx);
void aio_context_set_poll_params(AioContext *ctx, int64_t max_ns,
                                 int64_t grow, int64_t shrink,
                                 Error **errp);
#if QAIO_QEMU_API_AT_LEAST(10, 0)
void aio_context_set_aio_params(AioContext *ctx, int64_t max_batch);
#else
void aio_context_set_aio_params(AioContext *ctx, int64_t max_batch,
                                Error **errp);
#endif
void aio_context_set_thread_pool_params(AioContext *ctx, int64_t min,
                                        int64_t max, Error **errp);
bool aio_poll_disabled(AioContext *ctx);
GSource *aio_get_g_source(AioContext *ctx);
#if QAIO_QEMU_API_AT_LEAST(10, 0)
struct ThreadPoolAio *aio_get_thread_pool(AioContext *ctx);
#else
struct ThreadPool *aio_get_thread_pool(AioContext *ctx);
#endif
#ifdef CONFIG_LINUX_AIO
struct LinuxAioState *aio_setup_linux_aio(AioContext *ctx, Error **errp);
struct LinuxAioState *aio_get_linux_aio(AioContext *ctx);
#endif
#ifdef CONFIG_LINUX_IO_URING
struct LuringState *aio_setup_linux_io_uring(AioContext *ctx, Error **errp);
struct LuringState *aio_get_linux_io_uring(AioContext *ctx);
#endif

AioContext *qemu_get_current_aio_context(void);
void qemu_set_current_aio_context(AioContext *ctx);

/* Notification */
void aio_notify(AioContext *ctx);
void aio_notify_accept(AioContext *ctx);

/* Bottom halves */
void aio_bh_schedule_oneshot_full(AioContext *ctx, QEMUBHFunc *cb,
                                  void *opaque, const char *name);
#define aio_bh_schedule_oneshot(ctx, cb, opaque) \
    aio_bh_schedule_oneshot_full((ctx), (cb), (opaque), (stringify(cb)))
QEMUBH *aio_bh_new_full(AioContext *ctx, QEMUBHFunc *cb, void *opaque,
                        const char *name, MemReentrancyGuard *reentrancy_guard);
#define aio_bh_new(ctx, cb, opaque) \
    aio_bh_new_full((ctx), (cb), (opaque), (stringify(cb)), NULL)
#define aio_bh_new_guarded(ctx, cb, opaque, guard) \
    aio_bh_new_full((ctx), (cb), (opaque), (stringify(cb)), guard)
void aio_bh_call(QEMUBH *bh);
int aio_bh_poll(AioContext *ctx);
void qemu_bh_schedule(QEMUBH *bh);
void qemu_bh_cancel(QEMUBH *bh);
void qemu_bh_delete(QEMUBH *bh);

/* Event processing */
bool aio_prepare(AioContext *ctx);
bool aio_pending(AioContext *ctx);
void aio_dispatch(AioContext *ctx);
bool aio_poll(AioContext *ctx, bool blocking);
int64_t aio_compute_timeout(AioContext *ctx);

#if QAIO_QEMU_API_AT_LEAST(10, 0)
void aio_set_fd_handler(AioContext *ctx, int fd,
                        IOHandler *io_read, IOHandler *io_write,
                        AioPollFn *io_poll, IOHandler *io_poll_ready,
                        void *opaque);
void aio_set_event_notifier(AioContext *ctx, EventNotifier *notifier,
                            EventNotifierHandler *io_read,
                            AioPollFn *io_poll,
                            EventNotifierHandler *io_poll_ready);
#else
void aio_set_fd_handler(AioContext *ctx, int fd, bool is_external,
                        IOHandler *io_read, IOHandler *io_write,
                        AioPollFn *io_poll, IOHandler *io_poll_ready,
                        void *opaque);
void aio_set_fd_poll(AioContext *ctx, int fd,
                     IOHandler *io_poll_begin, IOHandler *io_poll_end);
void aio_set_event_notifier(AioContext *ctx, EventNotifier *notifier,
                            bool is_external, EventNotifierHandler *io_read,
                            AioPollFn *io_poll,
                            EventNotifierHandler *io_poll_ready);
#endif
void aio_set_event_notifier_poll(AioContext *ctx, EventNotifier *notifier,
                                 EventNotifierHandler *io_poll_begin,
                                 EventNotifierHandler *io_poll_end);

/* Timers bound to a context */
static inline QEMUTimer *aio_timer_new_with_attrs(AioContext *ctx,
                                                  QEMUClockType type,
                                                  int scale, int attributes,
                                                  QEMUTimerCB *cb,
                                                  void *opaque)
{
    return timer_new_full(&ctx->tlg, type, scale, attributes, cb, opaque);
}

static inline QEMUTimer *aio_timer_new(AioContext *ctx, QEMUClockType type,
                                       int scale, QEMUTimerCB *cb,
                                       void *opaque)
{
    return timer_new_full(&ctx->tlg, type, scale, 0, cb, opaque);
}

static inline void aio_timer_init_with_attrs(AioContext *ctx, QEMUTimer *ts,
                                             QEMUClockType type, int scale,
                                             int attributes, QEMUTimerCB *cb,
                                             void *opaque)
{
    timer_init_full(ts, &ctx->tlg, type, scale, attributes, cb, opaque);
}

static inline void aio_timer_init(AioContext *ctx, QEMUTimer *ts,
                                  QEMUClockType type, int scale,
                                  QEMUTimerCB *cb, void *opaque)
{
    timer_init_full(ts, &ctx->tlg, type, scale, 0, cb, opaque);
}

/* External clients (QEMU 7.2; 10.0 removed them) */
#if !QAIO_QEMU_API_AT_LEAST(10, 0)
static inline void aio_disable_external(AioContext *ctx)
{
    qatomic_inc(&ctx->external_disable_cnt);
}

static inline void aio_enable_external(AioContext *ctx)
{
    int old;

    old = qatomic_fetch_dec(&ctx->external_disable_cnt);
    assert(old > 0);
    if (old == 1) {
        /* The fd monitor must watch the external handlers' fds again. */
        aio_notify(ctx);
    }
}

static inline bool aio_external_disabled(AioContext *ctx)
{
    return qatomic_read(&ctx->external_disable_cnt);
}

static inline bool aio_node_check(AioContext *ctx, bool is_external)
{
    return !is_external || !qatomic_read(&ctx->external_disable_cnt);
}
#endif

#ifdef QAIO_BUILDING_LIBQAIO
/* The library's view of external clients, the same at every API level: at
 * 10.0 no handler is external and nothing disables them. */
static inline int qaio_external_disable_count(AioContext *ctx)
{
#if QAIO_QEMU_API_AT_LEAST(10, 0)
    (void)ctx;
    return 0;
#else
    return qatomic_read(&ctx->external_disable_cnt);
#endif
}
#endif

/* Coroutines and contexts */
void aio_co_schedule(AioContext *ctx, Coroutine *co);
void coroutine_fn aio_co_reschedule_self(AioContext *new_ctx);
void aio_co_wake(Coroutine *co);
void aio_co_enter(AioContext *ctx, Coroutine *co);

#ifdef __cplusplus
}
#endif

#endif
