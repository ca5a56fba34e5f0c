/* SPDX-License-Identifier: MIT */
/*
 * Check suite "timer": black-box tests of qemu/timer.h.  Most tests use a
 * private timer list on QEMU_CLOCK_REALTIME whose timers are armed at
 * absolute times in the past (monotonic time is far above them), so they are
 * due at once and a single run pass fires them without any sleeping; the
 * never-early test is the one that waits for real deadlines, and it asserts
 * only that no timer fires before its deadline, never how late it is.
 */
#include "qemu/osdep.h"
#include "qemu/timer.h"
#include "api_level.h"

#include <check.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>

/* A timer with what the tests need to know about its firing. */
typedef struct {
    QEMUTimer t;
    int id;
    int64_t deadline;   /* absolute ns it was armed at */
    uint64_t armed_seq; /* order of its last arming */
    int64_t fired_at;
    int fired;
} ttimer;

static int fire_log[20000];
static int fire_count;

static void log_cb(void *opaque)
{
    ttimer *tt = opaque;

    tt->fired++;
    tt->fired_at = qemu_clock_get_ns(QEMU_CLOCK_REALTIME);
    fire_log[fire_count++] = tt->id;
}

static int notify_count;
static QEMUClockType notify_type;

static void count_notify(void *opaque, QEMUClockType type)
{
    int *per_list = opaque;

    notify_count++;
    notify_type = type;
    if (per_list) {
        (*per_list)++;
    }
}

/* xorshift64*: fixed seed, so a failure reproduces. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
}

static void shuffle(int *a, int n)
{
    for (int i = n - 1; i > 0; i--) {
        int j = rnd() % (i + 1);
        int tmp = a[i];
        a[i] = a[j];
        a[j] = tmp;
    }
}

static QEMUTimerList *private_list(void)
{
    notify_count = 0;
    fire_count = 0;
    return timerlist_new(QEMU_CLOCK_REALTIME, count_notify, NULL);
}

/* The clock of a list made by private_list(): its own answer at API level
 * 7.2; QEMU 9.2 removed timerlist_get_clock. */
#if T_API_7_2
#define tt_clock(tl) timerlist_get_clock(tl)
#else
#define tt_clock(tl) QEMU_CLOCK_REALTIME
#endif

/* Initializes @tt on @tl (through a one-list group, as aio_timer_init does). */
static void tt_init(ttimer *tt, QEMUTimerList *tl, int id, int scale, int attrs)
{
    QEMUTimerListGroup g = { { NULL } };

    g.tl[tt_clock(tl)] = tl;
    memset(tt, 0, sizeof(*tt));
    tt->id = id;
    timer_init_full(&tt->t, &g, tt_clock(tl), scale, attrs, log_cb, tt);
}

/* ---- arm ---------------------------------------------------------------- */

START_TEST(mod_moves_armed_timer)
{
    QEMUTimerList *tl = private_list();
    ttimer a;
    int64_t far_ns = qemu_clock_get_ns(QEMU_CLOCK_REALTIME) + 3600 * NANOSECONDS_PER_SECOND;

    tt_init(&a, tl, 1, SCALE_NS, 0);
    timer_mod_ns(&a.t, far_ns);
    ck_assert(timer_pending(&a.t));
    ck_assert(!timerlist_run_timers(tl));
    timer_mod_ns(&a.t, 10);
    ck_assert_int_eq(a.t.expire_time, 10);
    ck_assert(timerlist_run_timers(tl));
    ck_assert_int_eq(a.fired, 1);
    ck_assert(!timer_pending(&a.t));
    ck_assert(!timerlist_has_timers(tl));
    timerlist_free(tl);
}
END_TEST

START_TEST(mod_with_scale_multiplies_and_clamps_negative_to_zero)
{
    QEMUTimerList *tl = private_list();
    ttimer a;

    tt_init(&a, tl, 1, SCALE_MS, 0);
    timer_mod(&a.t, 7);
    ck_assert_int_eq(a.t.expire_time, 7 * SCALE_MS);
    timer_mod_ns(&a.t, -5);
    ck_assert(timer_pending(&a.t));
    ck_assert_int_eq(a.t.expire_time, 0);
    timer_del(&a.t);
    timerlist_free(tl);
}
END_TEST

START_TEST(mod_anticipate_never_postpones)
{
    QEMUTimerList *tl = private_list();
    ttimer a;

    tt_init(&a, tl, 1, SCALE_US, 0);
    timer_mod_anticipate_ns(&a.t, 1000);
    ck_assert_int_eq(a.t.expire_time, 1000);   /* unarmed: arms */
    timer_mod_anticipate_ns(&a.t, 2000);
    ck_assert_int_eq(a.t.expire_time, 1000);   /* later: ignored */
    timer_mod_anticipate_ns(&a.t, 500);
    ck_assert_int_eq(a.t.expire_time, 500);    /* earlier: moves */
    timer_mod_anticipate(&a.t, 1);             /* 1 us = 1000 ns: later */
    ck_assert_int_eq(a.t.expire_time, 500);
    timer_mod_anticipate(&a.t, 0);
    ck_assert_int_eq(a.t.expire_time, 0);
    timer_del(&a.t);
    timerlist_free(tl);
}
END_TEST

