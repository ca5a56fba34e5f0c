/* SPDX-License-Identifier: MIT */
/*
 * Suite "aio_co": coroutines and AioContexts as a black box.  Covers QEMU
 * 7.2's /aio/coroutine/queue-chaining (25,000 mutual hand-offs through
 * aio_co_enter do not nest) and /aio/coroutine/worker-thread-co-enter
 * (aio_co_enter from a thread without a context schedules into the context),
 * aio_co_schedule (runs at the next aio_poll, in scheduling order, with the
 * context recorded and a context reference held meanwhile), aio_co_enter
 * and aio_co_wake in and out of coroutines, aio_co_reschedule_self moving a
 * coroutine between threads that each run a context, with every resumption
 * checking that it sees its new thread's context and itself (no stale
 * thread-local state after a move), schedulers on many threads waking a
 * blocked aio_poll every time (no lost wake-up),
 * and the aborts for double scheduling and for entering a scheduled
 * coroutine, which name aio_co_schedule (no re-entry of a scheduled
 * coroutine).
 */
#include "qemu/osdep.h"
#include "qemu/coroutine.h"
#include "qemu/coroutine_int.h"
#include "block/aio.h"
#include "helpers.h"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#ifndef _WIN32
#include <sys/wait.h>
#endif

/* ---- helpers ------------------------------------------------------------ */

/* A drained context, home in this thread. */
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

typedef struct {
    char s[64];
    int n;
} Log;

static void log_add(Log *log, char c)
{
    ck_assert_int_lt(log->n, (int)sizeof(log->s) - 1);
    log->s[log->n++] = c;
    log->s[log->n] = '\0';
}

/*
 * A thread that owns a context and polls it until told to stop, like an
 * IOThread.  Work reaches it through aio_co_schedule / BHs only.
 */
typedef struct {
    pthread_t thread;
    AioContext *ctx;
    sem_t ready;
    atomic_bool stop;
} IoThread;

static void *iothread_main(void *opaque)
{
    IoThread *t = opaque;

    t->ctx = aio_context_new(&error_abort);
    t_assert_fdmon(t->ctx);
    qemu_set_current_aio_context(t->ctx);
    sem_post(&t->ready);
    while (!atomic_load(&t->stop)) {
        aio_poll(t->ctx, true);
    }
    t_drain_ctx(t->ctx);
    return NULL;
}

static void iothread_start(IoThread *t)
{
    atomic_init(&t->stop, false);
    sem_init(&t->ready, 0, 0);
    pthread_create(&t->thread, NULL, iothread_main, t);
    sem_wait(&t->ready);
}

static void stop_bh(void *opaque)
{
    atomic_store(&((IoThread *)opaque)->stop, true);
}

/* Stops and joins the thread; its context stays until iothread_free, so
 * that a test can join every thread that may still touch it first. */
static void iothread_stop(IoThread *t)
{
    aio_bh_schedule_oneshot(t->ctx, stop_bh, t);
    pthread_join(t->thread, NULL);
    sem_destroy(&t->ready);
}

static void iothread_free(IoThread *t)
{
    aio_context_unref(t->ctx);
}

/* ---- chaining (QEMU's /aio/coroutine/queue-chaining) ------------------- */

typedef struct {
    AioContext *ctx;
    Coroutine *other;
    unsigned i, max;
} ChainData;

static void chain_fn(void *opaque)
{
    ChainData *d = opaque;

    for (d->i = 0; d->i < d->max; d->i++) {
        /* Queued behind us, not entered on top of us. */
        aio_co_enter(d->ctx, d->other);
        qemu_coroutine_yield();
    }
}

START_TEST(aio_co_enter_chains_25000_mutual_hand_offs_without_nesting)
{
    AioContext *ctx = new_ctx();
    ChainData a = { .ctx = ctx, .max = 25000 }, b = { .ctx = ctx, .max = 25000 };
    Coroutine *co_a = qemu_coroutine_create(chain_fn, &a);
    Coroutine *co_b = qemu_coroutine_create(chain_fn, &b);

    a.other = co_b;
    b.other = co_a;
    qemu_coroutine_enter(co_a);
    ck_assert_uint_eq(a.i, a.max);
    ck_assert_uint_eq(b.i, b.max - 1);
    /* Let the second one end. */
    qemu_coroutine_enter(co_b);
    ck_assert_uint_eq(b.i, b.max);
    aio_context_unref(ctx);
}
END_TEST

