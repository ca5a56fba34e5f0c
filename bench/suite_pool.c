/* SPDX-License-Identifier: MIT */
/*
 * Suite "pool": the round trip of one job through a thread pool, from the
 * loop that submits it to the completion delivered back to that loop.  Two
 * jobs: an empty one (what the pool itself costs) and a 4 KiB pread from a
 * buffered file in /dev/shm (the shape of QEMU's `-i threads` reads).  Each
 * at queue depth 1 and 64: QD jobs are kept in flight, a completion
 * submitting the next.  One thread (the same for every subject) owns the
 * loop.  Subjects: qaio's thread_pool_submit_co (one coroutine per slot,
 * woken by the pool) and thread_pool_submit_aio (a completion callback that
 * resubmits); libuv's uv_queue_work with UV_THREADPOOL_SIZE set to qaio's
 * worker limit (64) before libuv's pool starts; glib's exclusive GThreadPool
 * of as many threads, whose worker hands the result back to the loop's
 * GMainContext with g_main_context_invoke().  One operation is one job.
 * Target: qaio (either path) at or below the best peer at QD1 and QD64.
 */
#include "config.h"

#include "bench.h"

#include "block/thread-pool.h"
#include "qemu/coroutine.h"

/* The context's pool at either API level: at 10.0 a ThreadPoolAio, whose
 * submissions go to the current context's pool (the host's). */
#if QAIO_QEMU_API_AT_LEAST(10, 0)
#define POOL_TYPE ThreadPoolAio
#define POOL_SUBMIT_CO(pool, func, arg) thread_pool_submit_co((func), (arg))
#define POOL_SUBMIT_AIO(pool, func, arg, cb, opaque) \
    thread_pool_submit_aio((func), (arg), (cb), (opaque))
#else
#define POOL_TYPE ThreadPool
#define POOL_SUBMIT_CO thread_pool_submit_co
#define POOL_SUBMIT_AIO thread_pool_submit_aio
#endif

#ifdef QAIO_HAVE_LIBUV
#include <uv.h>
#endif

#define POOL_THREADS        THREAD_POOL_MAX_THREADS_DEFAULT
#define POOL_MAX_QD         64
#define POOL_BS             4096
#define POOL_FILE_SIZE      (64u << 20)

enum { JOB_EMPTY, JOB_PREAD, N_JOB };
static const char *const job_name[N_JOB] = { "empty job", "pread 4k" };

typedef struct pool_state pool_state;

/* One in-flight job and what it needs: a buffer, an offset, a way home. */
typedef struct pool_slot {
    pool_state *s;
    void *buf;
    uint64_t seed;
    off_t offset;
#ifdef QAIO_HAVE_LIBUV
    uv_work_t uv_req;
#endif
} pool_slot;

struct pool_state {
    bench_worker *host;     /* owns every loop; measures */
    AioContext *ctx;
    POOL_TYPE *pool;
    char why[160];
    GMainContext *gctx;
    GThreadPool *gpool;
#ifdef QAIO_HAVE_LIBUV
    uv_loop_t uv_loop;
#endif
    int fd;                 /* the /dev/shm file; -1 when it failed */
    int job;                /* JOB_* of the current cases */
    int qd;
    uint64_t to_submit;     /* jobs of the batch not yet submitted */
    uint64_t in_flight;
    int errors;
    pool_slot slots[POOL_MAX_QD];
};

/* ---- the job, run on a pool thread --------------------------------------- */

static int pool_job(void *opaque)
{
    pool_slot *sl = opaque;

    if (sl->s->job == JOB_EMPTY) {
        return 0;
    }
    return pread(sl->s->fd, sl->buf, POOL_BS, sl->offset) == POOL_BS
           ? 0 : -EIO;
}

/* Claim the next job of the batch for a slot; false when all are out. */
static bool pool_next(pool_slot *sl)
{
    pool_state *s = sl->s;

    if (!s->to_submit) {
        return false;
    }
    s->to_submit--;
    sl->offset = (off_t)(bench_rand(&sl->seed) % (POOL_FILE_SIZE / POOL_BS))
                 * POOL_BS;
    return true;
}

static void pool_done(pool_slot *sl, int ret)
{
    if (ret) {
        sl->s->errors++;
    }
}

/* Start the batch: how many slots to fill (and so how many are busy). */
static int pool_begin(pool_state *s, uint64_t iters)
{
    s->to_submit = iters;
    s->in_flight = MIN((uint64_t)s->qd, iters);
    return (int)s->in_flight;
}

/* Run the qaio loop until every slot is idle again. */
static void pool_qaio_drain(pool_state *s)
{
    while (s->in_flight) {
        aio_poll(s->ctx, true);
    }
}

/* ---- qaio: thread_pool_submit_co ------------------------------------------ */

static void coroutine_fn pool_co(void *opaque)
{
    pool_slot *sl = opaque;

    while (pool_next(sl)) {
        pool_done(sl, POOL_SUBMIT_CO(sl->s->pool, pool_job, sl));
    }
    sl->s->in_flight--;
}