START_TEST(notify_called_only_when_new_head)
{
    QEMUTimerList *tl = private_list();
    ttimer a, b, c;

    tt_init(&a, tl, 1, SCALE_NS, 0);
    tt_init(&b, tl, 2, SCALE_NS, 0);
    tt_init(&c, tl, 3, SCALE_NS, 0);
    timer_mod_ns(&a.t, 100);
    ck_assert_int_eq(notify_count, 1);
    ck_assert_int_eq(notify_type, QEMU_CLOCK_REALTIME);
    timer_mod_ns(&b.t, 200);
    ck_assert_int_eq(notify_count, 1);
    timer_mod_ns(&c.t, 50);
    ck_assert_int_eq(notify_count, 2);
    timer_mod_ns(&b.t, 300);
    ck_assert_int_eq(notify_count, 2);
    timer_del(&c.t);
    ck_assert_int_eq(notify_count, 2);
    timer_mod_anticipate_ns(&b.t, 400);        /* no change at all */
    ck_assert_int_eq(notify_count, 2);
    timer_mod_anticipate_ns(&b.t, 10);         /* becomes head */
    ck_assert_int_eq(notify_count, 3);
    timerlist_notify(tl);
    ck_assert_int_eq(notify_count, 4);
    timer_del(&a.t);
    timer_del(&b.t);
    timerlist_free(tl);
}
END_TEST

START_TEST(del_of_unarmed_timer_is_noop)
{
    QEMUTimerList *tl = private_list();
    ttimer a;

    tt_init(&a, tl, 1, SCALE_NS, 0);
    timer_del(&a.t);
    ck_assert(!timer_pending(&a.t));
    timer_mod_ns(&a.t, 5);
    timer_del(&a.t);
    timer_del(&a.t);
    ck_assert(!timer_pending(&a.t));
    ck_assert(!timerlist_has_timers(tl));
    timer_deinit(&a.t);
    timer_del(&a.t);                           /* no list any more: still fine */
    ck_assert(!timerlist_run_timers(tl));
    ck_assert_int_eq(a.fired, 0);
    timerlist_free(tl);
}
END_TEST

START_TEST(timer_expired_semantics)
{
    QEMUTimerList *tl = private_list();
    ttimer a;

    tt_init(&a, tl, 1, SCALE_MS, 0);
    ck_assert(timer_expired(&a.t, 0));         /* unarmed (-1) counts as expired */
    timer_mod(&a.t, 5);
    ck_assert(!timer_expired(&a.t, 4));        /* current_time is in the timer's scale */
    ck_assert(timer_expired(&a.t, 5));
    ck_assert(timer_expired(&a.t, 6));
    timer_del(&a.t);
    timerlist_free(tl);
}
END_TEST

START_TEST(expire_time_ns_of_unarmed_is_all_ones)
{
    QEMUTimerList *tl = private_list();
    ttimer a;

    tt_init(&a, tl, 1, SCALE_NS, 0);
    ck_assert_uint_eq(timer_expire_time_ns(&a.t), UINT64_MAX);
    ck_assert_int_eq(a.t.expire_time, -1);
    timer_mod_ns(&a.t, 42);
    ck_assert_uint_eq(timer_expire_time_ns(&a.t), 42);
    timer_del(&a.t);
    ck_assert_uint_eq(timer_expire_time_ns(&a.t), UINT64_MAX);
    timerlist_free(tl);
}
END_TEST

START_TEST(mod_at_negative_time_goes_before_every_timer_due_at_0)
{
    QEMUTimerList *tl = private_list();
    ttimer a, b, c, d;

    tt_init(&a, tl, 1, SCALE_NS, 0);
    tt_init(&b, tl, 2, SCALE_NS, 0);
    tt_init(&c, tl, 3, SCALE_NS, 0);
    tt_init(&d, tl, 4, SCALE_NS, 0);
    timer_mod_ns(&a.t, 0);
    timer_mod_ns(&b.t, 0);
    ck_assert_int_eq(notify_count, 1);         /* b is after a */
    /* As in QEMU: a negative time is stored as 0 but armed ahead of every
     * timer already at 0, so the timer becomes the head. */
    timer_mod_ns(&c.t, -5);
    ck_assert_int_eq(c.t.expire_time, 0);
    ck_assert_int_eq(notify_count, 2);
    timer_mod_anticipate_ns(&d.t, -1);
    ck_assert_int_eq(notify_count, 3);
    ck_assert(timerlist_run_timers(tl));
    ck_assert_int_eq(fire_count, 4);
    ck_assert_int_eq(fire_log[0], 4);
    ck_assert_int_eq(fire_log[1], 3);
    ck_assert_int_eq(fire_log[2], 1);
    ck_assert_int_eq(fire_log[3], 2);
    timerlist_free(tl);
}
END_TEST

/* The earliest expiry of the armed timers in @ts, and whether @self is the
 * only timer at it. */
static int64_t model_head(ttimer *ts, int n, ttimer *self, bool *self_alone)
{
    int64_t head = -1;

    for (int i = 0; i < n; i++) {
        int64_t e = ts[i].t.expire_time;
        if (e != -1 && (head == -1 || e < head)) {
            head = e;
        }
    }
    *self_alone = self->t.expire_time == head;
    for (int i = 0; i < n && *self_alone; i++) {
        *self_alone = &ts[i] == self || ts[i].t.expire_time != head;
    }
    return head;
}

/*
 * A passing ck_assert still costs a write(2) to Check's pipe (a microsecond
 * or more here): the loops of thousands of checks below fail through this
 * instead, which calls Check only on a failure.
 */
