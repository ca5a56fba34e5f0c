/* SPDX-License-Identifier: MIT */
/*
 * Fault injection for the block engine suites: link-time wrappers
 * (-Wl,--wrap=...) around the libaio and liburing calls the engines make,
 * which, when a test asks for it, refuse or shorten submissions and alter
 * completions the way a busy or interrupted kernel would.  Each knob fires
 * on every Nth call or completion (0: never), so a run is deterministic;
 * the counters tell a test that the faults really happened.  The suites are
 * white-box for this reason: they link the core's objects, not libqaio.so.
 */
#ifndef QAIO_TESTS_FAULT_INJECT_H
#define QAIO_TESTS_FAULT_INJECT_H

#include <stdbool.h>

typedef struct t_fault_plan {
    /* io_submit / io_uring_submit: fail without submitting anything. */
    unsigned submit_eagain_every;
    unsigned submit_eintr_every;
    /* io_submit / io_uring_submit: fail with -ENOMEM (the kernel could not
     * allocate), without submitting anything. */
    unsigned submit_enomem_every;
    /* io_submit: accept only the first half of a batch of two or more. */
    unsigned submit_partial_every;
    /* io_setup: hide the completion ring so the engine uses io_getevents. */
    bool hide_aio_ring;
    /* io_getevents: fail with -EINTR, or return at most one event. */
    unsigned getevents_eintr_every;
    unsigned getevents_short_every;
    /* Completions (io_getevents events, io_uring CQEs): halve a positive
     * result, or replace the result with -EAGAIN or -EINTR. */
    unsigned complete_truncate_every;
    unsigned complete_eagain_every;
    unsigned complete_eintr_every;
} t_fault_plan;

typedef struct t_fault_counts {
    unsigned submit_calls;
    unsigned submit_eagain;
    unsigned submit_eintr;
    unsigned submit_enomem;
    unsigned submit_partial;
    unsigned getevents_calls;
    unsigned getevents_eintr;
    unsigned getevents_short;
    unsigned completions;
    unsigned truncated;
    unsigned eagain;
    unsigned eintr;
    /* What the submissions that reached the kernel asked for: requests in
     * all, the most in one call, writes with RWF_DSYNC (FUA) and without,
     * and flushes (IO_CMD_FDSYNC, IORING_OP_FSYNC). */
    unsigned submitted;
    unsigned largest_batch;
    unsigned dsync_writes;
    unsigned plain_writes;
    unsigned fsyncs;
} t_fault_counts;

/* What to inject (zero: nothing), and what was injected so far. */
extern t_fault_plan t_faults;
extern t_fault_counts t_fault_count;

/* No faults, counters at zero. */
void t_faults_reset(void);

#endif
