/* SPDX-License-Identifier: MIT */
/*
 * Suite "bh": bottom halves as a black box, driven by aio_poll().  Covers
 * QEMU 7.2's /aio/bh/... behaviours (schedule, reschedule from the callback,
 * cancel, delete, self-deletion), oneshot and idle BHs, nesting (a BH that
 * runs aio_poll() sees its siblings of the outer pass), the blocking timeout
 * BHs imply, wake-ups from other threads, and the aborts that name a misused
 * BH.  Progress is read from aio_poll()'s return value and call counters,
 * never from timing.
 */
#define _GNU_SOURCE
#include "qemu/osdep.h"
#include "block/aio.h"
#include "qemu/main-loop.h"
#include "qemu/timer.h"
#include "helpers.h"

#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#ifndef _WIN32
#include <sys/wait.h>
#endif

/* A BH with a run counter; it reschedules itself until it has run `max`
 * times, and with `delete_at_max` deletes itself on that last run. */
typedef struct {
    QEMUBH *bh;
    int n;
    int max;
    bool delete_at_max;
} BhData;

/* The context of a test: created with the automatic monitor choice (or
 * QAIO_FDMON from the environment), bound to this thread as its home,
 * and drained of the notification that creation may leave behind. */
static AioContext *new_ctx(void)
{
    AioContext *ctx = aio_context_new(&error_abort);

    ck_assert_ptr_nonnull(ctx);
    t_assert_fdmon(ctx);
    if (!qemu_get_current_aio_context()) {
        qemu_set_current_aio_context(ctx);
    }
    t_drain_ctx(ctx);
    return ctx;
}

static void count_cb(void *opaque)
{
    BhData *d = opaque;

    d->n++;
}

static void reschedule_cb(void *opaque)
{
    BhData *d = opaque;

    d->n++;
    if (d->n < d->max) {
        qemu_bh_schedule(d->bh);
    } else if (d->delete_at_max) {
        qemu_bh_delete(d->bh);
        d->bh = NULL;
    }
}

/* ---- schedule ----------------------------------------------------------- */

START_TEST(bh_runs_only_when_the_loop_runs_and_only_once)
{
    AioContext *ctx = new_ctx();
    BhData d = { 0 };

    d.bh = aio_bh_new(ctx, count_cb, &d);
    qemu_bh_schedule(d.bh);
    ck_assert_int_eq(d.n, 0);

    ck_assert(aio_poll(ctx, true));
    ck_assert_int_eq(d.n, 1);
    ck_assert(!aio_poll(ctx, false));
    ck_assert_int_eq(d.n, 1);

    qemu_bh_delete(d.bh);
    aio_context_unref(ctx);
}
END_TEST

START_TEST(bh_rescheduling_itself_runs_once_per_aio_poll)
{
    AioContext *ctx = new_ctx();
    BhData d = { .max = 10 };

    d.bh = aio_bh_new(ctx, reschedule_cb, &d);
    qemu_bh_schedule(d.bh);
    ck_assert_int_eq(d.n, 0);

    ck_assert(aio_poll(ctx, false));
    ck_assert_int_eq(d.n, 1);
    ck_assert(aio_poll(ctx, true));
    ck_assert_int_eq(d.n, 2);

    for (int expect = 3; expect <= 10; expect++) {
        ck_assert_msg(aio_poll(ctx, false), "aio_poll false before run %d", expect);
        ck_assert_int_eq(d.n, expect);
    }
    ck_assert(!aio_poll(ctx, false));
    ck_assert_int_eq(d.n, 10);

    qemu_bh_delete(d.bh);
    aio_context_unref(ctx);
}
END_TEST

START_TEST(bh_flushed_by_one_blocking_poll_leaves_nothing_pending)
{
    AioContext *ctx = new_ctx();
    BhData d = { 0 };

    d.bh = aio_bh_new(ctx, count_cb, &d);
    qemu_bh_schedule(d.bh);
    ck_assert(aio_poll(ctx, true));
    ck_assert_int_eq(d.n, 1);
    ck_assert(!aio_poll(ctx, false));
    ck_assert_int_eq(d.n, 1);
    ck_assert_int_eq(aio_compute_timeout(ctx), -1);

    qemu_bh_delete(d.bh);
    aio_context_unref(ctx);
}
END_TEST