#define loop_assert(cond)                                                   \
    do {                                                                    \
        if (!(cond)) {                                                      \
            ck_abort_msg("assertion '%s' failed", #cond);                   \
        }                                                                   \
    } while (0)

START_TEST(deadline_and_notify_follow_the_head_through_random_mod_and_del)
{
    enum { N = 64, OPS = 20000, SLOTS = 200 };
    QEMUTimerList *tl = private_list();
    static ttimer ts[N];
    int64_t base = qemu_clock_get_ns(QEMU_CLOCK_REALTIME) + 3600 * NANOSECONDS_PER_SECOND;
    int expected_notify = 0;

    for (int i = 0; i < N; i++) {
        tt_init(&ts[i], tl, i, SCALE_NS, 0);
    }
    for (int op = 0; op < OPS; op++) {
        ttimer *t = &ts[rnd() % N];
        int64_t when = base + (int64_t)(rnd() % SLOTS) * NANOSECONDS_PER_SECOND;
        int64_t before = t->t.expire_time;
        int kind = rnd() % 4;
        bool alone;

        if (kind == 0) {
            timer_del(&t->t);
            loop_assert(!timer_pending(&t->t));
            continue;
        }
        if (kind == 1) {
            timer_mod_anticipate_ns(&t->t, when);
            loop_assert(t->t.expire_time ==
                        (before != -1 && before <= when ? before : when));
            if (before != -1 && before <= when) {
                continue;                      /* nothing armed: no notify */
            }
        } else {
            timer_mod_ns(&t->t, when);
            loop_assert(t->t.expire_time == when);
        }
        /* QEMU notifies when the armed timer went ahead of all others. */
        if (model_head(ts, N, t, &alone) == when && alone) {
            expected_notify++;
        }
        loop_assert(notify_count == expected_notify);

        int64_t head = model_head(ts, N, t, &alone);
        int64_t t0 = qemu_clock_get_ns(QEMU_CLOCK_REALTIME);
        int64_t d = timerlist_deadline_ns(tl);
        int64_t t1 = qemu_clock_get_ns(QEMU_CLOCK_REALTIME);
        loop_assert(timerlist_has_timers(tl));
        loop_assert(d >= head - t1 && d <= head - t0);
    }
    for (int i = 0; i < N; i++) {
        timer_del(&ts[i].t);
    }
    ck_assert(!timerlist_has_timers(tl));
    ck_assert_int_eq(timerlist_deadline_ns(tl), -1);
    timerlist_free(tl);
}
END_TEST

/* ---- order -------------------------------------------------------------- */

START_TEST(equal_expiries_run_in_arming_order)
{
    enum { N = 100 };
    QEMUTimerList *tl = private_list();
    static ttimer ts[N];
    int order[N];

    for (int i = 0; i < N; i++) {
        tt_init(&ts[i], tl, i, SCALE_NS, 0);
        order[i] = i;
    }
    shuffle(order, N);
    for (int i = 0; i < N; i++) {
        timer_mod_ns(&ts[order[i]].t, 1000);
    }
    /* Re-arming at the same time counts as a new arming: it goes last. */
    timer_mod_ns(&ts[order[0]].t, 1000);
    ck_assert(timerlist_run_timers(tl));
    ck_assert_int_eq(fire_count, N);
    for (int i = 1; i < N; i++) {
        ck_assert_int_eq(fire_log[i - 1], order[i]);
    }
    ck_assert_int_eq(fire_log[N - 1], order[0]);
    timerlist_free(tl);
}
END_TEST

/* Arms ts[i] at @deadline and remembers the arming order. */
static uint64_t arm_seq;

static void arm_at(ttimer *tt, int64_t deadline)
{
    timer_mod_ns(&tt->t, deadline);
    tt->deadline = deadline;
    tt->armed_seq = arm_seq++;
}

/* Several seeds: the heap's shape, and so which sift paths run, depends on
 * the data (one fixed sequence once hid a sift-down bound error). */
START_TEST(heap_of_10000_timers_fires_in_order_after_random_arm_and_disarm)
{
    for (uint64_t seed = 0; seed < 8; seed++) {
    enum { N = 10000 };
    QEMUTimerList *tl = private_list();
    static ttimer ts[N];
    static int idx[N];
    static bool armed[N];
    int expected = 0;

    rng_state = 0x9e3779b97f4a7c15ull + seed * 0x2545f4914f6cdd1dull;
    for (int i = 0; i < N; i++) {
        tt_init(&ts[i], tl, i, SCALE_NS, 0);
        idx[i] = i;
    }
    /* Few distinct expiries, so ties (and their order) are exercised too. */
    shuffle(idx, N);
    for (int i = 0; i < N; i++) {
        arm_at(&ts[idx[i]], rnd() % 5000);
        armed[idx[i]] = true;
    }
    shuffle(idx, N);
    for (int i = 0; i < N / 2; i++) {
        timer_del(&ts[idx[i]].t);
        armed[idx[i]] = false;
    }
    shuffle(idx, N);
    for (int i = 0; i < N / 4; i++) {
        arm_at(&ts[idx[i]], rnd() % 5000);
        armed[idx[i]] = true;
    }
    for (int i = 0; i < N; i++) {
        expected += armed[i];
        loop_assert(timer_pending(&ts[i].t) == armed[i]);
    }
    ck_assert(timerlist_run_timers(tl));
    ck_assert_int_eq(fire_count, expected);
    for (int i = 0; i < fire_count; i++) {
        ttimer *cur = &ts[fire_log[i]];
        loop_assert(armed[cur->id]);
        loop_assert(cur->fired == 1);
        if (i > 0) {
            ttimer *prev = &ts[fire_log[i - 1]];
            loop_assert(prev->deadline < cur->deadline ||
                        (prev->deadline == cur->deadline &&
                         prev->armed_seq < cur->armed_seq));
        }
    }
    ck_assert(!timerlist_has_timers(tl));
    timerlist_free(tl);
    }
}
END_TEST

START_TEST(deadline_ns_all_respects_attr_mask)
{
    enum { N = 1000 };
    QEMUTimerList *tl = private_list();
    QEMUTimerList *tl2 = private_list();
    static ttimer ext[N];
    ttimer internal, internal2;
    int64_t now = qemu_clock_get_ns(QEMU_CLOCK_REALTIME);
    int64_t s = NANOSECONDS_PER_SECOND;

    /* Many external timers before the one internal timer of each list. */
    for (int i = 0; i < N; i++) {
        tt_init(&ext[i], tl, i, SCALE_NS, QEMU_TIMER_ATTR_EXTERNAL);
        timer_mod_ns(&ext[i].t, now + 10 * s + rnd() % (10 * s));
    }
    tt_init(&internal, tl, N, SCALE_NS, 0);
    timer_mod_ns(&internal.t, now + 1000 * s);
    tt_init(&internal2, tl2, N + 1, SCALE_NS, 0);
    timer_mod_ns(&internal2.t, now + 500 * s);

    int64_t all = qemu_clock_deadline_ns_all(QEMU_CLOCK_REALTIME, QEMU_TIMER_ATTR_ALL);
    int64_t none = qemu_clock_deadline_ns_all(QEMU_CLOCK_REALTIME, 0);
    ck_assert(all > 0 && all <= 20 * s);
    ck_assert(none > 400 * s && none <= 500 * s);  /* the soonest over both lists */
    timer_del(&internal2.t);
    none = qemu_clock_deadline_ns_all(QEMU_CLOCK_REALTIME, 0);
    ck_assert(none > 900 * s && none <= 1000 * s);
    timer_del(&internal.t);
    ck_assert_int_eq(qemu_clock_deadline_ns_all(QEMU_CLOCK_REALTIME, 0), -1);
    for (int i = 0; i < N; i++) {
        timer_del(&ext[i].t);
    }
    ck_assert_int_eq(qemu_clock_deadline_ns_all(QEMU_CLOCK_REALTIME, QEMU_TIMER_ATTR_ALL), -1);
    timerlist_free(tl);
    timerlist_free(tl2);
}
END_TEST

/* ---- run ---------------------------------------------------------------- */

/* Deadlines within 20 ms of now: the test sleeps through them for real. */
START_TEST(timer_never_fires_before_deadline)
{
    enum { N = 10000 };
    QEMUTimerList *tl = timerlist_new(QEMU_CLOCK_REALTIME, NULL, NULL);
    static ttimer ts[N];
    int64_t now = qemu_clock_get_ns(QEMU_CLOCK_REALTIME);

    fire_count = 0;
    for (int i = 0; i < N; i++) {
        tt_init(&ts[i], tl, i, SCALE_NS, 0);
        arm_at(&ts[i], now + rnd() % (20 * SCALE_MS));
    }
    while (fire_count < N) {
        int64_t d = timerlist_deadline_ns(tl);
        ck_assert(d >= 0);
        qemu_poll_ns(NULL, 0, d);
        timerlist_run_timers(tl);
    }
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(ts[i].fired, 1);
        ck_assert_msg(ts[i].fired_at >= ts[i].deadline,
                      "timer %d fired %" PRId64 " ns early", i,
                      ts[i].deadline - ts[i].fired_at);
    }
    ck_assert_int_eq(timerlist_deadline_ns(tl), -1);
    timerlist_free(tl);
}
END_TEST

