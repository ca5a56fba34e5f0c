/* SPDX-License-Identifier: MIT */
/*
 * Stress "coroutine_hop": coroutines moving between five IOThread-like
 * threads, each polling its own context.
 *  - hops: coroutines move to a random context with aio_co_reschedule_self
 *    and check, after every move, that they run in that context's thread
 *    and see it as the current context and themselves as self;
 *  - ping-pong: pairs of coroutines wake each other with aio_co_wake, each
 *    moving to a random context before waking its partner, so wake-ups
 *    cross threads or stay local at random; the two round counters must end
 *    equal (a lost wake-up hangs both: the watchdog).
 */
#include "stress.h"
#include "../helpers.h"
#include "qemu/coroutine.h"

enum { THREADS = 5, HOPPERS = 8, PAIRS = 4 };

static s_iothread io[THREADS];

static void start_threads(void)
{
    s_iothreads_start(io, THREADS);
}

static void stop_threads(void)
{
    s_iothreads_stop_and_free(io, THREADS);
}

/* Move to io[to] and check what the coroutine sees there. */
static void coroutine_fn hop_to(int to, Coroutine *self, const char *who, int id)
{
    aio_co_reschedule_self(io[to].ctx);
    s_check(qemu_get_current_aio_context() == io[to].ctx,
            "%s %d: current context is not thread %d's after the move", who, id, to);
    s_check(pthread_equal(pthread_self(), io[to].thread),
            "%s %d: not running in thread %d after the move", who, id, to);
    s_check(qemu_coroutine_self() == self, "%s %d: qemu_coroutine_self() changed", who, id);
    s_check(qemu_coroutine_get_aio_context(self) == io[to].ctx,
            "%s %d: recorded context is not thread %d's", who, id, to);
}

/* ---- hops ------------------------------------------------------------------- */

typedef struct {
    int id;
    Coroutine *co;
    unsigned long hops;
    sem_t *done;
} Hopper;

static void coroutine_fn hopper_fn(void *opaque)
{
    Hopper *h = opaque;
    s_rng rng;

    s_rng_seed(&rng, h->id + 100);
    while (s_running()) {
        hop_to(s_rand(&rng, THREADS), h->co, "hopper", h->id);
        h->hops++;
        s_progress();
    }
    sem_post(h->done);
}

static void hops(int unused)
{
    Hopper h[HOPPERS];
    sem_t done;
    unsigned long total = 0;

    sem_init(&done, 0, 0);
    start_threads();
    for (int i = 0; i < HOPPERS; i++) {
        h[i] = (Hopper){ .id = i, .done = &done };
        h[i].co = qemu_coroutine_create(hopper_fn, &h[i]);
        aio_co_schedule(io[i % THREADS].ctx, h[i].co);
    }
    for (int i = 0; i < HOPPERS; i++) {
        sem_wait(&done);
    }
    stop_threads();
    sem_destroy(&done);
    for (int i = 0; i < HOPPERS; i++) {
        total += h[i].hops;
    }
    s_check(total > 0, "no hop happened");
    s_ops(total);
}

/* ---- ping-pong ------------------------------------------------------------- */

typedef struct Player Player;
struct Player {
    int id;
    Coroutine *co;
    Player *partner;
    unsigned long rounds;
    bool serving;         /* serves first and decides when to stop */
    atomic_bool over;     /* set by the server before its last wake */
    sem_t *done;
    sem_t *started;
};

static void coroutine_fn player_fn(void *opaque)
{
    Player *p = opaque;
    s_rng rng;

    s_rng_seed(&rng, p->id + 200);
    if (!p->serving) {
        sem_post(p->started);
        qemu_coroutine_yield();  /* until the first serve */
    }
    for (;;) {
        if (atomic_load(&p->over)) {
            break;
        }
        hop_to(s_rand(&rng, THREADS), p->co, "player", p->id);
        p->rounds++;
        s_progress();
        if (p->serving && !s_running()) {
            atomic_store(&p->partner->over, true);
            aio_co_wake(p->partner->co);
            break;
        }
        aio_co_wake(p->partner->co);
        qemu_coroutine_yield();
    }
    sem_post(p->done);
}

static void ping_pong(int unused)
{
    Player p[2 * PAIRS];
    sem_t done, started;
    unsigned long total = 0;

    sem_init(&done, 0, 0);
    sem_init(&started, 0, 0);
    start_threads();
    for (int i = 0; i < 2 * PAIRS; i++) {
        p[i] = (Player){ .id = i, .serving = i % 2 == 0, .done = &done,
                         .started = &started };
        atomic_init(&p[i].over, false);
        p[i].partner = &p[i ^ 1];
        p[i].co = qemu_coroutine_create(player_fn, &p[i]);
    }
    /*
     * Receivers first: once one has started, its context is recorded, and
     * a wake that comes before its first yield is queued in its thread,
     * which runs it only after the yield.
     */
    for (int i = 1; i < 2 * PAIRS; i += 2) {
        aio_co_schedule(io[i % THREADS].ctx, p[i].co);
    }
    for (int i = 1; i < 2 * PAIRS; i += 2) {
        sem_wait(&started);
    }
    for (int i = 0; i < 2 * PAIRS; i += 2) {
        aio_co_schedule(io[i % THREADS].ctx, p[i].co);
    }
    for (int i = 0; i < 2 * PAIRS; i++) {
        sem_wait(&done);
    }
    stop_threads();
    sem_destroy(&done);
    sem_destroy(&started);
    for (int i = 0; i < 2 * PAIRS; i += 2) {
        s_check(p[i].rounds == p[i + 1].rounds + 1,
                "pair %d: server %lu rounds, receiver %lu (expected one fewer)",
                i / 2, p[i].rounds, p[i + 1].rounds);
        total += p[i].rounds + p[i + 1].rounds;
    }
    s_check(total > 0, "no round was played");
    s_ops(total);
}

int main(void)
{
    s_init("stress_coroutine_hop", 2);
    s_run("reschedule-hops", hops, 0);
    s_run("wake-ping-pong", ping_pong, 0);
    return s_finish();
}
