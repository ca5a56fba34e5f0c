/* SPDX-License-Identifier: MIT */
/*
 * A stand-in for a QEMU tree: a C program that defines what QEMU's other
 * objects give the event-loop subsystem (shared/abi/imports.txt: Error API,
 * iov helpers, the big lock, clock and replay hooks) and links
 * libqaio-core.a with nothing but `pkg-config --libs qaio-core`
 * (tests/core-link.sh).  It then runs the main loop once with a coroutine,
 * a BH and a timer, so that the coroutine switch and the loop are really
 * reached, and checks that a thread holding its big lock acts in the main
 * context, as a system emulator's vCPU threads must.  Exit 0 on success.
 */
#include "qemu/osdep.h"
#include "block/aio.h"
#include "qemu/coroutine.h"
#include "qemu/main-loop.h"
#include "qemu/timer.h"
#include "qemu/iov.h"
#include "qemu/error-report.h"
#include "block/aio-wait.h"

#include <pthread.h>

/* ---- what the rest of QEMU would provide --------------------------------- */

struct Error {
    char *msg;
};

void error_setg_internal(Error **errp, const char *src, int line, const char *func,
                         const char *fmt, ...)
{
    fprintf(stderr, "core_link: error at %s:%d\n", src, line);
    abort();
}

void error_setg_errno_internal(Error **errp, const char *src, int line,
                               const char *func, int os_error, const char *fmt, ...)
{
    fprintf(stderr, "core_link: error at %s:%d (errno %d)\n", src, line, os_error);
    abort();
}