START_TEST(deadline_is_zero_when_due_and_minus_one_when_empty)
{
    QEMUTimerList *tl = private_list();
    ttimer a;

    tt_init(&a, tl, 1, SCALE_NS, 0);
    ck_assert_int_eq(timerlist_deadline_ns(tl), -1);
    ck_assert(!timerlist_expired(tl));
    timer_mod_ns(&a.t, qemu_clock_get_ns(QEMU_CLOCK_REALTIME) + 3600 * NANOSECONDS_PER_SECOND);
    ck_assert(timerlist_deadline_ns(tl) > 0);
    ck_assert(!timerlist_expired(tl));
    timer_mod_ns(&a.t, 1);
    ck_assert_int_eq(timerlist_deadline_ns(tl), 0);
    ck_assert(timerlist_expired(tl));
    timer_del(&a.t);
    timerlist_free(tl);
}
END_TEST

static int rearm_count;

static void rearm_cb(void *opaque)
{
    QEMUTimer *t = opaque;

    ck_assert(!timer_pending(t));              /* unlinked before the call */
    if (++rearm_count < 5) {
        timer_mod_ns(t, rearm_count);          /* still due in this pass */
    }
}

START_TEST(callback_may_rearm_itself)
{
    QEMUTimerList *tl = private_list();
    QEMUTimerListGroup g = { { NULL } };
    QEMUTimer t;

    g.tl[QEMU_CLOCK_REALTIME] = tl;
    timer_init_full(&t, &g, QEMU_CLOCK_REALTIME, SCALE_NS, 0, rearm_cb, &t);
    timer_mod_ns(&t, 0);
    ck_assert(timerlist_run_timers(tl));
    ck_assert_int_eq(rearm_count, 5);
    ck_assert(!timer_pending(&t));
    ck_assert(!timerlist_run_timers(tl));
    timerlist_free(tl);
}
END_TEST

static int freed_count;

static void free_self_cb(void *opaque)
{
    QEMUTimer **slot = opaque;

    timer_free(*slot);
    *slot = NULL;
    freed_count++;
}

