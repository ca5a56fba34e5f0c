/* SPDX-License-Identifier: MIT */
/*
 * Suite "thread_pool": the thread pool and BlockAIOCB helpers as a black box.
 * Covers QEMU 7.2's /thread-pool/... behaviours (submit, submit-aio,
 * submit-co, submit-many, cancel, cancel-async), the pool's limits
 * (aio_context_set_thread_pool_params validation, spawning up to min,
 * surplus and idle workers leaving), cancellation at every request state
 * with a callback count per request, and freeing a pool while its workers
 * exit (1,000 create/submit/free cycles).  Each test runs in its own context,
 * bound to the forked test's thread as QEMU's test binds the main context.
 * Long jobs wait on a gate the test opens instead of sleeping, and worker
 * threads are counted by name in /proc, so nothing depends on timing.
 * bdrv_aio_cancel and bdrv_aio_cancel_async belong to QEMU's block layer;
 * t_aio_cancel and t_aio_cancel_async below do what they are described to do.
 */
#include "qemu/osdep.h"
#include "block/aio.h"
#include "block/thread-pool.h"
#include "qemu/main-loop.h"
#include "qemu/coroutine.h"
#include "qapi/error.h"
#include "helpers.h"
#include "api_level.h"

#include <pthread.h>
#include <signal.h>
#ifdef _WIN32
#include <tlhelp32.h>
#include <unistd.h>     /* usleep: mingw's; qemu/osdep.h includes it on POSIX only */
/* kernel32's, Windows 10 1607 and later; mingw-w64 10's headers lack it. */
WINBASEAPI HRESULT WINAPI GetThreadDescription(HANDLE thread, PWSTR *description);
#else
#include <dirent.h>
#include <sys/syscall.h>
#endif

#if QAIO_QEMU_API_AT_LEAST(10, 0)
#include "qemu/defer-call.h"

/* At 10.0 the context's pool is a ThreadPoolAio and requests go to the
 * current context's pool: every pool this suite submits to is that one. */
typedef ThreadPoolAio TPool;
#define t_pool_new thread_pool_new_aio
#define t_pool_free thread_pool_free_aio

static BlockAIOCB *t_submit_aio(TPool *pool, ThreadPoolFunc *func, void *arg,
                                BlockCompletionFunc *cb, void *opaque)
{
    ck_assert_ptr_eq(pool, aio_get_thread_pool(qemu_get_current_aio_context()));
    return thread_pool_submit_aio(func, arg, cb, opaque);
}

static int coroutine_fn t_submit_co(TPool *pool, ThreadPoolFunc *func, void *arg)
{
    ck_assert_ptr_eq(pool, aio_get_thread_pool(qemu_get_current_aio_context()));
    return thread_pool_submit_co(func, arg);
}

/* 7.2's thread_pool_submit, a request without a callback. */
static void t_submit(TPool *pool, ThreadPoolFunc *func, void *arg)
{
    t_submit_aio(pool, func, arg, NULL, NULL);
}
#else
typedef ThreadPool TPool;
#define t_pool_new thread_pool_new
#define t_pool_free thread_pool_free
#define t_submit_aio thread_pool_submit_aio
#define t_submit_co thread_pool_submit_co
#define t_submit thread_pool_submit
#endif

/* BlockAIOCB and AIOCBInfo are embedded and defined by callers. */
_Static_assert(sizeof(BlockAIOCB) == 40, "BlockAIOCB size");
_Static_assert(offsetof(BlockAIOCB, aiocb_info) == 0, "BlockAIOCB.aiocb_info");
_Static_assert(offsetof(BlockAIOCB, bs) == 8, "BlockAIOCB.bs");
_Static_assert(offsetof(BlockAIOCB, cb) == 16, "BlockAIOCB.cb");
_Static_assert(offsetof(BlockAIOCB, opaque) == 24, "BlockAIOCB.opaque");
_Static_assert(offsetof(BlockAIOCB, refcnt) == 32, "BlockAIOCB.refcnt");
_Static_assert(offsetof(AIOCBInfo, cancel_async) == 0, "AIOCBInfo.cancel_async");
#if QAIO_QEMU_API_AT_LEAST(10, 0)
_Static_assert(sizeof(AIOCBInfo) == 16, "AIOCBInfo size");
_Static_assert(offsetof(AIOCBInfo, aiocb_size) == 8, "AIOCBInfo.aiocb_size");
#else
_Static_assert(sizeof(AIOCBInfo) == 24, "AIOCBInfo size");
_Static_assert(offsetof(AIOCBInfo, get_aio_context) == 8, "AIOCBInfo.get_aio_context");
_Static_assert(offsetof(AIOCBInfo, aiocb_size) == 16, "AIOCBInfo.aiocb_size");
#endif
_Static_assert(THREAD_POOL_MAX_THREADS_DEFAULT == 64, "default max workers");

/* What a gated job returns when the canceller marked it before it began. */
#define T_SAW_MARK 1

/* One request: n counts runs of the work (or holds the cancel test's
 * state bits), the callback records its calls and result. */
typedef struct {
    int n;
    int ret;
    int calls;
    int result;              /* what the work returns */
    int order;               /* position at which the work started */
    pthread_t work_thread;
    pid_t work_tid;          /* unlike pthread_t, not reused at once */
    pthread_t cb_thread;
    BlockAIOCB *aiocb;
} Job;

static AioContext *ctx;
static int active;           /* callbacks still due; callbacks are serialized */
static int started;          /* atomic: works that began */
static int next_order;       /* atomic */
static int cb_order[256];
static int n_cb_order;

/* ---- gate: long jobs wait until the test opens it --------------------- */

static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static bool gate_open;

static void gate_wait(void)
{
    pthread_mutex_lock(&gate_lock);
    while (!gate_open) {
        pthread_cond_wait(&gate_cond, &gate_lock);
    }
    pthread_mutex_unlock(&gate_lock);
}

static void gate_set(bool open)
{
    pthread_mutex_lock(&gate_lock);
    gate_open = open;
    pthread_cond_broadcast(&gate_cond);
    pthread_mutex_unlock(&gate_lock);
}

static void *gate_open_later(void *opaque)
{
    usleep(20 * 1000);
    gate_set(true);
    return NULL;
}

/* ---- work functions and callbacks ----------------------------------------- */

static int work(void *opaque)
{
    Job *j = opaque;

    j->work_thread = pthread_self();
#ifdef _WIN32
    j->work_tid = (pid_t)GetCurrentThreadId();
#else
    j->work_tid = (pid_t)syscall(SYS_gettid);
#endif
    j->order = qatomic_fetch_inc(&next_order);
    qatomic_inc(&j->n);
    return j->result;
}

static int slow_work(void *opaque)
{
    usleep(5 * 1000);
    return work(opaque);
}

/* Runs until the gate opens, unless the canceller marked the job first
 * (n: 1 = started, 2 = finished, 4 = marked for cancellation). */
static int gated_work(void *opaque)
{
    Job *j = opaque;

    if (qatomic_cmpxchg(&j->n, 0, 1) != 0) {
        return T_SAW_MARK;
    }
    qatomic_inc(&started);
    gate_wait();
    qatomic_or(&j->n, 2);
    return 0;
}

static void job_done(void *opaque, int ret)
{
    Job *j = opaque;

    j->calls++;
    j->ret = ret;
    j->cb_thread = pthread_self();
    j->aiocb = NULL;
    if (n_cb_order < (int)ARRAY_SIZE(cb_order)) {
        cb_order[n_cb_order++] = j->order;
    }
    active--;
}

