/* SPDX-License-Identifier: MIT */
/*
 * Suite "lock": what a CoMutex costs.  Uncontended: one coroutine on a
 * worker (whose thread has a current context, as in QEMU) locks and unlocks
 * one CoMutex in a loop; beside it, on the same worker and interleaved,
 * Boost.Context's bare jump_fcontext ping-pong, a pthread mutex
 * lock+unlock, and the two bare atomic read-modify-writes any lock word
 * needs (the floor of an unbiased CoMutex; a biased one, used by one
 * thread only, needs none).
 * Contended: coroutines in two threads, each thread polling its own
 * context, take turns on one CoMutex to bump a counter (QEMU's
 * test-aio-multithread /aio/multi/mutex shape): one coroutine per thread
 * (every wait is a hand-off across threads) and four per thread; a pthread
 * mutex bumped by the same two threads is the reference.  One operation is
 * one lock+unlock; the counter must come out exact.  Target: the
 * uncontended CoMutex at most 2x one bare jump (QEMU 7.2: ~21 ns); the
 * jump is timed there and back and reported per jump, as suite
 * "coroutine" reports it.
 */
#include "config.h"

#include "bench.h"
#include "qemu/coroutine.h"

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>

/*
 * Boost.Context's C-linkage primitives (libboost_context).  Weak, so that
 * the program links whether or not libboost_context is named on its own
 * link line (libqaio may bring it in); absent at run time, the bare case
 * is skipped with a note.
 */
typedef void *fcontext_t;
typedef struct {
    fcontext_t fctx;
    void *data;
} transfer_t;
transfer_t jump_fcontext(fcontext_t const to, void *vp) __attribute__((weak));
fcontext_t make_fcontext(void *sp, size_t size, void (*fn)(transfer_t))
    __attribute__((weak));

enum {
    LOCK_MAX_PER_THREAD = 4,
    LOCK_BARE_STACK = 64 * 1024,
};

typedef struct lock_state lock_state;

/* One contended coroutine's share of a batch. */
typedef struct lock_share {
    lock_state *s;
    uint64_t iters;
} lock_share;

/* A thread that polls its context until told to stop. */
typedef struct lock_poller {
    bench_worker *w;
    AioContext *ctx;
    atomic_int stop;
} lock_poller;

struct lock_state {
    char why[160];

    /* uncontended, on `single` */
    bench_worker *single;
    AioContext *ctx;
    CoMutex m;
    uint64_t iters;
    pthread_mutex_t pm;
    _Atomic unsigned word;
    void *bare_stack;
    fcontext_t bare_peer;

    /* contended, on two pollers */
    lock_poller p[2];
    CoMutex cm;
    pthread_mutex_t cpm;
    uint64_t counter;           /* under cm or cpm */
    uint64_t ops;               /* lock+unlock operations asked for */
    int per_thread;             /* coroutines per thread in this case */
    lock_share share[2 * LOCK_MAX_PER_THREAD];
    atomic_int running;
    sem_t done;
};

/* ---- uncontended ---------------------------------------------------------- */

static void coroutine_fn lock_loop(void *opaque)
{
    lock_state *s = opaque;

    for (uint64_t i = 0; i < s->iters; i++) {
        qemu_co_mutex_lock(&s->m);
        qemu_co_mutex_unlock(&s->m);
    }
}

static void lock_qaio_body(void *opaque, uint64_t iters)
{
    lock_state *s = opaque;

    s->iters = iters;
    qemu_coroutine_enter(qemu_coroutine_create(lock_loop, s));
}

static void lock_pthread_body(void *opaque, uint64_t iters)
{
    lock_state *s = opaque;

    for (uint64_t i = 0; i < iters; i++) {
        pthread_mutex_lock(&s->pm);
        pthread_mutex_unlock(&s->pm);
    }
}

/* The floor of any lock word: the two read-modify-writes lock and unlock
 * cannot do without, on a word nobody else touches. */