START_TEST(callback_may_free_timer)
{
    static QEMUTimer *t[3];

    /* Main-loop timers, without init_clocks: the lists exist on first use. */
    for (int i = 0; i < 3; i++) {
        t[i] = timer_new_ns(QEMU_CLOCK_REALTIME, free_self_cb, &t[i]);
        timer_mod_ns(t[i], i);
    }
    ck_assert(qemu_clock_has_timers(QEMU_CLOCK_REALTIME));
    ck_assert(qemu_clock_expired(QEMU_CLOCK_REALTIME));
    ck_assert(qemu_clock_run_timers(QEMU_CLOCK_REALTIME));
    ck_assert_int_eq(freed_count, 3);
    ck_assert(t[0] == NULL && t[1] == NULL && t[2] == NULL);
    ck_assert(!qemu_clock_has_timers(QEMU_CLOCK_REALTIME));
}
END_TEST

static void group_cb(void *opaque)
{
    (*(int *)opaque)++;
}

START_TEST(group_runs_every_enabled_clock_and_gives_soonest_deadline)
{
    QEMUTimerListGroup g;
    QEMUTimer rt, host, virt;
    int ran = 0;

    timerlistgroup_init(&g, count_notify, NULL);
    ck_assert_int_eq(timerlistgroup_deadline_ns(&g), -1);
    timer_init_full(&rt, &g, QEMU_CLOCK_REALTIME, SCALE_NS, 0, group_cb, &ran);
    timer_init_full(&host, &g, QEMU_CLOCK_HOST, SCALE_NS, 0, group_cb, &ran);
    timer_init_full(&virt, &g, QEMU_CLOCK_VIRTUAL, SCALE_NS, 0, group_cb, &ran);
    timer_mod_ns(&rt, qemu_clock_get_ns(QEMU_CLOCK_REALTIME) + 3600 * NANOSECONDS_PER_SECOND);
    ck_assert(timerlistgroup_deadline_ns(&g) > 0);
    timer_mod_ns(&host, 0);
    timer_mod_ns(&virt, 0);                    /* VIRTUAL is disabled */
    ck_assert_int_eq(timerlistgroup_deadline_ns(&g), 0);
    ck_assert(timerlistgroup_run_timers(&g));
    ck_assert_int_eq(ran, 1);
    ck_assert(timer_pending(&virt) && timer_pending(&rt));
    timer_del(&rt);
    timer_del(&virt);
    timerlistgroup_deinit(&g);
    ck_assert(g.tl[QEMU_CLOCK_REALTIME] == NULL);
}
END_TEST

/* ---- clock -------------------------------------------------------------- */

START_TEST(virtual_clock_starts_disabled_and_gives_no_deadline)
{
    QEMUTimerList *tl = timerlist_new(QEMU_CLOCK_VIRTUAL, NULL, NULL);
    QEMUTimerListGroup g = { { NULL } };
    ttimer a;

    fire_count = 0;
    g.tl[QEMU_CLOCK_VIRTUAL] = tl;
    memset(&a, 0, sizeof(a));
    timer_init_full(&a.t, &g, QEMU_CLOCK_VIRTUAL, SCALE_NS, 0, log_cb, &a);
    timer_mod_ns(&a.t, 0);
    ck_assert(timerlist_has_timers(tl));
    ck_assert_int_eq(timerlist_deadline_ns(tl), -1);
    ck_assert_int_eq(qemu_clock_deadline_ns_all(QEMU_CLOCK_VIRTUAL, QEMU_TIMER_ATTR_ALL), -1);
    ck_assert(!timerlist_run_timers(tl));
    ck_assert(timer_pending(&a.t));
    qemu_clock_enable(QEMU_CLOCK_VIRTUAL, true);
    ck_assert_int_eq(timerlist_deadline_ns(tl), 0);
    ck_assert_int_eq(qemu_clock_deadline_ns_all(QEMU_CLOCK_VIRTUAL, QEMU_TIMER_ATTR_ALL), 0);
    ck_assert(timerlist_run_timers(tl));
    ck_assert_int_eq(a.fired, 1);
    timerlist_free(tl);
}
END_TEST

START_TEST(clock_enable_notifies_lists)
{
    int c1 = 0, c2 = 0, other = 0;
    QEMUTimerList *v1 = timerlist_new(QEMU_CLOCK_VIRTUAL, count_notify, &c1);
    QEMUTimerList *v2 = timerlist_new(QEMU_CLOCK_VIRTUAL, count_notify, &c2);
    QEMUTimerList *rt = timerlist_new(QEMU_CLOCK_REALTIME, count_notify, &other);

    qemu_clock_enable(QEMU_CLOCK_VIRTUAL, false);  /* whatever ran before */
    ck_assert_int_eq(c1, 0);
    qemu_clock_enable(QEMU_CLOCK_VIRTUAL, true);
    ck_assert_int_eq(c1, 1);
    ck_assert_int_eq(c2, 1);
    ck_assert_int_eq(other, 0);
    qemu_clock_notify(QEMU_CLOCK_VIRTUAL);
    ck_assert_int_eq(c1, 2);
    ck_assert_int_eq(c2, 2);
    ck_assert_int_eq(other, 0);
    timerlist_free(v1);
    timerlist_free(v2);
    timerlist_free(rt);
}
END_TEST

static atomic_int in_cb, cb_done;

static void slow_cb(void *opaque)
{
    atomic_store(&in_cb, 1);
    g_usleep(50 * 1000);
    atomic_store(&cb_done, 1);
}

static void *run_pass_thread(void *opaque)
{
    timerlist_run_timers(opaque);
    return NULL;
}