static void job_init(Job *j, int result)
{
    memset(j, 0, sizeof(*j));
    j->ret = -EINPROGRESS;
    j->result = result;
    j->order = -1;
}

static BlockAIOCB *submit_job(TPool *pool, ThreadPoolFunc *func, Job *j)
{
    j->aiocb = t_submit_aio(pool, func, j, job_done, j);
    active++;
    return j->aiocb;
}

static void run_until_done(void)
{
    while (active > 0) {
        aio_poll(ctx, true);
    }
}

/* bdrv_aio_cancel_async: ask the AIOCB's owner to cancel, never wait. */
static void t_aio_cancel_async(BlockAIOCB *acb)
{
    if (acb->aiocb_info->cancel_async) {
        acb->aiocb_info->cancel_async(acb);
    }
}

/* bdrv_aio_cancel: cancel, then run the AIOCB's context until its
 * completion has run (only the reference taken here is left). */
static void t_aio_cancel(BlockAIOCB *acb)
{
    qemu_aio_ref(acb);
    t_aio_cancel_async(acb);
    while (acb->refcnt > 1) {
#if QAIO_QEMU_API_AT_LEAST(10, 0)
        aio_poll(qemu_get_current_aio_context(), true);  /* as 10.0's block layer */
#else
        aio_poll(acb->aiocb_info->get_aio_context(acb), true);
#endif
    }
    qemu_aio_unref(acb);
}

/* ---- worker threads, counted by name ------------------------------------ */

#ifdef _WIN32
/* The thread ids of the workers, up to max of them; returns how many
 * workers there are.  Windows: the live threads of this process whose
 * description (which the pool sets) is "worker". */
static int list_workers(pid_t *tids, int max)
{
    HANDLE snap = CreateToolhelp32Snapshot(TH32CS_SNAPTHREAD, 0);
    THREADENTRY32 te = { .dwSize = sizeof(te) };
    int n = 0;

    ck_assert_ptr_ne(snap, INVALID_HANDLE_VALUE);
    for (BOOL more = Thread32First(snap, &te); more; more = Thread32Next(snap, &te)) {
        HANDLE h;
        PWSTR name = NULL;
        DWORD code = 0;

        if (te.th32OwnerProcessID != GetCurrentProcessId()) {
            continue;
        }
        h = OpenThread(THREAD_QUERY_LIMITED_INFORMATION, FALSE, te.th32ThreadID);
        if (!h) {
            continue;  /* the thread exited meanwhile */
        }
        if (GetExitCodeThread(h, &code) && code == STILL_ACTIVE &&
            SUCCEEDED(GetThreadDescription(h, &name)) && name) {
            if (wcscmp(name, L"worker") == 0) {
                if (n < max) {
                    tids[n] = (pid_t)te.th32ThreadID;
                }
                n++;
            }
        }
        LocalFree(name);
        CloseHandle(h);
    }
    CloseHandle(snap);
    return n;
}
#else
/* The thread ids of the workers, up to max of them; returns how many
 * workers there are. */
static int list_workers(pid_t *tids, int max)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    int n = 0;

    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d))) {
        char path[300], comm[32] = "";
        FILE *f;

        if (e->d_name[0] == '.') {
            continue;
        }
        snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
        f = fopen(path, "r");
        if (!f) {
            continue;  /* the thread exited meanwhile */
        }
        if (fgets(comm, sizeof(comm), f) && strcmp(comm, "worker\n") == 0) {
            if (n < max) {
                tids[n] = (pid_t)atoi(e->d_name);
            }
            n++;
        }
        fclose(f);
    }
    closedir(d);
    return n;
}
#endif

static int count_workers(void)
{
    return list_workers(NULL, 0);
}

#ifndef _WIN32
/* Linux: a thread's sleeps and state as /proc shows them (Windows' thread
 * list, Toolhelp's, carries neither), for the three tests that watch a
 * worker fall asleep. */
/* How often thread `tid` has gone to sleep so far (voluntary context
 * switches); -1 once it has exited. */
static long times_slept(pid_t tid)
{
    char path[64], line[256];
    long n = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/self/task/%d/status", (int)tid);
    f = fopen(path, "r");
    if (!f) {
        return -1;
    }
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "voluntary_ctxt_switches: %ld", &n) == 1) {
            break;
        }
    }
    fclose(f);
    return n;
}
#endif

/* Runs the loop (thread creation starts from a BH) until exactly `want`
 * workers exist; fails after 20 s. */
static void wait_workers(AioContext *c, int want)
{
    int64_t end = t_now_ns() + 20 * 1000000000LL;
    int n;

    while ((n = count_workers()) != want) {
        if (t_now_ns() > end) {
            ck_abort_msg("%d worker threads, expected %d", n, want);
        }
        while (c && aio_poll(c, false)) {
        }
        usleep(1000);
    }
}

/* Waits, without running the loop, until *p reaches want. */
static void wait_at_least(int *p, int want)
{
    int64_t end = t_now_ns() + 20 * 1000000000LL;

    /* Acquire: pairs with the worker's qatomic_inc, so what it wrote before
     * (the job's thread and tid) is seen here. */
    while (qatomic_load_acquire(p) < want) {
        if (t_now_ns() > end) {
            ck_abort_msg("counter stuck at %d, expected %d", qatomic_read(p), want);
        }
        usleep(500);
    }
}

#ifndef _WIN32
/* The state letter of thread `tid` of this process in /proc ('S' while it
 * sleeps), or 0 once it has exited. */
static char thread_state(pid_t tid)
{
    char path[64], line[512], *paren;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
    f = fopen(path, "r");
    if (!f) {
        return 0;
    }
    paren = fgets(line, sizeof(line), f) ? strrchr(line, ')') : NULL;
    fclose(f);
    return paren && paren[1] == ' ' ? paren[2] : 0;
}

/* Waits until thread `tid` sleeps or has exited; returns its state then. */
static char wait_sleeping_or_gone(pid_t tid)
{
    int64_t end = t_now_ns() + 20 * 1000000000LL;
    char state;

    while ((state = thread_state(tid)) != 'S' && state != 0) {
        if (t_now_ns() > end) {
            ck_abort_msg("thread %d neither sleeps nor exits (state %c)", (int)tid, state);
        }
        usleep(500);
    }
    return state;
}
#endif

static void set_params(AioContext *c, int64_t min, int64_t max)
{
    aio_context_set_thread_pool_params(c, min, max, &error_abort);
}

/* The context's pool with exactly one worker, started and idle. */
static TPool *one_worker_pool(AioContext *c)
{
    TPool *pool;

    set_params(c, 1, 1);
    pool = aio_get_thread_pool(c);
    wait_workers(c, 1);
    return pool;
}

/* ---- fixture -------------------------------------------------------------- */

static void setup(void)
{
#ifdef _WIN32
    /* The Windows harness runs every test in one process (Check forks each):
     * an earlier test's idle time would stay in the environment. */
    _putenv_s("QAIO_THREAD_POOL_IDLE_MS", "");
#endif
    ctx = aio_context_new(&error_abort);
    t_assert_fdmon(ctx);
    if (!qemu_get_current_aio_context()) {
        qemu_set_current_aio_context(ctx);
    }
    t_drain_ctx(ctx);
    active = 0;
    started = 0;
    next_order = 0;
    n_cb_order = 0;
    gate_set(false);
}

static void teardown(void)
{
    t_drain_ctx(ctx);
    aio_context_unref(ctx);   /* frees the context's pool */
}

/* ---- submit --------------------------------------------------------------- */