static void lock_atomics_body(void *opaque, uint64_t iters)
{
    lock_state *s = opaque;

    for (uint64_t i = 0; i < iters; i++) {
        unsigned expected = 0;

        atomic_compare_exchange_strong_explicit(&s->word, &expected, 1,
                                                memory_order_acquire,
                                                memory_order_relaxed);
        atomic_fetch_sub_explicit(&s->word, 1, memory_order_seq_cst);
    }
}

/* The other side of the ping-pong: jumps straight back, forever. */
static void lock_bare_peer(transfer_t t)
{
    for (;;) {
        t = jump_fcontext(t.fctx, NULL);
    }
}

static void lock_bare_body(void *opaque, uint64_t iters)
{
    lock_state *s = opaque;
    fcontext_t peer = s->bare_peer;

    for (uint64_t i = 0; i < iters; i++) {
        peer = jump_fcontext(peer, NULL).fctx;
    }
    s->bare_peer = peer;
}

static void lock_single_setup(void *opaque)
{
    lock_state *s = opaque;

    s->ctx = bench_context_new(NULL, s->why, sizeof(s->why));
    if (s->ctx) {
        qemu_set_current_aio_context(s->ctx);
    }
    qemu_co_mutex_init(&s->m);
    pthread_mutex_init(&s->pm, NULL);
    if (make_fcontext && jump_fcontext) {
        s->bare_stack = g_malloc(LOCK_BARE_STACK);
        s->bare_peer = make_fcontext((char *)s->bare_stack + LOCK_BARE_STACK,
                                     LOCK_BARE_STACK, lock_bare_peer);
    }
}

static void lock_single_teardown(void *opaque)
{
    lock_state *s = opaque;

    pthread_mutex_destroy(&s->pm);
    if (s->ctx) {
        aio_poll(s->ctx, false);
        aio_context_unref(s->ctx);
    }
    /* The bare peer is parked mid-loop on its stack: just drop both. */
    g_free(s->bare_stack);
}

/* ---- contended ------------------------------------------------------------ */

static void lock_poll_loop(void *opaque)
{
    lock_poller *p = opaque;

    while (!atomic_load_explicit(&p->stop, memory_order_acquire)) {
        aio_poll(p->ctx, true);
    }
}

static void lock_poller_stop_bh(void *opaque)
{
    lock_poller *p = opaque;

    atomic_store_explicit(&p->stop, 1, memory_order_release);
}

static void lock_share_done(lock_state *s)
{
    if (atomic_fetch_sub_explicit(&s->running, 1, memory_order_acq_rel) == 1) {
        sem_post(&s->done);
    }
}

static void coroutine_fn lock_contended_co(void *opaque)
{
    lock_share *sh = opaque;
    lock_state *s = sh->s;

    for (uint64_t i = 0; i < sh->iters; i++) {
        qemu_co_mutex_lock(&s->cm);
        s->counter++;
        qemu_co_mutex_unlock(&s->cm);
    }
    lock_share_done(s);
}

static void lock_spawn_bh(void *opaque)
{
    qemu_coroutine_enter(qemu_coroutine_create(lock_contended_co, opaque));
}

static void lock_pthread_bh(void *opaque)
{
    lock_share *sh = opaque;
    lock_state *s = sh->s;

    for (uint64_t i = 0; i < sh->iters; i++) {
        pthread_mutex_lock(&s->cpm);
        s->counter++;
        pthread_mutex_unlock(&s->cpm);
    }
    lock_share_done(s);
}

/* Split `iters` over `per_thread` shares in each poller and run them. */
static void lock_contended_run(lock_state *s, uint64_t iters, int per_thread,
                               QEMUBHFunc *fn)
{
    int n = 2 * per_thread;

    s->ops += iters;
    atomic_store(&s->running, n);
    for (int i = 0; i < n; i++) {
        s->share[i].s = s;
        s->share[i].iters = iters / n + (i < (int)(iters % n));
    }
    for (int i = 0; i < n; i++) {
        aio_bh_schedule_oneshot(s->p[i % 2].ctx, fn, &s->share[i]);
    }
    while (sem_wait(&s->done) != 0) {
        /* EINTR */
    }
}