START_TEST(bh_scheduled_twice_runs_once)
{
    AioContext *ctx = new_ctx();
    BhData d = { 0 };

    d.bh = aio_bh_new(ctx, count_cb, &d);
    qemu_bh_schedule(d.bh);
    qemu_bh_schedule(d.bh);
    ck_assert(aio_poll(ctx, true));
    ck_assert_int_eq(d.n, 1);
    ck_assert(!aio_poll(ctx, false));
    ck_assert_int_eq(d.n, 1);

    qemu_bh_delete(d.bh);
    aio_context_unref(ctx);
}
END_TEST

typedef struct {
    char *order;   /* the ids of the BHs, in the order they ran */
    char id;
} OrderData;

static void record_order_cb(void *opaque)
{
    OrderData *o = opaque;

    strncat(o->order, &o->id, 1);
}

/* QEMU 7.2 keeps the scheduled BHs on a stack: one aio_poll runs those
 * scheduled before it newest first, and one scheduled again meanwhile
 * keeps its place. */
START_TEST(bhs_scheduled_together_run_newest_first)
{
    AioContext *ctx = new_ctx();
    char order[8] = "";
    OrderData o[3];
    QEMUBH *bh[3];

    for (int i = 0; i < 3; i++) {
        o[i] = (OrderData){ order, (char)('A' + i) };
        bh[i] = aio_bh_new(ctx, record_order_cb, &o[i]);
    }
    qemu_bh_schedule(bh[0]);
    qemu_bh_schedule(bh[1]);
    qemu_bh_schedule(bh[2]);
    qemu_bh_schedule(bh[0]);
    ck_assert(aio_poll(ctx, false));
    ck_assert_str_eq(order, "CBA");
    for (int i = 0; i < 3; i++) {
        qemu_bh_delete(bh[i]);
    }
    aio_context_unref(ctx);
}
END_TEST

static void *schedule_later_thread(void *opaque)
{
    BhData *d = opaque;

    /* Give the poller a chance to be asleep; correctness does not depend
     * on it (a schedule before the wait must make the wait non-blocking). */
    g_usleep(20 * 1000);
    qemu_bh_schedule(d->bh);
    return NULL;
}

START_TEST(bh_scheduled_from_another_thread_wakes_blocking_poll)
{
    AioContext *ctx = new_ctx();
    BhData d = { 0 };
    pthread_t th;

    d.bh = aio_bh_new(ctx, count_cb, &d);
    ck_assert_int_eq(pthread_create(&th, NULL, schedule_later_thread, &d), 0);
    ck_assert(aio_poll(ctx, true));
    ck_assert_int_eq(d.n, 1);
    pthread_join(th, NULL);
    ck_assert(!aio_poll(ctx, false));
    ck_assert_int_eq(d.n, 1);

    qemu_bh_delete(d.bh);
    aio_context_unref(ctx);
}
END_TEST

/* No lost wake-up: N producers each schedule their own BH into a context that is
 * blocked in aio_poll(ctx, true); a producer reschedules only after its
 * previous run, so every round needs a wake-up that must not be lost. */
enum { PRODUCERS = 4, PRODUCER_ROUNDS = 5000 };

typedef struct {
    QEMUBH *bh;
    sem_t ran;
    unsigned seed;
    int *total;
} Producer;

static void producer_bh_cb(void *opaque)
{
    Producer *p = opaque;

    (*p->total)++;
    sem_post(&p->ran);
}

static void *producer_thread(void *opaque)
{
    Producer *p = opaque;

    for (int r = 0; r < PRODUCER_ROUNDS; r++) {
        /* Vary the interleaving with the poller's sleep announcement. */
        if ((rand_r(&p->seed) & 7) == 0) {
            sched_yield();
        }
        qemu_bh_schedule(p->bh);
        while (sem_wait(&p->ran) != 0) {
            /* EINTR: wait again */
        }
    }
    return NULL;
}

static void timer_must_not_fire(void *opaque)
{
    ck_abort_msg("a timer armed at INT64_MAX fired");
}

/* A deadline at INT64_MAX is no deadline: the wait computes no overflowing
 * sum (the sanitizer build would trap) and ends on the BH alone. */