/* ---- schedule ---------------------------------------------------------- */

typedef struct {
    AioContext *ran_in;
    AioContext *recorded;
    pthread_t thread;
    int runs;
    Log *log;
    char name;
} Runner;

static void runner_fn(void *opaque)
{
    Runner *r = opaque;

    r->ran_in = qemu_get_current_aio_context();
    r->recorded = qemu_coroutine_get_aio_context(qemu_coroutine_self());
    r->thread = pthread_self();
    r->runs++;
    if (r->log) {
        log_add(r->log, r->name);
    }
}

START_TEST(scheduled_coroutine_runs_at_the_next_aio_poll_only)
{
    AioContext *ctx = new_ctx();
    Runner r = { 0 };
    Coroutine *co = qemu_coroutine_create(runner_fn, &r);

    aio_co_schedule(ctx, co);
    ck_assert_int_eq(r.runs, 0);
    ck_assert(aio_poll(ctx, false));
    ck_assert_int_eq(r.runs, 1);
    ck_assert_ptr_eq(r.ran_in, ctx);
    ck_assert_ptr_eq(r.recorded, ctx);
    ck_assert(!aio_poll(ctx, false));
    ck_assert_int_eq(r.runs, 1);
    aio_context_unref(ctx);
}
END_TEST

START_TEST(scheduled_coroutines_run_in_scheduling_order)
{
    AioContext *ctx = new_ctx();
    Log log = { .n = 0 };
    Runner r[5];

    for (int i = 0; i < 5; i++) {
        r[i] = (Runner){ .log = &log, .name = (char)('a' + i) };
        aio_co_schedule(ctx, qemu_coroutine_create(runner_fn, &r[i]));
    }
    ck_assert(aio_poll(ctx, false));
    ck_assert_str_eq(log.s, "abcde");
    ck_assert(!aio_poll(ctx, false));
    aio_context_unref(ctx);
}
END_TEST

START_TEST(scheduled_coroutine_holds_a_context_reference_until_it_has_run)
{
    AioContext *ctx = new_ctx();
    Runner r = { 0 };
    guint refs = ctx->source.ref_count;

    aio_co_schedule(ctx, qemu_coroutine_create(runner_fn, &r));
    ck_assert_uint_eq(ctx->source.ref_count, refs + 1);
    ck_assert(aio_poll(ctx, false));
    ck_assert_int_eq(r.runs, 1);
    ck_assert_uint_eq(ctx->source.ref_count, refs);
    aio_context_unref(ctx);
}
END_TEST

typedef struct {
    AioContext *ctx;
    Coroutine *co;
} WorkerEnter;

static void *worker_enter_main(void *opaque)
{
    WorkerEnter *w = opaque;

    /* No context and no lock in this thread. */
    ck_assert_ptr_null(qemu_get_current_aio_context());
    aio_co_enter(w->ctx, w->co);
    return NULL;
}

START_TEST(aio_co_enter_from_a_thread_without_context_schedules_into_the_context)
{
    AioContext *ctx = new_ctx();
    Runner r = { 0 };
    WorkerEnter w = { ctx, qemu_coroutine_create(runner_fn, &r) };
    pthread_t worker;

    pthread_create(&worker, NULL, worker_enter_main, &w);
    pthread_join(worker, NULL);
    ck_assert_int_eq(r.runs, 0);
    ck_assert(aio_poll(ctx, true));
    ck_assert_int_eq(r.runs, 1);
    ck_assert(pthread_equal(r.thread, pthread_self()));
    ck_assert(!aio_poll(ctx, false));
    aio_context_unref(ctx);
}
END_TEST

START_TEST(aio_co_enter_outside_coroutines_in_own_context_enters_at_once)
{
    AioContext *ctx = new_ctx();
    Runner r = { 0 };

    aio_co_enter(ctx, qemu_coroutine_create(runner_fn, &r));
    ck_assert_int_eq(r.runs, 1);
    ck_assert_ptr_eq(r.recorded, ctx);
    ck_assert(!aio_poll(ctx, false));
    aio_context_unref(ctx);
}
END_TEST

