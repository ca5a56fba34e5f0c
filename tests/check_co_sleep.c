/* SPDX-License-Identifier: MIT */
/*
 * Suite "co_sleep": qemu_co_sleep_ns_wakeable, qemu_co_sleep and
 * qemu_co_timeout as a black box: sleeps end at their deadline or at an
 * early wake, and wakes that come before, during and after the sleep, from a
 * BH, a timer and another thread, are safe (the sleep/wake race trap);
 * entering or scheduling a sleeper aborts naming the sleep.
 */
#include "qemu/osdep.h"
#include "block/aio.h"
#include "qemu/coroutine.h"
#include "qemu/coroutine_int.h"
#include "qemu/timer.h"
#include "helpers.h"

typedef struct {
    QemuCoSleep w;
    int64_t ns;             /* 0: qemu_co_sleep without a timer */
    int64_t slept_ns;
    AioContext *resumed_in;
    int done;
} Sleeper;

static void coroutine_fn sleeper_fn(void *opaque)
{
    Sleeper *s = opaque;
    int64_t t0 = qemu_clock_get_ns(QEMU_CLOCK_REALTIME);

    if (s->ns) {
        qemu_co_sleep_ns_wakeable(&s->w, QEMU_CLOCK_REALTIME, s->ns);
    } else {
        qemu_co_sleep(&s->w);
    }
    s->slept_ns = qemu_clock_get_ns(QEMU_CLOCK_REALTIME) - t0;
    s->resumed_in = qemu_get_current_aio_context();
    __atomic_store_n(&s->done, 1, __ATOMIC_RELEASE);
}

/* No timer left armed in the context: the sleeper's own one is gone. */
static void assert_no_timer(AioContext *ctx)
{
    ck_assert_int_eq(timerlistgroup_deadline_ns(&ctx->tlg), -1);
}

static void coroutine_fn inline_sleeper(void *opaque)
{
    Sleeper *s = opaque;
    int64_t t0 = qemu_clock_get_ns(QEMU_CLOCK_REALTIME);

    qemu_co_sleep_ns(QEMU_CLOCK_REALTIME, s->ns);
    s->slept_ns = qemu_clock_get_ns(QEMU_CLOCK_REALTIME) - t0;
    __atomic_store_n(&s->done, 1, __ATOMIC_RELEASE);
}

START_TEST(co_sleep_ns_resumes_after_its_timer_and_never_before)
{
    AioContext *ctx = t_ctx_new_current();
    Sleeper s = { .ns = 5 * 1000 * 1000 };

    t_co_start(inline_sleeper, &s);
    ck_assert_int_eq(s.done, 0);
    ck_assert_int_ge(timerlistgroup_deadline_ns(&ctx->tlg), 0);
    t_run_until(ctx, &s.done, 1);
    ck_assert_int_ge(s.slept_ns, s.ns);
    assert_no_timer(ctx);
    aio_context_unref(ctx);
}
END_TEST

static void wake_bh(void *opaque)
{
    qemu_co_sleep_wake(opaque);
}

START_TEST(co_sleep_woken_by_a_bh_during_the_sleep_resumes_early_and_drops_its_timer)
{
    AioContext *ctx = t_ctx_new_current();
    Sleeper s = { .ns = 3600LL * 1000 * 1000 * 1000 };

    t_co_start(sleeper_fn, &s);
    aio_bh_schedule_oneshot(ctx, wake_bh, &s.w);
    t_run_until(ctx, &s.done, 1);
    ck_assert_ptr_null(s.w.to_wake);
    ck_assert_ptr_eq(s.resumed_in, ctx);
    assert_no_timer(ctx);
    aio_context_unref(ctx);
}
END_TEST