START_TEST(blocking_poll_with_a_timer_at_int64_max_waits_for_a_bh)
{
    AioContext *ctx = new_ctx();
    QEMUTimer *t = aio_timer_new(ctx, QEMU_CLOCK_REALTIME, SCALE_NS, timer_must_not_fire, NULL);
    BhData d = { 0 };
    pthread_t th;

    timer_mod(t, INT64_MAX);
    d.bh = aio_bh_new(ctx, count_cb, &d);
    pthread_create(&th, NULL, schedule_later_thread, &d);
    while (d.n == 0) {
        aio_poll(ctx, true);
    }
    pthread_join(th, NULL);
    ck_assert_int_eq(d.n, 1);
    timer_free(t);
    qemu_bh_delete(d.bh);
    aio_context_unref(ctx);
}
END_TEST

START_TEST(bhs_scheduled_by_many_threads_always_wake_blocking_poll)
{
    AioContext *ctx = new_ctx();
    Producer prod[PRODUCERS];
    pthread_t th[PRODUCERS];
    int total = 0;

    for (int i = 0; i < PRODUCERS; i++) {
        prod[i].bh = aio_bh_new(ctx, producer_bh_cb, &prod[i]);
        sem_init(&prod[i].ran, 0, 0);
        prod[i].seed = 1234u + i;
        prod[i].total = &total;
    }
    for (int i = 0; i < PRODUCERS; i++) {
        ck_assert_int_eq(pthread_create(&th[i], NULL, producer_thread, &prod[i]), 0);
    }
    /* A lost wake-up leaves this loop asleep forever: the test times out. */
    while (total < PRODUCERS * PRODUCER_ROUNDS) {
        aio_poll(ctx, true);
    }
    for (int i = 0; i < PRODUCERS; i++) {
        pthread_join(th[i], NULL);
    }
    ck_assert_int_eq(total, PRODUCERS * PRODUCER_ROUNDS);
    ck_assert(!aio_poll(ctx, false));

    for (int i = 0; i < PRODUCERS; i++) {
        qemu_bh_delete(prod[i].bh);
        sem_destroy(&prod[i].ran);
    }
    aio_context_unref(ctx);
}
END_TEST

/* ---- cancel ------------------------------------------------------------- */

START_TEST(bh_cancelled_after_schedule_never_runs)
{
    AioContext *ctx = new_ctx();
    BhData d = { 0 };

    d.bh = aio_bh_new(ctx, count_cb, &d);
    qemu_bh_schedule(d.bh);
    qemu_bh_cancel(d.bh);
    ck_assert(!aio_poll(ctx, false));
    ck_assert_int_eq(d.n, 0);
    ck_assert(!aio_poll(ctx, false));
    ck_assert_int_eq(d.n, 0);

    qemu_bh_delete(d.bh);
    aio_context_unref(ctx);
}
END_TEST

START_TEST(bh_cancelled_can_be_scheduled_again)
{
    AioContext *ctx = new_ctx();
    BhData d = { 0 };

    d.bh = aio_bh_new(ctx, count_cb, &d);
    qemu_bh_schedule(d.bh);
    qemu_bh_cancel(d.bh);
    ck_assert(!aio_poll(ctx, false));
    qemu_bh_schedule(d.bh);
    ck_assert(aio_poll(ctx, true));
    ck_assert_int_eq(d.n, 1);

    qemu_bh_delete(d.bh);
    aio_context_unref(ctx);
}
END_TEST

/* ---- delete ------------------------------------------------------------- */

START_TEST(bh_deleted_while_scheduled_never_runs)
{
    AioContext *ctx = new_ctx();
    BhData d = { 0 };

    d.bh = aio_bh_new(ctx, count_cb, &d);
    qemu_bh_schedule(d.bh);
    qemu_bh_delete(d.bh);
    ck_assert(!aio_poll(ctx, false));
    ck_assert_int_eq(d.n, 0);
    ck_assert(!aio_poll(ctx, false));
    ck_assert_int_eq(d.n, 0);

    aio_context_unref(ctx);
}
END_TEST

START_TEST(bh_deleting_itself_in_its_callback_is_safe_and_not_progress)
{
    AioContext *ctx = new_ctx();
    BhData d = { .max = 1, .delete_at_max = true };

    d.bh = aio_bh_new(ctx, reschedule_cb, &d);
    qemu_bh_schedule(d.bh);
    ck_assert_int_eq(d.n, 0);

    ck_assert(aio_poll(ctx, false));
    ck_assert_int_eq(d.n, 1);
    ck_assert_ptr_null(d.bh);
    /* Reclaiming the deleted BH is not progress. */
    ck_assert(!aio_poll(ctx, false));
    ck_assert_int_eq(d.n, 1);

    aio_context_unref(ctx);
}
END_TEST