typedef struct {
    AioContext *ctx;
    Coroutine *target;
    Log *log;
} EnterFromCo;

static void enter_from_co_fn(void *opaque)
{
    EnterFromCo *e = opaque;

    log_add(e->log, '1');
    aio_co_enter(e->ctx, e->target);
    log_add(e->log, '2');
    qemu_coroutine_yield();
    log_add(e->log, '4');
}

START_TEST(aio_co_enter_from_a_coroutine_in_own_context_runs_after_it_yields)
{
    AioContext *ctx = new_ctx();
    Log log = { .n = 0 };
    Runner r = { .log = &log, .name = '3' };
    EnterFromCo e = { ctx, qemu_coroutine_create(runner_fn, &r), &log };
    Coroutine *co = qemu_coroutine_create(enter_from_co_fn, &e);

    qemu_coroutine_enter(co);
    ck_assert_str_eq(log.s, "123");
    qemu_coroutine_enter(co);
    ck_assert_str_eq(log.s, "1234");
    ck_assert(!aio_poll(ctx, false));
    aio_context_unref(ctx);
}
END_TEST

typedef struct {
    sem_t yielded;
    pthread_t ran_on[2];
    AioContext *ctx_seen[2];
} WakeHome;

static void wake_home_fn(void *opaque)
{
    WakeHome *w = opaque;

    w->ran_on[0] = pthread_self();
    w->ctx_seen[0] = qemu_get_current_aio_context();
    sem_post(&w->yielded);
    qemu_coroutine_yield();
    w->ran_on[1] = pthread_self();
    w->ctx_seen[1] = qemu_get_current_aio_context();
    sem_post(&w->yielded);
}

static void enter_bh(void *opaque)
{
    qemu_coroutine_enter(opaque);
}

START_TEST(aio_co_wake_from_another_thread_runs_it_in_the_context_it_last_ran_in)
{
    AioContext *ctx = new_ctx();
    IoThread io;
    WakeHome w;
    Coroutine *co;

    sem_init(&w.yielded, 0, 0);
    iothread_start(&io);
    co = qemu_coroutine_create(wake_home_fn, &w);
    /* First run in the iothread: that is where it lives from now on. */
    aio_bh_schedule_oneshot(io.ctx, enter_bh, co);
    sem_wait(&w.yielded);
    ck_assert(pthread_equal(w.ran_on[0], io.thread));
    /* Woken from here: scheduled there, not entered here. */
    aio_co_wake(co);
    sem_wait(&w.yielded);
    ck_assert(pthread_equal(w.ran_on[1], io.thread));
    ck_assert_ptr_eq(w.ctx_seen[1], io.ctx);
    iothread_stop(&io);
    iothread_free(&io);
    sem_destroy(&w.yielded);
    aio_context_unref(ctx);
}
END_TEST

/* ---- threads: moving coroutines, no stale thread-local state ----------- */

typedef struct {
    IoThread io[2];
    Coroutine *co;
    int rounds;
    int errors;
    char first_error[200];
    sem_t done;
} Mover;

static void mover_check(Mover *m, int i, int round)
{
    const char *what = NULL;

    if (qemu_get_current_aio_context() != m->io[i].ctx) {
        what = "qemu_get_current_aio_context() is the old thread's";
    } else if (qemu_coroutine_self() != m->co) {
        what = "qemu_coroutine_self() is not the coroutine";
    } else if (!qemu_in_coroutine()) {
        what = "qemu_in_coroutine() is false";
    } else if (!pthread_equal(pthread_self(), m->io[i].thread)) {
        what = "running on the wrong thread";
    } else if (qemu_coroutine_get_aio_context(m->co) != m->io[i].ctx) {
        what = "the coroutine's recorded context is the old one";
    }
    if (what && m->errors++ == 0) {
        snprintf(m->first_error, sizeof(m->first_error), "round %d, thread %d: %s",
                 round, i, what);
    }
}

static void mover_fn(void *opaque)
{
    Mover *m = opaque;

    for (int r = 0; r < m->rounds; r++) {
        int to = (r + 1) % 2;

        aio_co_reschedule_self(m->io[to].ctx);
        mover_check(m, to, r);
    }
    sem_post(&m->done);
}