START_TEST(clock_disable_waits_for_running_pass)
{
    QEMUTimerList *tl = timerlist_new(QEMU_CLOCK_HOST, NULL, NULL);
    QEMUTimerListGroup g = { { NULL } };
    QEMUTimer a, b;
    pthread_t th;
    int ran = 0;

    g.tl[QEMU_CLOCK_HOST] = tl;
    timer_init_full(&a, &g, QEMU_CLOCK_HOST, SCALE_NS, 0, slow_cb, NULL);
    timer_init_full(&b, &g, QEMU_CLOCK_HOST, SCALE_NS, 0, group_cb, &ran);
    timer_mod_ns(&a, 0);
    ck_assert_int_eq(pthread_create(&th, NULL, run_pass_thread, tl), 0);
    while (!atomic_load(&in_cb)) {
        sched_yield();
    }
    qemu_clock_enable(QEMU_CLOCK_HOST, false);
    ck_assert(atomic_load(&cb_done));          /* the pass finished first */
    timer_mod_ns(&b, 0);
    ck_assert(!timerlist_run_timers(tl));      /* disabled: nothing runs */
    ck_assert_int_eq(timerlist_deadline_ns(tl), -1);
    ck_assert_int_eq(ran, 0);
    pthread_join(th, NULL);
    qemu_clock_enable(QEMU_CLOCK_HOST, true);
    timer_del(&b);
    timerlist_free(tl);
}
END_TEST

static int main_notify_count;

static void main_notify(void *opaque, QEMUClockType type)
{
    main_notify_count++;
}

#if !T_API_7_2
/* QEMU 10.0: the virtual clock moved by hand runs the virtual timers it
 * passes.  Without a guest the clock is the host's (cpus_set_virtual_clock
 * does nothing), so the call returns once the host clock got there.  The
 * virtual clock starts disabled, as in QEMU, until a VM runs: enabled here
 * as a running VM would. */
START_TEST(advancing_virtual_time_runs_the_virtual_timers_passed)
{
    int fired = 0, late = 0;
    qemu_clock_enable(QEMU_CLOCK_VIRTUAL, true);
    int64_t start = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
    int64_t target = start + 5 * SCALE_MS;
    QEMUTimer *due = timer_new_ns(QEMU_CLOCK_VIRTUAL, group_cb, &fired);
    QEMUTimer *after = timer_new_ns(QEMU_CLOCK_VIRTUAL, group_cb, &late);
    int64_t end;

    timer_mod_ns(due, start + 2 * SCALE_MS);
    timer_mod_ns(after, start + 3600 * NANOSECONDS_PER_SECOND);
    end = qemu_clock_advance_virtual_time(target);
    ck_assert_int_ge(end, target);
    ck_assert_int_le(end, qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL));
    ck_assert_int_eq(fired, 1);
    ck_assert(!timer_pending(due));
    ck_assert_int_eq(late, 0);
    ck_assert(timer_pending(after));
    /* Already there: nothing to wait for, nothing runs. */
    ck_assert_int_ge(qemu_clock_advance_virtual_time(start), end);
    ck_assert_int_eq(fired, 1);
    timer_free(due);
    timer_free(after);
}
END_TEST
#endif

START_TEST(init_clocks_keeps_lists_created_before_it)
{
#if T_API_7_2
    QEMUTimerList *before = qemu_clock_get_main_loop_timerlist(QEMU_CLOCK_REALTIME);
#else
    QEMUTimerList *before = main_loop_tlg.tl[QEMU_CLOCK_REALTIME];   /* made at load */
#endif
    QEMUTimer *t = timer_new_ms(QEMU_CLOCK_REALTIME, group_cb, &main_notify_count);

    timer_mod(t, qemu_clock_get_ms(QEMU_CLOCK_REALTIME) + 3600 * 1000);
    init_clocks(main_notify);
#if T_API_7_2
    ck_assert(qemu_clock_get_main_loop_timerlist(QEMU_CLOCK_REALTIME) == before);
#endif
    ck_assert_ptr_nonnull(before);
    ck_assert(main_loop_tlg.tl[QEMU_CLOCK_REALTIME] == before);
    ck_assert(timer_pending(t));
    main_notify_count = 0;
    timer_mod(t, 1);                           /* new head: the installed notifier */
    ck_assert_int_eq(main_notify_count, 1);
    timer_free(t);
}
END_TEST

START_TEST(init_clocks_twice_aborts)
{
    init_clocks(NULL);
    init_clocks(NULL);
}
END_TEST

START_TEST(timeout_ns_to_ms_rounds_up)
{
    ck_assert_int_eq(qemu_timeout_ns_to_ms(-1), -1);
    ck_assert_int_eq(qemu_timeout_ns_to_ms(0), 0);
    ck_assert_int_eq(qemu_timeout_ns_to_ms(1), 1);
    ck_assert_int_eq(qemu_timeout_ns_to_ms(SCALE_MS - 1), 1);
    ck_assert_int_eq(qemu_timeout_ns_to_ms(SCALE_MS), 1);
    ck_assert_int_eq(qemu_timeout_ns_to_ms(SCALE_MS + 1), 2);
    ck_assert_int_eq(qemu_timeout_ns_to_ms((int64_t)INT32_MAX * SCALE_MS + 1), INT32_MAX);
    ck_assert_int_eq(qemu_timeout_ns_to_ms(INT64_MAX), INT32_MAX);
}
END_TEST

