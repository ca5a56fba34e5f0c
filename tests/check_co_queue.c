/* SPDX-License-Identifier: MIT */
/*
 * Suite "co_queue": CoQueue as a black box.  Waiters wake in FIFO order
 * (qemu_co_queue_next, restart_all, enter_next, enter_all, the
 * CO_QUEUE_WAIT_FRONT flag), after the waking coroutine yields; a wait
 * releases any QemuLockable around the switch and retakes it; waiters on
 * other threads wake in their own context.  Order is read from logs the
 * coroutines write, never from timing.
 */
#include "qemu/osdep.h"
#include "block/aio.h"
#include "qemu/coroutine.h"
#include "qemu/coroutine_int.h"
#include "helpers.h"

typedef struct {
    CoQueue *q;
    TLog *log;
    const char *name;
    CoQueueWaitFlags flags;
    QemuLockable *lock;
} QWaiter;

static void coroutine_fn queue_waiter(void *opaque)
{
    QWaiter *w = opaque;

    qemu_co_queue_wait_impl(w->q, w->lock, w->flags);
    t_log_add(w->log, w->name);
    if (w->lock) {
        /* Woken with the lock retaken: give it back. */
        qemu_lockable_unlock(w->lock);
    }
}

START_TEST(co_queue_is_empty_after_init_and_not_with_a_waiter)
{
    CoQueue q;
    TLog log = { .len = 0 };
    QWaiter w = { &q, &log, "1", 0, NULL };

    qemu_co_queue_init(&q);
    ck_assert(qemu_co_queue_empty(&q));
    t_co_start(queue_waiter, &w);
    ck_assert(!qemu_co_queue_empty(&q));
    ck_assert(qemu_co_enter_next(&q, NULL));
    ck_assert(qemu_co_queue_empty(&q));
    ck_assert_str_eq(log.buf, "1");
}
END_TEST

typedef struct {
    CoQueue *q;
    TLog *log;
    bool next_result[2];
} QWaker;

static void coroutine_fn queue_waker(void *opaque)
{
    QWaker *k = opaque;

    k->next_result[0] = qemu_co_queue_next(k->q);
    t_log_add(k->log, "a");
    qemu_coroutine_yield();
    qemu_co_queue_restart_all(k->q);
    t_log_add(k->log, "b");
    k->next_result[1] = qemu_co_queue_next(k->q);
}

START_TEST(co_queue_next_and_restart_all_wake_in_fifo_order_after_the_caller_yields)
{
    CoQueue q;
    TLog log = { .len = 0 };
    QWaiter w[3] = {
        { &q, &log, "1", 0, NULL }, { &q, &log, "2", 0, NULL }, { &q, &log, "3", 0, NULL },
    };
    QWaker k = { &q, &log, { false, true } };
    Coroutine *waker;
    int i;

    qemu_co_queue_init(&q);
    for (i = 0; i < 3; i++) {
        t_co_start(queue_waiter, &w[i]);
    }
    ck_assert_str_eq(log.buf, "");

    /* The waiter woken by next runs once the waker has yielded, not inside. */
    waker = t_co_start(queue_waker, &k);
    ck_assert(k.next_result[0]);
    ck_assert_str_eq(log.buf, "a1");

    /* restart_all: the rest, in order, after the waker ends. */
    qemu_coroutine_enter(waker);
    ck_assert_str_eq(log.buf, "a1b23");
    ck_assert(!k.next_result[1]);
    ck_assert(qemu_co_queue_empty(&q));
}
END_TEST

START_TEST(co_queue_wait_front_puts_the_waiter_at_the_head)
{
    CoQueue q;
    TLog log = { .len = 0 };
    QWaiter w[3] = {
        { &q, &log, "1", 0, NULL },
        { &q, &log, "2", 0, NULL },
        { &q, &log, "3", CO_QUEUE_WAIT_FRONT, NULL },
    };
    int i;

    qemu_co_queue_init(&q);
    for (i = 0; i < 3; i++) {
        t_co_start(queue_waiter, &w[i]);
    }
    qemu_co_enter_all(&q, NULL);
    ck_assert_str_eq(log.buf, "312");
}
END_TEST

