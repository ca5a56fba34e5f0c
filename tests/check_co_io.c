/* SPDX-License-Identifier: MIT */
/*
 * Suite "co_io": the coroutine I/O helpers as a black box.
 * yield_until_fd_readable parks a coroutine until its fd is readable and
 * removes its handler; qemu_co_sendv_recvv and its wrappers move every byte
 * across EAGAIN yields over sockets, stop at end of stream, and return
 * minus errno when nothing moved.
 */
#define _GNU_SOURCE 1   /* RTLD_DEFAULT */
#include "qemu/osdep.h"
#include "block/aio.h"
#include "qemu/coroutine.h"
#include "qemu/coroutine_int.h"
#include "helpers.h"

#include <dlfcn.h>
#include <sys/socket.h>

/* qemu_co_sendv_recvv needs iov_send_recv from the support runtime. */
static bool have_iov_send_recv(void)
{
    if (dlsym(RTLD_DEFAULT, "iov_send_recv")) {
        return true;
    }
    fprintf(stderr, "SKIP: iov_send_recv is not in this libqaio (the support "
            "runtime's util/iov stand-in has not landed)\n");
    return false;
}

typedef struct {
    int fd;
    int resumed;
    AioContext *resumed_in;
} FdWaiter;

static void coroutine_fn fd_waiter(void *opaque)
{
    FdWaiter *w = opaque;

    yield_until_fd_readable(w->fd);
    w->resumed++;
    w->resumed_in = qemu_get_current_aio_context();
}

static void eventfd_write1(int fd)
{
    uint64_t one = 1;

    ck_assert_int_eq(write(fd, &one, sizeof(one)), sizeof(one));
}

START_TEST(yield_until_fd_readable_resumes_once_readable_and_removes_its_handler)
{
    AioContext *ctx = t_ctx_new_current();
    FdWaiter w = { t_eventfd(), 0, NULL };

    t_co_start(fd_waiter, &w);
    ck_assert(!aio_poll(ctx, false));
    ck_assert_int_eq(w.resumed, 0);

    eventfd_write1(w.fd);
    ck_assert(aio_poll(ctx, true));
    ck_assert_int_eq(w.resumed, 1);
    ck_assert_ptr_eq(w.resumed_in, ctx);

    /* Still readable, but no handler is left to make progress on it. */
    ck_assert(!aio_poll(ctx, false));
    close(w.fd);
    aio_context_unref(ctx);
}
END_TEST

static int old_handler_calls;

static void old_handler(void *opaque)
{
    old_handler_calls++;
}

START_TEST(yield_until_fd_readable_replaces_an_existing_handler)
{
    AioContext *ctx = t_ctx_new_current();
    FdWaiter w = { t_eventfd(), 0, NULL };

    t_set_fd_handler(ctx, w.fd, old_handler, NULL, NULL, NULL, NULL);
    t_co_start(fd_waiter, &w);
    eventfd_write1(w.fd);
    ck_assert(aio_poll(ctx, true));
    ck_assert_int_eq(w.resumed, 1);
    ck_assert_int_eq(old_handler_calls, 0);
    ck_assert(!aio_poll(ctx, false));
    close(w.fd);
    aio_context_unref(ctx);
}
END_TEST

/* ---- sockets ------------------------------------------------------------- */

static void nonblocking_socketpair(int sv[2])
{
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
}

typedef struct {
    int fd;
    struct iovec *iov;
    unsigned iov_cnt;
    size_t offset;
    size_t bytes;
    bool do_send;
    ssize_t ret;
    int yields;             /* times we had to re-enter it */
    int done;
} SockIo;

static void coroutine_fn sock_io(void *opaque)
{
    SockIo *io = opaque;

    io->ret = qemu_co_sendv_recvv(io->fd, io->iov, io->iov_cnt, io->offset, io->bytes,
                                  io->do_send);
    io->done = 1;
}

START_TEST(co_recvv_gathers_every_byte_across_eagain_yields)
{
    int sv[2];
    char a[5], b[7];
    struct iovec iov[2] = { { a, sizeof(a) }, { b, sizeof(b) } };
    SockIo io = { 0 };
    Coroutine *co;

    if (!have_iov_send_recv()) {
        return;
    }
    nonblocking_socketpair(sv);
    io = (SockIo){ sv[0], iov, 2, 0, 12, false, 0, 0, 0 };
    co = t_co_start(sock_io, &io);
    ck_assert_int_eq(io.done, 0);
    ck_assert_int_eq(write(sv[1], "hello ", 6), 6);
    qemu_coroutine_enter(co);
    ck_assert_int_eq(io.done, 0);
    ck_assert_int_eq(write(sv[1], "world!", 6), 6);
    qemu_coroutine_enter(co);
    ck_assert_int_eq(io.done, 1);
    ck_assert_int_eq(io.ret, 12);
    ck_assert(memcmp(a, "hello", 5) == 0 && memcmp(b, " world!", 7) == 0);
    close(sv[0]);
    close(sv[1]);
}
END_TEST