START_TEST(bhs_deleting_themselves_in_one_pass_do_not_disturb_each_other)
{
    AioContext *ctx = new_ctx();
    BhData d[4] = {
        { .max = 1, .delete_at_max = true },
        { .max = 3, .delete_at_max = true },
        { .max = 2, .delete_at_max = true },
        { .max = 4, .delete_at_max = true },
    };

    for (int i = 0; i < 4; i++) {
        d[i].bh = aio_bh_new(ctx, reschedule_cb, &d[i]);
    }
    for (int i = 0; i < 4; i++) {
        qemu_bh_schedule(d[i].bh);
    }
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(d[i].n, 0);
    }

    ck_assert(aio_poll(ctx, false));
    for (int i = 0; i < 4; i++) {
        ck_assert_msg(d[i].n == 1, "BH %d ran %d times in the first pass", i, d[i].n);
    }
    ck_assert_ptr_null(d[0].bh);

    while (aio_poll(ctx, false)) {
        /* run until every BH reached its limit */
    }
    for (int i = 0; i < 4; i++) {
        ck_assert_msg(d[i].n == d[i].max, "BH %d ran %d times, expected %d",
                      i, d[i].n, d[i].max);
        ck_assert_ptr_null(d[i].bh);
    }

    aio_context_unref(ctx);
}
END_TEST

/* A variant of the BH freed by its own callback: a BH deleted by a sibling
 * in the same dispatch pass. */
typedef struct {
    QEMUBH *victim;
    int n;
} KillerData;

static void killer_cb(void *opaque)
{
    KillerData *k = opaque;

    k->n++;
    if (k->victim) {
        qemu_bh_delete(k->victim);
        k->victim = NULL;
    }
}

START_TEST(bh_deleted_by_a_sibling_in_the_same_pass_is_safe)
{
    AioContext *ctx = new_ctx();
    KillerData k1 = { 0 }, k2 = { 0 };
    QEMUBH *b1 = aio_bh_new(ctx, killer_cb, &k1);
    QEMUBH *b2 = aio_bh_new(ctx, killer_cb, &k2);

    /* Whichever runs first (order within a pass is unspecified) deletes
     * the other, which is still scheduled and so must never run. */
    k1.victim = b2;
    k2.victim = b1;
    qemu_bh_schedule(b1);
    qemu_bh_schedule(b2);
    ck_assert(aio_poll(ctx, false));
    ck_assert_msg(k1.n + k2.n == 1,
                  "a BH deleted while scheduled ran anyway (runs: %d, %d)", k1.n, k2.n);
    while (aio_poll(ctx, false)) {
    }
    ck_assert_int_eq(k1.n + k2.n, 1);

    /* The one that ran deleted the other; it is still alive itself. */
    qemu_bh_delete(k1.n == 1 ? b1 : b2);
    aio_context_unref(ctx);
}
END_TEST

/* ---- oneshot ------------------------------------------------------------ */

START_TEST(oneshot_runs_once_and_frees)
{
    AioContext *ctx = new_ctx();
    BhData d = { 0 };

    aio_bh_schedule_oneshot(ctx, count_cb, &d);
    ck_assert_int_eq(d.n, 0);
    ck_assert(aio_poll(ctx, true));
    ck_assert_int_eq(d.n, 1);
    ck_assert(!aio_poll(ctx, false));
    ck_assert_int_eq(d.n, 1);

    /* Finalization must not find it (it would abort naming it); the leak
     * checker of the sanitizer build verifies that it was freed. */
    aio_context_unref(ctx);
}
END_TEST

START_TEST(oneshots_scheduled_together_each_run_once)
{
    AioContext *ctx = new_ctx();
    BhData d = { 0 };

    for (int i = 0; i < 100; i++) {
        aio_bh_schedule_oneshot(ctx, count_cb, &d);
    }
    ck_assert(aio_poll(ctx, false));
    ck_assert_int_eq(d.n, 100);
    ck_assert(!aio_poll(ctx, false));
    ck_assert_int_eq(d.n, 100);

    aio_context_unref(ctx);
}
END_TEST

/* ---- idle --------------------------------------------------------------- */

