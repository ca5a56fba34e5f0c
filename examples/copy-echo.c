/* SPDX-License-Identifier: MIT */
/*
 * copy-echo: a small tool written the way QEMU's own tools are, against
 * qaio's headers and nothing but `pkg-config --libs qaio`.
 *
 *   copy-echo [--engine threads|linux-aio|io_uring] SRC DST
 *
 * One main loop drives everything: a coroutine copies SRC to DST through
 * the chosen block engine and reads both back to verify the copy, a
 * main-loop timer prints the progress, and a TCP echo server on 127.0.0.1
 * is served through qemu_set_fd_handler (a second coroutine talks to it
 * once the copy is verified).  main() just turns main_loop_wait() until
 * both are done.  Exit status: 0 on success, 1 on failure, 77 when the
 * engine is not available here.
 */
#include "qemu/osdep.h"
#include "block/aio.h"
#include "block/raw-aio.h"
#include "block/thread-pool.h"
#include "qemu/coroutine.h"
#include "qemu/iov.h"
#include "qemu/main-loop.h"
#include "qemu/timer.h"
#include "qapi/error.h"
#include "qemu/error-report.h"

#include <getopt.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#define CHUNK (64 * 1024)
#define EXIT_SKIP 77

typedef enum { ENGINE_THREADS, ENGINE_LINUX_AIO, ENGINE_IO_URING } Engine;

typedef struct Copy {
    Engine engine;
    int src, dst;
    uint64_t size, done_bytes;
    QEMUTimer *progress;
    bool finished;          /* the copy coroutine has returned */
    int ret;                /* 0, or a negative errno */
} Copy;

typedef struct Echo {
    int listen_fd;
    uint16_t port;
    bool finished;
    int ret;
} Echo;

static Copy copy;
static Echo echo;

/* ---- block I/O through the configured engine ------------------------------ */

typedef struct PreadWrite {
    int fd, type;
    void *buf;
    size_t len;
    uint64_t offset;
} PreadWrite;

/* Runs in a thread-pool worker: plain blocking I/O. */
static int pread_pwrite_worker(void *opaque)
{
    PreadWrite *p = opaque;
    ssize_t r = p->type == QEMU_AIO_READ ? pread(p->fd, p->buf, p->len, p->offset)
                                          : pwrite(p->fd, p->buf, p->len, p->offset);

    return r < 0 ? -errno : r == (ssize_t)p->len ? 0 : -EIO;
}

/* Reads or writes @len bytes at @offset; the coroutine yields until done. */
static int coroutine_fn do_io(int fd, int type, void *buf, size_t len, uint64_t offset)
{
#if !QAIO_QEMU_API_AT_LEAST(10, 0)
    AioContext *ctx = qemu_get_current_aio_context();
#endif
    QEMUIOVector qiov;

    qemu_iovec_init_buf(&qiov, buf, len);
    /* QEMU 10.0 submits to the current context's engine or pool. */
    switch (copy.engine) {
#ifdef CONFIG_LINUX_AIO
    case ENGINE_LINUX_AIO:
#if QAIO_QEMU_API_AT_LEAST(10, 0)
        return laio_co_submit(fd, offset, &qiov, type, 0, 0);
#else
        return laio_co_submit(NULL, aio_get_linux_aio(ctx), fd, offset, &qiov, type, 0);
#endif
#endif
#ifdef CONFIG_LINUX_IO_URING
    case ENGINE_IO_URING:
#if QAIO_QEMU_API_AT_LEAST(10, 0)
        return luring_co_submit(NULL, fd, offset, &qiov, type, 0);
#else
        return luring_co_submit(NULL, aio_get_linux_io_uring(ctx), fd, offset, &qiov, type);
#endif
#endif
    default: {
        PreadWrite p = { fd, type, buf, len, offset };

#if QAIO_QEMU_API_AT_LEAST(10, 0)
        return thread_pool_submit_co(pread_pwrite_worker, &p);
#else
        return thread_pool_submit_co(aio_get_thread_pool(ctx), pread_pwrite_worker, &p);
#endif
    }
    }
}

