/* SPDX-License-Identifier: MIT */
/*
 * Suites "co_queue", "co_mutex", "co_rwlock", "co_sleep" and "co_io": the
 * coroutine locks and their companions as a black box.  Covers QEMU 7.2's
 * /locking/... behaviours of test-coroutine (CoMutex hand-over on unlock,
 * the QemuLockable form, CoRwlock upgrade and downgrade), the header
 * semantics of CoQueue, CoMutex, CoRwlock, sleeps, qemu_co_timeout and the
 * coroutine I/O helpers, and the lock and sleep traps (24: rwlock fairness
 * and a randomised reader/writer model; 25: a CoMutex contended from two
 * threads, the counter exact; 26: sleeps woken before, during and after,
 * from a BH, a timer and another thread).  Single-thread tests mostly run
 * without any AioContext, as QEMU's test-coroutine does; cross-thread tests
 * run two contexts, each polled by its own thread.  Order is read from logs
 * the coroutines write, never from timing.
 */
#define _GNU_SOURCE 1   /* dladdr, dlmopen */
#include "qemu/osdep.h"
#include "block/aio.h"
#include "qemu/coroutine.h"
#include "qemu/coroutine_int.h"
#include "qemu/timer.h"
#include "helpers.h"

#include <dlfcn.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <linux/filter.h>
#include <linux/membarrier.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

/* ======================================================================== */
/* Shared helpers                                                           */
/* ======================================================================== */

/* An append-only record of what ran, compared as a string. */
typedef struct {
    char buf[256];
    size_t len;
} Log;

static void log_add(Log *l, const char *s)
{
    size_t n = strlen(s);

    ck_assert_uint_lt(l->len + n, sizeof(l->buf));
    memcpy(l->buf + l->len, s, n + 1);
    l->len += n;
}

static Coroutine *start(CoroutineEntry *fn, void *arg)
{
    Coroutine *co = qemu_coroutine_create(fn, arg);

    qemu_coroutine_enter(co);
    return co;
}

/* A context for this thread, bound as its current one (once per thread). */
static AioContext *new_ctx(void)
{
    AioContext *ctx = aio_context_new(&error_abort);

    ck_assert_ptr_nonnull(ctx);
    ck_assert_ptr_null(qemu_get_current_aio_context());
    qemu_set_current_aio_context(ctx);
    t_drain_ctx(ctx);
    return ctx;
}

static void run_until(AioContext *ctx, const int *flag, int value)
{
    while (__atomic_load_n(flag, __ATOMIC_ACQUIRE) != value) {
        aio_poll(ctx, true);
    }
}

/* Polls (the caller has no loop to run) until *counter reaches value. */
static void wait_for_count(const int *counter, int value)
{
    while (__atomic_load_n(counter, __ATOMIC_ACQUIRE) != value) {
        g_usleep(1000);
    }
}

/* ---- a thread that owns a context and polls it ----------------------------- */

typedef struct {
    pthread_t tid;
    AioContext *ctx;
    sem_t ready;
    int stop;
} IoThread;

static void *iothread_main(void *opaque)
{
    IoThread *t = opaque;

    t->ctx = aio_context_new(&error_abort);
    qemu_set_current_aio_context(t->ctx);
    sem_post(&t->ready);
    while (!__atomic_load_n(&t->stop, __ATOMIC_ACQUIRE)) {
        aio_poll(t->ctx, true);
    }
    t_drain_ctx(t->ctx);
    return NULL;
}

static void iothread_start(IoThread *t)
{
    memset(t, 0, sizeof(*t));
    sem_init(&t->ready, 0, 0);
    ck_assert_int_eq(pthread_create(&t->tid, NULL, iothread_main, t), 0);
    while (sem_wait(&t->ready) != 0) {
        ck_assert_int_eq(errno, EINTR);
    }
}

static void iothread_stop_cb(void *opaque)
{
    IoThread *t = opaque;

    __atomic_store_n(&t->stop, 1, __ATOMIC_RELEASE);
}

/*
 * The context outlives its thread: the thread may run the stop BH before
 * aio_bh_schedule_oneshot() has finished notifying the context, so only
 * the joiner may drop it (as QEMU's IOThread does).
 */
static void iothread_join(IoThread *t)
{
    aio_bh_schedule_oneshot(t->ctx, iothread_stop_cb, t);
    pthread_join(t->tid, NULL);
    aio_context_unref(t->ctx);
    sem_destroy(&t->ready);
}

typedef struct {
    CoroutineEntry *fn;
    void *arg;
} Spawn;

static void spawn_bh(void *opaque)
{
    Spawn *s = opaque;
    Coroutine *co = qemu_coroutine_create(s->fn, s->arg);

    g_free(s);
    qemu_coroutine_enter(co);
}

/* Create and start a coroutine in the thread that polls ctx. */
static void spawn_in(AioContext *ctx, CoroutineEntry *fn, void *arg)
{
    Spawn *s = g_new(Spawn, 1);

    s->fn = fn;
    s->arg = arg;
    aio_bh_schedule_oneshot(ctx, spawn_bh, s);
}

/* ---- aborts ---------------------------------------------------------------- */

/* ======================================================================== */
/* Suite co_queue                                                           */
/* ======================================================================== */

typedef struct {
    CoQueue *q;
    Log *log;
    const char *name;
    CoQueueWaitFlags flags;
    QemuLockable *lock;
} QWaiter;

static void coroutine_fn queue_waiter(void *opaque)
{
    QWaiter *w = opaque;

    qemu_co_queue_wait_impl(w->q, w->lock, w->flags);
    log_add(w->log, w->name);
    if (w->lock) {
        /* Woken with the lock retaken: give it back. */
        qemu_lockable_unlock(w->lock);
    }
}

START_TEST(co_queue_is_empty_after_init_and_not_with_a_waiter)
{
    CoQueue q;
    Log log = { .len = 0 };
    QWaiter w = { &q, &log, "1", 0, NULL };

    qemu_co_queue_init(&q);
    ck_assert(qemu_co_queue_empty(&q));
    start(queue_waiter, &w);
    ck_assert(!qemu_co_queue_empty(&q));
    ck_assert(qemu_co_enter_next(&q, NULL));
    ck_assert(qemu_co_queue_empty(&q));
    ck_assert_str_eq(log.buf, "1");
}
END_TEST

typedef struct {
    CoQueue *q;
    Log *log;
    bool next_result[2];
} QWaker;

static void coroutine_fn queue_waker(void *opaque)
{
    QWaker *k = opaque;

    k->next_result[0] = qemu_co_queue_next(k->q);
    log_add(k->log, "a");
    qemu_coroutine_yield();
    qemu_co_queue_restart_all(k->q);
    log_add(k->log, "b");
    k->next_result[1] = qemu_co_queue_next(k->q);
}

START_TEST(co_queue_next_and_restart_all_wake_in_fifo_order_after_the_caller_yields)
{
    CoQueue q;
    Log log = { .len = 0 };
    QWaiter w[3] = {
        { &q, &log, "1", 0, NULL }, { &q, &log, "2", 0, NULL }, { &q, &log, "3", 0, NULL },
    };
    QWaker k = { &q, &log, { false, true } };
    Coroutine *waker;
    int i;

    qemu_co_queue_init(&q);
    for (i = 0; i < 3; i++) {
        start(queue_waiter, &w[i]);
    }
    ck_assert_str_eq(log.buf, "");

    /* The waiter woken by next runs once the waker has yielded, not inside. */
    waker = start(queue_waker, &k);
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
    Log log = { .len = 0 };
    QWaiter w[3] = {
        { &q, &log, "1", 0, NULL },
        { &q, &log, "2", 0, NULL },
        { &q, &log, "3", CO_QUEUE_WAIT_FRONT, NULL },
    };
    int i;

    qemu_co_queue_init(&q);
    for (i = 0; i < 3; i++) {
        start(queue_waiter, &w[i]);
    }
    qemu_co_enter_all(&q, NULL);
    ck_assert_str_eq(log.buf, "312");
}
END_TEST

START_TEST(co_enter_next_outside_a_coroutine_runs_the_waiter_before_returning)
{
    CoQueue q;
    Log log = { .len = 0 };
    QWaiter w[2] = { { &q, &log, "1", 0, NULL }, { &q, &log, "2", 0, NULL } };

    qemu_co_queue_init(&q);
    start(queue_waiter, &w[0]);
    start(queue_waiter, &w[1]);
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
    Log log = { .len = 0 };
    QWaiter w[4] = {
        { &q, &log, "1", 0, NULL }, { &q, &log, "2", 0, NULL },
        { &q, &log, "3", 0, NULL }, { &q, &log, "4", 0, NULL },
    };
    int i;

    qemu_co_queue_init(&q);
    for (i = 0; i < 4; i++) {
        start(queue_waiter, &w[i]);
    }
    qemu_co_enter_all(&q, NULL);
    ck_assert_str_eq(log.buf, "1234");
    ck_assert(qemu_co_queue_empty(&q));
}
END_TEST

/* A lock of our own behind a QemuLockable: logs and checks every call. */
typedef struct {
    bool held;
    Log *log;
} FakeLock;

static void fake_lock(void *opaque)
{
    FakeLock *l = opaque;

    ck_assert_msg(!l->held, "lock of a held FakeLock");
    l->held = true;
    log_add(l->log, "L");
}

static void fake_unlock(void *opaque)
{
    FakeLock *l = opaque;

    ck_assert_msg(l->held, "unlock of a free FakeLock");
    l->held = false;
    log_add(l->log, "U");
}

START_TEST(co_queue_wait_and_enter_next_release_any_lockable_around_the_switch)
{
    CoQueue q;
    Log log = { .len = 0 };
    FakeLock fl = { false, &log };
    QemuLockable lockable = { &fl, fake_lock, fake_unlock };
    QWaiter w = { &q, &log, "w", 0, &lockable };

    qemu_co_queue_init(&q);

    /* The waiter holds the lock when it waits: wait releases it. */
    fake_lock(&fl);
    start(queue_waiter, &w);
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
    Log *log;
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
    log_add(u->log, "w");
    qemu_co_mutex_unlock(u->m);
}