/* aio_bh_poll counts the BHs it ran that are progress: an idle one is not. */
START_TEST(aio_bh_poll_counts_plain_bhs_not_idle_ones)
{
    AioContext *ctx = new_ctx();
    BhData idle = { 0 }, plain = { 0 };

    idle.bh = aio_bh_new(ctx, count_cb, &idle);
    plain.bh = aio_bh_new(ctx, count_cb, &plain);
    qemu_bh_schedule_idle(idle.bh);
    ck_assert_int_eq(aio_bh_poll(ctx), 0);
    ck_assert_int_eq(idle.n, 1);
    qemu_bh_schedule(plain.bh);
    ck_assert_int_eq(aio_bh_poll(ctx), 1);
    ck_assert_int_eq(plain.n, 1);
    ck_assert_int_eq(aio_bh_poll(ctx), 0);

    qemu_bh_delete(idle.bh);
    qemu_bh_delete(plain.bh);
    aio_context_unref(ctx);
}
END_TEST

START_TEST(idle_bh_runs_within_a_blocking_poll_and_is_not_progress)
{
    AioContext *ctx = new_ctx();
    BhData d = { 0 };
    bool progress;

    d.bh = aio_bh_new(ctx, count_cb, &d);
    qemu_bh_schedule_idle(d.bh);
    /* No other event source: the idle BH's ~10 ms cap is what ends it. */
    progress = aio_poll(ctx, true);
    ck_assert_int_eq(d.n, 1);
    ck_assert_msg(!progress, "running only an idle BH was reported as progress");
    ck_assert(!aio_poll(ctx, false));
    ck_assert_int_eq(d.n, 1);

    qemu_bh_delete(d.bh);
    aio_context_unref(ctx);
}
END_TEST

START_TEST(aio_compute_timeout_is_at_most_10ms_with_idle_bh)
{
    AioContext *ctx = new_ctx();
    BhData d = { 0 };
    int64_t t;

    d.bh = aio_bh_new(ctx, count_cb, &d);
    qemu_bh_schedule_idle(d.bh);
    t = aio_compute_timeout(ctx);
    ck_assert_msg(t > 0 && t <= 10 * SCALE_MS,
                  "timeout %" PRId64 " ns with only an idle BH", t);

    qemu_bh_delete(d.bh);
    aio_context_unref(ctx);
}
END_TEST

START_TEST(aio_compute_timeout_is_zero_with_scheduled_bh)
{
    AioContext *ctx = new_ctx();
    BhData d = { 0 }, idle = { 0 };

    d.bh = aio_bh_new(ctx, count_cb, &d);
    idle.bh = aio_bh_new(ctx, count_cb, &idle);
    qemu_bh_schedule(d.bh);
    ck_assert_int_eq(aio_compute_timeout(ctx), 0);
    /* An idle BH beside it does not raise the timeout. */
    qemu_bh_schedule_idle(idle.bh);
    ck_assert_int_eq(aio_compute_timeout(ctx), 0);

    ck_assert(aio_poll(ctx, false));
    ck_assert_int_eq(d.n, 1);

    qemu_bh_delete(d.bh);
    qemu_bh_delete(idle.bh);
    aio_context_unref(ctx);
}
END_TEST

START_TEST(aio_compute_timeout_is_minus_one_when_idle)
{
    AioContext *ctx = new_ctx();
    BhData d = { 0 };

    ck_assert_int_eq(aio_compute_timeout(ctx), -1);
    /* A created but unscheduled BH, and a cancelled or deleted one, are
     * not work. */
    d.bh = aio_bh_new(ctx, count_cb, &d);
    ck_assert_int_eq(aio_compute_timeout(ctx), -1);
    qemu_bh_schedule(d.bh);
    qemu_bh_cancel(d.bh);
    ck_assert_int_eq(aio_compute_timeout(ctx), -1);
    qemu_bh_delete(d.bh);
    ck_assert_int_eq(aio_compute_timeout(ctx), -1);

    aio_context_unref(ctx);
}
END_TEST

/* ---- nesting ------------------------------------------------------------ */

/* Two BHs scheduled together; whichever runs first calls aio_poll() from
 * its callback, which must run the other one (still pending in the outer
 * pass) before it returns. */
typedef struct NestData {
    QEMUBH *bh;
    struct NestData *other;
    AioContext *ctx;
    int n;
    bool nested;
    bool nested_progress;
    bool other_ran_in_nested;
} NestData;