START_TEST(submit_runs_work_once_and_wakes_blocking_poll)
{
    TPool *pool;
    Job j, barrier;

    /* One worker, so the barrier request completes after the first. */
    set_params(ctx, 0, 1);
    pool = aio_get_thread_pool(ctx);
    job_init(&j, 0);
    t_submit(pool, work, &j);
    while (qatomic_read(&j.n) == 0) {
        aio_poll(ctx, true);
    }
    ck_assert_int_eq(qatomic_read(&j.n), 1);

    job_init(&barrier, 0);
    submit_job(pool, work, &barrier);
    run_until_done();
    ck_assert_int_eq(qatomic_read(&j.n), 1);
    ck_assert_int_eq(barrier.calls, 1);
}
END_TEST

START_TEST(submit_aio_callback_runs_from_the_loop_once_with_the_result)
{
    TPool *pool = aio_get_thread_pool(ctx);
    Job j;

    job_init(&j, 0);
    submit_job(pool, work, &j);
    ck_assert_int_eq(j.ret, -EINPROGRESS);
    ck_assert_int_eq(j.calls, 0);
    while (j.ret == -EINPROGRESS) {
        aio_poll(ctx, true);
    }
    ck_assert_int_eq(j.calls, 1);
    ck_assert_int_eq(j.ret, 0);
    ck_assert_ptr_null(j.aiocb);
    ck_assert_int_eq(qatomic_read(&j.n), 1);
    ck_assert_int_eq(active, 0);
    t_drain_ctx(ctx);
    ck_assert_int_eq(j.calls, 1);
}
END_TEST

#ifndef _WIN32
START_TEST(finished_work_completes_only_when_the_loop_runs)
{
    TPool *pool;
    Job j;

    pool = one_worker_pool(ctx);
    job_init(&j, 0);
    submit_job(pool, work, &j);
    wait_at_least(&j.n, 1);
    /* The worker asleep again has finished all it does for this job: a
     * callback it ran itself would show by now. */
    wait_sleeping_or_gone(j.work_tid);
    ck_assert_int_eq(j.calls, 0);
    run_until_done();
    ck_assert_int_eq(j.calls, 1);
}
END_TEST
#endif

START_TEST(work_runs_on_a_worker_and_callback_in_the_submitting_thread)
{
    TPool *pool = aio_get_thread_pool(ctx);
    Job j;

    job_init(&j, 0);
    submit_job(pool, work, &j);
    run_until_done();
    ck_assert(!pthread_equal(j.work_thread, pthread_self()));
    ck_assert(pthread_equal(j.cb_thread, pthread_self()));
}
END_TEST

START_TEST(callback_receives_the_negative_errno_the_work_returns)
{
    TPool *pool = aio_get_thread_pool(ctx);
    Job j;

    job_init(&j, -EIO);
    submit_job(pool, work, &j);
    run_until_done();
    ck_assert_int_eq(j.ret, -EIO);
}
END_TEST

START_TEST(submit_many_runs_each_once_with_serialized_callbacks)
{
    TPool *pool = aio_get_thread_pool(ctx);
    Job jobs[100];
    int i;

    for (i = 0; i < 100; i++) {
        job_init(&jobs[i], 0);
        submit_job(pool, work, &jobs[i]);
    }
    run_until_done();
    for (i = 0; i < 100; i++) {
        ck_assert_int_eq(qatomic_read(&jobs[i].n), 1);
        ck_assert_int_eq(jobs[i].calls, 1);
        ck_assert_int_eq(jobs[i].ret, 0);
    }
    ck_assert_int_le(count_workers(), THREAD_POOL_MAX_THREADS_DEFAULT);
}
END_TEST

START_TEST(requests_start_and_complete_in_fifo_order_with_one_worker)
{
    TPool *pool;
    Job jobs[20];
    int i;

    set_params(ctx, 0, 1);
    pool = aio_get_thread_pool(ctx);
    for (i = 0; i < 20; i++) {
        job_init(&jobs[i], 0);
        submit_job(pool, work, &jobs[i]);
    }
    run_until_done();
    for (i = 0; i < 20; i++) {
        ck_assert_int_eq(jobs[i].order, i);
        ck_assert_int_eq(cb_order[i], i);
    }
}
END_TEST

/* A worker finishing jobs while others wait in the queue may hand their
 * completions to the loop in batches; the loop runs every finished job in
 * one pass of the completion BH. */
START_TEST(every_finished_job_completes_in_one_loop_pass)
{
    TPool *pool = one_worker_pool(ctx);
    Job quick[16], marker;
    int i;

    for (i = 0; i < 16; i++) {
        job_init(&quick[i], 0);
        submit_job(pool, work, &quick[i]);
    }
    job_init(&marker, 0);
    submit_job(pool, gated_work, &marker);
    /* One worker in FIFO order: once the marker runs, the others are done. */
    wait_at_least(&started, 1);
    aio_poll(ctx, false);
    for (i = 0; i < 16; i++) {
        ck_assert_int_eq(quick[i].calls, 1);
    }
    ck_assert_int_eq(marker.calls, 0);
    gate_set(true);
    run_until_done();
    ck_assert_int_eq(marker.calls, 1);
}
END_TEST

/* A finished job completes even when the workers that could report it are
 * all stuck in later jobs while more wait in the queue (workers may hold a
 * completion back while they have queued work: a watching worker must
 * hand it over). */
static int hold_released, hold_started;

static int held_work(void *opaque)
{
    qatomic_set(&hold_started, 1);
    while (!qatomic_read(&hold_released)) {
        usleep(100);
    }
    return work(opaque);
}

START_TEST(a_finished_job_completes_while_every_worker_is_stuck)
{
    TPool *pool;
    Job held, jobs[60];
    int i;

    set_params(ctx, 64, 64);
    pool = aio_get_thread_pool(ctx);
    wait_workers(ctx, 64);
    hold_released = hold_started = 0;
    job_init(&held, 0);
    submit_job(pool, held_work, &held);
    for (i = 0; i < 60; i++) {
        job_init(&jobs[i], 0);
        submit_job(pool, gated_work, &jobs[i]);
    }
    /* Time for idle workers to settle, one of them watching the queue. */
    wait_at_least(&hold_started, 1);
    usleep(5000);
    qatomic_set(&hold_released, 1);
    while (held.calls == 0) {
        aio_poll(ctx, true);
    }
    ck_assert_int_eq(held.ret, 0);
    gate_set(true);
    run_until_done();
    for (i = 0; i < 60; i++) {
        ck_assert_int_eq(jobs[i].calls, 1);
    }
}
END_TEST

/* Jobs that can only finish together (each waits until all have started)
 * all run, however few CPUs the pool keeps busy with short jobs. */
static int barrier_size;

static int barrier_work(void *opaque)
{
    if (qatomic_fetch_inc(&started) + 1 == barrier_size) {
        gate_set(true);
    }
    gate_wait();
    return work(opaque);
}

START_TEST(jobs_that_wait_for_each_other_all_run_at_once)
{
    TPool *pool;
    Job jobs[12];
    int i;

    barrier_size = 12;
    set_params(ctx, 12, 12);
    pool = aio_get_thread_pool(ctx);
    wait_workers(ctx, 12);
    for (i = 0; i < 12; i++) {
        job_init(&jobs[i], 0);
        submit_job(pool, barrier_work, &jobs[i]);
    }
    run_until_done();
    for (i = 0; i < 12; i++) {
        ck_assert_int_eq(jobs[i].calls, 1);
        ck_assert_int_eq(qatomic_read(&jobs[i].n), 1);
    }
}
END_TEST