START_TEST(coroutine_moved_between_threads_sees_each_threads_context_and_itself)
{
    Mover m = { .rounds = 2000 };

    sem_init(&m.done, 0, 0);
    iothread_start(&m.io[0]);
    iothread_start(&m.io[1]);
    m.co = qemu_coroutine_create(mover_fn, &m);
    aio_co_schedule(m.io[0].ctx, m.co);
    sem_wait(&m.done);
    iothread_stop(&m.io[0]);
    iothread_stop(&m.io[1]);
    iothread_free(&m.io[0]);
    iothread_free(&m.io[1]);
    sem_destroy(&m.done);
    ck_assert_msg(m.errors == 0, "%d wrong views after a move; first: %s", m.errors,
                  m.first_error);
}
END_TEST

static void reschedule_here_fn(void *opaque)
{
    Log *log = opaque;

    log_add(log, 'a');
    aio_co_reschedule_self(qemu_get_current_aio_context());
    log_add(log, 'b');
}

START_TEST(aio_co_reschedule_self_to_its_own_context_does_not_yield)
{
    AioContext *ctx = new_ctx();
    Log log = { .n = 0 };

    qemu_coroutine_enter(qemu_coroutine_create(reschedule_here_fn, &log));
    ck_assert_str_eq(log.s, "ab");
    ck_assert(!aio_poll(ctx, false));
    aio_context_unref(ctx);
}
END_TEST

/*
 * The lost wake-up trap with coroutines: producers on several threads each keep
 * rescheduling their own coroutine into a context whose thread sleeps in
 * aio_poll(ctx, true); every schedule must wake it.  Odd producers add
 * sched_yield() at random points to widen the race windows.
 */
enum { SP_PRODUCERS = 4, SP_ROUNDS = 25000 };

typedef struct Storm Storm;

typedef struct {
    Storm *storm;
    Coroutine *co;
    atomic_int yielded;     /* set by the coroutine just before it yields */
    long runs;              /* written by the coroutine only */
    unsigned seed;
    bool jitter;
} Producer;

struct Storm {
    AioContext *ctx;
    Producer p[SP_PRODUCERS];
    atomic_bool stop;
    atomic_long total;
};

static void storm_fn(void *opaque)
{
    Producer *p = opaque;

    for (;;) {
        p->runs++;
        atomic_fetch_add(&p->storm->total, 1);
        if (atomic_load(&p->storm->stop)) {
            return;
        }
        atomic_store(&p->yielded, 1);
        qemu_coroutine_yield();
    }
}

static void *storm_producer(void *opaque)
{
    Producer *p = opaque;

    for (int r = 0; r < SP_ROUNDS; r++) {
        while (!atomic_exchange(&p->yielded, 0)) {
            sched_yield();
        }
        if (p->jitter && rand_r(&p->seed) % 4 == 0) {
            sched_yield();
        }
        aio_co_schedule(p->storm->ctx, p->co);
    }
    return NULL;
}

START_TEST(coroutines_scheduled_from_many_threads_always_wake_a_blocked_poll)
{
    Storm s = { .ctx = new_ctx() };
    pthread_t t[SP_PRODUCERS];
    long expected = (long)SP_PRODUCERS * (SP_ROUNDS + 1);

    atomic_init(&s.stop, false);
    atomic_init(&s.total, 0);
    for (int i = 0; i < SP_PRODUCERS; i++) {
        Producer *p = &s.p[i];

        p->storm = &s;
        p->seed = 1234u + i;
        p->jitter = i % 2;
        atomic_init(&p->yielded, 0);
        p->co = qemu_coroutine_create(storm_fn, p);
        qemu_coroutine_enter(p->co);        /* first run, up to its yield */
    }
    for (int i = 0; i < SP_PRODUCERS; i++) {
        pthread_create(&t[i], NULL, storm_producer, &s.p[i]);
    }
    while (atomic_load(&s.total) < expected) {
        aio_poll(s.ctx, true);
    }
    for (int i = 0; i < SP_PRODUCERS; i++) {
        pthread_join(t[i], NULL);
        ck_assert_int_eq(s.p[i].runs, SP_ROUNDS + 1);
    }
    /* Let every coroutine end. */
    atomic_store(&s.stop, true);
    for (int i = 0; i < SP_PRODUCERS; i++) {
        aio_co_schedule(s.ctx, s.p[i].co);
    }
    t_drain_ctx(s.ctx);
    ck_assert_int_eq(atomic_load(&s.total), expected + SP_PRODUCERS);
    aio_context_unref(s.ctx);
}
END_TEST

