/* SPDX-License-Identifier: MIT */
/*
 * Suite "co_mutex": CoMutex as a black box.  Covers QEMU 7.2's /locking/...
 * behaviours of test-coroutine (hand-over on unlock, the QemuLockable form),
 * the header semantics, the aborts that name a misused mutex, the mutex
 * contended from two threads with an exact counter (the cross-thread
 * hand-off trap), and the biased fast path with its membarrier registration
 * (seccomp filters play a kernel that refuses it).  Single-thread tests run
 * without any AioContext, as QEMU's test-coroutine does; cross-thread tests
 * run two contexts, each polled by its own thread.
 */
#define _GNU_SOURCE 1   /* dladdr, dlmopen */
#include "qemu/osdep.h"
#include "block/aio.h"
#include "qemu/coroutine.h"
#include "qemu/coroutine_int.h"
#include "helpers.h"

#ifndef _WIN32
#include <dlfcn.h>
#include <linux/membarrier.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#endif

typedef struct {
    CoMutex *m;
    TLog *log;
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
    t_co_start(mutex_lock_unlock, &u);
    ck_assert_int_eq(u.done, 1);
    ck_assert_uint_eq(m.locked, 0);
    ck_assert_ptr_null(m.holder);
}
END_TEST

START_TEST(co_mutex_zero_filled_is_an_unlocked_mutex)
{
    static CoMutex m;   /* zero-filled, never initialized */
    MUser u = { &m, NULL, NULL, 0 };

    t_co_start(mutex_lock_unlock, &u);
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
    AioContext *ctx = t_ctx_new_current();
    CoMutex m;
    HeldProbe p = { &m, 0, 0, NULL };

    qemu_co_mutex_init(&m);
    t_co_start(mutex_held_probe, &p);
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
    t_log_add(u->log, u->name);
    qemu_co_mutex_unlock(u->m);
    u->done = 1;
}