/* ---- the copy --------------------------------------------------------------- */

static int coroutine_fn copy_and_verify(void)
{
    g_autofree uint8_t *a = g_malloc(CHUNK);
    g_autofree uint8_t *b = g_malloc(CHUNK);
    uint64_t off;
    int ret;

    for (off = 0; off < copy.size; off += CHUNK) {
        size_t len = MIN(CHUNK, copy.size - off);

        ret = do_io(copy.src, QEMU_AIO_READ, a, len, off);
        if (ret == 0) {
            ret = do_io(copy.dst, QEMU_AIO_WRITE, a, len, off);
        }
        if (ret < 0) {
            return ret;
        }
        copy.done_bytes = off + len;
    }
    /* Read both back: the copy is only done once it compares equal. */
    for (off = 0; off < copy.size; off += CHUNK) {
        size_t len = MIN(CHUNK, copy.size - off);

        ret = do_io(copy.src, QEMU_AIO_READ, a, len, off);
        if (ret == 0) {
            ret = do_io(copy.dst, QEMU_AIO_READ, b, len, off);
        }
        if (ret < 0) {
            return ret;
        }
        if (memcmp(a, b, len) != 0) {
            error_report("copy differs from its source at offset %" PRIu64, off);
            return -EIO;
        }
    }
    return 0;
}

static void coroutine_fn echo_client_co(void *opaque);

static void coroutine_fn copy_co(void *opaque)
{
    copy.ret = copy_and_verify();
    copy.finished = true;
    /* Now that the disk is quiet, talk to our own echo server. */
    qemu_coroutine_enter(qemu_coroutine_create(echo_client_co, NULL));
}

/* A main-loop timer: runs in main_loop_wait, re-armed until the copy ends. */
static void progress_cb(void *opaque)
{
    printf("copied %" PRIu64 " of %" PRIu64 " bytes\n", copy.done_bytes, copy.size);
    if (!copy.finished) {
        timer_mod(copy.progress, qemu_clock_get_ms(QEMU_CLOCK_REALTIME) + 10);
    }
}

/* ---- the echo server, on qemu_set_fd_handler -------------------------------- */

static void echo_read(void *opaque)
{
    int fd = (intptr_t)opaque;
    char buf[512];
    ssize_t n = read(fd, buf, sizeof(buf));

    if (n < 0 && errno == EAGAIN) {
        return;
    }
    if (n <= 0 || write(fd, buf, n) != n) {
        /* Peer gone (or a short write on a tiny echo): drop the connection. */
        qemu_set_fd_handler(fd, NULL, NULL, NULL);
        close(fd);
    }
}

static void echo_accept(void *opaque)
{
    int fd = accept(echo.listen_fd, NULL, NULL);

    if (fd >= 0) {
        fcntl(fd, F_SETFL, O_NONBLOCK);
        qemu_set_fd_handler(fd, echo_read, NULL, (void *)(intptr_t)fd);
    }
}

static int echo_listen(void)
{
    struct sockaddr_in sa = { .sin_family = AF_INET };
    socklen_t len = sizeof(sa);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    echo.listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (echo.listen_fd < 0 || bind(echo.listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        listen(echo.listen_fd, 4) < 0 ||
        getsockname(echo.listen_fd, (struct sockaddr *)&sa, &len) < 0) {
        return -errno;
    }
    echo.port = ntohs(sa.sin_port);
    qemu_set_fd_handler(echo.listen_fd, echo_accept, NULL, NULL);
    return 0;
}

/* The client: a coroutine, so its sends and receives yield to the loop
 * (which is what lets the server answer in the same thread). */
static void coroutine_fn echo_client_co(void *opaque)
{
    static const char msg[] = "hello from a coroutine";
    char reply[sizeof(msg)];
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(echo.port) };
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        echo.ret = -errno;
    } else {
        fcntl(fd, F_SETFL, O_NONBLOCK);
        if (qemu_co_send(fd, (void *)msg, sizeof(msg)) != sizeof(msg)) {
            echo.ret = -EIO;
        }
        /* qemu_co_recv only yields on EAGAIN: whoever knows when the socket
         * is readable must re-enter us, here yield_until_fd_readable. */
        yield_until_fd_readable(fd);
        if (echo.ret == 0 && (qemu_co_recv(fd, reply, sizeof(reply)) != sizeof(reply) ||
                              memcmp(msg, reply, sizeof(msg)) != 0)) {
            echo.ret = -EIO;
        } else {
            printf("echo server on port %u answered \"%s\"\n", echo.port, reply);
        }
    }
    if (fd >= 0) {
        close(fd);
    }
    echo.finished = true;
}

