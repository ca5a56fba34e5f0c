/* SPDX-License-Identifier: MIT */
/*
 * qaio-bench's shared helpers, used by the driver (qaio-bench.c) and by every
 * suite (suite_*.c): the monotonic clock, the measurement loop (calibrate a
 * batch size, then time several repeats of it and keep the median, with the
 * repeats of the subjects being compared interleaved so that drift of the
 * machine hits them alike), worker threads that host one loop each (QEMU
 * lets only a context's home thread run aio_poll, and a thread gets one
 * home context for good), the result table that the driver prints as text
 * or JSON, the progress line and a watchdog that turns a lost wake-up into
 * an error message instead of a hang.  A suite is a name and a run function;
 * adding one means one file and one line in the driver's suite table.
 */
#ifndef QAIO_BENCH_H
#define QAIO_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "qemu/osdep.h"
#include "block/aio.h"

/* The thread pool at either QEMU API level: 7.2 names the context's pool,
 * 10.0 always submits to the current context's (block/thread-pool.h). */
#if QAIO_QEMU_API_AT_LEAST(10, 0)
#define bench_pool_submit_co(pool, func, arg) \
    ((void)(pool), thread_pool_submit_co((func), (arg)))
#define bench_pool_submit_aio(pool, func, arg, cb, opaque) \
    ((void)(pool), thread_pool_submit_aio((func), (arg), (cb), (opaque)))
#else
#define bench_pool_submit_co(pool, func, arg) thread_pool_submit_co((pool), (func), (arg))
#define bench_pool_submit_aio(pool, func, arg, cb, opaque) \
    thread_pool_submit_aio((pool), (func), (arg), (cb), (opaque))
#endif

/* aio_set_fd_handler at either QEMU API level (7.2 has is_external). */
#if QAIO_QEMU_API_AT_LEAST(10, 0)
#define bench_set_fd_handler(ctx, fd, io_read, io_write, io_poll, ready, opaque) \
    aio_set_fd_handler((ctx), (fd), (io_read), (io_write), (io_poll), (ready), (opaque))
#else
#define bench_set_fd_handler(ctx, fd, io_read, io_write, io_poll, ready, opaque) \
    aio_set_fd_handler((ctx), (fd), false, (io_read), (io_write), (io_poll), (ready), (opaque))
#endif

/* ---- options ------------------------------------------------------------ */

typedef struct bench_opts {
    bool json;              /* JSON on stdout instead of the table */
    bool quick;             /* short repeats, for a smoke run */
    int repeats;            /* repeats per case; the median is reported */
    double repeat_seconds;  /* wanted length of one repeat */
} bench_opts;

extern bench_opts bench_opt;

/* ---- suites ------------------------------------------------------------- */

typedef struct bench_suite {
    const char *name;
    const char *summary;    /* one line for --help */
    void (*run)(void);
} bench_suite;

extern const bench_suite bench_suite_bh;
extern const bench_suite bench_suite_notify;
extern const bench_suite bench_suite_fd;
extern const bench_suite bench_suite_timers;
extern const bench_suite bench_suite_lock;

/* ---- time --------------------------------------------------------------- */

/* A clock's reading in nanoseconds (CLOCK_THREAD_CPUTIME_ID: the calling
 * thread's CPU time; CLOCK_PROCESS_CPUTIME_ID: all its threads'). */
uint64_t bench_clock_ns(clockid_t clock);
/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t bench_now_ns(void);

/* ---- worker threads ----------------------------------------------------- */

/*
 * A thread that runs the functions given to it, one at a time, in order.
 * Every loop being measured lives on one worker for its whole life, so the
 * thread that created it is the thread that runs it.
 */
typedef struct bench_worker bench_worker;

bench_worker *bench_worker_start(const char *name);
/* Run fn(arg) on the worker and wait for it to return. */
void bench_worker_call(bench_worker *w, void (*fn)(void *), void *arg);
/* Run fn(arg) on the worker without waiting; bench_worker_wait() joins it. */
void bench_worker_post(bench_worker *w, void (*fn)(void *), void *arg);
void bench_worker_wait(bench_worker *w);
/* Stop and join the thread (after the current function, if any). */
void bench_worker_stop(bench_worker *w);

/* ---- measurement -------------------------------------------------------- */

/* Run the operation under test `iters` times. */
typedef void bench_body(void *arg, uint64_t iters);

typedef struct bench_stats {
    double median_ns;       /* per operation */
    double min_ns;
    double max_ns;
    uint64_t iters;         /* operations per repeat */
    int repeats;
    double *samples;        /* ns/op of each round, in round order */
    double *cpu_samples;    /* the same rounds in thread CPU time, or NULL */
} bench_stats;

typedef struct bench_case {
    const char *label;      /* for the progress line */
    bench_body *body;
    void *arg;
    bench_worker *worker;   /* run (and timed) there; NULL: calling thread */
    bench_stats stats;      /* filled in by bench_measure() */
} bench_case;

#define BENCH_CASE(l, b, a, w) \
    ((bench_case){ .label = (l), .body = (b), .arg = (a), .worker = (w) })

/*
 * Calibrate each case, then run bench_opt.repeats rounds, each round one
 * timed batch of every case in turn.  Progress goes to the progress line
 * as "[suite] what i/n".
 */
void bench_measure(bench_case *cases, int n, const char *suite,
                   const char *what, int group, int ngroups);

