/* SPDX-License-Identifier: MIT */
/*
 * The harness of the stress programs (tests/stress/stress_*.c), all
 * prefixed s_: a program runs a few cases one after the other, each for its
 * share of a time budget (QAIO_STRESS_SECONDS, default 4 per program), and
 * counts operations; a failed check records the case as failed and prints
 * a message; a watchdog thread ends the program when a case stops making
 * progress for QAIO_STRESS_STALL seconds (default 60): a lost wake-up or a
 * deadlock shows as a hang, and the watchdog turns the hang into a failure
 * with the case's name.  The program ends with "N passed, N failed".
 */
#ifndef QAIO_TESTS_STRESS_H
#define QAIO_TESTS_STRESS_H

#include "qemu/osdep.h"
#include "block/aio.h"
#include "qapi/error.h"
#include "../api_level.h"

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>

/* Start a program of `n_cases` cases (for the budget's split). */
void s_init(const char *program, int n_cases);

/* Run one case: `fn(arg)` until s_running() turns false. */
void s_run(const char *name, void (*fn)(int arg), int arg);
/* A case that cannot run here (e.g. no io_uring): counted as skipped. */
void s_skip(const char *name, const char *why);

/* Print the totals and "N passed, N failed"; the exit status for main(). */
int s_finish(void);

/* Whether the running case still has time left. */
bool s_running(void);
/* Seconds of budget the running case gets. */
double s_case_seconds(void);

/* Count operations of the running case; any thread. */
void s_ops(unsigned long n);
/* Tell the watchdog the case moved on; any thread. */
void s_progress(void);

/* Record a failure of the running case (first few printed); any thread. */
void s_fail(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
#define s_check(cond, ...)        \
    do {                          \
        if (!(cond)) {            \
            s_fail(__VA_ARGS__);  \
        }                         \
    } while (0)

/* A small per-thread random generator (xorshift). */
typedef struct { uint64_t s; } s_rng;
void s_rng_seed(s_rng *r, uint64_t seed);
uint32_t s_rand(s_rng *r, uint32_t bound);  /* in [0, bound) */

/* ---- IOThread-like threads: each owns a context and polls it ------------- */

typedef struct {
    pthread_t thread;
    AioContext *ctx;
    sem_t ready;
    atomic_bool stop;
    int fdmon;      /* t_fdmons[fdmon] for the context, -1: automatic */
    GMainContext *gmain;  /* driven through its GSource when not NULL */
} s_iothread;

/* Start a thread whose new context uses monitor `fdmon` (-1: automatic). */
void s_iothread_start(s_iothread *t, int fdmon);
/* The same, but the thread drives the context as a GSource of a
 * GMainContext of its own (g_main_context_iteration), not with aio_poll. */
void s_iothread_start_gsource(s_iothread *t, int fdmon);
/* Stop the loop (through a BH) and join the thread; the context stays. */
void s_iothread_stop(s_iothread *t);
void s_iothread_free(s_iothread *t);

/* n threads with automatic monitors; then stopped, joined and freed. */
void s_iothreads_start(s_iothread *t, int n);
void s_iothreads_stop_and_free(s_iothread *t, int n);

/* Run `fn(opaque)` in `ctx`'s thread through a oneshot BH and wait for it. */
void s_run_in(AioContext *ctx, void (*fn)(void *), void *opaque);

/* Whether fd monitor t_fdmons[i] can run here (io_uring needs the kernel). */
bool s_fdmon_usable(int i);

#endif