START_TEST(co_sleep_woken_by_another_timer_resumes_early)
{
    AioContext *ctx = t_ctx_new_current();
    Sleeper s = { .ns = 3600LL * 1000 * 1000 * 1000 };
    QEMUTimer t;

    t_co_start(sleeper_fn, &s);
    aio_timer_init(ctx, &t, QEMU_CLOCK_REALTIME, SCALE_NS, wake_bh, &s.w);
    timer_mod(&t, qemu_clock_get_ns(QEMU_CLOCK_REALTIME) + 1000000);
    t_run_until(ctx, &s.done, 1);
    ck_assert_int_lt(s.slept_ns, s.ns);
    assert_no_timer(ctx);
    timer_del(&t);
    aio_context_unref(ctx);
}
END_TEST

static void *wake_from_thread(void *opaque)
{
    Sleeper *s = opaque;

    /* Wait until it sleeps (published in to_wake), then wake it. */
    while (!__atomic_load_n(&s->w.to_wake, __ATOMIC_ACQUIRE)) {
        g_usleep(100);
    }
    qemu_co_sleep_wake(&s->w);
    return NULL;
}

START_TEST(co_sleep_woken_from_another_thread_resumes_in_its_own_context)
{
    AioContext *ctx = t_ctx_new_current();
    Sleeper s = { .ns = 3600LL * 1000 * 1000 * 1000 };
    pthread_t th;

    ck_assert_int_eq(pthread_create(&th, NULL, wake_from_thread, &s), 0);
    t_co_start(sleeper_fn, &s);
    t_run_until(ctx, &s.done, 1);
    pthread_join(th, NULL);
    ck_assert_ptr_eq(s.resumed_in, ctx);
    assert_no_timer(ctx);
    aio_context_unref(ctx);
}
END_TEST

START_TEST(co_sleep_wake_before_the_sleep_is_a_no_op)
{
    AioContext *ctx = t_ctx_new_current();
    Sleeper s = { .ns = 2 * 1000 * 1000 };

    /* Nobody sleeps on it yet: nothing happens, the sleep runs its course. */
    qemu_co_sleep_wake(&s.w);
    t_co_start(sleeper_fn, &s);
    t_run_until(ctx, &s.done, 1);
    ck_assert_int_ge(s.slept_ns, s.ns);
    aio_context_unref(ctx);
}
END_TEST

START_TEST(co_sleep_wake_after_the_sleep_is_a_no_op)
{
    AioContext *ctx = t_ctx_new_current();
    Sleeper s = { .ns = 1000 * 1000 };

    t_co_start(sleeper_fn, &s);
    t_run_until(ctx, &s.done, 1);
    qemu_co_sleep_wake(&s.w);
    qemu_co_sleep_wake(&s.w);
    ck_assert(!aio_poll(ctx, false));
    aio_context_unref(ctx);
}
END_TEST

START_TEST(qemu_co_sleep_waits_without_a_timer_until_woken)
{
    AioContext *ctx = t_ctx_new_current();
    Sleeper s = { .ns = 0 };
    Coroutine *co;

    co = t_co_start(sleeper_fn, &s);
    ck_assert_ptr_eq(s.w.to_wake, co);
    assert_no_timer(ctx);
    ck_assert(!aio_poll(ctx, false));
    ck_assert_int_eq(s.done, 0);
    /* Outside a coroutine, a same-context wake-up enters it right away. */
    qemu_co_sleep_wake(&s.w);
    ck_assert_int_eq(s.done, 1);
    ck_assert_ptr_null(s.w.to_wake);
    aio_context_unref(ctx);
}
END_TEST

/* ---- races between sleep and wake --------------------------------------- */

enum { RACE_SLEEPS = 2000 };

typedef struct {
    QemuCoSleep w;          /* lives as long as the test: wakes are safe */
    int sleeps_done;
    int stop;
    long wakes_sent;
} Race;

static void coroutine_fn race_sleeper(void *opaque)
{
    Race *r = opaque;
    int i;

    for (i = 0; i < RACE_SLEEPS; i++) {
        /* 0..63 us: the timer, the thread or nobody wins. */
        qemu_co_sleep_ns_wakeable(&r->w, QEMU_CLOCK_REALTIME, (i * 7919) % 64 * 1000);
        __atomic_store_n(&r->sleeps_done, i + 1, __ATOMIC_RELEASE);
    }
}