static void lock_contended_qaio_body(void *opaque, uint64_t iters)
{
    lock_state *s = opaque;

    lock_contended_run(s, iters, s->per_thread, lock_spawn_bh);
}

static void lock_contended_pthread_body(void *opaque, uint64_t iters)
{
    lock_contended_run(opaque, iters, 1, lock_pthread_bh);
}

static void lock_poller_setup(void *opaque)
{
    lock_poller *p = opaque;
    char why[160];

    p->ctx = bench_context_new(NULL, why, sizeof(why));
    if (p->ctx) {
        qemu_set_current_aio_context(p->ctx);
    }
}

static void lock_poller_teardown(void *opaque)
{
    lock_poller *p = opaque;

    aio_poll(p->ctx, false);
    aio_context_unref(p->ctx);
}

/* The counter must equal the operations asked for; a lost update is news. */
static void lock_check_counter(bench_result *r, lock_state *s)
{
    if (s->counter != s->ops) {
        bench_result_note(r, "counter %" PRIu64 " after %" PRIu64
                          " lock+unlock: mutual exclusion broken", s->counter, s->ops);
    }
}

static void lock_note_rate(bench_result *r, const bench_stats *st)
{
    if (st->median_ns > 0 && !r->note[0]) {
        bench_result_note(r, "%.2f M lock+unlock/s", 1e3 / st->median_ns);
    }
}

static void lock_run_contended(lock_state *s)
{
    static const char *const labels[] = { "qaio 1/thread", "qaio 4/thread" };
    static const char *const names[] = { "contended 2x1 coroutines",
                                         "contended 2x4 coroutines" };
    static const int per[] = { 1, 4 };

    for (int k = 0; k < 2; k++) {
        bench_case cases[2];
        bench_result *r;

        s->per_thread = per[k];
        cases[0] = BENCH_CASE(labels[k], lock_contended_qaio_body, s, NULL);
        cases[1] = BENCH_CASE("pthread", lock_contended_pthread_body, s, NULL);

        s->counter = s->ops = 0;
        bench_measure(&cases[0], 1, "lock", names[k], 2 + k, 3);
        r = bench_record("lock", names[k], "qaio", &cases[0].stats);
        lock_check_counter(r, s);
        lock_note_rate(r, &cases[0].stats);

        if (k == 0) {
            /* The same two threads on a pthread mutex, for scale. */
            s->counter = s->ops = 0;
            bench_measure(&cases[1], 1, "lock", names[k], 2 + k, 3);
            r = bench_record("lock", names[k], "pthread", &cases[1].stats);
            lock_check_counter(r, s);
            lock_note_rate(r, &cases[1].stats);
        }
    }
}

/* Per jump from per round trip: every figure of the case halves. */
static void lock_halve(bench_stats *st)
{
    st->median_ns /= 2;
    st->min_ns /= 2;
    st->max_ns /= 2;
    for (int i = 0; i < st->repeats; i++) {
        st->samples[i] /= 2;
    }
}