START_TEST(co_enter_next_outside_a_coroutine_runs_the_waiter_before_returning)
{
    CoQueue q;
    TLog log = { .len = 0 };
    QWaiter w[2] = { { &q, &log, "1", 0, NULL }, { &q, &log, "2", 0, NULL } };

    qemu_co_queue_init(&q);
    t_co_start(queue_waiter, &w[0]);
    t_co_start(queue_waiter, &w[1]);
    ck_assert(qemu_co_enter_next(&q, NULL));
    ck_assert_str_eq(log.buf, "1");
    ck_assert(qemu_co_enter_next(&q, NULL));
    ck_assert_str_eq(log.buf, "12");
    ck_assert(!qemu_co_enter_next(&q, NULL));
}
END_TEST

START_TEST(co_enter_all_outside_a_coroutine_runs_every_waiter_in_order)
{
    CoQueue q;
    TLog log = { .len = 0 };
    QWaiter w[4] = {
        { &q, &log, "1", 0, NULL }, { &q, &log, "2", 0, NULL },
        { &q, &log, "3", 0, NULL }, { &q, &log, "4", 0, NULL },
    };
    int i;

    qemu_co_queue_init(&q);
    for (i = 0; i < 4; i++) {
        t_co_start(queue_waiter, &w[i]);
    }
    qemu_co_enter_all(&q, NULL);
    ck_assert_str_eq(log.buf, "1234");
    ck_assert(qemu_co_queue_empty(&q));
}
END_TEST

/* A lock of our own behind a QemuLockable: logs and checks every call. */
typedef struct {
    bool held;
    TLog *log;
} FakeLock;

static void fake_lock(void *opaque)
{
    FakeLock *l = opaque;

    ck_assert_msg(!l->held, "lock of a held FakeLock");
    l->held = true;
    t_log_add(l->log, "L");
}

static void fake_unlock(void *opaque)
{
    FakeLock *l = opaque;

    ck_assert_msg(l->held, "unlock of a free FakeLock");
    l->held = false;
    t_log_add(l->log, "U");
}

START_TEST(co_queue_wait_and_enter_next_release_any_lockable_around_the_switch)
{
    CoQueue q;
    TLog log = { .len = 0 };
    FakeLock fl = { false, &log };
    QemuLockable lockable = { &fl, fake_lock, fake_unlock };
    QWaiter w = { &q, &log, "w", 0, &lockable };

    qemu_co_queue_init(&q);

    /* The waiter holds the lock when it waits: wait releases it. */
    fake_lock(&fl);
    t_co_start(queue_waiter, &w);
    ck_assert_str_eq(log.buf, "LU");
    ck_assert(!fl.held);

    /*
     * The caller of enter_next holds the lock: it is released for the
     * wake-up (the waiter takes it, runs, gives it back) and retaken.
     */
    fake_lock(&fl);
    ck_assert(qemu_co_enter_next_impl(&q, &lockable));
    ck_assert_str_eq(log.buf, "LULULwUL");
    ck_assert(fl.held);
    fake_unlock(&fl);
}
END_TEST

typedef struct {
    CoQueue *q;
    CoMutex *m;
    TLog *log;
    int *ready;
} QMutexUser;

static void coroutine_fn queue_mutex_waiter(void *opaque)
{
    QMutexUser *u = opaque;

    qemu_co_mutex_lock(u->m);
    while (!*u->ready) {
        qemu_co_queue_wait(u->q, u->m);
        /* Back from the wait with the mutex retaken. */
        qemu_co_mutex_assert_locked(u->m);
    }
    t_log_add(u->log, "w");
    qemu_co_mutex_unlock(u->m);
}

static void coroutine_fn queue_mutex_signaller(void *opaque)
{
    QMutexUser *u = opaque;

    qemu_co_mutex_lock(u->m);
    *u->ready = 1;
    ck_assert(qemu_co_queue_next(u->q));
    t_log_add(u->log, "s");
    qemu_co_mutex_unlock(u->m);
}