/* ---- main ------------------------------------------------------------------- */

/* Attaches the engine to the main context; false if unavailable here. */
static bool engine_setup(AioContext *ctx, Error **errp)
{
    switch (copy.engine) {
    case ENGINE_LINUX_AIO:
#ifdef CONFIG_LINUX_AIO
        return aio_setup_linux_aio(ctx, errp) != NULL;
#else
        error_setg(errp, "this qaio was built without linux-aio");
        return false;
#endif
    case ENGINE_IO_URING:
#ifdef CONFIG_LINUX_IO_URING
        return aio_setup_linux_io_uring(ctx, errp) != NULL;
#else
        error_setg(errp, "this qaio was built without io_uring");
        return false;
#endif
    default:
        return true;
    }
}

static void usage(void)
{
    fprintf(stderr, "usage: copy-echo [--engine threads|linux-aio|io_uring] SRC DST\n");
    exit(1);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "engine", required_argument, NULL, 'e' },
        { NULL, 0, NULL, 0 },
    };
    Error *err = NULL;
    struct stat st;
    int c;

    while ((c = getopt_long(argc, argv, "e:", opts, NULL)) != -1) {
        if (c != 'e') {
            usage();
        } else if (!strcmp(optarg, "threads")) {
            copy.engine = ENGINE_THREADS;
        } else if (!strcmp(optarg, "linux-aio")) {
            copy.engine = ENGINE_LINUX_AIO;
        } else if (!strcmp(optarg, "io_uring")) {
            copy.engine = ENGINE_IO_URING;
        } else {
            usage();
        }
    }
    if (argc - optind != 2) {
        usage();
    }

    qemu_init_main_loop(&error_fatal);
    if (!engine_setup(qemu_get_aio_context(), &err)) {
        error_report_err(err);
        return EXIT_SKIP;
    }
    copy.src = open(argv[optind], O_RDONLY | O_CLOEXEC);
    copy.dst = open(argv[optind + 1], O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (copy.src < 0 || copy.dst < 0 || fstat(copy.src, &st) < 0 ||
        ftruncate(copy.dst, st.st_size) < 0) {
        error_report("%s: %s", argv[optind + (copy.src >= 0)], strerror(errno));
        return 1;
    }
    copy.size = st.st_size;
    if (echo_listen() < 0) {
        error_report("echo server: %s", strerror(errno));
        return 1;
    }

    copy.progress = timer_new_ms(QEMU_CLOCK_REALTIME, progress_cb, NULL);
    timer_mod(copy.progress, qemu_clock_get_ms(QEMU_CLOCK_REALTIME) + 10);
    qemu_coroutine_enter(qemu_coroutine_create(copy_co, NULL));

    while (!copy.finished || !echo.finished) {
        main_loop_wait(false);
    }

    timer_free(copy.progress);
    qemu_set_fd_handler(echo.listen_fd, NULL, NULL, NULL);
    close(echo.listen_fd);
    close(copy.src);
    close(copy.dst);
    if (copy.ret < 0) {
        error_report("copy failed: %s", strerror(-copy.ret));
        return 1;
    }
    if (echo.ret < 0) {
        error_report("echo failed: %s", strerror(-echo.ret));
        return 1;
    }
    printf("copied and verified %" PRIu64 " bytes\n", copy.size);
    return 0;
}
