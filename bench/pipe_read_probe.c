/* SPDX-License-Identifier: MIT */
/*
 * pipe_read_probe: how long a 1-byte read of a pipe through the io_uring
 * engine takes to complete after the byte is written, in an IOThread
 * (default) or in QEMU's main context ("main").  The kernel completes such
 * a read from the pipe's poll wake-up, the path where a ring that defers
 * its task work was signalled 10-20 ms late on Linux 6.18 (ChangeLog, stop
 * 16).  The main thread writes a byte, waits for the reader coroutine to
 * count it, and pauses 2 ms between rounds; prints the median, the 90th
 * percentile and the worst of the rounds, in microseconds.
 *
 *   make -C build bench/pipe_read_probe && build/bench/pipe_read_probe [main]
 */
#include "qemu/osdep.h"
#include "block/aio.h"
#include "block/raw-aio.h"
#include "qapi/error.h"
#include "qaio/iothread.h"
#include "qemu/coroutine.h"
#include "qemu/iov.h"
#include "qemu/main-loop.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#ifdef CONFIG_LINUX_IO_URING

enum { ROUNDS = 200 };

static int pipe_fds[2];
static atomic_int bytes_read;
static atomic_bool reader_failed;

static void coroutine_fn reader(void *opaque)
{
    LuringState *s = aio_get_linux_io_uring(qemu_get_current_aio_context());

    for (;;) {
        char byte = 0;
        QEMUIOVector qiov;

        qemu_iovec_init_buf(&qiov, &byte, 1);
        if (luring_co_submit(NULL, s, pipe_fds[0], 0, &qiov, QEMU_AIO_READ) < 0) {
            atomic_store(&reader_failed, true);
            return;
        }
        atomic_fetch_add(&bytes_read, 1);
        if (byte == 'q') {
            return;
        }
    }
}

static void start_reader(void *opaque)
{
    aio_setup_linux_io_uring(qemu_get_current_aio_context(), &error_abort);
    qemu_coroutine_enter(qemu_coroutine_create(reader, NULL));
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

/* Until the reader counted `want` bytes; false after 5 s. */
static bool wait_for(int want, bool in_main)
{
    int64_t start = g_get_monotonic_time();

    while (atomic_load(&bytes_read) < want && !atomic_load(&reader_failed)) {
        if (in_main) {
            aio_poll(qemu_get_aio_context(), false);
        }
        if (g_get_monotonic_time() - start > 5 * G_USEC_PER_SEC) {
            return false;
        }
    }
    return !atomic_load(&reader_failed);
}

int main(int argc, char **argv)
{
    bool in_main = argc > 1 && strcmp(argv[1], "main") == 0;
    QaioIOThread *iothread = NULL;
    int64_t lat[ROUNDS];

    qemu_init_main_loop(&error_abort);
    if (pipe(pipe_fds) < 0) {
        perror("pipe");
        return 2;
    }
    if (in_main) {
        start_reader(NULL);
    } else {
        iothread = qaio_iothread_new("pipe-reader", &error_abort);
        aio_bh_schedule_oneshot(qaio_iothread_get_aio_context(iothread), start_reader, NULL);
    }
    g_usleep(100 * 1000);  /* the reader's first read is in flight */
    for (int r = 0; r < ROUNDS; r++) {
        int64_t t0 = g_get_monotonic_time();

        if (write(pipe_fds[1], "x", 1) != 1 || !wait_for(r + 1, in_main)) {
            fprintf(stderr, "pipe_read_probe: round %d: no completion\n", r);
            return 1;
        }
        lat[r] = g_get_monotonic_time() - t0;
        g_usleep(2000);
    }
    if (write(pipe_fds[1], "q", 1) != 1 || !wait_for(ROUNDS + 1, in_main)) {
        return 1;
    }
    if (iothread) {
        qaio_iothread_free(iothread);
    }
    qsort(lat, ROUNDS, sizeof(lat[0]), cmp_i64);
    printf("pipe read via io_uring in %s, %d rounds: median %" PRId64 " us, p90 %" PRId64
           " us, worst %" PRId64 " us\n", in_main ? "the main context" : "an IOThread", ROUNDS,
           lat[ROUNDS / 2], lat[ROUNDS * 9 / 10], lat[ROUNDS - 1]);
    return 0;
}

#else

int main(void)
{
    printf("pipe_read_probe: qaio was configured without io_uring\n");
    return 77;
}

#endif