static void coroutine_fn queue_mutex_signaller(void *opaque)
{
    QMutexUser *u = opaque;

    qemu_co_mutex_lock(u->m);
    *u->ready = 1;
    ck_assert(qemu_co_queue_next(u->q));
    log_add(u->log, "s");
    qemu_co_mutex_unlock(u->m);
}

START_TEST(co_queue_wait_with_a_comutex_drops_it_while_parked_and_retakes_it)
{
    CoQueue q;
    CoMutex m;
    Log log = { .len = 0 };
    int ready = 0;
    QMutexUser u = { &q, &m, &log, &ready };

    qemu_co_queue_init(&q);
    qemu_co_mutex_init(&m);
    start(queue_mutex_waiter, &u);
    /* Parked, and the mutex is free for others. */
    ck_assert_uint_eq(m.locked, 0);
    start(queue_mutex_signaller, &u);
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
    IoThread a, b;
    Channel *c = g_new0(Channel, 1);

    qemu_co_queue_init(&c->q);
    qemu_co_mutex_init(&c->m);
    iothread_start(&a);
    iothread_start(&b);
    spawn_in(b.ctx, channel_consumer, c);
    spawn_in(a.ctx, channel_producer, c);
    wait_for_count(&c->done, 2);
    iothread_join(&a);
    iothread_join(&b);

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

/* ======================================================================== */
/* Suite co_mutex                                                           */
/* ======================================================================== */

typedef struct {
    CoMutex *m;
    Log *log;
    const char *name;
    int done;
} MUser;

static void coroutine_fn mutex_lock_unlock(void *opaque)
{
    MUser *u = opaque;

    qemu_co_mutex_lock(u->m);
    qemu_co_mutex_assert_locked(u->m);
    ck_assert_ptr_eq(u->m->holder, qemu_coroutine_self());
    qemu_co_mutex_unlock(u->m);
    u->done = 1;
}

START_TEST(co_mutex_uncontended_lock_and_unlock_never_yield)
{
    CoMutex m;
    MUser u = { &m, NULL, NULL, 0 };

    qemu_co_mutex_init(&m);
    start(mutex_lock_unlock, &u);
    ck_assert_int_eq(u.done, 1);
    ck_assert_uint_eq(m.locked, 0);
    ck_assert_ptr_null(m.holder);
}
END_TEST

START_TEST(co_mutex_zero_filled_is_an_unlocked_mutex)
{
    static CoMutex m;   /* zero-filled, never initialized */
    MUser u = { &m, NULL, NULL, 0 };

    start(mutex_lock_unlock, &u);
    ck_assert_int_eq(u.done, 1);
    ck_assert_uint_eq(m.locked, 0);
}
END_TEST

typedef struct {
    CoMutex *m;
    size_t held_after_lock;
    size_t held_after_unlock;
    AioContext *ctx_after_lock;
} HeldProbe;

static void coroutine_fn mutex_held_probe(void *opaque)
{
    HeldProbe *p = opaque;
    Coroutine *self = qemu_coroutine_self();
    size_t before = self->locks_held;

    qemu_co_mutex_lock(p->m);
    p->held_after_lock = self->locks_held - before;
    p->ctx_after_lock = p->m->ctx;
    qemu_co_mutex_unlock(p->m);
    p->held_after_unlock = self->locks_held - before;
}

START_TEST(co_mutex_lock_counts_in_locks_held_and_records_the_holder_context)
{
    AioContext *ctx = new_ctx();
    CoMutex m;
    HeldProbe p = { &m, 0, 0, NULL };

    qemu_co_mutex_init(&m);
    start(mutex_held_probe, &p);
    ck_assert_uint_eq(p.held_after_lock, 1);
    ck_assert_uint_eq(p.held_after_unlock, 0);
    ck_assert_ptr_eq(p.ctx_after_lock, ctx);
    ck_assert_ptr_null(m.ctx);
    aio_context_unref(ctx);
}
END_TEST

/* QEMU's /locking/co-mutex: lock, yield, unlock, and a flag for "inside". */
static bool mutex_inside;
static int mutex_done;

static void coroutine_fn mutex_yield_inside(void *opaque)
{
    CoMutex *m = opaque;

    qemu_co_mutex_lock(m);
    ck_assert(!mutex_inside);
    mutex_inside = true;
    qemu_coroutine_yield();
    mutex_inside = false;
    qemu_co_mutex_unlock(m);
    mutex_done++;
}

static void coroutine_fn lockable_yield_inside(void *opaque)
{
    QemuLockable *x = opaque;

    qemu_lockable_lock(x);
    ck_assert(!mutex_inside);
    mutex_inside = true;
    qemu_coroutine_yield();
    mutex_inside = false;
    qemu_lockable_unlock(x);
    mutex_done++;
}

static void check_handover(CoroutineEntry *entry, void *opaque)
{
    Coroutine *c1 = qemu_coroutine_create(entry, opaque);
    Coroutine *c2 = qemu_coroutine_create(entry, opaque);

    mutex_done = 0;
    mutex_inside = false;
    qemu_coroutine_enter(c1);
    ck_assert(mutex_inside);
    /* c2 finds the mutex held and yields back to us. */
    qemu_coroutine_enter(c2);
    ck_assert_int_eq(mutex_done, 0);

    /* c1 unlocks: c2 is queued, runs when c1 ends, and holds the mutex. */
    qemu_coroutine_enter(c1);
    ck_assert_int_eq(mutex_done, 1);
    ck_assert(mutex_inside);

    qemu_coroutine_enter(c2);
    ck_assert_int_eq(mutex_done, 2);
    ck_assert(!mutex_inside);
}

START_TEST(co_mutex_unlock_hands_over_to_the_waiter_which_runs_after_the_holder)
{
    CoMutex m;

    qemu_co_mutex_init(&m);
    check_handover(mutex_yield_inside, &m);
    ck_assert_uint_eq(m.locked, 0);
}
END_TEST

START_TEST(co_mutex_through_make_lockable_hands_over_the_same_way)
{
    CoMutex m;
    CoMutex *null_mutex = NULL;
    QemuLockable *x = QEMU_MAKE_LOCKABLE(&m);

    ck_assert_ptr_null(QEMU_MAKE_LOCKABLE(null_mutex));
    ck_assert_ptr_nonnull(x);
    qemu_co_mutex_init(&m);
    check_handover(lockable_yield_inside, x);
    ck_assert_uint_eq(m.locked, 0);
}
END_TEST

static void coroutine_fn mutex_log_user(void *opaque)
{
    MUser *u = opaque;

    qemu_co_mutex_lock(u->m);
    log_add(u->log, u->name);
    qemu_co_mutex_unlock(u->m);
    u->done = 1;
}

START_TEST(co_mutex_unlock_wakes_waiters_in_fifo_order)
{
    CoMutex m;
    Log log = { .len = 0 };
    MUser u[5];
    const char *names[5] = { "1", "2", "3", "4", "5" };
    Coroutine *holder;
    int i;

    qemu_co_mutex_init(&m);
    holder = start(mutex_yield_inside, &m);
    for (i = 0; i < 5; i++) {
        u[i] = (MUser){ &m, &log, names[i], 0 };
        start(mutex_log_user, &u[i]);
        ck_assert_int_eq(u[i].done, 0);
    }
    ck_assert_uint_eq(m.locked, 6);
    qemu_coroutine_enter(holder);
    ck_assert_str_eq(log.buf, "12345");
    ck_assert_uint_eq(m.locked, 0);
}
END_TEST

typedef struct {
    CoMutex *m;
    Log *log;
    MUser *newcomer;
} Barger;

static void coroutine_fn mutex_unlock_then_newcomer(void *opaque)
{
    Barger *b = opaque;

    qemu_co_mutex_lock(b->m);
    log_add(b->log, "h");
    qemu_coroutine_yield();
    qemu_co_mutex_unlock(b->m);
    /* The mutex is promised to the waiter: a newcomer must queue. */
    start(mutex_log_user, b->newcomer);
    ck_assert_int_eq(b->newcomer->done, 0);
}

START_TEST(co_mutex_newcomer_cannot_barge_past_a_woken_waiter)
{
    CoMutex m;
    Log log = { .len = 0 };
    MUser waiter = { &m, &log, "w", 0 };
    MUser newcomer = { &m, &log, "n", 0 };
    Barger b = { &m, &log, &newcomer };
    Coroutine *holder;

    qemu_co_mutex_init(&m);
    holder = start(mutex_unlock_then_newcomer, &b);
    start(mutex_log_user, &waiter);
    qemu_coroutine_enter(holder);
    ck_assert_str_eq(log.buf, "hwn");
    ck_assert_int_eq(newcomer.done, 1);
    ck_assert_uint_eq(m.locked, 0);
}
END_TEST

/* ---- misuse ------------------------------------------------------------- */

static CoMutex misuse_mutex;

static void coroutine_fn unlock_only(void *opaque)
{
    qemu_co_mutex_unlock(&misuse_mutex);
}

static void unlock_unlocked(void)
{
    qemu_co_mutex_init(&misuse_mutex);
    start(unlock_only, NULL);
}

static char misuse_name[64];

static const char *mutex_culprit(void)
{
    snprintf(misuse_name, sizeof(misuse_name), "%p", (void *)&misuse_mutex);
    return misuse_name;
}

START_TEST(unlocking_an_unlocked_comutex_aborts_naming_it)
{
    t_expect_abort_naming(unlock_unlocked, mutex_culprit(), NULL);
    t_silence_stderr();
    unlock_unlocked();
}
END_TEST

static void coroutine_fn lock_and_yield(void *opaque)
{
    qemu_co_mutex_lock(&misuse_mutex);
    qemu_coroutine_yield();
    qemu_co_mutex_unlock(&misuse_mutex);
}

static void unlock_by_non_holder(void)
{
    qemu_co_mutex_init(&misuse_mutex);
    start(lock_and_yield, NULL);
    start(unlock_only, NULL);
}

START_TEST(unlocking_a_comutex_held_by_another_coroutine_aborts_naming_it)
{
    t_expect_abort_naming(unlock_by_non_holder, mutex_culprit(), NULL);
    t_silence_stderr();
    unlock_by_non_holder();
}
END_TEST

static void unlock_outside_coroutine(void)
{
    qemu_co_mutex_init(&misuse_mutex);
    /* Uncontended lock works outside a coroutine; unlock must not. */
    qemu_co_mutex_lock(&misuse_mutex);
    qemu_co_mutex_unlock(&misuse_mutex);
}

START_TEST(unlocking_a_comutex_outside_a_coroutine_aborts_naming_it)
{
    t_expect_abort_naming(unlock_outside_coroutine, mutex_culprit(), NULL);
    t_silence_stderr();
    unlock_outside_coroutine();
}
END_TEST

static void coroutine_fn lock_and_end(void *opaque)
{
    qemu_co_mutex_lock(&misuse_mutex);
}

static void end_holding_mutex(void)
{
    qemu_co_mutex_init(&misuse_mutex);
    start(lock_and_end, NULL);
}

START_TEST(coroutine_ending_while_holding_a_comutex_aborts)
{
    t_expect_abort_naming(end_holding_mutex, NULL, NULL);
    t_silence_stderr();
    end_holding_mutex();
}
END_TEST

/* ---- across threads (trap 25) ------------------------------------------- */

/*
 * Coroutines in two threads bump a counter under one CoMutex and, after
 * each unlock, an atomic one; the two must agree.  The threads start
 * together (a barrier); every `inside`-th critical section yields (the
 * coroutine reschedules itself, or sleeps), so lockers of both threads find the
 * mutex held for a while and queue; every `outside`-th iteration yields
 * outside it, so the coroutines of one thread interleave.
 */
typedef struct {
    CoMutex m;
    long counter;           /* protected by m */
    long atomic_counter;    /* incremented after each unlock */
    int iterations;
    int per_thread;
    int inside, outside;
    int64_t sleep_ns;       /* how an inside yield waits; 0: reschedule */
    int finished;
    int waiters_seen;       /* critical sections with lockers queued */
    pthread_barrier_t go;
} Contended;

static void coroutine_fn yield_to_siblings(void)
{
    aio_co_schedule(qemu_get_current_aio_context(), qemu_coroutine_self());
    qemu_coroutine_yield();
}

static void coroutine_fn contended_worker(void *opaque)
{
    Contended *c = opaque;
    int i;

    for (i = 1; i <= c->iterations; i++) {
        qemu_co_mutex_lock(&c->m);
        c->counter++;
        if (__atomic_load_n(&c->m.locked, __ATOMIC_RELAXED) > 1) {
            c->waiters_seen++;
        }
        if (c->inside && i % c->inside == 0) {
            if (c->sleep_ns) {
                /* Longer than a locker spins: it has to queue. */
                qemu_co_sleep_ns(QEMU_CLOCK_REALTIME, c->sleep_ns);
            } else {
                yield_to_siblings();
            }
        }
        qemu_co_mutex_unlock(&c->m);
        __atomic_fetch_add(&c->atomic_counter, 1, __ATOMIC_RELAXED);
        if (c->outside && i % c->outside == 0) {
            yield_to_siblings();
        }
    }
    __atomic_fetch_add(&c->finished, 1, __ATOMIC_RELEASE);
}

static void contended_start_bh(void *opaque)
{
    Contended *c = opaque;
    int j;

    pthread_barrier_wait(&c->go);
    for (j = 0; j < c->per_thread; j++) {
        qemu_coroutine_enter(qemu_coroutine_create(contended_worker, c));
    }
}

static void run_contended(int per_thread, int iterations, int inside, int outside,
                          int64_t sleep_ns)
{
    IoThread t[2];
    Contended *c = g_new0(Contended, 1);
    int i;

    qemu_co_mutex_init(&c->m);
    c->iterations = iterations;
    c->per_thread = per_thread;
    c->inside = inside;
    c->outside = outside;
    c->sleep_ns = sleep_ns;
    pthread_barrier_init(&c->go, NULL, 2);
    iothread_start(&t[0]);
    iothread_start(&t[1]);
    for (i = 0; i < 2; i++) {
        aio_bh_schedule_oneshot(t[i].ctx, contended_start_bh, c);
    }
    wait_for_count(&c->finished, 2 * per_thread);
    iothread_join(&t[0]);
    iothread_join(&t[1]);
    pthread_barrier_destroy(&c->go);

    ck_assert_int_eq(c->counter, __atomic_load_n(&c->atomic_counter, __ATOMIC_RELAXED));
    ck_assert_int_eq(c->counter, (long)2 * per_thread * iterations);
    ck_assert_uint_eq(c->m.locked, 0);
    ck_assert_ptr_null(c->m.holder);
    ck_assert_ptr_null(c->m.from_push.slh_first);
    ck_assert_ptr_null(c->m.to_pop.slh_first);
    ck_assert_uint_eq(c->m.handoff, 0);
    /* sequence counts the hand-off tickets unlockers had to publish. */
    printf("co_mutex: 2 threads x %d coroutines x %d: %d sections with waiters, "
           "%u hand-off tickets\n", per_thread, iterations, c->waiters_seen,
           c->m.sequence);
    g_free(c);
}

START_TEST(co_mutex_contended_from_two_threads_keeps_the_counter_exact)
{
    run_contended(4, 20000, 16, 4, 0);
}
END_TEST

START_TEST(co_mutex_handoff_between_two_lone_lockers_loses_no_wakeup)
{
    /* One coroutine per thread: every wait is a cross-thread hand-off. */
    run_contended(1, 100000, 100, 0, 50 * 1000);
}
END_TEST

typedef struct {
    CoMutex m;
    AioContext *holder_ctx;
    AioContext *waiter_ctx;
    pthread_t waiter_thread;
    AioContext *ran_in_ctx;
    int ran_in_thread;
    int holding;
    int release;
    int waiting;
    int done;
} CrossWake;

static void coroutine_fn cross_holder(void *opaque)
{
    CrossWake *x = opaque;

    qemu_co_mutex_lock(&x->m);
    __atomic_store_n(&x->holding, 1, __ATOMIC_RELEASE);
    /* Hold the mutex until the test lets go: sleep in small steps. */
    while (!__atomic_load_n(&x->release, __ATOMIC_ACQUIRE)) {
        qemu_co_sleep_ns(QEMU_CLOCK_REALTIME, 1000000);
    }
    qemu_co_mutex_unlock(&x->m);
    __atomic_fetch_add(&x->done, 1, __ATOMIC_RELEASE);
}

static void coroutine_fn cross_waiter(void *opaque)
{
    CrossWake *x = opaque;

    x->waiter_thread = pthread_self();
    __atomic_store_n(&x->waiting, 1, __ATOMIC_RELEASE);
    qemu_co_mutex_lock(&x->m);
    x->ran_in_ctx = qemu_get_current_aio_context();
    x->ran_in_thread = pthread_equal(pthread_self(), x->waiter_thread);
    qemu_co_mutex_unlock(&x->m);
    __atomic_fetch_add(&x->done, 1, __ATOMIC_RELEASE);
}

START_TEST(co_mutex_waiter_resumes_in_its_own_context)
{
    IoThread a, b;
    CrossWake *x = g_new0(CrossWake, 1);

    qemu_co_mutex_init(&x->m);
    iothread_start(&a);
    iothread_start(&b);
    spawn_in(a.ctx, cross_holder, x);
    wait_for_count(&x->holding, 1);
    spawn_in(b.ctx, cross_waiter, x);
    wait_for_count(&x->waiting, 1);
    /* Give the waiter time to park (either way the result must hold). */
    g_usleep(20000);
    __atomic_store_n(&x->release, 1, __ATOMIC_RELEASE);
    wait_for_count(&x->done, 2);
    iothread_join(&a);
    iothread_join(&b);

    ck_assert_ptr_eq(x->ran_in_ctx, b.ctx);
    ck_assert_int_eq(x->ran_in_thread, 1);
    ck_assert_uint_eq(x->m.locked, 0);
    g_free(x);
}
END_TEST

/*
 * The bias (lib/colock/co_mutex_bias.hh): a CoMutex used by one thread
 * only is taken without atomic read-modify-writes; the first other thread
 * revokes that.  Where the kernel has no membarrier the mutex is never
 * biased, and these tests check the plain protocol instead.
 */
#define T_BIAS_REVOKED 0xffffffffu

typedef struct {
    CoMutex m;
    long counter;           /* protected by m */
    int iterations;
    int owner_started;      /* the owner's loop is under way */
    int done;
} BiasRace;

/* Lock, bump, unlock in a loop that never yields of its own accord. */
static void coroutine_fn bias_race_locker(void *opaque)
{
    BiasRace *r = opaque;

    for (int i = 0; i < r->iterations; i++) {
        qemu_co_mutex_lock(&r->m);
        r->counter++;
        qemu_co_mutex_unlock(&r->m);
        if (i == 10) {
            __atomic_store_n(&r->owner_started, 1, __ATOMIC_RELEASE);
        }
    }
    __atomic_fetch_add(&r->done, 1, __ATOMIC_RELEASE);
}

/* Comes in while the owner's thread is in its loop: revokes mid-flight. */
static void coroutine_fn bias_race_intruder(void *opaque)
{
    BiasRace *r = opaque;

    while (!__atomic_load_n(&r->owner_started, __ATOMIC_ACQUIRE)) {
        /* spin: the owner runs on the other thread */
    }
    bias_race_locker(r);
}

START_TEST(co_mutex_bias_revoked_while_the_owner_locks_in_a_loop_loses_nothing)
{
    IoThread a, b;
    int rounds = 200;

    iothread_start(&a);
    iothread_start(&b);
    for (int k = 0; k < rounds; k++) {
        BiasRace *r = g_new0(BiasRace, 1);

        qemu_co_mutex_init(&r->m);
        r->iterations = 2000;
        spawn_in(a.ctx, bias_race_locker, r);
        spawn_in(b.ctx, bias_race_intruder, r);
        wait_for_count(&r->done, 2);
        ck_assert_int_eq(r->counter, 2L * r->iterations);
        ck_assert_uint_eq(r->m.bias, T_BIAS_REVOKED);
        ck_assert_uint_eq(r->m.locked, 0);
        ck_assert_ptr_null(r->m.holder);
        ck_assert_ptr_null(r->m.from_push.slh_first);
        ck_assert_ptr_null(r->m.to_pop.slh_first);
        g_free(r);
    }
    iothread_join(&a);
    iothread_join(&b);
    printf("co_mutex bias: %d rounds of a revocation racing the owner's loop\n", rounds);
}
END_TEST

typedef struct {
    CoMutex m;
    AioContext *there;
    unsigned bias_after_first;  /* bias once the owner thread used it */
    int locked_there;           /* qemu_co_mutex_assert_locked held there */
    int done;
} BiasMove;

static void coroutine_fn bias_mover(void *opaque)
{
    BiasMove *mv = opaque;

    qemu_co_mutex_lock(&mv->m);
    qemu_co_mutex_unlock(&mv->m);
    mv->bias_after_first = mv->m.bias;
    qemu_co_mutex_lock(&mv->m);
    /* Still holding it, on to the other thread, and release it there. */
    aio_co_reschedule_self(mv->there);
    qemu_co_mutex_assert_locked(&mv->m);
    mv->locked_there = 1;
    qemu_co_mutex_unlock(&mv->m);
    __atomic_fetch_add(&mv->done, 1, __ATOMIC_RELEASE);
}

static void coroutine_fn bias_relocker(void *opaque)
{
    BiasMove *mv = opaque;

    qemu_co_mutex_lock(&mv->m);
    qemu_co_mutex_unlock(&mv->m);
    __atomic_fetch_add(&mv->done, 1, __ATOMIC_RELEASE);
}

START_TEST(co_mutex_held_by_a_coroutine_that_moves_thread_is_released_there)
{
    IoThread a, b;
    BiasMove *mv = g_new0(BiasMove, 1);

    qemu_co_mutex_init(&mv->m);
    iothread_start(&a);
    iothread_start(&b);
    mv->there = b.ctx;
    spawn_in(a.ctx, bias_mover, mv);
    wait_for_count(&mv->done, 1);
    /* Biased to a's thread after its first use, unless biasing is off. */
    ck_assert_uint_ne(mv->bias_after_first, 0);
    ck_assert_int_eq(mv->locked_there, 1);
    ck_assert_uint_eq(mv->m.bias, T_BIAS_REVOKED);
    ck_assert_uint_eq(mv->m.locked, 0);
    ck_assert_ptr_null(mv->m.holder);
    /* The owner's thread takes it again, now in the atomic protocol. */
    spawn_in(a.ctx, bias_relocker, mv);
    wait_for_count(&mv->done, 2);
    ck_assert_uint_eq(mv->m.locked, 0);
    iothread_join(&a);
    iothread_join(&b);
    printf("co_mutex bias: after the owner's first use the bias word was %#x%s\n",
           mv->bias_after_first,
           mv->bias_after_first == T_BIAS_REVOKED ? " (biasing off here)" : "");
    g_free(mv);
}
END_TEST

/*
 * Start-up: registering for membarrier costs an RCU grace period (tens of
 * ms) once a process has threads, so libqaio registers at load, while it
 * has one.  The first CoMutex of a process that already runs another
 * thread is biased without registering on the way: from here on a seccomp
 * filter refuses the registration.
 */
#if defined(__SANITIZE_THREAD__)
#define T_BIAS_OFF_IN_BUILD 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define T_BIAS_OFF_IN_BUILD 1
#endif
#endif

/* Sends membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) of this thread
 * and the threads it creates afterwards to seccomp `action`; returns what
 * seccomp() does (-1 where filters are not allowed, a listener with
 * SECCOMP_FILTER_FLAG_NEW_LISTENER). */
static int filter_membarrier_registration(unsigned action, unsigned flags)
{
    /* The low half of the first argument (the command). */
    unsigned cmd_offset = offsetof(struct seccomp_data, args[0]) +
                          (__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__ ? 4 : 0);
    struct sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_membarrier, 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, cmd_offset),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, action),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = { .len = ARRAY_SIZE(filter), .filter = filter };

    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        return -1;
    }
    return (int)syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
}