START_TEST(co_mutex_unlock_wakes_waiters_in_fifo_order)
{
    CoMutex m;
    TLog log = { .len = 0 };
    MUser u[5];
    const char *names[5] = { "1", "2", "3", "4", "5" };
    Coroutine *holder;
    int i;

    qemu_co_mutex_init(&m);
    holder = t_co_start(mutex_yield_inside, &m);
    for (i = 0; i < 5; i++) {
        u[i] = (MUser){ &m, &log, names[i], 0 };
        t_co_start(mutex_log_user, &u[i]);
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
    TLog *log;
    MUser *newcomer;
} Barger;

static void coroutine_fn mutex_unlock_then_newcomer(void *opaque)
{
    Barger *b = opaque;

    qemu_co_mutex_lock(b->m);
    t_log_add(b->log, "h");
    qemu_coroutine_yield();
    qemu_co_mutex_unlock(b->m);
    /* The mutex is promised to the waiter: a newcomer must queue. */
    t_co_start(mutex_log_user, b->newcomer);
    ck_assert_int_eq(b->newcomer->done, 0);
}

START_TEST(co_mutex_newcomer_cannot_barge_past_a_woken_waiter)
{
    CoMutex m;
    TLog log = { .len = 0 };
    MUser waiter = { &m, &log, "w", 0 };
    MUser newcomer = { &m, &log, "n", 0 };
    Barger b = { &m, &log, &newcomer };
    Coroutine *holder;

    qemu_co_mutex_init(&m);
    holder = t_co_start(mutex_unlock_then_newcomer, &b);
    t_co_start(mutex_log_user, &waiter);
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
    t_co_start(unlock_only, NULL);
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
    t_co_start(lock_and_yield, NULL);
    t_co_start(unlock_only, NULL);
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
    t_co_start(lock_and_end, NULL);
}

START_TEST(coroutine_ending_while_holding_a_comutex_aborts)
{
    t_expect_abort_naming(end_holding_mutex, NULL, NULL);
    t_silence_stderr();
    end_holding_mutex();
}
END_TEST

/* ---- across threads: the cross-thread hand-off ---------------------------- */

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
    TIoThread t[2];
    Contended *c = g_new0(Contended, 1);
    int i;

    qemu_co_mutex_init(&c->m);
    c->iterations = iterations;
    c->per_thread = per_thread;
    c->inside = inside;
    c->outside = outside;
    c->sleep_ns = sleep_ns;
    pthread_barrier_init(&c->go, NULL, 2);
    t_iothread_pair_start(&t[0], &t[1]);
    for (i = 0; i < 2; i++) {
        aio_bh_schedule_oneshot(t[i].ctx, contended_start_bh, c);
    }
    t_wait_for_count(&c->finished, 2 * per_thread);
    t_iothread_pair_join(&t[0], &t[1]);
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

/* Windows: the yields go through aio_co_schedule, whose wake-up costs
 * milliseconds under Wine, where 20000 iterations outlast the runner. */
#ifdef _WIN32
#define T_CONTENDED_ITERATIONS 500
#else
#define T_CONTENDED_ITERATIONS 20000
#endif

START_TEST(co_mutex_contended_from_two_threads_keeps_the_counter_exact)
{
    run_contended(4, T_CONTENDED_ITERATIONS, 16, 4, 0);
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
    TIoThread a, b;
    CrossWake *x = g_new0(CrossWake, 1);

    qemu_co_mutex_init(&x->m);
    t_iothread_pair_start(&a, &b);
    t_spawn_in(a.ctx, cross_holder, x);
    t_wait_for_count(&x->holding, 1);
    t_spawn_in(b.ctx, cross_waiter, x);
    t_wait_for_count(&x->waiting, 1);
    /* Give the waiter time to park (either way the result must hold). */
    g_usleep(20000);
    __atomic_store_n(&x->release, 1, __ATOMIC_RELEASE);
    t_wait_for_count(&x->done, 2);
    t_iothread_pair_join(&a, &b);

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
    TIoThread a, b;
    int rounds = 200;

    t_iothread_pair_start(&a, &b);
    for (int k = 0; k < rounds; k++) {
        BiasRace *r = g_new0(BiasRace, 1);

        qemu_co_mutex_init(&r->m);
        r->iterations = 2000;
        t_spawn_in(a.ctx, bias_race_locker, r);
        t_spawn_in(b.ctx, bias_race_intruder, r);
        t_wait_for_count(&r->done, 2);
        ck_assert_int_eq(r->counter, 2L * r->iterations);
        ck_assert_uint_eq(r->m.bias, T_BIAS_REVOKED);
        ck_assert_uint_eq(r->m.locked, 0);
        ck_assert_ptr_null(r->m.holder);
        ck_assert_ptr_null(r->m.from_push.slh_first);
        ck_assert_ptr_null(r->m.to_pop.slh_first);
        g_free(r);
    }
    t_iothread_pair_join(&a, &b);
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
    TIoThread a, b;
    BiasMove *mv = g_new0(BiasMove, 1);

    qemu_co_mutex_init(&mv->m);
    t_iothread_pair_start(&a, &b);
    mv->there = b.ctx;
    t_spawn_in(a.ctx, bias_mover, mv);
    t_wait_for_count(&mv->done, 1);
    /* Biased to a's thread after its first use, unless biasing is off. */
    ck_assert_uint_ne(mv->bias_after_first, 0);
    ck_assert_int_eq(mv->locked_there, 1);
    ck_assert_uint_eq(mv->m.bias, T_BIAS_REVOKED);
    ck_assert_uint_eq(mv->m.locked, 0);
    ck_assert_ptr_null(mv->m.holder);
    /* The owner's thread takes it again, now in the atomic protocol. */
    t_spawn_in(a.ctx, bias_relocker, mv);
    t_wait_for_count(&mv->done, 2);
    ck_assert_uint_eq(mv->m.locked, 0);
    t_iothread_pair_join(&a, &b);
    printf("co_mutex bias: after the owner's first use the bias word was %#x%s\n",
           mv->bias_after_first,
           mv->bias_after_first == T_BIAS_REVOKED ? " (biasing off here)" : "");
    g_free(mv);
}
END_TEST

#ifndef _WIN32
/* Linux: the start-up tests below play the kernel's membarrier
 * registration with seccomp filters and a second copy of libqaio (dlmopen);
 * Windows has no process-wide barrier, so its CoMutex is never biased. */
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
    TIoThread other;
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
    if (!t_fail_syscall(__func__, __NR_membarrier, 0,
                        MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, EPERM)) {
        return;
    }
    /* A registration now would fail, as the test shows: */
    ck_assert_int_eq(syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0),
                     -1);
    ck_assert_int_eq(errno, EPERM);

    ck_assert_int_eq(pthread_create(&idle, NULL, idle_until_cancelled, NULL), 0);
    ctx = t_ctx_new_current();
    qemu_co_mutex_init(&f.m);
    t_co_start(first_lock, &f);
    ck_assert_int_eq(f.done, 1);
    ck_assert_msg(f.bias_while_held != 0 && f.bias_while_held != T_BIAS_REVOKED,
                  "the first CoMutex was not biased (bias word %#x)", f.bias_while_held);
    /* Revocable: a coroutine of another thread takes it in turn. */
    t_iothread_start(&other);
    t_spawn_in(other.ctx, first_lock, &f);
    t_wait_for_count(&f.done, 2);
    ck_assert_uint_eq(f.bias_while_held, T_BIAS_REVOKED);
    t_iothread_join(&other);
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
    listener = t_filter_syscall(__NR_membarrier, 0, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED,
                                SECCOMP_RET_USER_NOTIF, SECCOMP_FILTER_FLAG_NEW_LISTENER);
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
#endif

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
#ifndef _WIN32
    tcase_add_test(tc, first_co_mutex_of_a_threaded_process_is_biased_without_registering);
    tcase_add_test(tc, libqaio_loaded_by_a_threaded_process_registers_off_the_lock_path);
#endif
    tcase_set_timeout(tc, 300);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return t_run_suite(co_mutex_suite());
}