/* Submissions racing with workers that finish their last job and fall
 * asleep: none is lost (a lost one hangs the test). */
START_TEST(jobs_submitted_while_workers_fall_asleep_all_complete)
{
    TPool *pool = aio_get_thread_pool(ctx);
    Job jobs[3];

    for (int round = 0; round < 3000; round++) {
        int n = 1 + round % 3;

        for (int i = 0; i < n; i++) {
            job_init(&jobs[i], 0);
            submit_job(pool, work, &jobs[i]);
        }
        run_until_done();
        for (int i = 0; i < n; i++) {
            ck_assert_int_eq(jobs[i].calls, 1);
        }
    }
}
END_TEST

/* The first callback waits, in a nested aio_poll, for the other one. */
static Job nest_jobs[2];
static int nest_depth_max, nest_depth;

static void nest_done(void *opaque, int ret)
{
    Job *j = opaque;
    Job *other = j == &nest_jobs[0] ? &nest_jobs[1] : &nest_jobs[0];

    j->calls++;
    j->ret = ret;
    nest_depth++;
    if (nest_depth > nest_depth_max) {
        nest_depth_max = nest_depth;
    }
    while (other->calls == 0) {
        aio_poll(ctx, true);
    }
    nest_depth--;
}

START_TEST(nested_aio_poll_in_a_callback_sees_the_other_completions)
{
    TPool *pool;
    int i;

    set_params(ctx, 2, 2);
    pool = aio_get_thread_pool(ctx);
    wait_workers(ctx, 2);
    for (i = 0; i < 2; i++) {
        job_init(&nest_jobs[i], 0);
        t_submit_aio(pool, work, &nest_jobs[i], nest_done, &nest_jobs[i]);
    }
    /* Both finish before the completion BH runs. */
    wait_at_least(&nest_jobs[0].n, 1);
    wait_at_least(&nest_jobs[1].n, 1);
    while (nest_jobs[0].calls == 0 || nest_jobs[1].calls == 0) {
        aio_poll(ctx, true);
    }
    ck_assert_int_eq(nest_jobs[0].calls, 1);
    ck_assert_int_eq(nest_jobs[1].calls, 1);
    ck_assert_int_eq(nest_depth_max, 2);
}
END_TEST

#if QAIO_QEMU_API_AT_LEAST(10, 0) && !defined(_WIN32) /* a sleeping worker: /proc */
/* At 10.0 a run of the completion BH is one defer_call section, as in
 * QEMU's pool: what the callbacks defer runs once, after the last one. */
static Job defer_jobs[2];
static int deferred_runs, callbacks_before_deferred;

static void deferred(void *opaque)
{
    deferred_runs++;
    callbacks_before_deferred = defer_jobs[0].calls + defer_jobs[1].calls;
}

static void defer_done(void *opaque, int ret)
{
    job_done(opaque, ret);
    defer_call(deferred, NULL);
}

START_TEST(completion_callbacks_share_one_defer_call_section)
{
    TPool *pool;
    int i;

    /* One worker: once it sleeps after the second job, both requests wait
     * on the done list for one run of the BH. */
    pool = one_worker_pool(ctx);
    deferred_runs = 0;
    for (i = 0; i < 2; i++) {
        job_init(&defer_jobs[i], 0);
        defer_jobs[i].aiocb = t_submit_aio(pool, work, &defer_jobs[i], defer_done,
                                           &defer_jobs[i]);
        active++;
    }
    wait_at_least(&defer_jobs[1].n, 1);
    wait_sleeping_or_gone(defer_jobs[1].work_tid);
    ck_assert_int_eq(defer_jobs[0].calls, 0);
    run_until_done();
    ck_assert_int_eq(deferred_runs, 1);
    ck_assert_int_eq(callbacks_before_deferred, 2);
}
END_TEST
#endif

#if T_API_7_2  /* 10.0 has no context lock to hold */
static void *acquire_and_release(void *opaque)
{
    aio_context_acquire(opaque);
    aio_context_release(opaque);
    return NULL;
}

static void lock_probe_done(void *opaque, int ret)
{
    Job *j = opaque;
    pthread_t t;

    /* Would block forever if the callback ran with the context held. */
    pthread_create(&t, NULL, acquire_and_release, ctx);
    pthread_join(t, NULL);
    job_done(j, ret);
}

START_TEST(completion_callback_runs_without_the_context_lock)
{
    TPool *pool = aio_get_thread_pool(ctx);
    Job j;

    job_init(&j, 0);
    t_submit_aio(pool, work, &j, lock_probe_done, &j);
    active++;
    run_until_done();
    ck_assert_int_eq(j.calls, 1);
}
END_TEST

START_TEST(request_aiocb_reports_the_pool_context)
{
    TPool *pool = aio_get_thread_pool(ctx);
    BlockAIOCB *acb;
    Job j;

    job_init(&j, 0);
    acb = submit_job(pool, work, &j);
    ck_assert_ptr_nonnull(acb);
    ck_assert_ptr_nonnull(acb->aiocb_info);
    ck_assert_ptr_nonnull(acb->aiocb_info->cancel_async);
    ck_assert_ptr_eq(acb->aiocb_info->get_aio_context(acb), ctx);
    ck_assert_uint_ge(acb->aiocb_info->aiocb_size, sizeof(BlockAIOCB));
    ck_assert_ptr_null(acb->bs);
    ck_assert_ptr_eq(acb->cb, job_done);
    ck_assert_ptr_eq(acb->opaque, &j);
    ck_assert_int_eq(acb->refcnt, 1);
    run_until_done();
}
END_TEST
#endif

/* No fixture: the main loop binds the main context to this thread. */
#if T_API_7_2
START_TEST(thread_pool_new_null_completes_in_the_main_context)
{
    TPool *pool;
    BlockAIOCB *acb;
    Job j;

    qemu_init_main_loop(&error_abort);
    ctx = qemu_get_aio_context();
    t_assert_fdmon(ctx);
    active = 0;
    pool = t_pool_new(NULL);
    ck_assert_ptr_nonnull(pool);
    ck_assert_ptr_ne(pool, aio_get_thread_pool(ctx));
    job_init(&j, 0);
    acb = submit_job(pool, work, &j);
    ck_assert_ptr_eq(acb->aiocb_info->get_aio_context(acb), ctx);
    run_until_done();
    ck_assert_int_eq(j.calls, 1);
    t_pool_free(pool);
}
END_TEST
#endif

#if T_API_7_2
START_TEST(pool_of_another_context_completes_in_that_context)
{
    AioContext *other = aio_context_new(&error_abort);
    TPool *pool = t_pool_new(other);
    Job j;

    t_assert_fdmon(other);
    job_init(&j, 0);
    submit_job(pool, work, &j);
    while (j.calls == 0) {
        aio_poll(other, true);
    }
    ck_assert_int_eq(j.ret, 0);
    t_pool_free(pool);
    aio_context_unref(other);
}
END_TEST
#endif

START_TEST(aio_get_thread_pool_returns_one_pool_per_context)
{
    AioContext *other = aio_context_new(&error_abort);
    TPool *a = aio_get_thread_pool(ctx);

    t_assert_fdmon(other);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_eq(aio_get_thread_pool(ctx), a);
    ck_assert_ptr_ne(aio_get_thread_pool(other), a);
    aio_context_unref(other);
}
END_TEST

/* ---- submit_co ---------------------------------------------------------- */

typedef struct {
    TPool *pool;
    Job job;
    int stage;
    int result;
} CoData;