static void *idle_until_cancelled(void *unused)
{
    for (;;) {
        pause();
    }
    return NULL;
}

typedef struct {
    CoMutex m;
    unsigned bias_while_held;
    int done;
} FirstLock;

static void coroutine_fn first_lock(void *opaque)
{
    FirstLock *f = opaque;

    qemu_co_mutex_lock(&f->m);
    f->bias_while_held = f->m.bias;
    qemu_co_mutex_unlock(&f->m);
    __atomic_fetch_add(&f->done, 1, __ATOMIC_RELEASE);
}

START_TEST(first_co_mutex_of_a_threaded_process_is_biased_without_registering)
{
    FirstLock f = { .done = 0 };
    IoThread other;
    pthread_t idle;
    AioContext *ctx;

#ifdef T_BIAS_OFF_IN_BUILD
    printf("SKIP %s: no bias under TSan\n", __func__);
    return;
#endif
    if (getenv("QAIO_COMUTEX_BIAS")) {
        printf("SKIP %s: QAIO_COMUTEX_BIAS is set\n", __func__);
        return;
    }
    if (filter_membarrier_registration(SECCOMP_RET_ERRNO | EPERM, 0) != 0) {
        printf("SKIP %s: no seccomp filter (%s)\n", __func__, strerror(errno));
        return;
    }
    /* A registration now would fail, as the test shows: */
    ck_assert_int_eq(syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0),
                     -1);
    ck_assert_int_eq(errno, EPERM);

    ck_assert_int_eq(pthread_create(&idle, NULL, idle_until_cancelled, NULL), 0);
    ctx = new_ctx();
    qemu_co_mutex_init(&f.m);
    start(first_lock, &f);
    ck_assert_int_eq(f.done, 1);
    ck_assert_msg(f.bias_while_held != 0 && f.bias_while_held != T_BIAS_REVOKED,
                  "the first CoMutex was not biased (bias word %#x)", f.bias_while_held);
    /* Revocable: a coroutine of another thread takes it in turn. */
    iothread_start(&other);
    spawn_in(other.ctx, first_lock, &f);
    wait_for_count(&f.done, 2);
    ck_assert_uint_eq(f.bias_while_held, T_BIAS_REVOKED);
    iothread_join(&other);
    pthread_cancel(idle);
    pthread_join(idle, NULL);
    aio_context_unref(ctx);
}
END_TEST