/*
 * The same, with each repeat cut into BENCH_FINE_SPLIT shorter rounds whose
 * order rotates: subjects whose cost differs by a few percent are then
 * compared over many rounds, none of them always first or always after the
 * same neighbour (the fd suite's choice groups).
 */
enum { BENCH_FINE_SPLIT = 8 };
void bench_measure_fine(bench_case *cases, int n, const char *suite,
                        const char *what, int group, int ngroups);

/* Keep a copy of `n` samples (ns/op, in round order) in `st`, with their
 * median, minimum and maximum. */
void bench_stats_set_samples(bench_stats *st, const double *samples, int n);

/* ---- results ------------------------------------------------------------ */

#define BENCH_MAX_RATIOS 2

typedef enum bench_verdict {
    BENCH_NO_TARGET,
    BENCH_MET,
    BENCH_MISSED,
    BENCH_UNAVAILABLE,      /* the reference could not be measured */
} bench_verdict;

typedef struct bench_result {
    char suite[16];
    char case_name[48];
    char subject[16];       /* qaio, libevent, libuv, glib, bare */
    char metric[8];         /* ns/op */
    bench_stats st;
    int nratios;
    struct {
        char name[40];      /* e.g. "qaio/libevent", "n10000/n1" */
        double value;
    } ratio[BENCH_MAX_RATIOS];
    bench_verdict verdict;
    char target[40];        /* e.g. "≤1.0x libevent" */
    double target_limit;
    double target_value;
    char note[480];
} bench_result;

/* Append a row; the pointer stays valid until the program ends. */
bench_result *bench_record(const char *suite, const char *case_name,
                           const char *subject, const bench_stats *st);
void bench_add_ratio(bench_result *r, const char *name, double value);
/*
 * Judge `value` against `limit` (met when value <= limit) and show it as
 * "<text>: met|missed".  value < 0 means the reference is missing.
 */
void bench_set_target(bench_result *r, const char *text, double limit,
                      double value);
void bench_result_note(bench_result *r, const char *fmt, ...)
    G_GNUC_PRINTF(2, 3);
/* A free-text note printed under the table (and in the JSON). */
void bench_note(const char *suite, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* Print everything recorded, as a table or JSON per bench_opt. */
void bench_report(int argc, char **argv);

/* ---- progress and watchdog ---------------------------------------------- */

/*
 * "\r[suite] what i/n" on stderr once the run is older than a second;
 * bench_progress_clear() erases it before the report.
 */
void bench_progress(const char *suite, const char *what, int i, int n,
                    int repeat, int repeats);
void bench_progress_clear(void);

/*
 * Tell the watchdog the run is alive.  A run that stays silent for more
 * than a minute (a lost wake-up leaves a thread blocked for good) is ended
 * with a message that names the last thing it was doing.
 */
void bench_alive(const char *what);

/* Call first: notes the start time and starts the watchdog. */
void bench_init(void);

/* The machine the figures come from (bench/host.c). */
typedef struct bench_host {
    char cpu[128];          /* model name */
    long cpus;              /* online */
    char system[64];        /* Linux, Windows */
    char release[64];       /* kernel or Windows version */
    const char *wine;       /* Wine's version when Wine runs this, else NULL */
} bench_host;

void bench_host_get(bench_host *h);
/* The 1-minute load average, -1 where the system has none. */
double bench_host_load(void);

/* ---- qaio helpers ------------------------------------------------------- */

/*
 * A new AioContext whose fd monitor is forced to `fdmon` (poll, epoll,
 * io_uring) through QAIO_FDMON, or left to qaio's choice when NULL; the
 * user's own QAIO_FDMON is restored afterwards.  NULL with a message in
 * `why` when the context cannot be created.
 */
AioContext *bench_context_new(const char *fdmon, char *why, size_t whylen);

#ifndef _WIN32
/* POSIX only: the fd suites' helpers (Windows' build has no fd suite). */
/*
 * Whether this kernel lets a process create an io_uring instance and qaio
 * was built with io_uring support; otherwise why not.
 */
bool bench_io_uring_usable(char *why, size_t whylen);

/*
 * Opens n non-blocking eventfds into a new array *fds (g_free it) and makes
 * the middle one readable for good (written once, never read), for the
 * suites that time a loop with one ready fd among n.  *nopen counts the fds
 * opened, also on failure, when `why` says what failed.
 */
bool bench_eventfds_open(int n, int **fds, int *nopen, char *why, size_t whylen);

/*
 * glib's side of the fd suites: a new GMainContext watching fds[0..n) for
 * reading, each dispatch adding one to *dispatched; and `iters`
 * non-blocking iterations of it.
 */
GMainContext *bench_glib_watch(const int *fds, int n, uint64_t *dispatched);
void bench_glib_iterate(GMainContext *mc, uint64_t iters);
#endif

/* A fixed-seed pseudo-random generator, so runs are comparable. */
uint64_t bench_rand(uint64_t *state);

/* Ratio helper: a / b, or -1 when either is missing or zero. */
double bench_ratio(double a, double b);

/*
 * The ratio of two cases measured in the same bench_measure() call: the
 * median over rounds of a's sample over b's sample of the same round, so a
 * burst of load on the machine hits both sides of each quotient alike.
 * -1 when either side is missing.
 */
double bench_paired_ratio(const bench_stats *a, const bench_stats *b);
/* The same over the rounds' thread CPU time (preemption left out). */
double bench_paired_cpu_ratio(const bench_stats *a, const bench_stats *b);

#endif