static void *race_waker(void *opaque)
{
    Race *r = opaque;

    while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
        qemu_co_sleep_wake(&r->w);
        r->wakes_sent++;
        if (r->wakes_sent % 16 == 0) {
            sched_yield();
        }
    }
    return NULL;
}

START_TEST(co_sleep_racing_wakes_from_a_thread_and_timers_never_wake_twice)
{
    AioContext *ctx = t_ctx_new_current();
    Race *r = g_new0(Race, 1);
    pthread_t th;

    ck_assert_int_eq(pthread_create(&th, NULL, race_waker, r), 0);
    t_co_start(race_sleeper, r);
    t_run_until(ctx, &r->sleeps_done, RACE_SLEEPS);
    __atomic_store_n(&r->stop, 1, __ATOMIC_RELEASE);
    pthread_join(th, NULL);
    t_drain_ctx(ctx);
    ck_assert_ptr_null(r->w.to_wake);
    assert_no_timer(ctx);
    aio_context_unref(ctx);
    g_free(r);
}
END_TEST

/* ---- misuse -------------------------------------------------------------- */

static void enter_sleeper(void)
{
    static Sleeper s;
    Coroutine *co;

    t_ctx_new_current();
    co = t_co_start(sleeper_fn, &s);
    qemu_coroutine_enter(co);
}

START_TEST(entering_a_sleeping_coroutine_aborts_naming_the_sleep)
{
    t_expect_abort_naming(enter_sleeper, "qemu_co_sleep_ns", NULL);
    t_silence_stderr();
    enter_sleeper();
}
END_TEST

static void schedule_sleeper(void)
{
    static Sleeper s;
    AioContext *ctx = t_ctx_new_current();
    Coroutine *co;

    co = t_co_start(sleeper_fn, &s);
    aio_co_schedule(ctx, co);
    aio_poll(ctx, false);
}

START_TEST(scheduling_a_sleeping_coroutine_aborts_naming_the_sleep)
{
    t_expect_abort_naming(schedule_sleeper, "qemu_co_sleep_ns", NULL);
    t_silence_stderr();
    schedule_sleeper();
}
END_TEST

/* ---- qemu_co_timeout ------------------------------------------------------ */

typedef struct {
    Coroutine *caller;
    Coroutine *ran_in;
    QemuCoSleep park;       /* the entry parks here when told to */
    bool park_it;
    int ran;
    int cleaned;
    int ret;
    int done;
    TLog log;
} TimeoutCase;

static void coroutine_fn timeout_entry_fn(void *opaque)
{
    TimeoutCase *t = opaque;

    t->ran_in = qemu_coroutine_self();
    t_log_add(&t->log, "e");
    if (t->park_it) {
        qemu_co_sleep(&t->park);
    }
    t->ran++;
}

static void timeout_clean(void *opaque)
{
    TimeoutCase *t = opaque;

    t->cleaned++;
}

static void coroutine_fn timeout_caller(void *opaque)
{
    TimeoutCase *t = opaque;
    uint64_t ns = t->park_it ? 2 * 1000 * 1000 : 3600ULL * 1000 * 1000 * 1000;

    t->caller = qemu_coroutine_self();
    t_log_add(&t->log, "c");
    t->ret = qemu_co_timeout(timeout_entry_fn, t, ns, timeout_clean);
    t_log_add(&t->log, "r");
    __atomic_store_n(&t->done, 1, __ATOMIC_RELEASE);
}

static void coroutine_fn timeout_zero_caller(void *opaque)
{
    TimeoutCase *t = opaque;

    t->caller = qemu_coroutine_self();
    t->ret = qemu_co_timeout(timeout_entry_fn, t, 0, timeout_clean);
    t->done = 1;
}