/*
 * Start-up, libqaio loaded late: a process that already has threads when
 * it loads libqaio registers on a thread of libqaio's, at its first
 * CoMutex.  A second copy of libqaio, loaded with dlmopen into a namespace
 * of its own while this process runs two threads, shows it: the copy's
 * registration is held in a seccomp user notification while a coroutine of
 * the copy locks a CoMutex (which takes the atomic protocol: no bias before
 * registration), then let through, and the copy's next mutexes are biased.
 */
#if defined(__SANITIZE_ADDRESS__) || defined(T_BIAS_OFF_IN_BUILD)
#define T_NO_SECOND_COPY 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define T_NO_SECOND_COPY 1
#endif
#endif

typedef struct {
    Coroutine *(*create)(CoroutineEntry *entry, void *opaque);
    void (*enter)(Coroutine *co);
    void (*init)(CoMutex *m);
    void (*lock)(CoMutex *m);
    void (*unlock)(CoMutex *m);
} QaioCopy;

typedef struct {
    const QaioCopy *q;
    CoMutex m;
    unsigned bias_while_held;
} CopyLock;

static void coroutine_fn copy_lock_once(void *opaque)
{
    CopyLock *c = opaque;

    c->q->lock(&c->m);
    c->bias_while_held = c->m.bias;
    c->q->unlock(&c->m);
}

/* The bias word of a new mutex of the copy's while a coroutine holds it. */
static unsigned lock_in_copy(const QaioCopy *q)
{
    CopyLock c = { .q = q };

    q->init(&c.m);
    q->enter(q->create(copy_lock_once, &c));
    return c.bias_while_held;
}

START_TEST(libqaio_loaded_by_a_threaded_process_registers_off_the_lock_path)
{
    struct seccomp_notif req;
    struct seccomp_notif_resp resp;
    Dl_info self;
    pthread_t idle;
    QaioCopy q;
    int64_t end;
    unsigned bias;
    void *h;
    int listener;

#ifdef T_NO_SECOND_COPY
    printf("SKIP %s: sanitized build\n", __func__);
    return;
#endif
    if (getenv("QAIO_COMUTEX_BIAS")) {
        printf("SKIP %s: QAIO_COMUTEX_BIAS is set\n", __func__);
        return;
    }
    ck_assert(dladdr((void *)qemu_co_mutex_lock, &self) && self.dli_fname);
    ck_assert_int_eq(pthread_create(&idle, NULL, idle_until_cancelled, NULL), 0);
    listener = filter_membarrier_registration(SECCOMP_RET_USER_NOTIF,
                                              SECCOMP_FILTER_FLAG_NEW_LISTENER);
    if (listener < 0) {
        printf("SKIP %s: no seccomp user notification (%s)\n", __func__, strerror(errno));
        return;
    }
    h = dlmopen(LM_ID_NEWLM, self.dli_fname, RTLD_NOW | RTLD_LOCAL);
    ck_assert_msg(h, "dlmopen %s: %s", self.dli_fname, dlerror());
    q.create = dlsym(h, "qemu_coroutine_create");
    q.enter = dlsym(h, "qemu_coroutine_enter");
    q.init = dlsym(h, "qemu_co_mutex_init");
    q.lock = dlsym(h, "qemu_co_mutex_lock");
    q.unlock = dlsym(h, "qemu_co_mutex_unlock");
    ck_assert(q.create && q.enter && q.init && q.lock && q.unlock);

    /* Whatever the copy's registrar does, it cannot finish before the
     * notification below is answered: this lock does not wait for it. */
    ck_assert_uint_eq(lock_in_copy(&q), T_BIAS_REVOKED);

    memset(&req, 0, sizeof(req));
    ck_assert_int_eq(ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req), 0);
    ck_assert_int_eq(req.data.nr, __NR_membarrier);
    ck_assert_int_eq(req.data.args[0], MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED);
    ck_assert_int_ne(req.pid, (pid_t)syscall(SYS_gettid));
    memset(&resp, 0, sizeof(resp));
    resp.id = req.id;
    resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    ck_assert_int_eq(ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp), 0);

    end = t_now_ns() + 20 * 1000000000LL;
    while ((bias = lock_in_copy(&q)) == T_BIAS_REVOKED) {
        ck_assert_msg(t_now_ns() < end, "no mutex of the copy is biased after registration");
        g_usleep(1000);
    }
    ck_assert_uint_ne(bias, 0);
    close(listener);
    pthread_cancel(idle);
    pthread_join(idle, NULL);
}
END_TEST