static void pool_co_body(void *opaque, uint64_t iters)
{
    pool_state *s = opaque;
    int n = pool_begin(s, iters);

    for (int i = 0; i < n; i++) {
        qemu_coroutine_enter(qemu_coroutine_create(pool_co, &s->slots[i]));
    }
    pool_qaio_drain(s);
}

/* ---- qaio: thread_pool_submit_aio ----------------------------------------- */

static void pool_aio_cb(void *opaque, int ret)
{
    pool_slot *sl = opaque;

    pool_done(sl, ret);
    if (pool_next(sl)) {
        POOL_SUBMIT_AIO(sl->s->pool, pool_job, sl, pool_aio_cb, sl);
    } else {
        sl->s->in_flight--;
    }
}

static void pool_aio_body(void *opaque, uint64_t iters)
{
    pool_state *s = opaque;
    int n = pool_begin(s, iters);

    for (int i = 0; i < n; i++) {
        pool_next(&s->slots[i]);
        POOL_SUBMIT_AIO(s->pool, pool_job, &s->slots[i], pool_aio_cb,
                        &s->slots[i]);
    }
    pool_qaio_drain(s);
}

/* ---- libuv: uv_queue_work ------------------------------------------------- */

#ifdef QAIO_HAVE_LIBUV
static void pool_uv_work(uv_work_t *req)
{
    pool_slot *sl = req->data;

    /* The result travels in the slot: uv_after_work_cb only gets a status. */
    sl->offset = pool_job(sl) ? -1 : sl->offset;
}

static void pool_uv_after(uv_work_t *req, int status)
{
    pool_slot *sl = req->data;

    pool_done(sl, status || sl->offset < 0);
    if (pool_next(sl)) {
        uv_queue_work(&sl->s->uv_loop, &sl->uv_req, pool_uv_work,
                      pool_uv_after);
    }
}

static void pool_uv_body(void *opaque, uint64_t iters)
{
    pool_state *s = opaque;
    int n = pool_begin(s, iters);

    for (int i = 0; i < n; i++) {
        pool_next(&s->slots[i]);
        uv_queue_work(&s->uv_loop, &s->slots[i].uv_req, pool_uv_work,
                      pool_uv_after);
    }
    /* Returns when no request is left. */
    uv_run(&s->uv_loop, UV_RUN_DEFAULT);
}
#endif

/* ---- glib: GThreadPool, completion through g_main_context_invoke --------- */

static gboolean pool_glib_complete(gpointer data)
{
    pool_slot *sl = data;
    pool_state *s = sl->s;

    /* offset < 0 marks a failed job, as for libuv. */
    pool_done(sl, sl->offset < 0);
    if (pool_next(sl)) {
        g_thread_pool_push(s->gpool, sl, NULL);
    } else {
        s->in_flight--;
    }
    return G_SOURCE_REMOVE;
}

static void pool_glib_work(gpointer data, gpointer user_data)
{
    pool_slot *sl = data;
    pool_state *s = user_data;

    sl->offset = pool_job(sl) ? -1 : sl->offset;
    g_main_context_invoke(s->gctx, pool_glib_complete, sl);
}

static void pool_glib_body(void *opaque, uint64_t iters)
{
    pool_state *s = opaque;
    int n = pool_begin(s, iters);

    for (int i = 0; i < n; i++) {
        pool_next(&s->slots[i]);
        g_thread_pool_push(s->gpool, &s->slots[i], NULL);
    }
    while (s->in_flight) {
        g_main_context_iteration(s->gctx, TRUE);
    }
}

/* ---- set-up on the host thread -------------------------------------------- */

static void pool_setup(void *opaque)
{
    pool_state *s = opaque;

    s->ctx = bench_context_new(NULL, s->why, sizeof(s->why));
    if (s->ctx) {
        qemu_set_current_aio_context(s->ctx);
        s->pool = aio_get_thread_pool(s->ctx);
    }
    /* The host owns the GMainContext, so invoke() from a worker queues. */
    s->gctx = g_main_context_new();
    g_main_context_push_thread_default(s->gctx);
    s->gpool = g_thread_pool_new(pool_glib_work, s, POOL_THREADS, TRUE, NULL);
#ifdef QAIO_HAVE_LIBUV
    uv_loop_init(&s->uv_loop);
#endif
}

static void pool_teardown(void *opaque)
{
    pool_state *s = opaque;

    g_thread_pool_free(s->gpool, FALSE, TRUE);
    g_main_context_pop_thread_default(s->gctx);
    g_main_context_unref(s->gctx);
#ifdef QAIO_HAVE_LIBUV
    uv_loop_close(&s->uv_loop);
#endif
    if (s->ctx) {
        aio_context_unref(s->ctx);
    }
}

/* A 64 MiB file in /dev/shm, written once so that every read hits a page. */
static int pool_open_file(void)
{
    char path[] = "/dev/shm/qaio-bench-pool-XXXXXX";
    int fd = mkstemp(path);
    char *chunk;

    if (fd < 0) {
        return -1;
    }
    unlink(path);
    chunk = g_malloc(1 << 20);
    memset(chunk, 0x5a, 1 << 20);
    for (unsigned off = 0; off < POOL_FILE_SIZE; off += 1 << 20) {
        if (pwrite(fd, chunk, 1 << 20, off) != 1 << 20) {
            close(fd);
            fd = -1;
            break;
        }
    }
    g_free(chunk);
    return fd;
}