START_TEST(co_timeout_zero_runs_entry_in_the_caller_and_returns_0)
{
    TimeoutCase t = { 0 };

    t_co_start(timeout_zero_caller, &t);
    ck_assert_int_eq(t.done, 1);
    ck_assert_int_eq(t.ret, 0);
    ck_assert_int_eq(t.ran, 1);
    ck_assert_ptr_eq(t.ran_in, t.caller);
    ck_assert_int_eq(t.cleaned, 0);
}
END_TEST

START_TEST(co_timeout_returns_0_when_entry_finishes_first_and_skips_clean)
{
    AioContext *ctx = t_ctx_new_current();
    TimeoutCase t = { 0 };

    t_co_start(timeout_caller, &t);
    t_run_until(ctx, &t.done, 1);
    ck_assert_int_eq(t.ret, 0);
    ck_assert_int_eq(t.ran, 1);
    /* A coroutine of its own, started once the caller slept. */
    ck_assert_ptr_ne(t.ran_in, t.caller);
    ck_assert_str_eq(t.log.buf, "cer");
    ck_assert_int_eq(t.cleaned, 0);
    assert_no_timer(ctx);
    aio_context_unref(ctx);
}
END_TEST

START_TEST(co_timeout_returns_etimedout_and_cleans_up_after_the_late_entry)
{
    AioContext *ctx = t_ctx_new_current();
    TimeoutCase t = { 0 };

    t.park_it = true;
    t_co_start(timeout_caller, &t);
    t_run_until(ctx, &t.done, 1);
    ck_assert_int_eq(t.ret, -ETIMEDOUT);
    ck_assert_int_eq(t.ran, 0);
    ck_assert_int_eq(t.cleaned, 0);
    ck_assert_str_eq(t.log.buf, "cer");

    /* The entry goes on; when it ends, clean runs once. */
    qemu_co_sleep_wake(&t.park);
    ck_assert_int_eq(t.ran, 1);
    ck_assert_int_eq(t.cleaned, 1);
    assert_no_timer(ctx);
    aio_context_unref(ctx);
}
END_TEST

static Suite *co_sleep_suite(void)
{
    Suite *s = suite_create("co_sleep");
    TCase *tc;

    tc = tcase_create("timer");
    tcase_add_test(tc, co_sleep_ns_resumes_after_its_timer_and_never_before);
    tcase_add_test(tc, qemu_co_sleep_waits_without_a_timer_until_woken);
    suite_add_tcase(s, tc);

    tc = tcase_create("wake");
    tcase_add_test(tc, co_sleep_woken_by_a_bh_during_the_sleep_resumes_early_and_drops_its_timer);
    tcase_add_test(tc, co_sleep_woken_by_another_timer_resumes_early);
    tcase_add_test(tc, co_sleep_woken_from_another_thread_resumes_in_its_own_context);
    tcase_add_test(tc, co_sleep_wake_before_the_sleep_is_a_no_op);
    tcase_add_test(tc, co_sleep_wake_after_the_sleep_is_a_no_op);
    suite_add_tcase(s, tc);

    tc = tcase_create("race");
    tcase_add_test(tc, co_sleep_racing_wakes_from_a_thread_and_timers_never_wake_twice);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);

    tc = tcase_create("misuse");
    tcase_add_test_raise_signal(tc, entering_a_sleeping_coroutine_aborts_naming_the_sleep,
                                SIGABRT);
    tcase_add_test_raise_signal(tc, scheduling_a_sleeping_coroutine_aborts_naming_the_sleep,
                                SIGABRT);
    suite_add_tcase(s, tc);

    tc = tcase_create("timeout");
    tcase_add_test(tc, co_timeout_zero_runs_entry_in_the_caller_and_returns_0);
    tcase_add_test(tc, co_timeout_returns_0_when_entry_finishes_first_and_skips_clean);
    tcase_add_test(tc, co_timeout_returns_etimedout_and_cleans_up_after_the_late_entry);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return t_run_suite(co_sleep_suite());
}