static void nest_cb(void *opaque)
{
    NestData *d = opaque;

    d->n++;
    if (d->other->n == 0) {
        d->nested = true;
        d->nested_progress = aio_poll(d->ctx, false);
        d->other_ran_in_nested = d->other->n == 1;
    }
}

START_TEST(nested_aio_poll_runs_outer_pending_bhs)
{
    AioContext *ctx = new_ctx();
    NestData a = { .ctx = ctx }, b = { .ctx = ctx };
    NestData *first;

    a.other = &b;
    b.other = &a;
    a.bh = aio_bh_new(ctx, nest_cb, &a);
    b.bh = aio_bh_new(ctx, nest_cb, &b);
    qemu_bh_schedule(a.bh);
    qemu_bh_schedule(b.bh);

    ck_assert(aio_poll(ctx, false));
    ck_assert_int_eq(a.n, 1);
    ck_assert_int_eq(b.n, 1);
    ck_assert_msg(a.nested != b.nested, "exactly one callback should have nested");
    first = a.nested ? &a : &b;
    ck_assert_msg(first->other_ran_in_nested,
                  "the nested aio_poll did not run the sibling pending in the outer pass");
    ck_assert(first->nested_progress);
    ck_assert(!aio_poll(ctx, false));
    ck_assert_int_eq(a.n, 1);
    ck_assert_int_eq(b.n, 1);

    qemu_bh_delete(a.bh);
    qemu_bh_delete(b.bh);
    aio_context_unref(ctx);
}
END_TEST

typedef struct {
    QEMUBH *bh;
    BhData *later;
    int n;
} ChainData;

static void chain_cb(void *opaque)
{
    ChainData *c = opaque;

    c->n++;
    qemu_bh_schedule(c->later->bh);
}

START_TEST(bh_scheduled_during_dispatch_waits_for_next_poll)
{
    AioContext *ctx = new_ctx();
    BhData later = { 0 };
    ChainData c = { .later = &later };

    later.bh = aio_bh_new(ctx, count_cb, &later);
    c.bh = aio_bh_new(ctx, chain_cb, &c);
    qemu_bh_schedule(c.bh);

    ck_assert(aio_poll(ctx, false));
    ck_assert_int_eq(c.n, 1);
    ck_assert_int_eq(later.n, 0);
    ck_assert_int_eq(aio_compute_timeout(ctx), 0);
    ck_assert(aio_poll(ctx, false));
    ck_assert_int_eq(c.n, 1);
    ck_assert_int_eq(later.n, 1);
    ck_assert(!aio_poll(ctx, false));

    qemu_bh_delete(c.bh);
    qemu_bh_delete(later.bh);
    aio_context_unref(ctx);
}
END_TEST

/* ---- misuse ------------------------------------------------------------- */

static void delete_twice(void)
{
    AioContext *ctx = new_ctx();
    QEMUBH *bh = aio_bh_new_full(ctx, count_cb, NULL, "qaio_test_twice_deleted_bh", NULL);

    qemu_bh_delete(bh);
    qemu_bh_delete(bh);
    /* Not reached when the misuse is caught. */
    aio_context_unref(ctx);
}

START_TEST(deleting_a_bh_twice_aborts_naming_it)
{
    t_expect_abort_naming(delete_twice, "qaio_test_twice_deleted_bh", NULL);
    t_silence_stderr();
    delete_twice();
}
END_TEST

static void finalize_with_scheduled_bh(void)
{
    AioContext *ctx = new_ctx();
    QEMUBH *bh = aio_bh_new_full(ctx, count_cb, NULL, "qaio_test_leaked_scheduled_bh", NULL);

    qemu_bh_schedule(bh);
    aio_context_unref(ctx);
}

START_TEST(finalizing_context_with_live_bh_aborts_naming_it)
{
    t_expect_abort_naming(finalize_with_scheduled_bh, "qaio_test_leaked_scheduled_bh", NULL);
    t_silence_stderr();
    finalize_with_scheduled_bh();
}
END_TEST

static void finalize_with_unrun_oneshot(void)
{
    AioContext *ctx = new_ctx();

    aio_bh_schedule_oneshot_full(ctx, count_cb, NULL, "qaio_test_unrun_oneshot_bh");
    aio_context_unref(ctx);
}