static void coroutine_fn co_submit_entry(void *opaque)
{
    CoData *d = opaque;

    d->stage = 1;
    d->result = t_submit_co(d->pool, work, &d->job);
    d->stage = 2;
}

START_TEST(submit_co_yields_to_its_enterer_and_resumes_from_the_loop)
{
    CoData d = { 0 };
    Coroutine *co;

    d.pool = aio_get_thread_pool(ctx);
    job_init(&d.job, 0);
    co = qemu_coroutine_create(co_submit_entry, &d);
    qemu_coroutine_enter(co);
    /* Back here at once: the work may have run, its result is pending. */
    ck_assert_int_eq(d.stage, 1);
    while (d.stage != 2) {
        aio_poll(ctx, true);
    }
    ck_assert_int_eq(qatomic_read(&d.job.n), 1);
    ck_assert_int_eq(d.result, 0);
}
END_TEST

START_TEST(submit_co_returns_the_work_result)
{
    CoData d = { 0 };

    d.pool = aio_get_thread_pool(ctx);
    job_init(&d.job, -ENOSPC);
    qemu_coroutine_enter(qemu_coroutine_create(co_submit_entry, &d));
    while (d.stage != 2) {
        aio_poll(ctx, true);
    }
    ck_assert_int_eq(d.result, -ENOSPC);
}
END_TEST

/* As the I/O benchmark uses it: many coroutines waiting at once. */
START_TEST(submit_co_from_many_coroutines_resumes_each_once)
{
    static CoData d[200];
    int i, finished;

    for (i = 0; i < 200; i++) {
        memset(&d[i], 0, sizeof(d[i]));
        d[i].pool = aio_get_thread_pool(ctx);
        job_init(&d[i].job, i);
        qemu_coroutine_enter(qemu_coroutine_create(co_submit_entry, &d[i]));
    }
    do {
        aio_poll(ctx, true);
        for (finished = 0, i = 0; i < 200; i++) {
            finished += d[i].stage == 2;
        }
    } while (finished < 200);
    for (i = 0; i < 200; i++) {
        ck_assert_int_eq(qatomic_read(&d[i].job.n), 1);
        ck_assert_int_eq(d[i].result, i);
    }
}
END_TEST

START_TEST(submit_co_outside_a_coroutine_aborts)
{
    Job j;

    job_init(&j, 0);
    t_submit_co(aio_get_thread_pool(ctx), work, &j);
}
END_TEST

/* ---- cancel --------------------------------------------------------------- */

/* QEMU's cancel test, with gated jobs: 100 quick jobs fill the pool, then
 * 100 long ones; those that have not started are cancelled, the others
 * run to their end; every job completes exactly once either way. */
static void cancel_test(bool sync)
{
    TPool *pool = aio_get_thread_pool(ctx);
    Job quick[100], jobs[100];
    int i, n_cancelled = 0;

    for (i = 0; i < 100; i++) {
        job_init(&quick[i], 0);
        submit_job(pool, work, &quick[i]);
    }
    run_until_done();

    for (i = 0; i < 100; i++) {
        job_init(&jobs[i], 0);
        submit_job(pool, gated_work, &jobs[i]);
    }
    /* Let a pending thread-creation BH run, once. */
    aio_notify(ctx);
    aio_poll(ctx, false);
    ck_assert_int_eq(active, 100);
    /* Jobs start while this thread stays out of the loop... */
    wait_at_least(&started, 1);
    /* ...and no completion runs meanwhile. */
    ck_assert_int_eq(active, 100);

    for (i = 0; i < 100; i++) {
        if (qatomic_cmpxchg(&jobs[i].n, 0, 4) == 0) {
            if (sync) {
                t_aio_cancel(jobs[i].aiocb);
                /* The synchronous cancel returns after the completion. */
                ck_assert_int_eq(jobs[i].calls, 1);
            } else {
                t_aio_cancel_async(jobs[i].aiocb);
            }
            n_cancelled++;
        }
    }
    ck_assert_int_gt(qatomic_read(&started), 0);
    ck_assert_int_lt(n_cancelled, 100);
    ck_assert_int_gt(active, 0);

    gate_set(true);
    if (sync) {
        /* Cancelling started jobs waits for them to end. */
        for (i = 0; i < 100; i++) {
            if (jobs[i].aiocb && qatomic_read(&jobs[i].n) < 4) {
                t_aio_cancel(jobs[i].aiocb);
                ck_assert_int_eq(jobs[i].calls, 1);
            }
        }
    }
    run_until_done();

    for (i = 0; i < 100; i++) {
        ck_assert_int_eq(jobs[i].calls, 1);
        ck_assert_ptr_null(jobs[i].aiocb);
        switch (qatomic_read(&jobs[i].n)) {
        case 3:     /* ran fully: not cancellable */
            ck_assert_int_eq(jobs[i].ret, 0);
            break;
        case 4:     /* cancelled before it started, or taken just before */
            ck_assert(jobs[i].ret == -ECANCELED || jobs[i].ret == T_SAW_MARK);
            break;
        default:
            ck_abort_msg("job %d in state %d: never started or stopped mid-run", i,
                         jobs[i].n);
        }
    }
}

START_TEST(cancel_ends_every_job_exactly_once)
{
    cancel_test(true);
}
END_TEST

START_TEST(cancel_async_ends_every_job_exactly_once)
{
    cancel_test(false);
}
END_TEST

/* A pool of one worker, busy with a gated job that has started. */
static TPool *one_busy_worker(Job *blocker)
{
    TPool *pool;

    set_params(ctx, 1, 1);
    pool = aio_get_thread_pool(ctx);
    job_init(blocker, 0);
    submit_job(pool, gated_work, blocker);
    while (qatomic_read(&started) == 0) {
        aio_poll(ctx, false);
        usleep(500);
    }
    return pool;
}

START_TEST(cancelled_queued_request_completes_with_ecanceled_and_never_runs)
{
    Job blocker, j;
    TPool *pool = one_busy_worker(&blocker);

    job_init(&j, 0);
    submit_job(pool, work, &j);
    t_aio_cancel_async(j.aiocb);
    ck_assert_int_eq(j.calls, 0);      /* completion comes from the loop */
    while (j.calls == 0) {
        aio_poll(ctx, true);
    }
    ck_assert_int_eq(j.ret, -ECANCELED);
    gate_set(true);
    run_until_done();
    ck_assert_int_eq(blocker.calls, 1);
    ck_assert_int_eq(blocker.ret, 0);
    ck_assert_int_eq(j.calls, 1);
    ck_assert_int_eq(qatomic_read(&j.n), 0);
}
END_TEST

START_TEST(cancelling_a_running_request_has_no_effect)
{
    Job blocker;

    one_busy_worker(&blocker);
    t_aio_cancel_async(blocker.aiocb);
    t_drain_ctx(ctx);
    ck_assert_int_eq(blocker.calls, 0);
    gate_set(true);
    run_until_done();
    ck_assert_int_eq(blocker.calls, 1);
    ck_assert_int_eq(blocker.ret, 0);
    ck_assert_int_eq(qatomic_read(&blocker.n), 3);
}
END_TEST

START_TEST(cancelling_finished_work_before_its_callback_has_no_effect)
{
    TPool *pool;
    Job j;

    pool = one_worker_pool(ctx);
    job_init(&j, 7);
    submit_job(pool, work, &j);
    wait_at_least(&j.n, 1);
    t_aio_cancel_async(j.aiocb);
    run_until_done();
    ck_assert_int_eq(j.calls, 1);
    ck_assert_int_eq(j.ret, 7);
}
END_TEST

