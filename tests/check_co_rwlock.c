/* SPDX-License-Identifier: MIT */
/*
 * Suite "co_rwlock": CoRwlock as a black box.  Covers QEMU 7.2's upgrade
 * and downgrade behaviours of test-coroutine, fairness between readers and
 * writers (the trap of waking the wrong kind of waiter), a randomised
 * reader/writer model, the aborts that name a misused lock, and the lock
 * used from two threads.  Order is read from logs, never from timing.
 */
#include "qemu/osdep.h"
#include "block/aio.h"
#include "qemu/coroutine.h"
#include "qemu/coroutine_int.h"
#include "helpers.h"

static CoRwlock rwlock;

typedef struct {
    TLog *log;
    const char *name;
    bool done;
} RwUser;

/* Take the lock, log the name, park until re-entered, unlock. */
static void coroutine_fn rw_reader_parks(void *opaque)
{
    RwUser *u = opaque;

    qemu_co_rwlock_rdlock(&rwlock);
    t_log_add(u->log, u->name);
    qemu_coroutine_yield();
    qemu_co_rwlock_unlock(&rwlock);
    u->done = true;
}

static void coroutine_fn rw_writer_parks(void *opaque)
{
    RwUser *u = opaque;

    qemu_co_rwlock_wrlock(&rwlock);
    t_log_add(u->log, u->name);
    qemu_coroutine_yield();
    qemu_co_rwlock_unlock(&rwlock);
    u->done = true;
}

START_TEST(co_rwlock_readers_share_the_lock)
{
    TLog log = { .len = 0 };
    RwUser r1 = { &log, "a", false }, r2 = { &log, "b", false };
    Coroutine *c1, *c2;

    qemu_co_rwlock_init(&rwlock);
    c1 = t_co_start(rw_reader_parks, &r1);
    c2 = t_co_start(rw_reader_parks, &r2);
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
    TLog log = { .len = 0 };
    RwUser w1 = { &log, "W", false }, r = { &log, "r", false }, w2 = { &log, "X", false };
    Coroutine *cw1, *cr, *cw2;

    qemu_co_rwlock_init(&rwlock);
    cw1 = t_co_start(rw_writer_parks, &w1);
    ck_assert_int_eq(rwlock.owners, -1);
    cr = t_co_start(rw_reader_parks, &r);
    cw2 = t_co_start(rw_writer_parks, &w2);
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
    TLog log = { .len = 0 };
    RwUser r1 = { &log, "a", false }, w = { &log, "W", false }, r2 = { &log, "b", false };
    Coroutine *cr1, *cw, *cr2;

    qemu_co_rwlock_init(&rwlock);
    cr1 = t_co_start(rw_reader_parks, &r1);
    cw = t_co_start(rw_writer_parks, &w);
    /* Readers hold the lock, but a writer waits: a new reader queues. */
    cr2 = t_co_start(rw_reader_parks, &r2);
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
    TLog log = { .len = 0 };
    RwUser w = { &log, "W", false };
    RwUser r[3] = { { &log, "a", false }, { &log, "b", false }, { &log, "c", false } };
    RwUser w2 = { &log, "X", false };
    Coroutine *cw, *cr[3], *cw2;
    int i;

    qemu_co_rwlock_init(&rwlock);
    cw = t_co_start(rw_writer_parks, &w);
    for (i = 0; i < 3; i++) {
        cr[i] = t_co_start(rw_reader_parks, &r[i]);
    }
    cw2 = t_co_start(rw_writer_parks, &w2);

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
    t_log_add(u->log, u->name);
    qemu_co_rwlock_unlock(&rwlock);
    u->done = true;
}

START_TEST(co_rwlock_upgrade_is_immediate_for_the_only_reader)
{
    TLog log = { .len = 0 };
    RwUser u = { &log, "u", false };

    qemu_co_rwlock_init(&rwlock);
    t_co_start(rw_sole_reader_upgrades, &u);
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
    t_co_start(rw_held_probe, held);
    ck_assert_uint_eq(held[0], 1);
    ck_assert_uint_eq(held[1], 1);
    ck_assert_uint_eq(held[2], 1);
    ck_assert_uint_eq(held[3], 0);
}
END_TEST

/* ---- randomised model check of fairness, upgrade and downgrade ----------- */

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
    t_co_start(rw_unlock_only, NULL);
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
    t_co_start(rw_downgrade_only, NULL);
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
    t_co_start(rw_upgrade_only, NULL);
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
    t_co_start(rw_rdlock_and_end, NULL);
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
    TIoThread t[2];
    RwShared *s = g_new0(RwShared, 1);
    int i, j;

    qemu_co_rwlock_init(&s->lock);
    s->iterations = 5000;
    t_iothread_pair_start(&t[0], &t[1]);
    for (j = 0; j < 3; j++) {
        for (i = 0; i < 2; i++) {
            t_spawn_in(t[i].ctx, rw_thread_worker, s);
        }
    }
    t_wait_for_count(&s->finished, 6);
    t_iothread_pair_join(&t[0], &t[1]);
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

int main(void)
{
    return t_run_suite(co_rwlock_suite());
}
