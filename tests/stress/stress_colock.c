/* SPDX-License-Identifier: MIT */
/*
 * Stress "colock": CoMutex and CoRwlock contended by coroutines spread over
 * five IOThread-like threads, holders moving to another thread (with
 * aio_co_reschedule_self) while they hold the lock, and waiters moving
 * between attempts.  Exclusion is checked inside every critical section,
 * and a plain (non-atomic) counter incremented under the lock must end
 * exactly at the sum of every coroutine's own count; the thread sanitizer
 * build also sees whether each hand-off orders the counter's accesses.
 */
#include "stress.h"
#include "../helpers.h"
#include "qemu/coroutine.h"

enum { THREADS = 5, WORKERS = 12 };

static s_iothread io[THREADS];

typedef struct {
    int id;
    Coroutine *co;
    unsigned long mine;   /* increments made by this coroutine */
    sem_t *done;
} Worker;

static CoMutex mutex;
static CoRwlock rwlock;
static unsigned long counter;        /* only under the lock */
static atomic_int inside;            /* holders of the mutex / writers */
static atomic_int readers;

static void coroutine_fn maybe_move(s_rng *rng, unsigned one_in)
{
    if (s_rand(rng, one_in) == 0) {
        aio_co_reschedule_self(io[s_rand(rng, THREADS)].ctx);
    }
}

static void coroutine_fn mutex_worker(void *opaque)
{
    Worker *w = opaque;
    s_rng rng;

    s_rng_seed(&rng, w->id + 300);
    while (s_running()) {
        qemu_co_mutex_lock(&mutex);
        s_check(atomic_fetch_add(&inside, 1) == 0, "two holders of the CoMutex");
        counter++;
        maybe_move(&rng, 4);  /* the holder moves to another thread */
        s_check(atomic_fetch_sub(&inside, 1) == 1, "two holders of the CoMutex");
        qemu_co_mutex_unlock(&mutex);
        w->mine++;
        s_progress();
        maybe_move(&rng, 3);
    }
    sem_post(w->done);
}

static void coroutine_fn write_locked(s_rng *rng)
{
    s_check(atomic_load(&readers) == 0, "a writer got in with readers inside");
    s_check(atomic_fetch_add(&inside, 1) == 0, "two writers inside");
    counter++;
    maybe_move(rng, 4);
}

static void coroutine_fn rwlock_worker(void *opaque)
{
    Worker *w = opaque;
    s_rng rng;

    s_rng_seed(&rng, w->id + 400);
    while (s_running()) {
        switch (s_rand(&rng, 4)) {
        case 0:  /* reader */
            qemu_co_rwlock_rdlock(&rwlock);
            atomic_fetch_add(&readers, 1);
            s_check(atomic_load(&inside) == 0, "a reader got in with a writer inside");
            maybe_move(&rng, 4);
            atomic_fetch_sub(&readers, 1);
            qemu_co_rwlock_unlock(&rwlock);
            break;
        case 1:  /* writer */
            qemu_co_rwlock_wrlock(&rwlock);
            write_locked(&rng);
            w->mine++;
            atomic_fetch_sub(&inside, 1);
            qemu_co_rwlock_unlock(&rwlock);
            break;
        case 2:  /* reader that upgrades */
            qemu_co_rwlock_rdlock(&rwlock);
            s_check(atomic_load(&inside) == 0, "a reader got in with a writer inside");
            maybe_move(&rng, 4);
            qemu_co_rwlock_upgrade(&rwlock);
            write_locked(&rng);
            w->mine++;
            atomic_fetch_sub(&inside, 1);
            qemu_co_rwlock_unlock(&rwlock);
            break;
        default:  /* writer that downgrades */
            qemu_co_rwlock_wrlock(&rwlock);
            write_locked(&rng);
            w->mine++;
            atomic_fetch_add(&readers, 1);
            atomic_fetch_sub(&inside, 1);
            qemu_co_rwlock_downgrade(&rwlock);
            maybe_move(&rng, 4);
            atomic_fetch_sub(&readers, 1);
            qemu_co_rwlock_unlock(&rwlock);
            break;
        }
        s_progress();
        maybe_move(&rng, 3);
    }
    sem_post(w->done);
}

static void contend(int rw)
{
    Worker w[WORKERS];
    sem_t done;
    unsigned long sum = 0;

    qemu_co_mutex_init(&mutex);
    qemu_co_rwlock_init(&rwlock);
    counter = 0;
    sem_init(&done, 0, 0);
    s_iothreads_start(io, THREADS);
    for (int i = 0; i < WORKERS; i++) {
        w[i] = (Worker){ .id = i, .done = &done };
        w[i].co = qemu_coroutine_create(rw ? rwlock_worker : mutex_worker, &w[i]);
        aio_co_schedule(io[i % THREADS].ctx, w[i].co);
    }
    for (int i = 0; i < WORKERS; i++) {
        sem_wait(&done);
    }
    s_iothreads_stop_and_free(io, THREADS);
    sem_destroy(&done);
    for (int i = 0; i < WORKERS; i++) {
        sum += w[i].mine;
    }
    s_check(counter == sum, "counter %lu after %lu increments under the lock", counter, sum);
    s_check(sum > 0, "nobody got the lock");
    s_ops(sum);
}

int main(void)
{
    s_init("stress_colock", 2);
    s_run("comutex-holders-moving", contend, 0);
    s_run("corwlock-holders-moving", contend, 1);
    return s_finish();
}
