/* SPDX-License-Identifier: MIT */
/*
 * Stress "timers": timers of one context armed, moved and deleted from its
 * home thread and from other threads while the home thread sleeps in its
 * fd monitor until the next deadline, on every monitor and through the
 * GSource.  Two rules are checked on every call:
 *  - never early: a callback runs no sooner than the earliest expiry the
 *    timer was given since its last run (moves may only bring it closer);
 *  - never after deletion: once timer_del has returned and the home thread
 *    has finished the passes under way ("fences"), the callback must not
 *    run until the timer is armed again.
 * Timers re-arm themselves from their callbacks, and other threads wait for
 * the runs they armed: a lost deadline hangs (the watchdog).
 */
#include "stress.h"
#include "../helpers.h"
#include "qemu/timer.h"

enum { SELF_TIMERS = 8, OWNERS = 3, OWNED = 2, MONITORS_AND_GSOURCE = 4 };

typedef struct {
    QEMUTimer *t;
    int id;
    atomic_llong not_before;  /* earliest expiry since the last run */
    atomic_bool deleted;
    atomic_ulong runs;
    sem_t fired;
    unsigned long arms;
    s_rng rng;
} Timer;

static int64_t now_ns(void)
{
    return qemu_clock_get_ns(QEMU_CLOCK_REALTIME);
}

static void check_not_early(Timer *t)
{
    int64_t now = now_ns();
    int64_t nb = atomic_load(&t->not_before);

    s_check(now >= nb, "timer %d ran %lld ns early", t->id, (long long)(nb - now));
    s_check(!atomic_load(&t->deleted), "timer %d ran after its deletion", t->id);
}

/* Arm at now + [0, max_ns): the earliest expiry can only come closer. */
static void arm(Timer *t, int64_t max_ns)
{
    int64_t e = now_ns() + s_rand(&t->rng, (uint32_t)max_ns);
    int64_t nb = atomic_load(&t->not_before);

    while (e < nb && !atomic_compare_exchange_weak(&t->not_before, &nb, e)) {
        /* another arm brought it closer meanwhile */
    }
    t->arms++;
    timer_mod_ns(t->t, e);
}

static void self_cb(void *opaque)
{
    Timer *t = opaque;

    check_not_early(t);
    atomic_store(&t->not_before, INT64_MAX);
    atomic_fetch_add(&t->runs, 1);
    s_progress();
    arm(t, 500 * 1000);  /* again, from the callback */
}

/* The owner resets not_before once no arm is pending: a reset here could
 * undo a move made while this run was under way. */
static void owned_cb(void *opaque)
{
    Timer *t = opaque;

    check_not_early(t);
    atomic_fetch_add(&t->runs, 1);
    s_progress();
    sem_post(&t->fired);
}

static void nothing(void *opaque)
{
}

static void fence(AioContext *ctx)
{
    for (int i = 0; i < 3; i++) {
        s_run_in(ctx, nothing, NULL);
    }
}

typedef struct {
    int id;
    pthread_t thread;
    AioContext *ctx;
    Timer timers[OWNED];
} Owner;

static void timer_setup(Timer *t, AioContext *ctx, QEMUTimerCB *cb, int id)
{
    t->id = id;
    atomic_init(&t->not_before, INT64_MAX);
    atomic_init(&t->deleted, false);
    atomic_init(&t->runs, 0);
    sem_init(&t->fired, 0, 0);
    s_rng_seed(&t->rng, id + 600);
    t->t = aio_timer_new(ctx, QEMU_CLOCK_REALTIME, SCALE_NS, cb, t);
}

/* Delete, let the passes under way end, and from then on no run. */
static void delete_and_fence(Timer *t, AioContext *ctx)
{
    timer_del(t->t);
    fence(ctx);
    atomic_store(&t->deleted, true);
    atomic_store(&t->not_before, INT64_MAX);
    while (sem_trywait(&t->fired) == 0) {
        /* runs from before the deletion */
    }
}