START_TEST(co_recv_stops_at_end_of_stream_with_a_short_count)
{
    int sv[2];
    char buf[64];
    SockIo io;
    struct iovec iov = { buf, sizeof(buf) };

    if (!have_iov_send_recv()) {
        return;
    }
    nonblocking_socketpair(sv);
    ck_assert_int_eq(write(sv[1], "abc", 3), 3);
    close(sv[1]);
    io = (SockIo){ sv[0], &iov, 1, 0, sizeof(buf), false, 0, 0, 0 };
    t_co_start(sock_io, &io);
    ck_assert_int_eq(io.done, 1);
    ck_assert_int_eq(io.ret, 3);
    close(sv[0]);
}
END_TEST

typedef struct {
    int fd;
    char *buf;
    size_t bytes;
    bool do_send;
    ssize_t ret;
} SockBuf;

static void coroutine_fn sock_buf(void *opaque)
{
    SockBuf *b = opaque;

    b->ret = qemu_co_send_recv(b->fd, b->buf, b->bytes, b->do_send);
}

START_TEST(co_send_recv_returns_minus_errno_when_nothing_moved)
{
    int p[2];
    char buf[8];
    SockBuf b;

    if (!have_iov_send_recv()) {
        return;
    }
    /* A pipe is no socket: the very first transfer fails. */
    ck_assert_int_eq(pipe(p), 0);
    b = (SockBuf){ p[0], buf, sizeof(buf), false, 0 };
    t_co_start(sock_buf, &b);
    ck_assert_int_eq(b.ret, -ENOTSOCK);
    close(p[0]);
    close(p[1]);
}
END_TEST

START_TEST(co_sendv_sends_the_range_from_an_offset_across_elements)
{
    int sv[2];
    char x[4] = "0123", y[4] = "4567", z[4] = "89ab";
    struct iovec iov[3] = { { x, 4 }, { y, 4 }, { z, 4 } };
    char got[16] = { 0 };
    SockIo io;

    if (!have_iov_send_recv()) {
        return;
    }
    nonblocking_socketpair(sv);
    io = (SockIo){ sv[0], iov, 3, 3, 7, true, 0, 0, 0 };
    t_co_start(sock_io, &io);
    ck_assert_int_eq(io.done, 1);
    ck_assert_int_eq(io.ret, 7);
    ck_assert_int_eq(read(sv[1], got, sizeof(got)), 7);
    ck_assert_str_eq(got, "3456789");
    close(sv[0]);
    close(sv[1]);
}
END_TEST

START_TEST(co_send_yields_on_a_full_socket_and_finishes_after_the_peer_drains)
{
    enum { BIG = 4 * 1024 * 1024 };
    int sv[2];
    char *out = g_malloc(BIG), *in = g_malloc(BIG);
    size_t got = 0;
    SockBuf b;
    Coroutine *co;
    int i, reentries = 0;

    if (!have_iov_send_recv()) {
        g_free(out);
        g_free(in);
        return;
    }
    for (i = 0; i < BIG; i++) {
        out[i] = (char)(i * 31 + 7);
    }
    nonblocking_socketpair(sv);
    b = (SockBuf){ sv[0], out, BIG, true, -1 };
    co = qemu_coroutine_create(sock_buf, &b);
    qemu_coroutine_enter(co);
    while (got < BIG) {
        ssize_t r = read(sv[1], in + got, BIG - got);

        if (r < 0) {
            ck_assert_int_eq(errno, EAGAIN);
            /* Drained what was there: let the sender go on. */
            ck_assert_int_eq(b.ret, -1);
            qemu_coroutine_enter(co);
            reentries++;
            continue;
        }
        got += r;
    }
    ck_assert_int_eq(b.ret, BIG);
    ck_assert_int_gt(reentries, 0);
    ck_assert(memcmp(out, in, BIG) == 0);
    close(sv[0]);
    close(sv[1]);
    g_free(out);
    g_free(in);
}
END_TEST

static Suite *co_io_suite(void)
{
    Suite *s = suite_create("co_io");
    TCase *tc;

    tc = tcase_create("fd");
    tcase_add_test(tc, yield_until_fd_readable_resumes_once_readable_and_removes_its_handler);
    tcase_add_test(tc, yield_until_fd_readable_replaces_an_existing_handler);
    suite_add_tcase(s, tc);

    tc = tcase_create("socket");
    tcase_add_test(tc, co_recvv_gathers_every_byte_across_eagain_yields);
    tcase_add_test(tc, co_recv_stops_at_end_of_stream_with_a_short_count);
    tcase_add_test(tc, co_send_recv_returns_minus_errno_when_nothing_moved);
    tcase_add_test(tc, co_sendv_sends_the_range_from_an_offset_across_elements);
    tcase_add_test(tc, co_send_yields_on_a_full_socket_and_finishes_after_the_peer_drains);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return t_run_suite(co_io_suite());
}