START_TEST(co_queue_wait_with_a_comutex_drops_it_while_parked_and_retakes_it)
{
    CoQueue q;
    CoMutex m;
    TLog log = { .len = 0 };
    int ready = 0;
    QMutexUser u = { &q, &m, &log, &ready };

    qemu_co_queue_init(&q);
    qemu_co_mutex_init(&m);
    t_co_start(queue_mutex_waiter, &u);
    /* Parked, and the mutex is free for others. */
    ck_assert_uint_eq(m.locked, 0);
    t_co_start(queue_mutex_signaller, &u);
    ck_assert_str_eq(log.buf, "sw");
    ck_assert_uint_eq(m.locked, 0);
    ck_assert_ptr_null(m.holder);
}
END_TEST

/* ---- across threads ---------------------------------------------------- */

enum { QUEUE_ITEMS = 2000 };

typedef struct {
    CoQueue q;
    CoMutex m;
    int items;
    int consumed;
    int produced;
    int done;
    int wrong_thread;
    pthread_t consumer_thread;
} Channel;

static void coroutine_fn channel_consumer(void *opaque)
{
    Channel *c = opaque;

    c->consumer_thread = pthread_self();
    qemu_co_mutex_lock(&c->m);
    while (c->consumed < QUEUE_ITEMS) {
        while (c->items == 0) {
            qemu_co_queue_wait(&c->q, &c->m);
            if (!pthread_equal(pthread_self(), c->consumer_thread)) {
                c->wrong_thread++;
            }
        }
        c->items--;
        c->consumed++;
    }
    qemu_co_mutex_unlock(&c->m);
    __atomic_fetch_add(&c->done, 1, __ATOMIC_RELEASE);
}

static void coroutine_fn channel_producer(void *opaque)
{
    Channel *c = opaque;
    int i;

    for (i = 0; i < QUEUE_ITEMS; i++) {
        qemu_co_mutex_lock(&c->m);
        c->items++;
        c->produced++;
        qemu_co_queue_next(&c->q);
        qemu_co_mutex_unlock(&c->m);
    }
    __atomic_fetch_add(&c->done, 1, __ATOMIC_RELEASE);
}

START_TEST(co_queue_waiter_in_another_context_is_woken_there_and_misses_nothing)
{
    TIoThread a, b;
    Channel *c = g_new0(Channel, 1);

    qemu_co_queue_init(&c->q);
    qemu_co_mutex_init(&c->m);
    t_iothread_pair_start(&a, &b);
    t_spawn_in(b.ctx, channel_consumer, c);
    t_spawn_in(a.ctx, channel_producer, c);
    t_wait_for_count(&c->done, 2);
    t_iothread_pair_join(&a, &b);

    ck_assert_int_eq(c->produced, QUEUE_ITEMS);
    ck_assert_int_eq(c->consumed, QUEUE_ITEMS);
    ck_assert_int_eq(c->items, 0);
    ck_assert_int_eq(c->wrong_thread, 0);
    ck_assert(qemu_co_queue_empty(&c->q));
    g_free(c);
}
END_TEST

static Suite *co_queue_suite(void)
{
    Suite *s = suite_create("co_queue");
    TCase *tc;

    tc = tcase_create("wait");
    tcase_add_test(tc, co_queue_is_empty_after_init_and_not_with_a_waiter);
    tcase_add_test(tc, co_queue_wait_front_puts_the_waiter_at_the_head);
    tcase_add_test(tc, co_queue_wait_and_enter_next_release_any_lockable_around_the_switch);
    tcase_add_test(tc, co_queue_wait_with_a_comutex_drops_it_while_parked_and_retakes_it);
    suite_add_tcase(s, tc);

    tc = tcase_create("wake");
    tcase_add_test(tc,
                   co_queue_next_and_restart_all_wake_in_fifo_order_after_the_caller_yields);
    tcase_add_test(tc, co_enter_next_outside_a_coroutine_runs_the_waiter_before_returning);
    tcase_add_test(tc, co_enter_all_outside_a_coroutine_runs_every_waiter_in_order);
    suite_add_tcase(s, tc);

    tc = tcase_create("threads");
    tcase_add_test(tc, co_queue_waiter_in_another_context_is_woken_there_and_misses_nothing);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return t_run_suite(co_queue_suite());
}