static Suite *co_mutex_suite(void)
{
    Suite *s = suite_create("co_mutex");
    TCase *tc;

    tc = tcase_create("uncontended");
    tcase_add_test(tc, co_mutex_uncontended_lock_and_unlock_never_yield);
    tcase_add_test(tc, co_mutex_zero_filled_is_an_unlocked_mutex);
    tcase_add_test(tc, co_mutex_lock_counts_in_locks_held_and_records_the_holder_context);
    suite_add_tcase(s, tc);

    tc = tcase_create("contended");
    tcase_add_test(tc, co_mutex_unlock_hands_over_to_the_waiter_which_runs_after_the_holder);
    tcase_add_test(tc, co_mutex_through_make_lockable_hands_over_the_same_way);
    tcase_add_test(tc, co_mutex_unlock_wakes_waiters_in_fifo_order);
    tcase_add_test(tc, co_mutex_newcomer_cannot_barge_past_a_woken_waiter);
    suite_add_tcase(s, tc);

    tc = tcase_create("misuse");
    tcase_add_test_raise_signal(tc, unlocking_an_unlocked_comutex_aborts_naming_it, SIGABRT);
    tcase_add_test_raise_signal(tc, unlocking_a_comutex_held_by_another_coroutine_aborts_naming_it,
                                SIGABRT);
    tcase_add_test_raise_signal(tc, unlocking_a_comutex_outside_a_coroutine_aborts_naming_it,
                                SIGABRT);
    tcase_add_test_raise_signal(tc, coroutine_ending_while_holding_a_comutex_aborts, SIGABRT);
    suite_add_tcase(s, tc);

    tc = tcase_create("threads");
    tcase_add_test(tc, co_mutex_contended_from_two_threads_keeps_the_counter_exact);
    tcase_add_test(tc, co_mutex_handoff_between_two_lone_lockers_loses_no_wakeup);
    tcase_add_test(tc, co_mutex_waiter_resumes_in_its_own_context);
    tcase_add_test(tc, co_mutex_bias_revoked_while_the_owner_locks_in_a_loop_loses_nothing);
    tcase_add_test(tc, co_mutex_held_by_a_coroutine_that_moves_thread_is_released_there);
    tcase_add_test(tc, first_co_mutex_of_a_threaded_process_is_biased_without_registering);
    tcase_add_test(tc, libqaio_loaded_by_a_threaded_process_registers_off_the_lock_path);
    tcase_set_timeout(tc, 300);
    suite_add_tcase(s, tc);
    return s;
}

/* ======================================================================== */
/* Suite co_rwlock                                                          */
/* ======================================================================== */

static CoRwlock rwlock;

typedef struct {
    Log *log;
    const char *name;
    bool done;
} RwUser;

/* Take the lock, log the name, park until re-entered, unlock. */
static void coroutine_fn rw_reader_parks(void *opaque)
{
    RwUser *u = opaque;

    qemu_co_rwlock_rdlock(&rwlock);
    log_add(u->log, u->name);
    qemu_coroutine_yield();
    qemu_co_rwlock_unlock(&rwlock);
    u->done = true;
}

static void coroutine_fn rw_writer_parks(void *opaque)
{
    RwUser *u = opaque;

    qemu_co_rwlock_wrlock(&rwlock);
    log_add(u->log, u->name);
    qemu_coroutine_yield();
    qemu_co_rwlock_unlock(&rwlock);
    u->done = true;
}

START_TEST(co_rwlock_readers_share_the_lock)
{
    Log log = { .len = 0 };
    RwUser r1 = { &log, "a", false }, r2 = { &log, "b", false };
    Coroutine *c1, *c2;

    qemu_co_rwlock_init(&rwlock);
    c1 = start(rw_reader_parks, &r1);
    c2 = start(rw_reader_parks, &r2);
    ck_assert_str_eq(log.buf, "ab");
    ck_assert_int_eq(rwlock.owners, 2);
    qemu_coroutine_enter(c1);
    qemu_coroutine_enter(c2);
    ck_assert(r1.done && r2.done);
    ck_assert_int_eq(rwlock.owners, 0);
}
END_TEST

START_TEST(co_rwlock_writer_excludes_readers_and_writers)
{
    Log log = { .len = 0 };
    RwUser w1 = { &log, "W", false }, r = { &log, "r", false }, w2 = { &log, "X", false };
    Coroutine *cw1, *cr, *cw2;

    qemu_co_rwlock_init(&rwlock);
    cw1 = start(rw_writer_parks, &w1);
    ck_assert_int_eq(rwlock.owners, -1);
    cr = start(rw_reader_parks, &r);
    cw2 = start(rw_writer_parks, &w2);
    ck_assert_str_eq(log.buf, "W");

    /* Unlock admits the reader (head of the queue); the writer waits on. */
    qemu_coroutine_enter(cw1);
    ck_assert_str_eq(log.buf, "Wr");
    qemu_coroutine_enter(cr);
    ck_assert_str_eq(log.buf, "WrX");
    qemu_coroutine_enter(cw2);
    ck_assert(w1.done && r.done && w2.done);
    ck_assert_int_eq(rwlock.owners, 0);
}
END_TEST

START_TEST(co_rwlock_waiting_writer_holds_back_new_readers)
{
    Log log = { .len = 0 };
    RwUser r1 = { &log, "a", false }, w = { &log, "W", false }, r2 = { &log, "b", false };
    Coroutine *cr1, *cw, *cr2;

    qemu_co_rwlock_init(&rwlock);
    cr1 = start(rw_reader_parks, &r1);
    cw = start(rw_writer_parks, &w);
    /* Readers hold the lock, but a writer waits: a new reader queues. */
    cr2 = start(rw_reader_parks, &r2);
    ck_assert_str_eq(log.buf, "a");

    qemu_coroutine_enter(cr1);
    ck_assert_str_eq(log.buf, "aW");
    qemu_coroutine_enter(cw);
    ck_assert_str_eq(log.buf, "aWb");
    qemu_coroutine_enter(cr2);
    ck_assert(r1.done && w.done && r2.done);
}
END_TEST

START_TEST(co_rwlock_unlock_admits_a_run_of_queued_readers_together)
{
    Log log = { .len = 0 };
    RwUser w = { &log, "W", false };
    RwUser r[3] = { { &log, "a", false }, { &log, "b", false }, { &log, "c", false } };
    RwUser w2 = { &log, "X", false };
    Coroutine *cw, *cr[3], *cw2;
    int i;

    qemu_co_rwlock_init(&rwlock);
    cw = start(rw_writer_parks, &w);
    for (i = 0; i < 3; i++) {
        cr[i] = start(rw_reader_parks, &r[i]);
    }
    cw2 = start(rw_writer_parks, &w2);

    /* All three readers get in at once; the writer behind them does not. */
    qemu_coroutine_enter(cw);
    ck_assert_str_eq(log.buf, "Wabc");
    ck_assert_int_eq(rwlock.owners, 3);
    for (i = 0; i < 3; i++) {
        qemu_coroutine_enter(cr[i]);
    }
    ck_assert_str_eq(log.buf, "WabcX");
    qemu_coroutine_enter(cw2);
    ck_assert(w.done && w2.done && r[0].done && r[1].done && r[2].done);
}
END_TEST

static void coroutine_fn rw_sole_reader_upgrades(void *opaque)
{
    RwUser *u = opaque;

    qemu_co_rwlock_rdlock(&rwlock);
    qemu_co_rwlock_upgrade(&rwlock);
    ck_assert_int_eq(rwlock.owners, -1);
    log_add(u->log, u->name);
    qemu_co_rwlock_unlock(&rwlock);
    u->done = true;
}

START_TEST(co_rwlock_upgrade_is_immediate_for_the_only_reader)
{
    Log log = { .len = 0 };
    RwUser u = { &log, "u", false };

    qemu_co_rwlock_init(&rwlock);
    start(rw_sole_reader_upgrades, &u);
    ck_assert(u.done);
    ck_assert_str_eq(log.buf, "u");
    ck_assert_int_eq(rwlock.owners, 0);
}
END_TEST

/* QEMU's /locking/co-rwlock/upgrade. */
static void coroutine_fn rwlock_yield_upgrade(void *opaque)
{
    qemu_co_rwlock_rdlock(&rwlock);
    qemu_coroutine_yield();

    qemu_co_rwlock_upgrade(&rwlock);
    qemu_co_rwlock_unlock(&rwlock);

    *(bool *)opaque = true;
}

