/* SPDX-License-Identifier: MIT */
/*
 * What the rest of a QEMU tree gives the event-loop subsystem
 * (shared/abi/imports.txt: Error API, iov helpers, the big lock, clock and
 * replay hooks, and at 10.0 the block graph lock and deferred calls), for
 * the C programs that link libqaio-core.a in place of QEMU's objects
 * (tests/core-link.sh).  QOM is not here: a program that wants it brings
 * its own (tests/core_qom.c).
 */
#include "tests/qemu_stand_in.h"

#include "qemu/error-report.h"
#include "qemu/iov.h"

struct Error {
    char *msg;
};

/* An error reaches the caller's Error ** (none: dropped) and is said on
 * stderr, so that an unexpected one shows in the test's log. */
static void set_error(Error **errp, const char *src, int line, const char *fmt,
                      va_list ap)
{
    char *msg = g_strdup_vprintf(fmt, ap);

    fprintf(stderr, "qemu stand-in: error at %s:%d: %s\n", src, line, msg);
    if (errp && !*errp) {
        *errp = g_new0(Error, 1);
        (*errp)->msg = msg;
    } else {
        g_free(msg);
    }
}

void error_setg_internal(Error **errp, const char *src, int line, const char *func,
                         const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    set_error(errp, src, line, fmt, ap);
    va_end(ap);
}

void error_setg_errno_internal(Error **errp, const char *src, int line,
                               const char *func, int os_error, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    set_error(errp, src, line, fmt, ap);
    va_end(ap);
}

void error_propagate(Error **dst_errp, Error *local_err)
{
    if (dst_errp && !*dst_errp) {
        *dst_errp = local_err;
    } else {
        error_free(local_err);
    }
}

const char *error_get_pretty(const Error *err)
{
    return err->msg;
}

void error_free(Error *err)
{
    if (err) {
        g_free(err->msg);
        g_free(err);
    }
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

/* QEMU 10.0's block graph lock (block/graph-lock.c): it stores each new
 * context's lock in AioContext.bdrv_graph, as this one does. */
int graph_registered;
BdrvGraphRWlock *const graph_marker = (BdrvGraphRWlock *)&graph_registered;

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
#ifdef _WIN32
/* block/win32-aio's bounce buffer copies */
size_t iov_from_buf_full(const struct iovec *iov, unsigned int iov_cnt, size_t offset,
                         const void *buf, size_t bytes) { abort(); }
size_t iov_to_buf_full(const struct iovec *iov, const unsigned int iov_cnt, size_t offset,
                       void *buf, size_t bytes) { abort(); }
#endif

void big_lock(void)
{
#if QAIO_QEMU_API_AT_LEAST(10, 0)
    bql_lock();
#else
    qemu_mutex_lock_iothread();
#endif
}

void big_unlock(void)
{
#if QAIO_QEMU_API_AT_LEAST(10, 0)
    bql_unlock();
#else
    qemu_mutex_unlock_iothread();
#endif
}