static void lock_run(void)
{
    lock_state *s = g_new0(lock_state, 1);
    bench_case cases[4];
    int n = 0, iq = -1, ip, ia, ib = -1;

    sem_init(&s->done, 0, 0);
    s->single = bench_worker_start("bench-lock");
    bench_alive("[lock] set-up");
    bench_worker_call(s->single, lock_single_setup, s);

    /* ---- uncontended ---- */
    if (s->ctx) {
        iq = n;
        cases[n++] = BENCH_CASE("qaio", lock_qaio_body, s, s->single);
    } else {
        bench_note("lock", "qaio not measured: %s", s->why);
    }
    ip = n;
    cases[n++] = BENCH_CASE("pthread", lock_pthread_body, s, s->single);
    ia = n;
    cases[n++] = BENCH_CASE("atomics", lock_atomics_body, s, s->single);
    if (s->bare_peer) {
        ib = n;
        cases[n++] = BENCH_CASE("bare", lock_bare_body, s, s->single);
    } else {
        bench_note("lock", "bare jump not measured: libboost_context is not loaded");
    }
    bench_measure(cases, n, "lock", "uncontended lock+unlock", 1, 3);

    bench_stats none = { .median_ns = -1 };
    const bench_stats *q = iq >= 0 ? &cases[iq].stats : &none;
    bench_result *rq = NULL;
    if (iq >= 0) {
        rq = bench_record("lock", "uncontended lock+unlock", "qaio", &cases[iq].stats);
        /* One thread only: the bias holds unless it is switched off. */
        bench_result_note(rq, "%s", s->m.bias && s->m.bias != 0xffffffffu
                          ? "biased CoMutex: plain loads and stores (QAIO_COMUTEX_BIAS=0: "
                            "QEMU's atomic path)"
                          : "unbiased CoMutex: QEMU's atomic path");
    }
    {
        bench_result *r = bench_record("lock", "uncontended lock+unlock", "pthread",
                                       &cases[ip].stats);
        bench_add_ratio(r, "qaio/pthread", bench_paired_ratio(q, &cases[ip].stats));
    }
    {
        bench_result *r = bench_record("lock", "uncontended lock+unlock", "atomics",
                                       &cases[ia].stats);
        bench_add_ratio(r, "qaio/atomics", bench_paired_ratio(q, &cases[ia].stats));
        bench_result_note(r, "compare-and-swap + fetch_sub on a private word: the "
                          "floor of a lock word");
    }
    if (ib >= 0) {
        bench_stats *jump = &cases[ib].stats;
        double pair = jump->median_ns;

        /* Timed there and back; reported per jump, as suite "coroutine" does. */
        lock_halve(jump);
        bench_result *r = bench_record("lock", "uncontended lock+unlock", "bare",
                                       jump);
        double ratio = bench_paired_ratio(q, jump);

        bench_add_ratio(r, "qaio/jump", ratio);
        bench_add_ratio(r, "qaio/pair", bench_ratio(q->median_ns, pair));
        bench_set_target(r, "≤2.0x jump_fcontext", 2.0, ratio);
        bench_result_note(r, "Boost.Context jump_fcontext, one jump (there and back: "
                          "%.1f ns)", pair);
    } else if (rq) {
        bench_set_target(rq, "≤2.0x jump_fcontext", 2.0, -1);
        bench_result_note(rq, "no Boost.Context jump_fcontext: target not judged");
    }

    /* ---- contended ---- */
    if (s->ctx) {
        for (int i = 0; i < 2; i++) {
            char name[32];

            snprintf(name, sizeof(name), "bench-lock-%d", i);
            s->p[i].w = bench_worker_start(name);
            bench_worker_call(s->p[i].w, lock_poller_setup, &s->p[i]);
        }
        if (s->p[0].ctx && s->p[1].ctx) {
            qemu_co_mutex_init(&s->cm);
            pthread_mutex_init(&s->cpm, NULL);
            for (int i = 0; i < 2; i++) {
                bench_worker_post(s->p[i].w, lock_poll_loop, &s->p[i]);
            }
            lock_run_contended(s);
            bench_alive("[lock] tear-down");
            for (int i = 0; i < 2; i++) {
                aio_bh_schedule_oneshot(s->p[i].ctx, lock_poller_stop_bh, &s->p[i]);
                bench_worker_wait(s->p[i].w);
            }
            pthread_mutex_destroy(&s->cpm);
        } else {
            bench_note("lock", "contended cases not measured: no context");
        }
        for (int i = 0; i < 2; i++) {
            if (s->p[i].ctx) {
                bench_worker_call(s->p[i].w, lock_poller_teardown, &s->p[i]);
            }
            bench_worker_stop(s->p[i].w);
        }
    }

    bench_alive("[lock] tear-down");
    bench_worker_call(s->single, lock_single_teardown, s);
    bench_worker_stop(s->single);
    sem_destroy(&s->done);
    g_free(s);
}

const bench_suite bench_suite_lock = {
    .name = "lock",
    .summary = "CoMutex lock+unlock: uncontended (vs jump_fcontext), two threads",
    .run = lock_run,
};