static void coroutine_fn rwlock_wrlock_yield(void *opaque)
{
    qemu_co_rwlock_wrlock(&rwlock);
    qemu_coroutine_yield();

    qemu_co_rwlock_unlock(&rwlock);
    *(bool *)opaque = true;
}

START_TEST(co_rwlock_upgrade_queues_behind_a_waiting_writer)
{
    bool c1_done = false, c2_done = false;
    Coroutine *c1, *c2;

    qemu_co_rwlock_init(&rwlock);
    c1 = qemu_coroutine_create(rwlock_yield_upgrade, &c1_done);
    c2 = qemu_coroutine_create(rwlock_wrlock_yield, &c2_done);

    qemu_coroutine_enter(c1);
    qemu_coroutine_enter(c2);

    /* c1 gives up its read lock, c2 goes first; c1 sleeps. */
    qemu_coroutine_enter(c1);
    ck_assert(!c1_done);
    ck_assert(!c2_done);

    qemu_coroutine_enter(c2);
    ck_assert(c1_done);
    ck_assert(c2_done);
    ck_assert_int_eq(rwlock.owners, 0);
}
END_TEST

/* QEMU's /locking/co-rwlock/downgrade. */
static void coroutine_fn rwlock_rdlock_yield(void *opaque)
{
    qemu_co_rwlock_rdlock(&rwlock);
    qemu_coroutine_yield();

    qemu_co_rwlock_unlock(&rwlock);
    qemu_coroutine_yield();

    *(bool *)opaque = true;
}

static void coroutine_fn rwlock_wrlock_downgrade(void *opaque)
{
    qemu_co_rwlock_wrlock(&rwlock);

    qemu_co_rwlock_downgrade(&rwlock);
    qemu_co_rwlock_unlock(&rwlock);
    *(bool *)opaque = true;
}

static void coroutine_fn rwlock_rdlock(void *opaque)
{
    qemu_co_rwlock_rdlock(&rwlock);

    qemu_co_rwlock_unlock(&rwlock);
    *(bool *)opaque = true;
}

static void coroutine_fn rwlock_wrlock(void *opaque)
{
    qemu_co_rwlock_wrlock(&rwlock);

    qemu_co_rwlock_unlock(&rwlock);
    *(bool *)opaque = true;
}

START_TEST(co_rwlock_downgrade_lets_the_next_reader_in_without_blocking)
{
    bool c1_done = false, c2_done = false, c3_done = false, c4_done = false;
    Coroutine *c1, *c2, *c3, *c4;

    qemu_co_rwlock_init(&rwlock);
    c1 = qemu_coroutine_create(rwlock_rdlock_yield, &c1_done);
    c2 = qemu_coroutine_create(rwlock_wrlock_downgrade, &c2_done);
    c3 = qemu_coroutine_create(rwlock_rdlock, &c3_done);
    c4 = qemu_coroutine_create(rwlock_wrlock, &c4_done);

    qemu_coroutine_enter(c1);
    qemu_coroutine_enter(c2);
    qemu_coroutine_enter(c3);
    qemu_coroutine_enter(c4);

    qemu_coroutine_enter(c1);
    ck_assert(c2_done);
    ck_assert(c3_done);
    ck_assert(c4_done);

    qemu_coroutine_enter(c1);
    ck_assert(c1_done);
    ck_assert_int_eq(rwlock.owners, 0);
}
END_TEST

static void coroutine_fn rw_held_probe(void *opaque)
{
    size_t *held = opaque;
    Coroutine *self = qemu_coroutine_self();

    qemu_co_rwlock_rdlock(&rwlock);
    held[0] = self->locks_held;
    qemu_co_rwlock_upgrade(&rwlock);
    held[1] = self->locks_held;
    qemu_co_rwlock_downgrade(&rwlock);
    held[2] = self->locks_held;
    qemu_co_rwlock_unlock(&rwlock);
    held[3] = self->locks_held;
}

START_TEST(co_rwlock_counts_once_in_locks_held_through_upgrade_and_downgrade)
{
    size_t held[4] = { 9, 9, 9, 9 };

    qemu_co_rwlock_init(&rwlock);
    start(rw_held_probe, held);
    ck_assert_uint_eq(held[0], 1);
    ck_assert_uint_eq(held[1], 1);
    ck_assert_uint_eq(held[2], 1);
    ck_assert_uint_eq(held[3], 0);
}
END_TEST

/* ---- randomised model check (trap 24) ------------------------------------ */

enum { MODEL_COROUTINES = 6, MODEL_OPS = 300 };

typedef struct {
    Coroutine *co;
    uint64_t seed;
    bool parked;        /* yielded on purpose: the driver may enter it */
    bool finished;
} ModelCo;

static int model_readers, model_writers;
static long model_violations;
static long model_ops_done[4];

static uint64_t model_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void coroutine_fn model_park(ModelCo *m)
{
    m->parked = true;
    qemu_coroutine_yield();
}

static void model_check_read(void)
{
    if (model_writers != 0) {
        model_violations++;
    }
}

static void model_check_write(void)
{
    if (model_writers != 0 || model_readers != 0) {
        model_violations++;
    }
}

static void coroutine_fn model_worker(void *opaque)
{
    ModelCo *m = opaque;
    int i;

    for (i = 0; i < MODEL_OPS; i++) {
        int op = model_rand(&m->seed) % 4;

        model_ops_done[op]++;
        switch (op) {
        case 0:     /* read */
            qemu_co_rwlock_rdlock(&rwlock);
            model_check_read();
            model_readers++;
            model_park(m);
            model_readers--;
            qemu_co_rwlock_unlock(&rwlock);
            break;
        case 1:     /* write */
            qemu_co_rwlock_wrlock(&rwlock);
            model_check_write();
            model_writers++;
            model_park(m);
            model_writers--;
            qemu_co_rwlock_unlock(&rwlock);
            break;
        case 2:     /* read, then upgrade */
            qemu_co_rwlock_rdlock(&rwlock);
            model_check_read();
            model_readers++;
            model_park(m);
            model_readers--;
            qemu_co_rwlock_upgrade(&rwlock);
            model_check_write();
            model_writers++;
            model_park(m);
            model_writers--;
            qemu_co_rwlock_unlock(&rwlock);
            break;
        default:    /* write, then downgrade */
            qemu_co_rwlock_wrlock(&rwlock);
            model_check_write();
            model_writers++;
            model_park(m);
            model_writers--;
            qemu_co_rwlock_downgrade(&rwlock);
            model_check_read();
            model_readers++;
            model_park(m);
            model_readers--;
            qemu_co_rwlock_unlock(&rwlock);
            break;
        }
        if (model_rand(&m->seed) % 2) {
            model_park(m);
        }
    }
    m->finished = true;
}

static void run_model(uint64_t seed)
{
    ModelCo m[MODEL_COROUTINES];
    uint64_t s = seed;
    int i;

    qemu_co_rwlock_init(&rwlock);
    model_readers = model_writers = 0;
    model_violations = 0;
    for (i = 0; i < MODEL_COROUTINES; i++) {
        m[i].seed = seed * 7919 + i * 104729 + 1;
        m[i].co = qemu_coroutine_create(model_worker, &m[i]);
        m[i].parked = true;
        m[i].finished = false;
    }
    for (;;) {
        int ready[MODEL_COROUTINES], n = 0, unfinished = 0;

        for (i = 0; i < MODEL_COROUTINES; i++) {
            if (!m[i].finished) {
                unfinished++;
                if (m[i].parked) {
                    ready[n++] = i;
                }
            }
        }
        if (!unfinished) {
            break;
        }
        ck_assert_msg(n > 0, "seed %" PRIu64 ": %d coroutines blocked for good",
                      seed, unfinished);
        i = ready[model_rand(&s) % n];
        m[i].parked = false;
        qemu_coroutine_enter(m[i].co);
        ck_assert_msg(model_violations == 0, "seed %" PRIu64 ": exclusion broken", seed);
    }
    ck_assert_int_eq(rwlock.owners, 0);
    ck_assert(QSIMPLEQ_EMPTY(&rwlock.tickets));
}

START_TEST(co_rwlock_random_schedules_keep_exclusion_and_all_finish)
{
    uint64_t seed;

    for (seed = 1; seed <= 40; seed++) {
        run_model(seed);
    }
    /* Every kind of operation was exercised. */
    ck_assert(model_ops_done[0] && model_ops_done[1] && model_ops_done[2] &&
              model_ops_done[3]);
}
END_TEST

/* ---- misuse ------------------------------------------------------------- */

static char rw_name[64];

static const char *rwlock_culprit(void)
{
    snprintf(rw_name, sizeof(rw_name), "%p", (void *)&rwlock);
    return rw_name;
}

static void coroutine_fn rw_unlock_only(void *opaque)
{
    qemu_co_rwlock_unlock(&rwlock);
}

static void rw_unlock_unlocked(void)
{
    qemu_co_rwlock_init(&rwlock);
    start(rw_unlock_only, NULL);
}

START_TEST(unlocking_an_unlocked_corwlock_aborts_naming_it)
{
    t_expect_abort_naming(rw_unlock_unlocked, rwlock_culprit(), NULL);
    t_silence_stderr();
    rw_unlock_unlocked();
}
END_TEST

static void coroutine_fn rw_downgrade_only(void *opaque)
{
    qemu_co_rwlock_rdlock(&rwlock);
    qemu_co_rwlock_downgrade(&rwlock);
}

static void rw_downgrade_read_lock(void)
{
    qemu_co_rwlock_init(&rwlock);
    start(rw_downgrade_only, NULL);
}

START_TEST(downgrading_a_read_lock_aborts_naming_it)
{
    t_expect_abort_naming(rw_downgrade_read_lock, rwlock_culprit(), NULL);
    t_silence_stderr();
    rw_downgrade_read_lock();
}
END_TEST

static void coroutine_fn rw_upgrade_only(void *opaque)
{
    qemu_co_rwlock_upgrade(&rwlock);
}

static void rw_upgrade_unlocked(void)
{
    qemu_co_rwlock_init(&rwlock);
    start(rw_upgrade_only, NULL);
}

