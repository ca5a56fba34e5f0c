/* SPDX-License-Identifier: MIT */
/*
 * Suite "aio_wait": AIO_WAIT_WHILE, aio_wait_kick and aio_wait_bh_oneshot
 * across threads, with an IOThread (qaio_iothread) beside the main loop.
 * Waiting from the main thread on the IOThread's context must drop that
 * context's lock around each poll (the tests' BHs take it, so a wait that
 * kept it would hang into the timeout), and a kick from any thread must end
 * the wait.  Also the IOThread itself: its context is current in it, the
 * stop BH runs after what was scheduled before it.
 */
#include "qemu/osdep.h"
#include "block/aio.h"
#include "block/aio-wait.h"
#include "qemu/main-loop.h"
#include "qemu/coroutine.h"
#include "qaio/iothread.h"
#include "helpers.h"

#include <pthread.h>

static QaioIOThread *iothread;
static AioContext *io_ctx;

static void setup(void)
{
    ck_assert_int_eq(qemu_init_main_loop(&error_abort), 0);
    iothread = qaio_iothread_new("test-iothread", &error_abort);
    io_ctx = qaio_iothread_get_aio_context(iothread);
}

static void teardown(void)
{
    qaio_iothread_free(iothread);
}

typedef struct {
    AioContext *ctx;
    bool done;
    AioContext *ran_in;      /* current context of the thread that ran it */
    bool locked_ok;
} Job;

/* The context lock: QEMU 7.2 only (10.0's AIO_WAIT_WHILE drops no lock). */
#if T_API_7_2
/* A BH of a device model: takes its context's lock, as QEMU's do. */
static void locking_bh(void *opaque)
{
    Job *j = opaque;

    aio_context_acquire(j->ctx);
    j->ran_in = qemu_get_current_aio_context();
    qatomic_set(&j->done, true);
    aio_context_release(j->ctx);
    aio_wait_kick();
}

START_TEST(wait_from_main_thread_on_iothread_context_releases_its_lock)
{
    Job j = { .ctx = io_ctx };

    aio_context_acquire(io_ctx);
    aio_bh_schedule_oneshot(io_ctx, locking_bh, &j);
    ck_assert(AIO_WAIT_WHILE(io_ctx, !qatomic_read(&j.done)));
    aio_context_release(io_ctx);
    ck_assert_ptr_eq(j.ran_in, io_ctx);
}
END_TEST
#endif

static void plain_bh(void *opaque)
{
    Job *j = opaque;

    j->ran_in = qemu_get_current_aio_context();
    /* Release: the waiter's acquire of done then sees ran_in.  Without a
     * context lock nothing else orders the two threads when the waiter
     * finds done set without sleeping. */
    qatomic_store_release(&j->done, true);
    aio_wait_kick();
}

START_TEST(wait_unlocked_on_iothread_context_ends_on_kick)
{
    Job j = { .ctx = io_ctx };

    aio_bh_schedule_oneshot(io_ctx, plain_bh, &j);
    AIO_WAIT_WHILE_UNLOCKED(io_ctx, !qatomic_load_acquire(&j.done));
    ck_assert(qatomic_read(&j.done));
    ck_assert_ptr_eq(j.ran_in, io_ctx);
}
END_TEST

START_TEST(wait_in_home_thread_polls_the_context_itself)
{
    AioContext *main = qemu_get_aio_context();
    Job j = { .ctx = main };

    ck_assert(in_aio_context_home_thread(main));
    ck_assert(!in_aio_context_home_thread(io_ctx));
    aio_bh_schedule_oneshot(main, plain_bh, &j);
    ck_assert(AIO_WAIT_WHILE(main, !j.done));
    ck_assert_ptr_eq(j.ran_in, main);
    ck_assert(!AIO_WAIT_WHILE(main, false));   /* nothing to wait for */
    ck_assert_uint_eq(global_aio_wait.num_waiters, 0);
}
END_TEST

static void *set_and_kick_later(void *opaque)
{
    g_usleep(50 * 1000);
    qatomic_set((bool *)opaque, true);
    aio_wait_kick();
    return NULL;
}

START_TEST(kick_from_a_plain_thread_wakes_the_waiter)
{
    bool flag = false;
    pthread_t th;

    pthread_create(&th, NULL, set_and_kick_later, &flag);
    AIO_WAIT_WHILE(qemu_get_aio_context(), !qatomic_read(&flag));
    pthread_join(th, NULL);
    ck_assert(flag);
}
END_TEST

static void *kick_many(void *opaque)
{
    int i;

    for (i = 0; i < 1000; i++) {
        qatomic_inc((int *)opaque);
        aio_wait_kick();
    }
    return NULL;
}

START_TEST(kicks_from_many_threads_never_leave_a_waiter_asleep)
{
    int count = 0;
    pthread_t th[4];
    int i;

    for (i = 0; i < 4; i++) {
        pthread_create(&th[i], NULL, kick_many, &count);
    }
    AIO_WAIT_WHILE(NULL, qatomic_read(&count) < 4000);
    for (i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
    }
    /* drain the kicks' BHs */
    while (aio_poll(qemu_get_aio_context(), false)) {
    }
}
END_TEST