void error_report(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* Per thread, as QEMU's own flag: a vCPU thread holding the lock.  The
 * names are the API level's (QEMU 9.0 renamed them). */
static __thread bool big_lock_held;

#if QAIO_QEMU_API_AT_LEAST(10, 0)
bool bql_locked(void)
{
    return big_lock_held;
}

void bql_lock_impl(const char *file, int line)
{
    big_lock_held = true;
}

void bql_unlock(void)
{
    big_lock_held = false;
}
#define big_lock() bql_lock()
#define big_unlock() bql_unlock()

/* QEMU 10.0's block graph lock (block/graph-lock.c): it stores each new
 * context's lock in AioContext.bdrv_graph, as this one does. */
static int graph_registered;
static BdrvGraphRWlock *const graph_marker = (BdrvGraphRWlock *)&graph_registered;

void register_aiocontext(AioContext *ctx)
{
    ctx->bdrv_graph = graph_marker;
    graph_registered++;
}

void unregister_aiocontext(AioContext *ctx)
{
    graph_registered--;
}

void cpus_set_virtual_clock(int64_t new_time)
{
}

/* QEMU 10.0's util/defer-call.c, which the engines batch through: calls
 * deferred inside a section run once, at the end of the outermost one. */
static __thread unsigned defer_depth;   /* per thread, as QEMU's */
static __thread struct {
    void (*fn)(void *);
    void *opaque;
} deferred[64];
static __thread unsigned n_deferred;

void defer_call_begin(void)
{
    defer_depth++;
}

void defer_call_end(void)
{
    if (--defer_depth == 0) {
        for (unsigned i = 0; i < n_deferred; i++) {
            deferred[i].fn(deferred[i].opaque);
        }
        n_deferred = 0;
    }
}

void defer_call(void (*fn)(void *), void *opaque)
{
    if (defer_depth == 0) {
        fn(opaque);
        return;
    }
    for (unsigned i = 0; i < n_deferred; i++) {
        if (deferred[i].fn == fn && deferred[i].opaque == opaque) {
            return;
        }
    }
    if (n_deferred == sizeof(deferred) / sizeof(deferred[0])) {
        abort();
    }
    deferred[n_deferred].fn = fn;
    deferred[n_deferred].opaque = opaque;
    n_deferred++;
}
#else
bool qemu_mutex_iothread_locked(void)
{
    return big_lock_held;
}

void qemu_mutex_lock_iothread_impl(const char *file, int line)
{
    big_lock_held = true;
}

void qemu_mutex_unlock_iothread(void)
{
    big_lock_held = false;
}
#define big_lock() qemu_mutex_lock_iothread()
#define big_unlock() qemu_mutex_unlock_iothread()
#endif

void qemu_timer_notify_cb(void *opaque, QEMUClockType type)
{
    qemu_notify_event();
}

void replay_mutex_lock(void)
{
}

void replay_mutex_unlock(void)
{
}

int64_t cpu_get_clock(void)
{
    return qemu_clock_get_ns(QEMU_CLOCK_REALTIME);
}

int64_t cpus_get_virtual_clock(void)
{
    return cpu_get_clock();
}

/* The block engines' iov helpers: not reached by this program. */
void qemu_iovec_init(QEMUIOVector *qiov, int alloc_hint) { abort(); }
void qemu_iovec_destroy(QEMUIOVector *qiov) { abort(); }
void qemu_iovec_reset(QEMUIOVector *qiov) { abort(); }
void qemu_iovec_concat(QEMUIOVector *dst, QEMUIOVector *src, size_t soffset,
                       size_t sbytes) { abort(); }
size_t qemu_iovec_memset(QEMUIOVector *qiov, size_t offset, int fillc,
                         size_t bytes) { abort(); }
ssize_t iov_send_recv(int sockfd, const struct iovec *iov, unsigned iov_cnt,
                      size_t offset, size_t bytes, bool do_send) { abort(); }

/* ---- the program ---------------------------------------------------------- */

/* A vCPU thread: no context of its own; while it holds the big lock its
 * current context is the main one (QEMU 7.2's rule, which block/io.c's
 * drained sections and aio_wait_bh_oneshot assert on), else none. */
static void *vcpu_thread(void *opaque)
{
    bool *ok = opaque;

    *ok = qemu_get_current_aio_context() == NULL;
    big_lock();
    *ok = *ok && qemu_get_current_aio_context() == qemu_get_aio_context() &&
          in_aio_context_home_thread(qemu_get_aio_context());
    big_unlock();
    *ok = *ok && qemu_get_current_aio_context() == NULL &&
          !in_aio_context_home_thread(qemu_get_aio_context());
    return NULL;
}

static int steps;

static void coroutine_fn co_entry(void *opaque)
{
    steps++;
    qemu_coroutine_yield();
    steps++;
}

static void bh_cb(void *opaque)
{
    qemu_coroutine_enter(opaque);   /* resumes after the yield */
}

static void timer_cb(void *opaque)
{
    steps++;
}

int main(void)
{
    Coroutine *co;
    QEMUBH *bh;
    QEMUTimer *t;
    pthread_t vcpu;
    bool vcpu_ok = false;

    big_lock();
    if (qemu_init_main_loop(NULL) < 0) {
        return 1;
    }
#if QAIO_QEMU_API_AT_LEAST(10, 0)
    {
        AioContext *ctx = aio_context_new(NULL);

        /* the main context, then this one */
        if (!ctx || ctx->bdrv_graph != graph_marker || graph_registered < 2 ||
            qemu_get_aio_context()->bdrv_graph != graph_marker) {
            fprintf(stderr, "core_link: aio_context_new did not register the "
                    "context with the block graph lock\n");
            return 1;
        }
        int before = graph_registered;
        aio_context_unref(ctx);
        if (graph_registered != before - 1) {
            fprintf(stderr, "core_link: a finalized context stays registered\n");
            return 1;
        }
    }
#endif
    co = qemu_coroutine_create(co_entry, NULL);
    qemu_coroutine_enter(co);
    bh = qemu_bh_new(bh_cb, co);
    qemu_bh_schedule(bh);
    t = timer_new_ms(QEMU_CLOCK_REALTIME, timer_cb, NULL);
    timer_mod(t, qemu_clock_get_ms(QEMU_CLOCK_REALTIME) + 1);
    while (steps < 3) {
        main_loop_wait(false);
    }
    timer_free(t);
    qemu_bh_delete(bh);

    pthread_create(&vcpu, NULL, vcpu_thread, &vcpu_ok);
    pthread_join(vcpu, NULL);
    if (!vcpu_ok) {
        fprintf(stderr, "core_link: a thread holding the big lock is not in the "
                "main context\n");
        return 1;
    }
    printf("core_link: libqaio-core.a linked with the qaio-core.pc flags and ran\n");
    return 0;
}
