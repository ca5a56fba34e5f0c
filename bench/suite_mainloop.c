/* SPDX-License-Identifier: MIT */
/*
 * Suite "mainloop": what one main_loop_wait iteration costs as the number
 * of fds registered through qemu_set_fd_handler grows (1, 64, 1024, 10000
 * eventfds) while one of them is ready: the middle one is written once and
 * never read, so, handlers being level-triggered, every iteration dispatches
 * exactly that one.  main_loop_wait(nonblocking) runs glib's default
 * context, where qaio's iohandler context is one source; from 8 fds on it
 * waits with io_uring, and glib polls the ring's fd plus the fds that were
 * ready at the last iteration (one system call, whatever n; below 8, glib
 * polls the fds themselves).  QEMU 7.2 gives glib every handler's fd, which
 * is what the peer does: a bare GMainContext iteration with the same fds as
 * g_unix_fd sources.  The note of each qaio row names the iohandler
 * context's monitor.  The main loop exists once per process and stays bound
 * to its thread, so the sizes are measured one after another on one worker
 * (not interleaved, unlike the fd suite) and its handlers are removed before
 * the next size.  Target: qaio's cost at 10000 at most 1.2x its cost at 1.
 */
#include "config.h"

#include "bench.h"
#include "qemu/main-loop.h"
#include "qapi/error.h"
#include "qaio/fd-monitor.h"


enum { ML_NSIZES = 4 };
static const int ml_sizes[ML_NSIZES] = { 1, 64, 1024, 10000 };

typedef struct ml_case {
    bool glib;              /* the peer: a private GMainContext */
    int n;
    int *fds;
    int nopen;
    bool ok;
    char why[160];
    uint64_t dispatched, ops;
    GMainContext *mc;
    const char *monitor;    /* qaio: the iohandler context's fd monitor */
} ml_case;

static void ml_qaio_cb(void *opaque)
{
    ((ml_case *)opaque)->dispatched++;
}

static void ml_qaio_body(void *opaque, uint64_t iters)
{
    ml_case *c = opaque;

    for (uint64_t i = 0; i < iters; i++) {
        main_loop_wait(true);
    }
    c->ops += iters;
}

static void ml_glib_body(void *opaque, uint64_t iters)
{
    ml_case *c = opaque;

    bench_glib_iterate(c->mc, iters);
    c->ops += iters;
}

static void ml_init(void *opaque)
{
    Error *err = NULL;

    if (qemu_init_main_loop(&err) < 0) {
        snprintf(opaque, 160, "qemu_init_main_loop: %s", error_get_pretty(err));
        error_free(err);
    }
}

static void ml_setup(void *opaque)
{
    ml_case *c = opaque;
    if (!bench_eventfds_open(c->n, &c->fds, &c->nopen, c->why, sizeof(c->why))) {
        return;
    }
    if (c->glib) {
        c->mc = bench_glib_watch(c->fds, c->n, &c->dispatched);
    } else {
        for (int i = 0; i < c->n; i++) {
            qemu_set_fd_handler(c->fds[i], ml_qaio_cb, NULL, c);
        }
        main_loop_wait(true);   /* settle: monitor upgrades happen here */
        c->dispatched = 0;
        c->monitor = qaio_aio_context_fd_monitor(iohandler_get_aio_context());
    }
    c->ok = true;
}

static void ml_teardown(void *opaque)
{
    ml_case *c = opaque;

    if (c->glib) {
        if (c->mc) {
            g_main_context_unref(c->mc);
        }
    } else {
        for (int i = 0; i < c->nopen; i++) {
            qemu_set_fd_handler(c->fds[i], NULL, NULL, NULL);
        }
        main_loop_wait(true);   /* frees the removed handlers */
    }
    for (int i = 0; i < c->nopen; i++) {
        close(c->fds[i]);
    }
    g_free(c->fds);
}

/* Measures one subject at every size, one size at a time on worker w. */
static void ml_run_subject(bench_worker *w, bool glib, double *medians,
                           bench_stats *keep, bool *valid)
{
    const char *subject = glib ? "glib" : "qaio";
    const char *name = glib ? "GMainContext unix_fd" : "main_loop_wait";

    for (int k = 0; k < ML_NSIZES; k++) {
        ml_case c = { .glib = glib, .n = ml_sizes[k] };
        char label[48], alive[96];
        bench_case bc;
        bench_result *r;

        medians[k] = -1;
        valid[k] = false;
        snprintf(alive, sizeof(alive), "[mainloop] %s n=%d set-up", name, c.n);
        bench_alive(alive);
        bench_worker_call(w, ml_setup, &c);
        snprintf(label, sizeof(label), "%s n=%d", name, c.n);
        if (!c.ok) {
            r = bench_record("mainloop", label, subject, NULL);
            bench_result_note(r, "not measured: %s", c.why);
        } else {
            bc = BENCH_CASE(label, glib ? ml_glib_body : ml_qaio_body, &c, w);
            bench_measure(&bc, 1, "mainloop", label, k + 1 + (glib ? ML_NSIZES : 0),
                          2 * ML_NSIZES);
            r = bench_record("mainloop", label, subject, &bc.stats);
            medians[k] = bc.stats.median_ns;
            keep[k] = bc.stats;
            valid[k] = c.dispatched == c.ops;
            if (c.monitor) {
                bench_result_note(r, "iohandler context on %s", c.monitor);
            }
            if (!valid[k]) {
                bench_result_note(r, "handler calls per iteration: %.3f, not 1",
                                  (double)c.dispatched / c.ops);
            }
            if (k > 0) {
                char rname[24];

                snprintf(rname, sizeof(rname), "n%d/n1", c.n);
                bench_add_ratio(r, rname, bench_ratio(medians[k], medians[0]));
                if (!glib && k == ML_NSIZES - 1) {
                    bench_set_target(r, "≤1.2x n=1", 1.2,
                                     valid[0] && valid[k]
                                         ? bench_ratio(medians[k], medians[0]) : -1);
                }
            }
        }
        bench_worker_call(w, ml_teardown, &c);
    }
}

static void ml_run(void)
{
    double qaio[ML_NSIZES], glib[ML_NSIZES];
    bench_stats st[ML_NSIZES];
    bool valid_q[ML_NSIZES], valid_g[ML_NSIZES];
    char why[160] = "";
    bench_worker *w = bench_worker_start("bench-mainloop");
    bench_worker *g = bench_worker_start("bench-glib");

    bench_worker_call(w, ml_init, why);
    if (why[0]) {
        bench_result *r = bench_record("mainloop", "main_loop_wait n=10000", "qaio", NULL);

        bench_set_target(r, "≤1.2x n=1", 1.2, -1);
        bench_result_note(r, "skipped: %s", why);
    } else {
        ml_run_subject(w, false, qaio, st, valid_q);
    }
    ml_run_subject(g, true, glib, st, valid_g);
    bench_note("mainloop", "sizes measured one after another (one main loop per "
               "process); glib rows: a bare GMainContext with one g_unix_fd "
               "source per fd, as QEMU 7.2's main loop polls them");
    /* The main loop stays bound to its thread: keep the worker alive. */
    bench_worker_stop(g);
}

const bench_suite bench_suite_mainloop = {
    .name = "mainloop",
    .summary = "main_loop_wait with 1..10000 fds via qemu_set_fd_handler, one ready",
    .run = ml_run,
};