static void *owner_thread(void *opaque)
{
    Owner *o = opaque;
    s_rng rng;

    s_rng_seed(&rng, o->id + 700);
    while (s_running()) {
        Timer *t = &o->timers[s_rand(&rng, OWNED)];

        switch (s_rand(&rng, 4)) {
        case 0:  /* arm and wait for the run: then nothing is pending */
            atomic_store(&t->deleted, false);
            arm(t, 300 * 1000);
            sem_wait(&t->fired);
            atomic_store(&t->not_before, INT64_MAX);
            break;
        case 1:  /* arm, move, wait for a run (one more may follow) */
            atomic_store(&t->deleted, false);
            arm(t, 2 * 1000 * 1000);
            arm(t, 300 * 1000);
            sem_wait(&t->fired);
            delete_and_fence(t, o->ctx);
            break;
        case 2:  /* arm far away, then delete */
            atomic_store(&t->deleted, false);
            arm(t, 50 * 1000 * 1000);
            delete_and_fence(t, o->ctx);
            break;
        default:  /* arm soon, delete at once: it may or may not have run */
            atomic_store(&t->deleted, false);
            arm(t, 20 * 1000);
            delete_and_fence(t, o->ctx);
            break;
        }
        s_ops(1);
        s_progress();
    }
    for (int i = 0; i < OWNED; i++) {
        delete_and_fence(&o->timers[i], o->ctx);
    }
    return NULL;
}

static Timer self_timers[SELF_TIMERS];

static void start_self_timers(void *opaque)
{
    AioContext *ctx = opaque;

    for (int i = 0; i < SELF_TIMERS; i++) {
        timer_setup(&self_timers[i], ctx, self_cb, i);
        arm(&self_timers[i], 500 * 1000);
    }
}

static void stop_self_timers(void *opaque)
{
    for (int i = 0; i < SELF_TIMERS; i++) {
        /* In the home thread: no callback can be under way. */
        timer_del(self_timers[i].t);
        atomic_store(&self_timers[i].deleted, true);
    }
}

static void timers(int mon)
{
    s_iothread home;
    Owner o[OWNERS];
    unsigned long runs = 0, arms = 0;

    if (mon < t_n_fdmons) {
        s_iothread_start(&home, mon);
    } else {
        s_iothread_start_gsource(&home, -1);
    }
    s_run_in(home.ctx, start_self_timers, home.ctx);
    for (int i = 0; i < OWNERS; i++) {
        o[i] = (Owner){ .id = i, .ctx = home.ctx };
        for (int k = 0; k < OWNED; k++) {
            timer_setup(&o[i].timers[k], home.ctx, owned_cb, 100 + i * OWNED + k);
        }
        pthread_create(&o[i].thread, NULL, owner_thread, &o[i]);
    }
    for (int i = 0; i < OWNERS; i++) {
        pthread_join(o[i].thread, NULL);
    }
    s_run_in(home.ctx, stop_self_timers, NULL);
    fence(home.ctx);  /* a late self-timer run would fail its check */
    for (int i = 0; i < SELF_TIMERS; i++) {
        runs += atomic_load(&self_timers[i].runs);
        arms += self_timers[i].arms;
        s_check(atomic_load(&self_timers[i].runs) > 0, "self timer %d never ran", i);
        timer_free(self_timers[i].t);
        sem_destroy(&self_timers[i].fired);
    }
    for (int i = 0; i < OWNERS; i++) {
        for (int k = 0; k < OWNED; k++) {
            Timer *t = &o[i].timers[k];

            runs += atomic_load(&t->runs);
            arms += t->arms;
            s_check(atomic_load(&t->runs) <= t->arms, "timer %d: %lu runs for %lu arms",
                    t->id, atomic_load(&t->runs), t->arms);
            timer_free(t->t);
            sem_destroy(&t->fired);
        }
    }
    s_iothread_stop(&home);
    s_iothread_free(&home);
    printf("  %lu timer runs for %lu arms\n", runs, arms);
    s_ops(runs);
}

int main(void)
{
    static char names[MONITORS_AND_GSOURCE][64];

    s_init("stress_timers", MONITORS_AND_GSOURCE);
    for (int m = 0; m < MONITORS_AND_GSOURCE; m++) {
        snprintf(names[m], sizeof(names[m]), "timers[%s]",
                 m < t_n_fdmons ? t_fdmons[m] : "gsource");
        if (m < t_n_fdmons && !s_fdmon_usable(m)) {
            s_skip(names[m], "io_uring is not available");
        } else {
            s_run(names[m], timers, m);
        }
    }
    return s_finish();
}