START_TEST(upgrading_without_a_read_lock_aborts_naming_it)
{
    t_expect_abort_naming(rw_upgrade_unlocked, rwlock_culprit(), NULL);
    t_silence_stderr();
    rw_upgrade_unlocked();
}
END_TEST

static void coroutine_fn rw_rdlock_and_end(void *opaque)
{
    qemu_co_rwlock_rdlock(&rwlock);
}

static void rw_end_holding(void)
{
    qemu_co_rwlock_init(&rwlock);
    start(rw_rdlock_and_end, NULL);
}

START_TEST(coroutine_ending_while_holding_a_corwlock_aborts)
{
    t_expect_abort_naming(rw_end_holding, NULL, NULL);
    t_silence_stderr();
    rw_end_holding();
}
END_TEST

/* ---- across threads ------------------------------------------------------ */

typedef struct {
    CoRwlock lock;
    int readers;            /* atomics: checked by everyone */
    int writers;
    int violations;
    long value;             /* written by writers only */
    int iterations;
    int finished;
} RwShared;

static void coroutine_fn rw_thread_worker(void *opaque)
{
    RwShared *s = opaque;
    uint64_t seed = (uintptr_t)qemu_coroutine_self() | 1;
    int i;

    for (i = 0; i < s->iterations; i++) {
        unsigned op = model_rand(&seed) % 4;

        if (op == 0) {
            qemu_co_rwlock_wrlock(&s->lock);
            if (__atomic_fetch_add(&s->writers, 1, __ATOMIC_SEQ_CST) != 0 ||
                __atomic_load_n(&s->readers, __ATOMIC_SEQ_CST) != 0) {
                __atomic_fetch_add(&s->violations, 1, __ATOMIC_RELAXED);
            }
            s->value++;
            __atomic_fetch_sub(&s->writers, 1, __ATOMIC_SEQ_CST);
            qemu_co_rwlock_unlock(&s->lock);
        } else {
            long v;

            qemu_co_rwlock_rdlock(&s->lock);
            __atomic_fetch_add(&s->readers, 1, __ATOMIC_SEQ_CST);
            if (__atomic_load_n(&s->writers, __ATOMIC_SEQ_CST) != 0) {
                __atomic_fetch_add(&s->violations, 1, __ATOMIC_RELAXED);
            }
            v = s->value;
            (void)v;
            __atomic_fetch_sub(&s->readers, 1, __ATOMIC_SEQ_CST);
            qemu_co_rwlock_unlock(&s->lock);
        }
    }
    __atomic_fetch_add(&s->finished, 1, __ATOMIC_RELEASE);
}

START_TEST(co_rwlock_from_two_threads_keeps_writers_exclusive)
{
    IoThread t[2];
    RwShared *s = g_new0(RwShared, 1);
    int i, j;

    qemu_co_rwlock_init(&s->lock);
    s->iterations = 5000;
    iothread_start(&t[0]);
    iothread_start(&t[1]);
    for (j = 0; j < 3; j++) {
        for (i = 0; i < 2; i++) {
            spawn_in(t[i].ctx, rw_thread_worker, s);
        }
    }
    wait_for_count(&s->finished, 6);
    iothread_join(&t[0]);
    iothread_join(&t[1]);
    ck_assert_int_eq(s->violations, 0);
    ck_assert_int_eq(s->lock.owners, 0);
    ck_assert_uint_eq(s->lock.mutex.locked, 0);
    g_free(s);
}
END_TEST

static Suite *co_rwlock_suite(void)
{
    Suite *s = suite_create("co_rwlock");
    TCase *tc;

    tc = tcase_create("basic");
    tcase_add_test(tc, co_rwlock_readers_share_the_lock);
    tcase_add_test(tc, co_rwlock_writer_excludes_readers_and_writers);
    tcase_add_test(tc, co_rwlock_counts_once_in_locks_held_through_upgrade_and_downgrade);
    suite_add_tcase(s, tc);

    tc = tcase_create("fairness");
    tcase_add_test(tc, co_rwlock_waiting_writer_holds_back_new_readers);
    tcase_add_test(tc, co_rwlock_unlock_admits_a_run_of_queued_readers_together);
    suite_add_tcase(s, tc);

    tc = tcase_create("upgrade_downgrade");
    tcase_add_test(tc, co_rwlock_upgrade_is_immediate_for_the_only_reader);
    tcase_add_test(tc, co_rwlock_upgrade_queues_behind_a_waiting_writer);
    tcase_add_test(tc, co_rwlock_downgrade_lets_the_next_reader_in_without_blocking);
    suite_add_tcase(s, tc);

    tc = tcase_create("model");
    tcase_add_test(tc, co_rwlock_random_schedules_keep_exclusion_and_all_finish);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);

    tc = tcase_create("misuse");
    tcase_add_test_raise_signal(tc, unlocking_an_unlocked_corwlock_aborts_naming_it, SIGABRT);
    tcase_add_test_raise_signal(tc, downgrading_a_read_lock_aborts_naming_it, SIGABRT);
    tcase_add_test_raise_signal(tc, upgrading_without_a_read_lock_aborts_naming_it, SIGABRT);
    tcase_add_test_raise_signal(tc, coroutine_ending_while_holding_a_corwlock_aborts, SIGABRT);
    suite_add_tcase(s, tc);

    tc = tcase_create("threads");
    tcase_add_test(tc, co_rwlock_from_two_threads_keeps_writers_exclusive);
    tcase_set_timeout(tc, 300);
    suite_add_tcase(s, tc);
    return s;
}

/* ======================================================================== */
/* Suite co_sleep                                                           */
/* ======================================================================== */

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
    AioContext *ctx = new_ctx();
    Sleeper s = { .ns = 5 * 1000 * 1000 };

    start(inline_sleeper, &s);
    ck_assert_int_eq(s.done, 0);
    ck_assert_int_ge(timerlistgroup_deadline_ns(&ctx->tlg), 0);
    run_until(ctx, &s.done, 1);
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
    AioContext *ctx = new_ctx();
    Sleeper s = { .ns = 3600LL * 1000 * 1000 * 1000 };

    start(sleeper_fn, &s);
    aio_bh_schedule_oneshot(ctx, wake_bh, &s.w);
    run_until(ctx, &s.done, 1);
    ck_assert_ptr_null(s.w.to_wake);
    ck_assert_ptr_eq(s.resumed_in, ctx);
    assert_no_timer(ctx);
    aio_context_unref(ctx);
}
END_TEST

START_TEST(co_sleep_woken_by_another_timer_resumes_early)
{
    AioContext *ctx = new_ctx();
    Sleeper s = { .ns = 3600LL * 1000 * 1000 * 1000 };
    QEMUTimer t;

    start(sleeper_fn, &s);
    aio_timer_init(ctx, &t, QEMU_CLOCK_REALTIME, SCALE_NS, wake_bh, &s.w);
    timer_mod(&t, qemu_clock_get_ns(QEMU_CLOCK_REALTIME) + 1000000);
    run_until(ctx, &s.done, 1);
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
    AioContext *ctx = new_ctx();
    Sleeper s = { .ns = 3600LL * 1000 * 1000 * 1000 };
    pthread_t th;

    ck_assert_int_eq(pthread_create(&th, NULL, wake_from_thread, &s), 0);
    start(sleeper_fn, &s);
    run_until(ctx, &s.done, 1);
    pthread_join(th, NULL);
    ck_assert_ptr_eq(s.resumed_in, ctx);
    assert_no_timer(ctx);
    aio_context_unref(ctx);
}
END_TEST

START_TEST(co_sleep_wake_before_the_sleep_is_a_no_op)
{
    AioContext *ctx = new_ctx();
    Sleeper s = { .ns = 2 * 1000 * 1000 };

    /* Nobody sleeps on it yet: nothing happens, the sleep runs its course. */
    qemu_co_sleep_wake(&s.w);
    start(sleeper_fn, &s);
    run_until(ctx, &s.done, 1);
    ck_assert_int_ge(s.slept_ns, s.ns);
    aio_context_unref(ctx);
}
END_TEST

START_TEST(co_sleep_wake_after_the_sleep_is_a_no_op)
{
    AioContext *ctx = new_ctx();
    Sleeper s = { .ns = 1000 * 1000 };

    start(sleeper_fn, &s);
    run_until(ctx, &s.done, 1);
    qemu_co_sleep_wake(&s.w);
    qemu_co_sleep_wake(&s.w);
    ck_assert(!aio_poll(ctx, false));
    aio_context_unref(ctx);
}
END_TEST

START_TEST(qemu_co_sleep_waits_without_a_timer_until_woken)
{
    AioContext *ctx = new_ctx();
    Sleeper s = { .ns = 0 };
    Coroutine *co;

    co = start(sleeper_fn, &s);
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

/* ---- races (trap 26) ----------------------------------------------------- */

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
    AioContext *ctx = new_ctx();
    Race *r = g_new0(Race, 1);
    pthread_t th;

    ck_assert_int_eq(pthread_create(&th, NULL, race_waker, r), 0);
    start(race_sleeper, r);
    run_until(ctx, &r->sleeps_done, RACE_SLEEPS);
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

    new_ctx();
    co = start(sleeper_fn, &s);
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
    AioContext *ctx = new_ctx();
    Coroutine *co;

    co = start(sleeper_fn, &s);
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
    Log log;
} TimeoutCase;

static void coroutine_fn timeout_entry_fn(void *opaque)
{
    TimeoutCase *t = opaque;

    t->ran_in = qemu_coroutine_self();
    log_add(&t->log, "e");
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
    log_add(&t->log, "c");
    t->ret = qemu_co_timeout(timeout_entry_fn, t, ns, timeout_clean);
    log_add(&t->log, "r");
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

    start(timeout_zero_caller, &t);
    ck_assert_int_eq(t.done, 1);
    ck_assert_int_eq(t.ret, 0);
    ck_assert_int_eq(t.ran, 1);
    ck_assert_ptr_eq(t.ran_in, t.caller);
    ck_assert_int_eq(t.cleaned, 0);
}
END_TEST