START_TEST(cancelling_after_the_callback_has_no_effect)
{
    TPool *pool = aio_get_thread_pool(ctx);
    BlockAIOCB *acb;
    Job j;

    job_init(&j, 0);
    acb = submit_job(pool, work, &j);
    qemu_aio_ref(acb);
    run_until_done();
    ck_assert_int_eq(acb->refcnt, 1);
    t_aio_cancel_async(acb);
    t_drain_ctx(ctx);
    ck_assert_int_eq(j.calls, 1);
    ck_assert_int_eq(j.ret, 0);
    qemu_aio_unref(acb);
}
END_TEST

START_TEST(cancelling_a_queued_request_twice_completes_it_once)
{
    Job blocker, j;
    TPool *pool = one_busy_worker(&blocker);

    job_init(&j, 0);
    submit_job(pool, work, &j);
    t_aio_cancel_async(j.aiocb);
    t_aio_cancel_async(j.aiocb);
    gate_set(true);
    run_until_done();
    ck_assert_int_eq(j.calls, 1);
    ck_assert_int_eq(j.ret, -ECANCELED);
    ck_assert_int_eq(blocker.calls, 1);
}
END_TEST

START_TEST(sync_cancel_of_a_queued_request_returns_after_its_callback)
{
    Job blocker, j;
    TPool *pool = one_busy_worker(&blocker);

    job_init(&j, 0);
    submit_job(pool, work, &j);
    t_aio_cancel(j.aiocb);
    ck_assert_int_eq(j.calls, 1);
    ck_assert_int_eq(j.ret, -ECANCELED);
    ck_assert_int_eq(blocker.calls, 0);
    gate_set(true);
    run_until_done();
    ck_assert_int_eq(qatomic_read(&j.n), 0);
}
END_TEST

START_TEST(sync_cancel_of_a_running_request_waits_for_the_work)
{
    Job blocker;
    pthread_t t;

    one_busy_worker(&blocker);
    pthread_create(&t, NULL, gate_open_later, NULL);
    t_aio_cancel(blocker.aiocb);
    ck_assert_int_eq(blocker.calls, 1);
    ck_assert_int_eq(blocker.ret, 0);
    ck_assert_int_eq(qatomic_read(&blocker.n), 3);
    pthread_join(t, NULL);
}
END_TEST

/* Workers retiring the moment they find no work, against requests
 * arriving in bursts: no request may be left queued without a worker. */
START_TEST(workers_retiring_at_once_never_strand_queued_work)
{
    static Job jobs[2000];
    TPool *pool;
    unsigned seed = 1;
    int i = 0;

    setenv("QAIO_THREAD_POOL_IDLE_MS", "0", 1);
    set_params(ctx, 0, 4);
    pool = aio_get_thread_pool(ctx);
    while (i < 2000) {
        int burst = 1 + rand_r(&seed) % 8;

        for (; burst > 0 && i < 2000; burst--, i++) {
            job_init(&jobs[i], 0);
            submit_job(pool, work, &jobs[i]);
        }
        while (aio_poll(ctx, false)) {
        }
        usleep(rand_r(&seed) % 200);
    }
    run_until_done();
    for (i = 0; i < 2000; i++) {
        ck_assert_int_eq(jobs[i].calls, 1);
        ck_assert_int_eq(qatomic_read(&jobs[i].n), 1);
    }
    wait_workers(ctx, 0);
}
END_TEST

/* ---- params --------------------------------------------------------------- */

static void expect_rejected(int64_t min, int64_t max)
{
    Error *err = NULL;

    aio_context_set_thread_pool_params(ctx, min, max, &err);
    ck_assert_msg(err != NULL, "min %" PRId64 " max %" PRId64 " accepted", min, max);
    ck_assert_ptr_nonnull(error_get_pretty(err));
    error_free(err);
}

/* The limits in force are still min = max = 2: a new pool starts 2. */
static void expect_limits_unchanged(void)
{
    aio_get_thread_pool(ctx);
    wait_workers(ctx, 2);
}

START_TEST(set_params_rejects_min_above_max)
{
    set_params(ctx, 2, 2);
    expect_rejected(5, 4);
    expect_limits_unchanged();
}
END_TEST

START_TEST(set_params_rejects_zero_max)
{
    set_params(ctx, 2, 2);
    expect_rejected(0, 0);
    expect_limits_unchanged();
}
END_TEST

START_TEST(set_params_rejects_values_above_int_max)
{
    set_params(ctx, 2, 2);
    expect_rejected(0, (int64_t)INT_MAX + 1);
    expect_rejected((int64_t)INT_MAX + 1, (int64_t)INT_MAX + 1);
    expect_limits_unchanged();
}
END_TEST

/* QEMU 7.2 refuses only min > max, max == 0 and values above INT_MAX:
 * negative values pass.  A negative min starts no worker; with max 4,
 * requests run on workers started for them. */
START_TEST(set_params_accepts_negative_values_as_qemu_does)
{
    TPool *pool;
    Error *err = NULL;
    Job j;

    aio_context_set_thread_pool_params(ctx, -5, -1, &err);
    ck_assert_ptr_null(err);
    aio_context_set_thread_pool_params(ctx, -1, 4, &err);
    ck_assert_ptr_null(err);

    pool = aio_get_thread_pool(ctx);
    wait_workers(ctx, 0);
    job_init(&j, 7);
    submit_job(pool, work, &j);
    run_until_done();
    ck_assert_int_eq(j.calls, 1);
    ck_assert_int_eq(j.ret, 7);
}
END_TEST

START_TEST(set_params_accepts_int_max)
{
    Error *err = NULL;

    aio_context_set_thread_pool_params(ctx, 0, INT_MAX, &err);
    ck_assert_ptr_null(err);
    aio_context_set_thread_pool_params(ctx, INT_MAX, INT_MAX, &err);
    ck_assert_ptr_null(err);
}
END_TEST

START_TEST(new_pool_starts_min_workers)
{
    set_params(ctx, 3, 8);
    aio_get_thread_pool(ctx);
    wait_workers(ctx, 3);
}
END_TEST

START_TEST(raising_min_on_a_pool_starts_workers)
{
    aio_get_thread_pool(ctx);
    wait_workers(ctx, 0);
    set_params(ctx, 4, 64);
    wait_workers(ctx, 4);
}
END_TEST

START_TEST(lowering_max_makes_surplus_workers_exit)
{
    TPool *pool;
    Job jobs[10];
    int i;

    set_params(ctx, 6, 6);
    pool = aio_get_thread_pool(ctx);
    wait_workers(ctx, 6);
    set_params(ctx, 0, 2);
    wait_workers(ctx, 2);
    for (i = 0; i < 10; i++) {
        job_init(&jobs[i], 0);
        submit_job(pool, slow_work, &jobs[i]);
    }
    run_until_done();
    ck_assert_int_le(count_workers(), 2);
}
END_TEST

START_TEST(idle_workers_above_min_retire_after_the_idle_timeout)
{
    TPool *pool;
    Job jobs[8];
    int i;

    setenv("QAIO_THREAD_POOL_IDLE_MS", "20", 1);
    set_params(ctx, 0, 8);
    pool = aio_get_thread_pool(ctx);
    for (i = 0; i < 8; i++) {
        job_init(&jobs[i], 0);
        submit_job(pool, gated_work, &jobs[i]);
    }
    while (qatomic_read(&started) < 8) {
        aio_poll(ctx, false);
        usleep(500);
    }
    ck_assert_int_eq(count_workers(), 8);
    gate_set(true);
    run_until_done();
    wait_workers(ctx, 0);
}
END_TEST