START_TEST(finalizing_context_with_unrun_oneshot_aborts_naming_it)
{
    t_expect_abort_naming(finalize_with_unrun_oneshot, "qaio_test_unrun_oneshot_bh", NULL);
    t_silence_stderr();
    finalize_with_unrun_oneshot();
}
END_TEST

static void finalize_with_cancelled_unreclaimed_bh(void)
{
    AioContext *ctx = new_ctx();
    QEMUBH *bh = aio_bh_new_full(ctx, count_cb, NULL, "qaio_test_cancelled_live_bh", NULL);

    qemu_bh_schedule(bh);
    qemu_bh_cancel(bh);
    aio_context_unref(ctx);
}

START_TEST(finalizing_context_with_cancelled_unreclaimed_bh_aborts_naming_it)
{
    t_expect_abort_naming(finalize_with_cancelled_unreclaimed_bh,
                          "qaio_test_cancelled_live_bh", NULL);
    t_silence_stderr();
    finalize_with_cancelled_unreclaimed_bh();
}
END_TEST

START_TEST(finalizing_context_with_deleted_bh_does_not_abort)
{
    AioContext *ctx = new_ctx();
    QEMUBH *bh = aio_bh_new_full(ctx, count_cb, NULL, "qaio_test_deleted_bh", NULL);

    qemu_bh_schedule(bh);
    qemu_bh_delete(bh);
    /* Not reclaimed by a poll yet: finalization frees it quietly. */
    aio_context_unref(ctx);
}
END_TEST

/* ---- home thread ---------------------------------------------------------- */

/*
 * QEMU 7.2's aio_poll asserts that it runs in the context's home thread: the
 * thread that bound the context (qemu_set_current_aio_context), or, for the
 * main context, any thread holding the BQL.  A context no thread has bound
 * belongs to the thread that created it.
 */
static AioContext *home_ctx;

static void *poll_once_thread(void *arg)
{
    pthread_setname_np(pthread_self(), "qaio-intruder");
    aio_poll(home_ctx, false);
    return NULL;
}

static void poll_from_a_foreign_thread(void)
{
    pthread_t th;

    home_ctx = new_ctx();
    pthread_create(&th, NULL, poll_once_thread, NULL);
    pthread_join(th, NULL);
    /* Not reached when the misuse is caught. */
    aio_context_unref(home_ctx);
}

START_TEST(aio_poll_outside_the_home_thread_aborts_naming_context_and_thread)
{
    t_expect_abort_naming(poll_from_a_foreign_thread, "not the context's home thread",
                          "qaio-intruder");
    t_silence_stderr();
    poll_from_a_foreign_thread();
}
END_TEST

/* An IOThread-like thread binds a context its creator made and polls it:
 * the BHs run there; the creator may no longer poll it. */
typedef struct {
    AioContext *ctx;
    sem_t bound;
    sem_t done;
    pthread_t ran_in;
    int n;
} BoundCtx;

static void record_thread_cb(void *opaque)
{
    BoundCtx *b = opaque;

    b->ran_in = pthread_self();
    b->n++;
}

static void *bind_and_poll_thread(void *opaque)
{
    BoundCtx *b = opaque;

    qemu_set_current_aio_context(b->ctx);
    sem_post(&b->bound);
    while (b->n == 0) {
        aio_poll(b->ctx, true);
    }
    sem_post(&b->done);
    return NULL;
}

static void start_binding_thread(BoundCtx *b, pthread_t *th)
{
    memset(b, 0, sizeof(*b));
    b->ctx = aio_context_new(&error_abort);
    t_assert_fdmon(b->ctx);
    sem_init(&b->bound, 0, 0);
    sem_init(&b->done, 0, 0);
    ck_assert_int_eq(pthread_create(th, NULL, bind_and_poll_thread, b), 0);
    sem_wait(&b->bound);
}

START_TEST(context_bound_by_another_thread_runs_its_bhs_there)
{
    BoundCtx b;
    pthread_t th;

    start_binding_thread(&b, &th);
    aio_bh_schedule_oneshot(b.ctx, record_thread_cb, &b);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    ck_assert_int_eq(b.n, 1);
    ck_assert(pthread_equal(b.ran_in, th));
    aio_context_unref(b.ctx);
}
END_TEST

static void poll_a_context_another_thread_bound(void)
{
    static BoundCtx b;
    pthread_t th;

    start_binding_thread(&b, &th);
    pthread_setname_np(pthread_self(), "qaio-creator");
    aio_poll(b.ctx, false);
}