START_TEST(co_timeout_returns_0_when_entry_finishes_first_and_skips_clean)
{
    AioContext *ctx = new_ctx();
    TimeoutCase t = { 0 };

    start(timeout_caller, &t);
    run_until(ctx, &t.done, 1);
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
    AioContext *ctx = new_ctx();
    TimeoutCase t = { 0 };

    t.park_it = true;
    start(timeout_caller, &t);
    run_until(ctx, &t.done, 1);
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

/* ======================================================================== */
/* Suite co_io                                                              */
/* ======================================================================== */

/* qemu_co_sendv_recvv needs iov_send_recv from the support runtime. */
static bool have_iov_send_recv(void)
{
    if (dlsym(RTLD_DEFAULT, "iov_send_recv")) {
        return true;
    }
    fprintf(stderr, "SKIP: iov_send_recv is not in this libqaio (the support "
            "runtime's util/iov stand-in has not landed)\n");
    return false;
}

typedef struct {
    int fd;
    int resumed;
    AioContext *resumed_in;
} FdWaiter;

static void coroutine_fn fd_waiter(void *opaque)
{
    FdWaiter *w = opaque;

    yield_until_fd_readable(w->fd);
    w->resumed++;
    w->resumed_in = qemu_get_current_aio_context();
}

static void eventfd_write1(int fd)
{
    uint64_t one = 1;

    ck_assert_int_eq(write(fd, &one, sizeof(one)), sizeof(one));
}

START_TEST(yield_until_fd_readable_resumes_once_readable_and_removes_its_handler)
{
    AioContext *ctx = new_ctx();
    FdWaiter w = { t_eventfd(), 0, NULL };

    start(fd_waiter, &w);
    ck_assert(!aio_poll(ctx, false));
    ck_assert_int_eq(w.resumed, 0);

    eventfd_write1(w.fd);
    ck_assert(aio_poll(ctx, true));
    ck_assert_int_eq(w.resumed, 1);
    ck_assert_ptr_eq(w.resumed_in, ctx);

    /* Still readable, but no handler is left to make progress on it. */
    ck_assert(!aio_poll(ctx, false));
    close(w.fd);
    aio_context_unref(ctx);
}
END_TEST

static int old_handler_calls;

static void old_handler(void *opaque)
{
    old_handler_calls++;
}

START_TEST(yield_until_fd_readable_replaces_an_existing_handler)
{
    AioContext *ctx = new_ctx();
    FdWaiter w = { t_eventfd(), 0, NULL };

    aio_set_fd_handler(ctx, w.fd, false, old_handler, NULL, NULL, NULL, NULL);
    start(fd_waiter, &w);
    eventfd_write1(w.fd);
    ck_assert(aio_poll(ctx, true));
    ck_assert_int_eq(w.resumed, 1);
    ck_assert_int_eq(old_handler_calls, 0);
    ck_assert(!aio_poll(ctx, false));
    close(w.fd);
    aio_context_unref(ctx);
}
END_TEST

/* ---- sockets ------------------------------------------------------------- */

static void nonblocking_socketpair(int sv[2])
{
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
}

typedef struct {
    int fd;
    struct iovec *iov;
    unsigned iov_cnt;
    size_t offset;
    size_t bytes;
    bool do_send;
    ssize_t ret;
    int yields;             /* times we had to re-enter it */
    int done;
} SockIo;

static void coroutine_fn sock_io(void *opaque)
{
    SockIo *io = opaque;

    io->ret = qemu_co_sendv_recvv(io->fd, io->iov, io->iov_cnt, io->offset, io->bytes,
                                  io->do_send);
    io->done = 1;
}

START_TEST(co_recvv_gathers_every_byte_across_eagain_yields)
{
    int sv[2];
    char a[5], b[7];
    struct iovec iov[2] = { { a, sizeof(a) }, { b, sizeof(b) } };
    SockIo io = { 0 };
    Coroutine *co;

    if (!have_iov_send_recv()) {
        return;
    }
    nonblocking_socketpair(sv);
    io = (SockIo){ sv[0], iov, 2, 0, 12, false, 0, 0, 0 };
    co = start(sock_io, &io);
    ck_assert_int_eq(io.done, 0);
    ck_assert_int_eq(write(sv[1], "hello ", 6), 6);
    qemu_coroutine_enter(co);
    ck_assert_int_eq(io.done, 0);
    ck_assert_int_eq(write(sv[1], "world!", 6), 6);
    qemu_coroutine_enter(co);
    ck_assert_int_eq(io.done, 1);
    ck_assert_int_eq(io.ret, 12);
    ck_assert(memcmp(a, "hello", 5) == 0 && memcmp(b, " world!", 7) == 0);
    close(sv[0]);
    close(sv[1]);
}
END_TEST

START_TEST(co_recv_stops_at_end_of_stream_with_a_short_count)
{
    int sv[2];
    char buf[64];
    SockIo io;
    struct iovec iov = { buf, sizeof(buf) };

    if (!have_iov_send_recv()) {
        return;
    }
    nonblocking_socketpair(sv);
    ck_assert_int_eq(write(sv[1], "abc", 3), 3);
    close(sv[1]);
    io = (SockIo){ sv[0], &iov, 1, 0, sizeof(buf), false, 0, 0, 0 };
    start(sock_io, &io);
    ck_assert_int_eq(io.done, 1);
    ck_assert_int_eq(io.ret, 3);
    close(sv[0]);
}
END_TEST

typedef struct {
    int fd;
    char *buf;
    size_t bytes;
    bool do_send;
    ssize_t ret;
} SockBuf;

static void coroutine_fn sock_buf(void *opaque)
{
    SockBuf *b = opaque;

    b->ret = qemu_co_send_recv(b->fd, b->buf, b->bytes, b->do_send);
}

START_TEST(co_send_recv_returns_minus_errno_when_nothing_moved)
{
    int p[2];
    char buf[8];
    SockBuf b;

    if (!have_iov_send_recv()) {
        return;
    }
    /* A pipe is no socket: the very first transfer fails. */
    ck_assert_int_eq(pipe(p), 0);
    b = (SockBuf){ p[0], buf, sizeof(buf), false, 0 };
    start(sock_buf, &b);
    ck_assert_int_eq(b.ret, -ENOTSOCK);
    close(p[0]);
    close(p[1]);
}
END_TEST

START_TEST(co_sendv_sends_the_range_from_an_offset_across_elements)
{
    int sv[2];
    char x[4] = "0123", y[4] = "4567", z[4] = "89ab";
    struct iovec iov[3] = { { x, 4 }, { y, 4 }, { z, 4 } };
    char got[16] = { 0 };
    SockIo io;

    if (!have_iov_send_recv()) {
        return;
    }
    nonblocking_socketpair(sv);
    io = (SockIo){ sv[0], iov, 3, 3, 7, true, 0, 0, 0 };
    start(sock_io, &io);
    ck_assert_int_eq(io.done, 1);
    ck_assert_int_eq(io.ret, 7);
    ck_assert_int_eq(read(sv[1], got, sizeof(got)), 7);
    ck_assert_str_eq(got, "3456789");
    close(sv[0]);
    close(sv[1]);
}
END_TEST

START_TEST(co_send_yields_on_a_full_socket_and_finishes_after_the_peer_drains)
{
    enum { BIG = 4 * 1024 * 1024 };
    int sv[2];
    char *out = g_malloc(BIG), *in = g_malloc(BIG);
    size_t got = 0;
    SockBuf b;
    Coroutine *co;
    int i, reentries = 0;

    if (!have_iov_send_recv()) {
        g_free(out);
        g_free(in);
        return;
    }
    for (i = 0; i < BIG; i++) {
        out[i] = (char)(i * 31 + 7);
    }
    nonblocking_socketpair(sv);
    b = (SockBuf){ sv[0], out, BIG, true, -1 };
    co = qemu_coroutine_create(sock_buf, &b);
    qemu_coroutine_enter(co);
    while (got < BIG) {
        ssize_t r = read(sv[1], in + got, BIG - got);

        if (r < 0) {
            ck_assert_int_eq(errno, EAGAIN);
            /* Drained what was there: let the sender go on. */
            ck_assert_int_eq(b.ret, -1);
            qemu_coroutine_enter(co);
            reentries++;
            continue;
        }
        got += r;
    }
    ck_assert_int_eq(b.ret, BIG);
    ck_assert_int_gt(reentries, 0);
    ck_assert(memcmp(out, in, BIG) == 0);
    close(sv[0]);
    close(sv[1]);
    g_free(out);
    g_free(in);
}
END_TEST

static Suite *co_io_suite(void)
{
    Suite *s = suite_create("co_io");
    TCase *tc;

    tc = tcase_create("fd");
    tcase_add_test(tc, yield_until_fd_readable_resumes_once_readable_and_removes_its_handler);
    tcase_add_test(tc, yield_until_fd_readable_replaces_an_existing_handler);
    suite_add_tcase(s, tc);

    tc = tcase_create("socket");
    tcase_add_test(tc, co_recvv_gathers_every_byte_across_eagain_yields);
    tcase_add_test(tc, co_recv_stops_at_end_of_stream_with_a_short_count);
    tcase_add_test(tc, co_send_recv_returns_minus_errno_when_nothing_moved);
    tcase_add_test(tc, co_sendv_sends_the_range_from_an_offset_across_elements);
    tcase_add_test(tc, co_send_yields_on_a_full_socket_and_finishes_after_the_peer_drains);
    suite_add_tcase(s, tc);
    return s;
}

/* ======================================================================== */

int main(void)
{
    SRunner *sr = srunner_create(co_queue_suite());
    int failed;

    srunner_add_suite(sr, co_mutex_suite());
    srunner_add_suite(sr, co_rwlock_suite());
    srunner_add_suite(sr, co_sleep_suite());
    srunner_add_suite(sr, co_io_suite());
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