#ifndef _WIN32
/* Idle times whose nanoseconds do not fit in 64 bits (above 9.2e12 ms),
 * up to the largest the knob takes. */
static const char *const never_ending_idle_ms[] = {
    "9300000000000", "9223372036854775807",
};

/* Such a time means "never": the idle worker waits for work (it used to
 * overflow into a deadline in the past and exit at once), runs the next
 * request itself, and stderr says the value was taken as "never". */
START_TEST(idle_time_beyond_64_bit_nanoseconds_keeps_idle_workers)
{
    TPool *pool;
    Job first, second;
    char *err;

    setenv("QAIO_THREAD_POOL_IDLE_MS", never_ending_idle_ms[_i], 1);
    set_params(ctx, 0, 1);
    t_stderr_begin();
    pool = aio_get_thread_pool(ctx);
    err = t_stderr_end();

    job_init(&first, 0);
    submit_job(pool, work, &first);
    run_until_done();
    ck_assert_msg(wait_sleeping_or_gone(first.work_tid) == 'S',
                  "the idle worker exited with QAIO_THREAD_POOL_IDLE_MS=%s",
                  never_ending_idle_ms[_i]);
    job_init(&second, 0);
    submit_job(pool, work, &second);
    run_until_done();
    ck_assert_int_eq(second.work_tid, first.work_tid);
    ck_assert_msg(strstr(err, "QAIO_THREAD_POOL_IDLE_MS") && strstr(err, "never exit"),
                  "stderr: '%s'", err);
    g_free(err);
}
END_TEST
#endif

#ifndef _WIN32
START_TEST(idle_workers_never_retire_below_min)
{
    TPool *pool;
    Job jobs[8];
    pid_t tids[2];
    long slept[2];
    int i;

    setenv("QAIO_THREAD_POOL_IDLE_MS", "20", 1);
    set_params(ctx, 2, 8);
    pool = aio_get_thread_pool(ctx);
    for (i = 0; i < 8; i++) {
        job_init(&jobs[i], 0);
        submit_job(pool, gated_work, &jobs[i]);
    }
    while (qatomic_read(&started) < 8) {
        aio_poll(ctx, false);
        usleep(500);
    }
    gate_set(true);
    run_until_done();
    wait_workers(ctx, 2);
    /* Barrier: each remaining worker has slept ten more times, i.e. gone
     * through about ten idle timeouts, where a retirement would happen. */
    ck_assert_int_eq(list_workers(tids, 2), 2);
    for (i = 0; i < 2; i++) {
        slept[i] = times_slept(tids[i]);
    }
    for (i = 0; i < 2; i++) {
        int64_t end = t_now_ns() + 20 * 1000000000LL;
        long now;

        while ((now = times_slept(tids[i])) >= 0 && now < slept[i] + 10) {
            ck_assert_msg(t_now_ns() < end, "worker %d sleeps no more", (int)tids[i]);
            usleep(1000);
        }
    }
    ck_assert_int_eq(count_workers(), 2);
}
END_TEST
#endif

START_TEST(update_params_takes_the_limits_of_the_given_context)
{
    AioContext *other = aio_context_new(&error_abort);
    TPool *pool = aio_get_thread_pool(ctx);

    t_assert_fdmon(other);
    wait_workers(ctx, 0);
    set_params(other, 3, 5);     /* other has no pool: nothing starts */
    wait_workers(ctx, 0);
    thread_pool_update_params(pool, other);
    wait_workers(ctx, 3);        /* started from ctx's loop */
    aio_context_unref(other);
}
END_TEST

/* ---- lifetime ------------------------------------------------------------- */

START_TEST(thread_pool_free_accepts_null)
{
    t_pool_free(NULL);
}
END_TEST

#if T_API_7_2
START_TEST(freeing_a_pool_with_an_outstanding_request_aborts)
{
    TPool *pool = t_pool_new(ctx);
    Job j;

    job_init(&j, 0);
    submit_job(pool, work, &j);
    t_pool_free(pool);
}
END_TEST
#endif

#if T_API_7_2
static TPool *pool_to_free;

static void free_pool_done(void *opaque, int ret)
{
    t_pool_free(pool_to_free);
}

START_TEST(freeing_a_pool_from_its_completion_callback_aborts)
{
    Job j;

    pool_to_free = t_pool_new(ctx);
    job_init(&j, 0);
    t_submit_aio(pool_to_free, work, &j, free_pool_done, &j);
    for (;;) {
        aio_poll(ctx, true);
    }
}
END_TEST
#endif

/* Signalling after unlock while the pool is freed: workers exiting (tiny
 * idle timeout, min 0) while the pool is freed must never touch the freed
 * pool; run under TSan too. */
#if T_API_7_2
START_TEST(create_submit_free_cycles_while_workers_exit)
{
    int cycle;

    setenv("QAIO_THREAD_POOL_IDLE_MS", "1", 1);
    for (cycle = 0; cycle < 1000; cycle++) {
        TPool *pool = t_pool_new(ctx);
        Job jobs[3];
        int i, n = 1 + cycle % 3;

        for (i = 0; i < n; i++) {
            job_init(&jobs[i], 0);
            submit_job(pool, work, &jobs[i]);
        }
        run_until_done();
        /* Free at different points of the workers' retirement. */
        if (cycle % 4 == 1) {
            usleep(500);
        } else if (cycle % 4 == 2) {
            usleep(1500);
        }
        t_pool_free(pool);
        for (i = 0; i < n; i++) {
            ck_assert_int_eq(jobs[i].calls, 1);
        }
    }
    wait_workers(NULL, 0);
}
END_TEST
#endif

START_TEST(freeing_a_pool_stops_threads_still_being_created)
{
    TPool *pool;

    set_params(ctx, 32, 32);
    pool = t_pool_new(ctx);
    aio_poll(ctx, false);       /* the first thread starts the chain */
    t_pool_free(pool);
    wait_workers(NULL, 0);
}
END_TEST

#if T_API_7_2
START_TEST(context_finalization_frees_its_pool_and_workers)
{
    AioContext *other = aio_context_new(&error_abort);
    TPool *pool;
    Job j;

    t_assert_fdmon(other);
    aio_context_set_thread_pool_params(other, 2, 4, &error_abort);
    pool = aio_get_thread_pool(other);
    job_init(&j, 0);
    submit_job(pool, work, &j);
    while (j.calls == 0) {
        aio_poll(other, true);
    }
    wait_workers(other, 2);
    aio_context_unref(other);
    wait_workers(NULL, 0);
}
END_TEST
#endif

/* ---- aiocb ---------------------------------------------------------------- */

typedef struct {
    BlockAIOCB common;
    char payload[88];
} BigAiocb;

static const AIOCBInfo big_info = {
    .aiocb_size = sizeof(BigAiocb),
};

static void noop_cb(void *opaque, int ret)
{
}

START_TEST(qemu_aio_get_fills_the_header_with_one_reference)
{
    int token;
    BigAiocb *acb = qemu_aio_get(&big_info, NULL, noop_cb, &token);

    ck_assert_ptr_nonnull(acb);
    ck_assert_ptr_eq(acb->common.aiocb_info, &big_info);
    ck_assert_ptr_null(acb->common.bs);
    ck_assert_ptr_eq(acb->common.cb, noop_cb);
    ck_assert_ptr_eq(acb->common.opaque, &token);
    ck_assert_int_eq(acb->common.refcnt, 1);
    memset(acb->payload, 0xa5, sizeof(acb->payload));  /* all of it is ours */
    qemu_aio_unref(acb);
}
END_TEST