START_TEST(creator_of_a_context_another_thread_bound_may_not_poll_it)
{
    t_expect_abort_naming(poll_a_context_another_thread_bound,
                          "not the context's home thread", "qaio-creator");
    t_silence_stderr();
    poll_a_context_another_thread_bound();
}
END_TEST

static Suite *bh_suite(void)
{
    Suite *s = suite_create("bh");
    TCase *tc;

    tc = tcase_create("schedule");
    tcase_add_test(tc, bh_runs_only_when_the_loop_runs_and_only_once);
    tcase_add_test(tc, bh_rescheduling_itself_runs_once_per_aio_poll);
    tcase_add_test(tc, bh_flushed_by_one_blocking_poll_leaves_nothing_pending);
    tcase_add_test(tc, bh_scheduled_twice_runs_once);
    tcase_add_test(tc, bhs_scheduled_together_run_newest_first);
    tcase_add_test(tc, blocking_poll_with_a_timer_at_int64_max_waits_for_a_bh);
    tcase_add_test(tc, bh_scheduled_from_another_thread_wakes_blocking_poll);
    tcase_add_test(tc, bhs_scheduled_by_many_threads_always_wake_blocking_poll);
    tcase_add_test(tc, aio_compute_timeout_is_zero_with_scheduled_bh);
    tcase_add_test(tc, aio_compute_timeout_is_minus_one_when_idle);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);

    tc = tcase_create("cancel");
    tcase_add_test(tc, bh_cancelled_after_schedule_never_runs);
    tcase_add_test(tc, bh_cancelled_can_be_scheduled_again);
    suite_add_tcase(s, tc);

    tc = tcase_create("delete");
    tcase_add_test(tc, bh_deleted_while_scheduled_never_runs);
    tcase_add_test(tc, bh_deleting_itself_in_its_callback_is_safe_and_not_progress);
    tcase_add_test(tc, bhs_deleting_themselves_in_one_pass_do_not_disturb_each_other);
    tcase_add_test(tc, bh_deleted_by_a_sibling_in_the_same_pass_is_safe);
    tcase_add_test(tc, finalizing_context_with_deleted_bh_does_not_abort);
    suite_add_tcase(s, tc);

    tc = tcase_create("oneshot");
    tcase_add_test(tc, oneshot_runs_once_and_frees);
    tcase_add_test(tc, oneshots_scheduled_together_each_run_once);
    suite_add_tcase(s, tc);

    tc = tcase_create("idle");
    tcase_add_test(tc, idle_bh_runs_within_a_blocking_poll_and_is_not_progress);
    tcase_add_test(tc, aio_bh_poll_counts_plain_bhs_not_idle_ones);
    tcase_add_test(tc, aio_compute_timeout_is_at_most_10ms_with_idle_bh);
    suite_add_tcase(s, tc);

    tc = tcase_create("nesting");
    tcase_add_test(tc, nested_aio_poll_runs_outer_pending_bhs);
    tcase_add_test(tc, bh_scheduled_during_dispatch_waits_for_next_poll);
    suite_add_tcase(s, tc);

    tc = tcase_create("home_thread");
    tcase_add_test_raise_signal(tc,
                                aio_poll_outside_the_home_thread_aborts_naming_context_and_thread,
                                SIGABRT);
    tcase_add_test(tc, context_bound_by_another_thread_runs_its_bhs_there);
    tcase_add_test_raise_signal(tc, creator_of_a_context_another_thread_bound_may_not_poll_it,
                                SIGABRT);
    suite_add_tcase(s, tc);

    tc = tcase_create("misuse");
    tcase_add_test_raise_signal(tc, deleting_a_bh_twice_aborts_naming_it, SIGABRT);
    tcase_add_test_raise_signal(tc, finalizing_context_with_live_bh_aborts_naming_it,
                                SIGABRT);
    tcase_add_test_raise_signal(tc, finalizing_context_with_unrun_oneshot_aborts_naming_it,
                                SIGABRT);
    tcase_add_test_raise_signal(tc,
                                finalizing_context_with_cancelled_unreclaimed_bh_aborts_naming_it,
                                SIGABRT);
    suite_add_tcase(s, tc);

    return s;
}

int main(void)
{
    return t_run_suite(bh_suite());
}