static void record_ctx_cb(void *opaque)
{
    Job *j = opaque;

#if T_API_7_2
    aio_context_acquire(j->ctx);   /* held once by the waiter: released meanwhile */
#endif
    j->ran_in = qemu_get_current_aio_context();
#if T_API_7_2
    aio_context_release(j->ctx);
#endif
}

START_TEST(bh_oneshot_runs_in_the_iothread_and_returns_after_it)
{
    Job j = { .ctx = io_ctx };

#if T_API_7_2
    aio_context_acquire(io_ctx);   /* 7.2: the caller holds the context */
#endif
    aio_wait_bh_oneshot(io_ctx, record_ctx_cb, &j);
#if T_API_7_2
    aio_context_release(io_ctx);
#endif
    ck_assert_ptr_eq(j.ran_in, io_ctx);
}
END_TEST

static void slow_record_ctx_cb(void *opaque)
{
    g_usleep(20 * 1000);   /* the waiter polls the main context meanwhile */
    record_ctx_cb(opaque);
}

static void coroutine_fn set_flag_co(void *opaque)
{
    qatomic_set((bool *)opaque, true);
    aio_wait_kick();
}

/* The wait leaves the IOThread's context as it found it: released again
 * at 7.2, where the caller holds it, and never taken at 10.0, where there
 * is no lock to hold (taking it there kept it held by the main thread, and
 * the IOThread blocked the next time it entered a coroutine). */
START_TEST(iothread_enters_coroutines_after_a_bh_oneshot_waited_for_it)
{
    Job j = { .ctx = io_ctx };
    bool done = false;

#if T_API_7_2
    aio_context_acquire(io_ctx);
#endif
    aio_wait_bh_oneshot(io_ctx, slow_record_ctx_cb, &j);
#if T_API_7_2
    aio_context_release(io_ctx);
#endif
    ck_assert_ptr_eq(j.ran_in, io_ctx);
    aio_co_schedule(io_ctx, qemu_coroutine_create(set_flag_co, &done));
    AIO_WAIT_WHILE_UNLOCKED(NULL, !qatomic_read(&done));
    ck_assert(qatomic_read(&done));
}
END_TEST

START_TEST(bh_oneshot_on_the_main_context_runs_in_the_main_thread)
{
    AioContext *main = qemu_get_aio_context();
    Job j = { .ctx = main };

#if T_API_7_2
    aio_context_acquire(main);   /* 7.2: the caller holds the context */
#endif
    aio_wait_bh_oneshot(main, record_ctx_cb, &j);
#if T_API_7_2
    aio_context_release(main);
#endif
    ck_assert_ptr_eq(j.ran_in, main);
}
END_TEST

static void *bh_oneshot_from_thread(void *opaque)
{
    Job *j = opaque;

    aio_wait_bh_oneshot(j->ctx, record_ctx_cb, j);
    return NULL;
}

START_TEST(bh_oneshot_outside_the_main_thread_aborts)
{
    Job j = { .ctx = io_ctx };
    pthread_t th;

    pthread_create(&th, NULL, bh_oneshot_from_thread, &j);
    pthread_join(th, NULL);
}
END_TEST

/* ---- the IOThread ------------------------------------------------------------ */

static void count_cb(void *opaque)
{
    qatomic_inc((int *)opaque);
}

START_TEST(iothread_runs_what_was_scheduled_before_join)
{
    int n = 0, i;

    for (i = 0; i < 100; i++) {
        aio_bh_schedule_oneshot(io_ctx, count_cb, &n);
    }
    qaio_iothread_join(iothread);
    ck_assert_int_eq(n, 100);
    qaio_iothread_join(iothread);   /* twice is harmless */
}
END_TEST

START_TEST(iothread_new_then_free_at_once_stops_cleanly)
{
    QaioIOThread *t = qaio_iothread_new("short-lived", &error_abort);

    ck_assert_ptr_nonnull(qaio_iothread_get_aio_context(t));
    qaio_iothread_free(t);
}
END_TEST

static Suite *aio_wait_suite(void)
{
    Suite *s = suite_create("aio_wait");
    TCase *tc;

    tc = tcase_create("wait");
    tcase_add_checked_fixture(tc, setup, teardown);
#if T_API_7_2
    tcase_add_test(tc, wait_from_main_thread_on_iothread_context_releases_its_lock);
#endif
    tcase_add_test(tc, wait_unlocked_on_iothread_context_ends_on_kick);
    tcase_add_test(tc, wait_in_home_thread_polls_the_context_itself);
    tcase_add_test(tc, kick_from_a_plain_thread_wakes_the_waiter);
    tcase_add_test(tc, kicks_from_many_threads_never_leave_a_waiter_asleep);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);

    tc = tcase_create("bh_oneshot");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, bh_oneshot_runs_in_the_iothread_and_returns_after_it);
    tcase_add_test(tc, iothread_enters_coroutines_after_a_bh_oneshot_waited_for_it);
    tcase_add_test(tc, bh_oneshot_on_the_main_context_runs_in_the_main_thread);
    tcase_add_test_raise_signal(tc, bh_oneshot_outside_the_main_thread_aborts, SIGABRT);
    suite_add_tcase(s, tc);

    tc = tcase_create("iothread");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, iothread_runs_what_was_scheduled_before_join);
    tcase_add_test(tc, iothread_new_then_free_at_once_stops_cleanly);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return t_run_suite(aio_wait_suite());
}
