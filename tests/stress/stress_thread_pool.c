/* SPDX-License-Identifier: MIT */
/*
 * Stress "thread_pool": batches of requests submitted to the pools of two
 * IOThread-like contexts at once, some cancelled (cancel_async, as
 * bdrv_aio_cancel_async does) right after submission, some after the loop
 * had a pass to complete them, so cancellation races workers taking and
 * finishing the work.  Every request must complete exactly once, with
 * -ECANCELED only if its work never ran (and never runs later) and with the
 * work's result otherwise; coroutines submitting with thread_pool_submit_co
 * meanwhile must get every result back.  Small pool limits keep a queue.
 */
#include "stress.h"
#include "../helpers.h"
#include "block/thread-pool.h"
#include "qemu/coroutine.h"

/* The context's pool at either API level: at 10.0 a ThreadPoolAio, and a
 * request goes to the current context's pool, which the checks below say
 * is the one the driver names. */
#if QAIO_QEMU_API_AT_LEAST(10, 0)
typedef ThreadPoolAio Pool;

static void check_current_pool(Pool *pool)
{
    s_check(pool == aio_get_thread_pool(qemu_get_current_aio_context()),
            "the driver's pool is not the current context's");
}

static BlockAIOCB *submit_aio(Pool *pool, ThreadPoolFunc *func, void *arg,
                              BlockCompletionFunc *cb, void *opaque)
{
    check_current_pool(pool);
    return thread_pool_submit_aio(func, arg, cb, opaque);
}

static int coroutine_fn submit_co(Pool *pool, ThreadPoolFunc *func, void *arg)
{
    check_current_pool(pool);
    return thread_pool_submit_co(func, arg);
}
#else
typedef ThreadPool Pool;
#define submit_aio thread_pool_submit_aio
#define submit_co thread_pool_submit_co
#endif

enum { HOMES = 2, BATCH = 64, CO_SUBMITTERS = 3 };

typedef struct {
    atomic_int started;
    atomic_int finished;
    int completions;
    int ret;
    unsigned spin;
    BlockAIOCB *acb;
    struct Home *home;
} Req;

typedef struct Home {
    int id;
    s_iothread io;
    Req reqs[BATCH];
    int outstanding;
    bool waiting;         /* the driver yielded for the last completion */
    Coroutine *driver;
    unsigned long done, cancelled, co_done;
    sem_t finished;
} Home;

static int work(void *opaque)
{
    Req *r = opaque;

    atomic_store(&r->started, 1);
    for (volatile unsigned i = 0; i < r->spin; i++) {
        /* a little work, so cancellation finds some requests running */
    }
    atomic_store(&r->finished, 1);
    return 7;
}

static void done_cb(void *opaque, int ret)
{
    Req *r = opaque;
    Home *h = r->home;

    r->completions++;
    r->ret = ret;
    r->acb = NULL;
    s_check(r->completions == 1, "a request completed twice");
    if (ret == -ECANCELED) {
        s_check(!atomic_load(&r->started), "a request ran and completed with -ECANCELED");
        h->cancelled++;
    } else {
        s_check(ret == 7, "a request completed with %d", ret);
        s_check(atomic_load(&r->finished), "a request completed before its work ended");
    }
    h->done++;
    s_progress();
    if (--h->outstanding == 0 && h->waiting) {
        h->waiting = false;
        aio_co_wake(h->driver);
    }
}

static void cancel(Req *r)
{
    if (r->acb && r->acb->aiocb_info->cancel_async) {
        r->acb->aiocb_info->cancel_async(r->acb);
    }
}