/* ---- misuse: re-entering a scheduled coroutine -------------------------- */

static void nop_fn(void *opaque)
{
}

static void schedule_twice(void)
{
    AioContext *ctx = new_ctx();
    Coroutine *co = qemu_coroutine_create(nop_fn, NULL);

    aio_co_schedule(ctx, co);
    aio_co_schedule(ctx, co);
}

START_TEST(scheduling_a_scheduled_coroutine_aborts_naming_aio_co_schedule)
{
    t_expect_abort_naming(schedule_twice, "already scheduled", "'aio_co_schedule'");
    t_silence_stderr();
    schedule_twice();
}
END_TEST

static void enter_scheduled(void)
{
    AioContext *ctx = new_ctx();
    Coroutine *co = qemu_coroutine_create(nop_fn, NULL);

    aio_co_schedule(ctx, co);
    qemu_coroutine_enter(co);
}

START_TEST(entering_a_scheduled_coroutine_aborts_naming_aio_co_schedule)
{
    t_expect_abort_naming(enter_scheduled, "already scheduled", "'aio_co_schedule'");
    t_silence_stderr();
    enter_scheduled();
}
END_TEST

static void reschedule_outside(void)
{
    AioContext *ctx = new_ctx();
    AioContext *other = aio_context_new(&error_abort);

    t_assert_fdmon(other);
    (void)ctx;
    aio_co_reschedule_self(other);
}

START_TEST(aio_co_reschedule_self_outside_a_coroutine_aborts)
{
    t_expect_abort_naming(reschedule_outside, "outside a coroutine", NULL);
    t_silence_stderr();
    reschedule_outside();
}
END_TEST

static Suite *aio_co_suite(void)
{
    Suite *s = suite_create("aio_co");
    TCase *tc;

    tc = tcase_create("chaining");
    tcase_add_test(tc, aio_co_enter_chains_25000_mutual_hand_offs_without_nesting);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);

    tc = tcase_create("schedule");
    tcase_add_test(tc, scheduled_coroutine_runs_at_the_next_aio_poll_only);
    tcase_add_test(tc, scheduled_coroutines_run_in_scheduling_order);
    tcase_add_test(tc, scheduled_coroutine_holds_a_context_reference_until_it_has_run);
    tcase_add_test(tc, aio_co_enter_from_a_thread_without_context_schedules_into_the_context);
    tcase_add_test(tc, aio_co_enter_outside_coroutines_in_own_context_enters_at_once);
    tcase_add_test(tc, aio_co_enter_from_a_coroutine_in_own_context_runs_after_it_yields);
    tcase_add_test(tc, aio_co_wake_from_another_thread_runs_it_in_the_context_it_last_ran_in);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);

    tc = tcase_create("threads");
    tcase_add_test(tc, coroutine_moved_between_threads_sees_each_threads_context_and_itself);
    tcase_add_test(tc, aio_co_reschedule_self_to_its_own_context_does_not_yield);
    tcase_add_test(tc, coroutines_scheduled_from_many_threads_always_wake_a_blocked_poll);
    tcase_set_timeout(tc, 300);
    suite_add_tcase(s, tc);

    tc = tcase_create("misuse");
    tcase_add_test_raise_signal(tc, scheduling_a_scheduled_coroutine_aborts_naming_aio_co_schedule,
                                SIGABRT);
    tcase_add_test_raise_signal(tc, entering_a_scheduled_coroutine_aborts_naming_aio_co_schedule,
                                SIGABRT);
    tcase_add_test_raise_signal(tc, aio_co_reschedule_self_outside_a_coroutine_aborts,
                                SIGABRT);
    suite_add_tcase(s, tc);

    return s;
}

int main(void)
{
    return t_run_suite(aio_co_suite());
}
