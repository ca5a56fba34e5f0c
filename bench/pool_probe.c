/* SPDX-License-Identifier: MIT */
/* The thread pool's cost per job: `pool_probe JOB QD N [co|aio]` keeps QD
 * jobs in flight through the context's pool until N have completed (JOB:
 * empty, pread of 4 KiB at random offsets of a 64 MiB file in /dev/shm, or
 * sleep: 100 us asleep, a blocking disk read's shape), after a warm-up of
 * 4*QD jobs, and prints per job: context switches (every thread), wall
 * time, and CPU time of the whole process, of the loop thread, and of the
 * job run inline (the rest is the pool's own).  Under strace -f -c or
 * callgrind, runs of 2N minus N jobs give system calls or instructions per
 * job (scripts/pool-costs.sh). */
#define _GNU_SOURCE /* RUSAGE_THREAD */
#include "config.h"

#include "qemu/osdep.h"
#include "block/aio.h"
#include "block/thread-pool.h"
#include "qemu/coroutine.h"
#include "qapi/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

/* 7.2 names the context's pool; 10.0 submits to the current context's. */
#if QAIO_QEMU_API_AT_LEAST(10, 0)
#define probe_submit_aio(func, arg, cb, opaque) thread_pool_submit_aio((func), (arg), (cb), (opaque))
#define probe_submit_co(func, arg) thread_pool_submit_co((func), (arg))
#else
#define probe_submit_aio(func, arg, cb, opaque) \
    thread_pool_submit_aio(pool, (func), (arg), (cb), (opaque))
#define probe_submit_co(func, arg) thread_pool_submit_co(pool, (func), (arg))
#endif

#define PROBE_BS 4096
#define PROBE_FILE_SIZE (64u << 20)
#define PROBE_MAX_QD 1024

static AioContext *ctx;
static void *pool;
static int fd = -1;
static long to_submit, in_flight, errors;
static uint64_t seeds[PROBE_MAX_QD];
static void *bufs[PROBE_MAX_QD];

static uint64_t clock_ns(clockid_t clock)
{
    struct timespec t;

    clock_gettime(clock, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* CPU time in the kernel, plus in user space if `user`. */
static double cpu_ns(const struct rusage *r, bool user)
{
    return (r->ru_stime.tv_sec + user * r->ru_utime.tv_sec) * 1e9 +
           (r->ru_stime.tv_usec + user * r->ru_utime.tv_usec) * 1e3;
}

static uint64_t next_rand(uint64_t *x)
{
    *x ^= *x << 13, *x ^= *x >> 7, *x ^= *x << 17;
    return *x;
}

static bool sleeping;

static int probe_job(void *opaque)
{
    long i = (long)(intptr_t)opaque;
    off_t off;

    if (sleeping) {
        g_usleep(100);
    }
    if (fd < 0) {
        return 0;
    }
    off = (off_t)(next_rand(&seeds[i]) % (PROBE_FILE_SIZE / PROBE_BS)) * PROBE_BS;
    return pread(fd, bufs[i], PROBE_BS, off) == PROBE_BS ? 0 : -EIO;
}

static bool probe_next(void)
{
    if (!to_submit) {
        return false;
    }
    to_submit--;
    return true;
}

static void probe_aio_cb(void *opaque, int ret)
{
    errors += ret != 0;
    if (probe_next()) {
        probe_submit_aio(probe_job, opaque, probe_aio_cb, opaque);
    } else {
        in_flight--;
    }
}

static void coroutine_fn probe_co(void *opaque)
{
    while (probe_next()) {
        errors += probe_submit_co(probe_job, opaque) != 0;
    }
    in_flight--;
}

static void run(long qd, long n, bool co)
{
    to_submit = n;
    in_flight = MIN(qd, n);
    for (long i = 0; i < in_flight; i++) {
        void *arg = (void *)(intptr_t)i;

        probe_next();
        if (co) {
            to_submit++;
            qemu_coroutine_enter(qemu_coroutine_create(probe_co, arg));
        } else {
            probe_submit_aio(probe_job, arg, probe_aio_cb, arg);
        }
    }
    while (in_flight) {
        aio_poll(ctx, true);
    }
}

static int open_file(void)
{
    char path[] = "/dev/shm/qaio-pool-probe-XXXXXX";
    int f = mkstemp(path);
    char *chunk = g_malloc(1 << 20);

    if (f < 0) {
        perror("pool_probe: mkstemp");
        exit(1);
    }
    unlink(path);
    memset(chunk, 0x5a, 1 << 20);
    for (unsigned off = 0; off < PROBE_FILE_SIZE; off += 1 << 20) {
        if (pwrite(f, chunk, 1 << 20, off) != 1 << 20) {
            perror("pool_probe: pwrite");
            exit(1);
        }
    }
    g_free(chunk);
    return f;
}

int main(int argc, char **argv)
{
    struct rusage r0, r1, lr0, lr1;
    uint64_t t0, t1, l0, job_ns;
    long qd, n;
    bool co;

    if (argc < 4 || (strcmp(argv[1], "empty") && strcmp(argv[1], "pread") && strcmp(argv[1], "sleep")) ||
        (qd = atol(argv[2])) < 1 || qd > PROBE_MAX_QD || (n = atol(argv[3])) < 1) {
        fprintf(stderr, "usage: pool_probe empty|pread|sleep QD N [co|aio]\n");
        return 2;
    }
    co = argc > 4 && !strcmp(argv[4], "co");
    sleeping = !strcmp(argv[1], "sleep");
    if (!strcmp(argv[1], "pread")) {
        fd = open_file();
    }
    for (long i = 0; i < qd; i++) {
        seeds[i] = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1);
        bufs[i] = g_malloc(PROBE_BS);
    }
    ctx = aio_context_new(&error_abort);
    if (!ctx) {
        fprintf(stderr, "pool_probe: no context\n");
        return 1;
    }
    qemu_set_current_aio_context(ctx);
    pool = aio_get_thread_pool(ctx);

    run(qd, 4 * qd, co);
    l0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    for (long i = 0; i < n / 10 + 1; i++) {
        probe_job(0);
    }
    job_ns = (clock_ns(CLOCK_THREAD_CPUTIME_ID) - l0) / (n / 10 + 1);
    getrusage(RUSAGE_SELF, &r0);
    t0 = clock_ns(CLOCK_MONOTONIC);
    getrusage(RUSAGE_THREAD, &lr0);
    run(qd, n, co);
    getrusage(RUSAGE_THREAD, &lr1);
    t1 = clock_ns(CLOCK_MONOTONIC);
    getrusage(RUSAGE_SELF, &r1);
    printf("%s qd%ld %s: %ld jobs, %.3f voluntary + %.3f involuntary context "
           "switches per job, %.0f ns per job; CPU ns per job: %.0f in all, "
           "%.0f on the loop thread (%.0f in the kernel), %" PRIu64 " the job inline%s\n",
           argv[1], qd, co ? "co" : "aio", n,
           (double)(r1.ru_nvcsw - r0.ru_nvcsw) / n,
           (double)(r1.ru_nivcsw - r0.ru_nivcsw) / n, (double)(t1 - t0) / n,
           (cpu_ns(&r1, true) - cpu_ns(&r0, true)) / n,
           (cpu_ns(&lr1, true) - cpu_ns(&lr0, true)) / n,
           (cpu_ns(&lr1, false) - cpu_ns(&lr0, false)) / n, job_ns,
           errors ? " (some jobs failed)" : "");
    aio_context_unref(ctx);
    return errors != 0;
}