/* ---- the suite ------------------------------------------------------------ */

enum { SUBJ_CO, SUBJ_AIO, SUBJ_UV, SUBJ_GLIB, N_SUBJ };
static const char *const subj_name[N_SUBJ] = {
    "qaio co", "qaio aio", "libuv", "glib",
};

static void pool_record(pool_state *s, bench_case *cases, const int *idx,
                        const char *case_name)
{
    bench_stats none = { .median_ns = -1 };
    const bench_stats *st[N_SUBJ];

    for (int k = 0; k < N_SUBJ; k++) {
        st[k] = idx[k] >= 0 ? &cases[idx[k]].stats : &none;
    }
    for (int k = 0; k < N_SUBJ; k++) {
        bench_result *r;

        if (idx[k] < 0) {
            continue;
        }
        r = bench_record("pool", case_name, subj_name[k], st[k]);
        if (k == SUBJ_CO || k == SUBJ_AIO) {
            /* Against the best peer: the larger of the two quotients. */
            double ru = bench_paired_ratio(st[k], st[SUBJ_UV]);
            double rg = bench_paired_ratio(st[k], st[SUBJ_GLIB]);

            if (idx[SUBJ_UV] >= 0) {
                bench_add_ratio(r, "qaio/libuv", ru);
            }
            bench_add_ratio(r, "qaio/glib", rg);
            bench_set_target(r, "≤1.0x best peer", 1.0, MAX(ru, rg));
        }
        if (s->errors) {
            bench_result_note(r, "%d jobs failed", s->errors);
        }
    }
}

static void pool_run(void)
{
    pool_state *s = g_new0(pool_state, 1);
    static const int qds[] = { 1, POOL_MAX_QD };
    int group = 0, ngroups = N_JOB * (int)ARRAY_SIZE(qds);

#ifdef QAIO_HAVE_LIBUV
    {
        /* libuv sizes its pool once, at its first use of it. */
        char n[16];

        snprintf(n, sizeof(n), "%d", POOL_THREADS);
        setenv("UV_THREADPOOL_SIZE", n, 1);
    }
#endif
    s->fd = pool_open_file();
    if (s->fd < 0) {
        bench_note("pool", "no file in /dev/shm (%s): no pread rows",
                   strerror(errno));
    }
    for (int i = 0; i < POOL_MAX_QD; i++) {
        pool_slot *sl = &s->slots[i];

        sl->s = s;
        sl->seed = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1);
        if (posix_memalign(&sl->buf, 4096, POOL_BS) != 0) {
            abort();
        }
#ifdef QAIO_HAVE_LIBUV
        sl->uv_req.data = sl;
#endif
    }
    s->host = bench_worker_start("bench-pool");
    bench_alive("[pool] set-up");
    bench_worker_call(s->host, pool_setup, s);
    if (!s->ctx) {
        bench_note("pool", "qaio not measured: %s", s->why);
    }

    for (int job = 0; job < N_JOB; job++) {
        for (size_t q = 0; q < ARRAY_SIZE(qds); q++) {
            bench_case cases[N_SUBJ];
            int idx[N_SUBJ] = { -1, -1, -1, -1 };
            char case_name[48];
            int n = 0;

            group++;
            if (job == JOB_PREAD && s->fd < 0) {
                continue;
            }
            s->job = job;
            s->qd = qds[q];
            s->errors = 0;
            snprintf(case_name, sizeof(case_name), "%s qd%d", job_name[job],
                     qds[q]);
            if (s->ctx) {
                idx[SUBJ_CO] = n;
                cases[n++] = BENCH_CASE("qaio co", pool_co_body, s, s->host);
                idx[SUBJ_AIO] = n;
                cases[n++] = BENCH_CASE("qaio aio", pool_aio_body, s, s->host);
            }
#ifdef QAIO_HAVE_LIBUV
            idx[SUBJ_UV] = n;
            cases[n++] = BENCH_CASE("libuv", pool_uv_body, s, s->host);
#endif
            idx[SUBJ_GLIB] = n;
            cases[n++] = BENCH_CASE("glib", pool_glib_body, s, s->host);
            bench_measure(cases, n, "pool", case_name, group, ngroups);
            pool_record(s, cases, idx, case_name);
        }
    }
    bench_note("pool", "%d threads in every pool; pread from a buffered "
               "64 MiB file in /dev/shm at random 4 KiB offsets",
               POOL_THREADS);

    bench_alive("[pool] tear-down");
    bench_worker_call(s->host, pool_teardown, s);
    bench_worker_stop(s->host);
    for (int i = 0; i < POOL_MAX_QD; i++) {
        free(s->slots[i].buf);
    }
    if (s->fd >= 0) {
        close(s->fd);
    }
    g_free(s);
}

const bench_suite bench_suite_pool = {
    .name = "pool",
    .summary = "thread-pool job round trip, beside uv_queue_work and "
               "GThreadPool",
    .run = pool_run,
};