static void coroutine_fn driver_fn(void *opaque)
{
    Home *h = opaque;
    Pool *pool = aio_get_thread_pool(h->io.ctx);
    AioContext *ctx = h->io.ctx;
    s_rng rng;

    s_rng_seed(&rng, h->id + 800);
    while (s_running()) {
        memset(h->reqs, 0, sizeof(h->reqs));
        h->outstanding = BATCH;
        for (int i = 0; i < BATCH; i++) {
            Req *r = &h->reqs[i];

            r->home = h;
            r->spin = s_rand(&rng, 4) ? 0 : s_rand(&rng, 20000);
            r->acb = submit_aio(pool, work, r, done_cb, r);
            if (s_rand(&rng, 4) == 0) {
                cancel(r);  /* at once: usually still queued */
            }
        }
        /* One pass of the loop, then cancel some more of what is left. */
        aio_co_schedule(ctx, qemu_coroutine_self());
        qemu_coroutine_yield();
        for (int i = 0; i < BATCH; i++) {
            if (s_rand(&rng, 3) == 0) {
                cancel(&h->reqs[i]);
            }
        }
        if (h->outstanding) {
            h->waiting = true;
            qemu_coroutine_yield();  /* until the last completion */
        }
        for (int i = 0; i < BATCH; i++) {
            Req *r = &h->reqs[i];

            s_check(r->completions == 1, "a request completed %d times", r->completions);
            s_check(r->ret != -ECANCELED || !atomic_load(&r->started),
                    "a cancelled request ran after its completion");
        }
        s_ops(BATCH);
    }
    sem_post(&h->finished);
}

static int co_work(void *opaque)
{
    return (int)(intptr_t)opaque * 3;
}

static void coroutine_fn co_submitter_fn(void *opaque)
{
    Home *h = opaque;
    Pool *pool = aio_get_thread_pool(h->io.ctx);

    for (int n = 1; s_running(); n++) {
        int ret = submit_co(pool, co_work, (void *)(intptr_t)n);

        s_check(ret == n * 3, "thread_pool_submit_co returned %d for %d", ret, n * 3);
        h->co_done++;
        s_progress();
    }
    sem_post(&h->finished);
}

static void start_home(void *opaque)
{
    Home *h = opaque;

    aio_context_set_thread_pool_params(h->io.ctx, 0, 4, &error_abort);
    h->driver = qemu_coroutine_create(driver_fn, h);
    aio_co_enter(h->io.ctx, h->driver);
    for (int i = 0; i < CO_SUBMITTERS; i++) {
        aio_co_enter(h->io.ctx, qemu_coroutine_create(co_submitter_fn, h));
    }
}

static void cancel_storm(int unused)
{
    Home h[HOMES];
    unsigned long done = 0, cancelled = 0, co_done = 0;

    memset(h, 0, sizeof(h));
    for (int i = 0; i < HOMES; i++) {
        h[i].id = i;
        sem_init(&h[i].finished, 0, 0);
        s_iothread_start(&h[i].io, -1);
    }
    for (int i = 0; i < HOMES; i++) {
        s_run_in(h[i].io.ctx, start_home, &h[i]);
    }
    for (int i = 0; i < HOMES; i++) {
        for (int k = 0; k < 1 + CO_SUBMITTERS; k++) {
            sem_wait(&h[i].finished);
        }
    }
    for (int i = 0; i < HOMES; i++) {
        s_iothread_stop(&h[i].io);
        /* Frees the pool, which waits for its workers. */
        s_iothread_free(&h[i].io);
        for (int k = 0; k < BATCH; k++) {
            s_check(h[i].reqs[k].ret != -ECANCELED || !atomic_load(&h[i].reqs[k].started),
                    "a cancelled request ran after its completion");
        }
        done += h[i].done;
        cancelled += h[i].cancelled;
        co_done += h[i].co_done;
        sem_destroy(&h[i].finished);
    }
    printf("  %lu requests completed, %lu of them cancelled; %lu coroutine submissions\n",
           done, cancelled, co_done);
    s_check(done > 0 && co_done > 0, "nothing completed");
    s_ops(done + co_done);
}

int main(void)
{
    s_init("stress_thread_pool", 1);
    s_run("cancel-racing-completion", cancel_storm, 0);
    return s_finish();
}
