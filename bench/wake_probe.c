/* SPDX-License-Identifier: MIT */
/* What a notify round trip costs, outside qaio-bench: `wake_probe qaio N`
 * runs the notify suite's ping-pong between two AioContexts (aio_notify,
 * aio_poll(ctx, true)) N times; `wake_probe bare N [SPIN_NS]` the bare one
 * (each thread blocks in read() on its own eventfd and write()s the
 * other's), spinning SPIN_NS after each write when given.  Prints ns per
 * round trip.  Under `perf stat -e context-switches,syscalls:sys_enter_...`
 * it gives the switches and system calls per round trip; the spin shows
 * how much a guest's idle vCPUs, rather than the work done, set the time. */
#include "config.h"

#include "qemu/osdep.h"
#include "block/aio.h"
#include "qapi/error.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>

static long iters, spin_ns;
static AioContext *ctx_ping, *ctx_pong;
static _Atomic long seq, ack, pong_ready;
static int efd_ping = -1, efd_pong = -1;

static uint64_t now_ns(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void spin(void)
{
    uint64_t t0 = now_ns();

    while (now_ns() - t0 < (uint64_t)spin_ns) {
    }
}

static void bare_kick(int fd)
{
    uint64_t one = 1;

    if (write(fd, &one, sizeof(one)) != sizeof(one)) {
        abort();
    }
    spin();
}

static void bare_wait(int fd)
{
    uint64_t v;

    if (read(fd, &v, sizeof(v)) != sizeof(v)) {
        abort();
    }
}

static void *pong_main(void *opaque)
{
    bool qaio = opaque != NULL;

    if (qaio) {
        /* aio_poll runs only in a context's home thread: made here. */
        ctx_pong = aio_context_new(&error_abort);
    }
    atomic_store(&pong_ready, 1);
    for (long i = 1; i <= iters; i++) {
        if (qaio) {
            while (atomic_load_explicit(&seq, memory_order_acquire) < i) {
                aio_poll(ctx_pong, true);
            }
            atomic_store_explicit(&ack, i, memory_order_release);
            aio_notify(ctx_ping);
        } else {
            bare_wait(efd_pong);
            bare_kick(efd_ping);
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    pthread_t pong;
    bool qaio;
    uint64_t t0;

    if (argc < 3 || (strcmp(argv[1], "qaio") && strcmp(argv[1], "bare")) ||
        (iters = atol(argv[2])) < 1) {
        fprintf(stderr, "usage: wake_probe qaio|bare N [SPIN_NS]\n");
        return 2;
    }
    qaio = !strcmp(argv[1], "qaio");
    spin_ns = argc > 3 ? atol(argv[3]) : 0;
    if (qaio) {
        ctx_ping = aio_context_new(&error_abort);
    } else {
        efd_ping = eventfd(0, 0);
        efd_pong = eventfd(0, 0);
        if (efd_ping < 0 || efd_pong < 0) {
            perror("wake_probe: eventfd");
            return 1;
        }
    }
    if (pthread_create(&pong, NULL, pong_main, qaio ? argv : NULL) != 0) {
        return 1;
    }
    while (!atomic_load(&pong_ready)) {
    }
    t0 = now_ns();
    for (long i = 1; i <= iters; i++) {
        if (qaio) {
            atomic_store_explicit(&seq, i, memory_order_release);
            aio_notify(ctx_pong);
            while (atomic_load_explicit(&ack, memory_order_acquire) < i) {
                aio_poll(ctx_ping, true);
            }
        } else {
            bare_kick(efd_pong);
            bare_wait(efd_ping);
        }
    }
    pthread_join(pong, NULL);
    printf("%s%s: %.0f ns per round trip\n", argv[1],
           spin_ns ? " (spinning after each write)" : "",
           (double)(now_ns() - t0) / iters);
    return 0;
}
