/* SPDX-License-Identifier: MIT */
/*
 * A stand-in for a QEMU tree: a C program that defines what QEMU's other
 * objects give the event-loop subsystem (shared/abi/imports.txt: Error API,
 * iov helpers, the big lock, clock and replay hooks) and links
 * libqaio-core.a with nothing but `pkg-config --libs qaio-core`
 * (tests/core-link.sh).  It then runs the main loop once with a coroutine,
 * a BH and a timer, so that the coroutine switch and the loop are really
 * reached.  Exit 0 on success.
 */
#include "qemu/osdep.h"
#include "block/aio.h"
#include "qemu/coroutine.h"
#include "qemu/main-loop.h"
#include "qemu/timer.h"
#include "qemu/iov.h"
#include "qemu/error-report.h"

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

static int big_lock_held;

bool qemu_mutex_iothread_locked(void)
{
    return big_lock_held;
}

void qemu_mutex_lock_iothread_impl(const char *file, int line)
{
    big_lock_held = 1;
}

void qemu_mutex_unlock_iothread(void)
{
    big_lock_held = 0;
}

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

    qemu_mutex_lock_iothread();
    if (qemu_init_main_loop(NULL) < 0) {
        return 1;
    }
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
    printf("core_link: libqaio-core.a linked with the qaio-core.pc flags and ran\n");
    return 0;
}