START_TEST(qemu_aio_ref_and_unref_count_references)
{
    BlockAIOCB *acb = qemu_aio_get(&big_info, NULL, NULL, NULL);

    qemu_aio_ref(acb);
    ck_assert_int_eq(acb->refcnt, 2);
    qemu_aio_unref(acb);
    ck_assert_int_eq(acb->refcnt, 1);
    qemu_aio_unref(acb);    /* freed: ASan and valgrind see no leak */
}
END_TEST

static const AIOCBInfo tiny_info = {
    .aiocb_size = sizeof(BlockAIOCB) - 8,
};

START_TEST(qemu_aio_get_smaller_than_blockaiocb_aborts)
{
    qemu_aio_get(&tiny_info, NULL, NULL, NULL);
}
END_TEST

START_TEST(blockaiocb_and_aiocbinfo_have_qemu_layout)
{
    ck_assert_uint_eq(sizeof(BlockAIOCB), 40);
    ck_assert_uint_eq(offsetof(BlockAIOCB, refcnt), 32);
#if QAIO_QEMU_API_AT_LEAST(10, 0)
    ck_assert_uint_eq(sizeof(AIOCBInfo), 16);
    ck_assert_uint_eq(offsetof(AIOCBInfo, aiocb_size), 8);
#else
    ck_assert_uint_eq(sizeof(AIOCBInfo), 24);
    ck_assert_uint_eq(offsetof(AIOCBInfo, aiocb_size), 16);
#endif
}
END_TEST

/* ---- suite ---------------------------------------------------------------- */

static TCase *new_tcase(Suite *s, const char *name, int timeout)
{
    TCase *tc = tcase_create(name);

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, timeout);
    suite_add_tcase(s, tc);
    return tc;
}

static Suite *thread_pool_suite(void)
{
    Suite *s = suite_create("thread_pool");
    TCase *tc;

    tc = new_tcase(s, "submit", 30);
    tcase_add_test(tc, submit_runs_work_once_and_wakes_blocking_poll);
    tcase_add_test(tc, submit_aio_callback_runs_from_the_loop_once_with_the_result);
#ifndef _WIN32
    tcase_add_test(tc, finished_work_completes_only_when_the_loop_runs);
#endif
    tcase_add_test(tc, work_runs_on_a_worker_and_callback_in_the_submitting_thread);
    tcase_add_test(tc, callback_receives_the_negative_errno_the_work_returns);
    tcase_add_test(tc, submit_many_runs_each_once_with_serialized_callbacks);
    tcase_add_test(tc, requests_start_and_complete_in_fifo_order_with_one_worker);
    tcase_add_test(tc, nested_aio_poll_in_a_callback_sees_the_other_completions);
    tcase_add_test(tc, every_finished_job_completes_in_one_loop_pass);
    tcase_add_test(tc, a_finished_job_completes_while_every_worker_is_stuck);
    tcase_add_test(tc, jobs_that_wait_for_each_other_all_run_at_once);
    tcase_add_test(tc, jobs_submitted_while_workers_fall_asleep_all_complete);
#if QAIO_QEMU_API_AT_LEAST(10, 0) && !defined(_WIN32)
    tcase_add_test(tc, completion_callbacks_share_one_defer_call_section);
#endif
#if T_API_7_2
    tcase_add_test(tc, completion_callback_runs_without_the_context_lock);
    tcase_add_test(tc, request_aiocb_reports_the_pool_context);
#endif
#if T_API_7_2
    tcase_add_test(tc, pool_of_another_context_completes_in_that_context);
#endif
    tcase_add_test(tc, aio_get_thread_pool_returns_one_pool_per_context);

    tc = tcase_create("main_loop");
#if T_API_7_2
    tcase_add_test(tc, thread_pool_new_null_completes_in_the_main_context);
#endif
    suite_add_tcase(s, tc);

    tc = new_tcase(s, "submit_co", 30);
    tcase_add_test(tc, submit_co_yields_to_its_enterer_and_resumes_from_the_loop);
    tcase_add_test(tc, submit_co_returns_the_work_result);
    tcase_add_test(tc, submit_co_from_many_coroutines_resumes_each_once);
    tcase_add_test_raise_signal(tc, submit_co_outside_a_coroutine_aborts, SIGABRT);

    tc = new_tcase(s, "cancel", 60);
    tcase_add_test(tc, cancel_ends_every_job_exactly_once);
    tcase_add_test(tc, cancel_async_ends_every_job_exactly_once);
    tcase_add_test(tc, cancelled_queued_request_completes_with_ecanceled_and_never_runs);
    tcase_add_test(tc, cancelling_a_running_request_has_no_effect);
    tcase_add_test(tc, cancelling_finished_work_before_its_callback_has_no_effect);
    tcase_add_test(tc, cancelling_after_the_callback_has_no_effect);
    tcase_add_test(tc, cancelling_a_queued_request_twice_completes_it_once);
    tcase_add_test(tc, sync_cancel_of_a_queued_request_returns_after_its_callback);
    tcase_add_test(tc, sync_cancel_of_a_running_request_waits_for_the_work);
    tcase_add_test(tc, workers_retiring_at_once_never_strand_queued_work);

    tc = new_tcase(s, "params", 60);
    tcase_add_test(tc, set_params_rejects_min_above_max);
    tcase_add_test(tc, set_params_rejects_zero_max);
    tcase_add_test(tc, set_params_rejects_values_above_int_max);
    tcase_add_test(tc, set_params_accepts_negative_values_as_qemu_does);
    tcase_add_test(tc, set_params_accepts_int_max);
    tcase_add_test(tc, new_pool_starts_min_workers);
    tcase_add_test(tc, raising_min_on_a_pool_starts_workers);
    tcase_add_test(tc, lowering_max_makes_surplus_workers_exit);
    tcase_add_test(tc, idle_workers_above_min_retire_after_the_idle_timeout);
#ifndef _WIN32
    tcase_add_test(tc, idle_workers_never_retire_below_min);
    tcase_add_loop_test(tc, idle_time_beyond_64_bit_nanoseconds_keeps_idle_workers, 0,
                        (int)ARRAY_SIZE(never_ending_idle_ms));
#endif
    tcase_add_test(tc, update_params_takes_the_limits_of_the_given_context);

    tc = new_tcase(s, "lifetime", 120);
    tcase_add_test(tc, thread_pool_free_accepts_null);
#if T_API_7_2
    tcase_add_test_raise_signal(tc, freeing_a_pool_with_an_outstanding_request_aborts,
                                SIGABRT);
#endif
#if T_API_7_2
    tcase_add_test_raise_signal(tc, freeing_a_pool_from_its_completion_callback_aborts,
                                SIGABRT);
#endif
#if T_API_7_2
    tcase_add_test(tc, create_submit_free_cycles_while_workers_exit);
#endif
    tcase_add_test(tc, freeing_a_pool_stops_threads_still_being_created);
#if T_API_7_2
    tcase_add_test(tc, context_finalization_frees_its_pool_and_workers);
#endif

    tc = new_tcase(s, "aiocb", 10);
    tcase_add_test(tc, qemu_aio_get_fills_the_header_with_one_reference);
    tcase_add_test(tc, qemu_aio_ref_and_unref_count_references);
    tcase_add_test_raise_signal(tc, qemu_aio_get_smaller_than_blockaiocb_aborts, SIGABRT);
    tcase_add_test(tc, blockaiocb_and_aiocbinfo_have_qemu_layout);

    return s;
}

int main(void)
{
    return t_run_suite(thread_pool_suite());
}