START_TEST(poll_ns_waits_with_ns_timeout)
{
    GPollFD fd;

    ck_assert_int_eq(qemu_poll_ns(NULL, 0, 0), 0);
    ck_assert_int_eq(qemu_poll_ns(NULL, 0, 1000), 0);
    ck_assert_int_eq(qemu_poll_ns(NULL, 0, SCALE_MS), 0);
#ifdef _WIN32
    /* glib polls HANDLEs there: a signalled event is ready. */
    HANDLE ev = CreateEvent(NULL, TRUE, TRUE, NULL);

    ck_assert_ptr_nonnull(ev);
    fd.fd = (gintptr)ev;
#else
    int p[2];

    ck_assert_int_eq(pipe(p), 0);
    ck_assert_int_eq(write(p[1], "x", 1), 1);
    fd.fd = p[0];
#endif
    fd.events = G_IO_IN;
    fd.revents = 0;
    ck_assert_int_eq(qemu_poll_ns(&fd, 1, -1), 1);  /* ready: no wait */
    ck_assert(fd.revents & G_IO_IN);
#ifdef _WIN32
    CloseHandle(ev);
#else
    close(p[0]);
    close(p[1]);
#endif
}
END_TEST

/* ---- threads ------------------------------------------------------------ */

enum { THREADS = 4, PER_THREAD = 64, OPS = 50000 };
static QEMUTimer mt_timers[THREADS][PER_THREAD];
static atomic_int mt_fired, mt_done;

static void mt_cb(void *opaque)
{
    atomic_fetch_add(&mt_fired, 1);
}

static void *mt_worker(void *opaque)
{
    QEMUTimer *mine = opaque;
    uint64_t x = (uintptr_t)opaque | 1;

    for (int i = 0; i < OPS; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        QEMUTimer *t = &mine[x % PER_THREAD];
        switch ((x >> 8) % 3) {
        case 0: timer_mod_ns(t, (x >> 16) % 1000); break;           /* due */
        case 1: timer_mod_anticipate_ns(t, INT64_MAX / 2); break;   /* far_ns */
        default: timer_del(t); break;
        }
    }
    atomic_fetch_add(&mt_done, 1);
    return NULL;
}

START_TEST(mod_and_del_from_other_threads_keep_list_consistent)
{
    QEMUTimerList *tl = timerlist_new(QEMU_CLOCK_REALTIME, NULL, NULL);
    QEMUTimerListGroup g = { { NULL } };
    pthread_t th[THREADS];

    g.tl[QEMU_CLOCK_REALTIME] = tl;
    for (int i = 0; i < THREADS; i++) {
        for (int j = 0; j < PER_THREAD; j++) {
            timer_init_full(&mt_timers[i][j], &g, QEMU_CLOCK_REALTIME, SCALE_NS, 0,
                            mt_cb, NULL);
        }
        ck_assert_int_eq(pthread_create(&th[i], NULL, mt_worker, mt_timers[i]), 0);
    }
    while (atomic_load(&mt_done) < THREADS) {
        timerlist_run_timers(tl);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
    }
    timerlist_run_timers(tl);
    for (int i = 0; i < THREADS; i++) {
        for (int j = 0; j < PER_THREAD; j++) {
            QEMUTimer *t = &mt_timers[i][j];
            /* Whatever is left armed is the far_ns-future kind. */
            ck_assert(!timer_pending(t) || t->expire_time == INT64_MAX / 2);
            timer_del(t);
        }
    }
    ck_assert(!timerlist_has_timers(tl));
    timerlist_free(tl);
}
END_TEST

/*
 * The lock of a list used by one thread is biased to it (no atomic
 * operations); a second thread's first lock revokes the bias while the
 * owner keeps going.  Each thread churns timers of its own with far_ns
 * deadlines and keeps a shadow of what each should be; at the end every
 * timer matches its shadow, and arming all of them due fires each once.
 */
enum { BIAS_TIMERS = 32, BIAS_ROUNDS = 20 };

typedef struct {
    QEMUTimer t[BIAS_TIMERS];
    int64_t shadow[BIAS_TIMERS];    /* expected expire_time, -1 unarmed */
    uint64_t x;
    int ops;
} BiasChurn;

static atomic_int bias_fired;

static void bias_cb(void *opaque)
{
    atomic_fetch_add(&bias_fired, 1);
}

static void bias_churn(BiasChurn *c)
{
    for (int i = 0; i < c->ops; i++) {
        int k;

        c->x ^= c->x << 13; c->x ^= c->x >> 7; c->x ^= c->x << 17;
        k = (int)(c->x % BIAS_TIMERS);
        if ((c->x >> 8) % 3) {
            int64_t when = (int64_t)(1 + (c->x >> 16) % 1000000) * 1000000000LL;

            timer_mod_ns(&c->t[k], when);
            c->shadow[k] = when;
        } else {
            timer_del(&c->t[k]);
            c->shadow[k] = -1;
        }
    }
}

static void *bias_churn_thread(void *opaque)
{
    bias_churn(opaque);
    return NULL;
}

static void bias_setup(BiasChurn *c, QEMUTimerListGroup *g, uint64_t seed)
{
    for (int k = 0; k < BIAS_TIMERS; k++) {
        timer_init_full(&c->t[k], g, QEMU_CLOCK_REALTIME, SCALE_NS, 0, bias_cb, NULL);
        c->shadow[k] = -1;
    }
    c->x = seed;
}

static void bias_check_and_fire(BiasChurn *c, QEMUTimerList *tl)
{
    for (int k = 0; k < BIAS_TIMERS; k++) {
        ck_assert_int_eq(c->t[k].expire_time, c->shadow[k]);
        ck_assert_int_eq(timer_pending(&c->t[k]), c->shadow[k] != -1);
        timer_mod_ns(&c->t[k], 0);
    }
}

START_TEST(second_thread_joining_a_list_one_thread_used_alone_loses_no_timer)
{
    for (int round = 0; round < BIAS_ROUNDS; round++) {
        QEMUTimerList *tl = timerlist_new(QEMU_CLOCK_REALTIME, NULL, NULL);
        QEMUTimerListGroup g = { { NULL } };
        BiasChurn owner, joiner;
        pthread_t th;

        g.tl[QEMU_CLOCK_REALTIME] = tl;
        bias_setup(&owner, &g, 0x9e3779b97f4a7c15ull + round);
        bias_setup(&joiner, &g, 0x2545f4914f6cdd1dull + round);
        owner.ops = 2000;           /* alone: the bias is the owner's */
        bias_churn(&owner);
        owner.ops = joiner.ops = 20000;
        ck_assert_int_eq(pthread_create(&th, NULL, bias_churn_thread, &joiner), 0);
        bias_churn(&owner);         /* while the joiner revokes */
        pthread_join(th, NULL);

        atomic_store(&bias_fired, 0);
        bias_check_and_fire(&owner, tl);
        bias_check_and_fire(&joiner, tl);
        timerlist_run_timers(tl);
        ck_assert_int_eq(atomic_load(&bias_fired), 2 * BIAS_TIMERS);
        ck_assert(!timerlist_has_timers(tl));
        timerlist_free(tl);
    }
}
END_TEST

/* ---- misuse ------------------------------------------------------------- */

START_TEST(deinit_of_armed_timer_aborts)
{
    QEMUTimerList *tl = private_list();
    ttimer a;

    tt_init(&a, tl, 1, SCALE_NS, 0);
    timer_mod_ns(&a.t, 100);
    timer_deinit(&a.t);
}
END_TEST

START_TEST(timerlist_free_of_nonempty_list_aborts)
{
    QEMUTimerList *tl = private_list();
    ttimer a;

    tt_init(&a, tl, 1, SCALE_NS, 0);
    timer_mod_ns(&a.t, 100);
    timerlist_free(tl);
}
END_TEST

START_TEST(mod_of_deinitialized_timer_aborts)
{
    QEMUTimerList *tl = private_list();
    ttimer a;

    tt_init(&a, tl, 1, SCALE_NS, 0);
    timer_deinit(&a.t);
    timer_mod_ns(&a.t, 100);
}
END_TEST

static Suite *timer_suite(void)
{
    Suite *s = suite_create("timer");
    TCase *tc;

    tc = tcase_create("arm");
    tcase_add_test(tc, mod_moves_armed_timer);
    tcase_add_test(tc, mod_with_scale_multiplies_and_clamps_negative_to_zero);
    tcase_add_test(tc, mod_anticipate_never_postpones);
    tcase_add_test(tc, notify_called_only_when_new_head);
    tcase_add_test(tc, del_of_unarmed_timer_is_noop);
    tcase_add_test(tc, timer_expired_semantics);
    tcase_add_test(tc, expire_time_ns_of_unarmed_is_all_ones);
    tcase_add_test(tc, mod_at_negative_time_goes_before_every_timer_due_at_0);
    suite_add_tcase(s, tc);

    tc = tcase_create("order");
    /* A hang detector: eight seeds of 10000 timers take seconds under a
     * sanitizer or a loaded machine, more than Check's default 4 s. */
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, equal_expiries_run_in_arming_order);
    tcase_add_test(tc, heap_of_10000_timers_fires_in_order_after_random_arm_and_disarm);
    tcase_add_test(tc, deadline_and_notify_follow_the_head_through_random_mod_and_del);
    tcase_add_test(tc, deadline_ns_all_respects_attr_mask);
    suite_add_tcase(s, tc);

    tc = tcase_create("run");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, timer_never_fires_before_deadline);
    tcase_add_test(tc, deadline_is_zero_when_due_and_minus_one_when_empty);
    tcase_add_test(tc, callback_may_rearm_itself);
    tcase_add_test(tc, callback_may_free_timer);
    tcase_add_test(tc, group_runs_every_enabled_clock_and_gives_soonest_deadline);
    tcase_add_test(tc, mod_and_del_from_other_threads_keep_list_consistent);
    tcase_add_test(tc, second_thread_joining_a_list_one_thread_used_alone_loses_no_timer);
    suite_add_tcase(s, tc);

    tc = tcase_create("clock");
    tcase_add_test(tc, virtual_clock_starts_disabled_and_gives_no_deadline);
    tcase_add_test(tc, clock_enable_notifies_lists);
    tcase_add_test(tc, clock_disable_waits_for_running_pass);
    tcase_add_test(tc, init_clocks_keeps_lists_created_before_it);
#if !T_API_7_2
    tcase_add_test(tc, advancing_virtual_time_runs_the_virtual_timers_passed);
#endif
    tcase_add_test(tc, timeout_ns_to_ms_rounds_up);
    tcase_add_test(tc, poll_ns_waits_with_ns_timeout);
    suite_add_tcase(s, tc);

    tc = tcase_create("misuse");
    tcase_add_test_raise_signal(tc, deinit_of_armed_timer_aborts, SIGABRT);
    tcase_add_test_raise_signal(tc, timerlist_free_of_nonempty_list_aborts, SIGABRT);
    tcase_add_test_raise_signal(tc, mod_of_deinitialized_timer_aborts, SIGABRT);
    tcase_add_test_raise_signal(tc, init_clocks_twice_aborts, SIGABRT);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(timer_suite());
    int failures;

    srunner_run_all(sr, CK_NORMAL);
    failures = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failures ? EXIT_FAILURE : EXIT_SUCCESS;
}
