/* SPDX-License-Identifier: MIT */
/*
 * The stress harness (see stress.h).  A case's state lives in globals: one
 * case runs at a time, but its threads count, report and make progress
 * concurrently, so the counters are atomics and messages are serialized.
 */
#include "stress.h"
#include "../helpers.h"

#include <stdarg.h>
#include <unistd.h>

enum { MAX_PRINTED_FAILURES = 5 };

static const char *program;
static double budget_per_case;
static double stall_seconds;
static int passed, failed, skipped;
static double total_seconds;
static unsigned long total_ops;

/* The running case. */
static const char *case_name;
static int64_t case_end_ns;
static atomic_ulong case_ops;
static atomic_ulong case_progress;
static atomic_int case_failures;
static atomic_bool case_over;
static pthread_mutex_t print_lock = PTHREAD_MUTEX_INITIALIZER;

static double env_seconds(const char *name, double dflt)
{
    const char *v = getenv(name);
    double d = v ? strtod(v, NULL) : 0;

    return d > 0 ? d : dflt;
}

void s_init(const char *name, int n_cases)
{
    program = name;
    budget_per_case = env_seconds("QAIO_STRESS_SECONDS", 4) / (n_cases > 0 ? n_cases : 1);
    stall_seconds = env_seconds("QAIO_STRESS_STALL", 60);
    setvbuf(stdout, NULL, _IOLBF, 0);
}

bool s_running(void)
{
    return t_now_ns() < case_end_ns;
}

double s_case_seconds(void)
{
    return budget_per_case;
}

void s_ops(unsigned long n)
{
    atomic_fetch_add_explicit(&case_ops, n, memory_order_relaxed);
}

void s_progress(void)
{
    atomic_fetch_add_explicit(&case_progress, 1, memory_order_relaxed);
}

void s_fail(const char *fmt, ...)
{
    va_list ap;

    if (atomic_fetch_add(&case_failures, 1) >= MAX_PRINTED_FAILURES) {
        return;
    }
    pthread_mutex_lock(&print_lock);
    printf("FAIL %s: %s: ", program, case_name);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
    pthread_mutex_unlock(&print_lock);
}

/*
 * The watchdog: a case whose progress counter stands still for the stall
 * time is hung (a lost wake-up leaves every thread waiting).  No result
 * rests on this timing: it only turns an endless hang into a named failure.
 */
static void *watchdog_main(void *unused)
{
    unsigned long last = atomic_load(&case_progress);
    int64_t last_change = t_now_ns();

    while (!atomic_load(&case_over)) {
        unsigned long now_progress = atomic_load(&case_progress);

        if (now_progress != last) {
            last = now_progress;
            last_change = t_now_ns();
        } else if (t_now_ns() - last_change > (int64_t)(stall_seconds * 1e9)) {
            printf("FAIL %s: %s: no progress for %.0f s (lost wake-up or deadlock) "
                   "after %lu operations\n", program, case_name, stall_seconds,
                   atomic_load(&case_ops));
            printf("%d passed, %d failed\n", passed, failed + 1);
            fflush(stdout);
            _exit(EXIT_FAILURE);
        }
        usleep(100 * 1000);
    }
    return NULL;
}

void s_run(const char *name, void (*fn)(int arg), int arg)
{
    pthread_t dog;
    int64_t start = t_now_ns();
    double seconds;

    case_name = name;
    atomic_store(&case_ops, 0);
    atomic_store(&case_failures, 0);
    atomic_store(&case_over, false);
    case_end_ns = start + (int64_t)(budget_per_case * 1e9);
    pthread_create(&dog, NULL, watchdog_main, NULL);
    fn(arg);
    atomic_store(&case_over, true);
    pthread_join(dog, NULL);

    seconds = (t_now_ns() - start) / 1e9;
    total_seconds += seconds;
    total_ops += atomic_load(&case_ops);
    printf("%s %s: %s: %lu operations in %.2f s\n",
           atomic_load(&case_failures) ? "FAIL" : "PASS", program, name,
           atomic_load(&case_ops), seconds);
    if (atomic_load(&case_failures)) {
        failed++;
    } else {
        passed++;
    }
}

void s_skip(const char *name, const char *why)
{
    printf("SKIP %s: %s: %s\n", program, name, why);
    skipped++;
}

int s_finish(void)
{
    printf("%s: %lu operations in %.2f s, %d skipped\n", program, total_ops,
           total_seconds, skipped);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

void s_rng_seed(s_rng *r, uint64_t seed)
{
    r->s = seed * 0x9e3779b97f4a7c15ULL + 1;
}

uint32_t s_rand(s_rng *r, uint32_t bound)
{
    uint64_t x = r->s;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    r->s = x;
    return bound ? (uint32_t)((x >> 11) % bound) : 0;
}

/* ---- IOThreads ------------------------------------------------------------ */

static void *iothread_main(void *opaque)
{
    s_iothread *t = opaque;

    t->ctx = aio_context_new(&error_abort);
    qemu_set_current_aio_context(t->ctx);
    if (t->gmain) {
        GSource *src = aio_get_g_source(t->ctx);

        g_source_attach(src, t->gmain);
        sem_post(&t->ready);
        while (!atomic_load(&t->stop)) {
            g_main_context_iteration(t->gmain, true);
        }
        while (g_main_context_iteration(t->gmain, false)) {
            /* drain */
        }
        /* aio_get_g_source's reference; the context's own goes in
         * s_iothread_free. */
        g_source_destroy(src);
        g_source_unref(src);
        return NULL;
    }
    sem_post(&t->ready);
    while (!atomic_load(&t->stop)) {
        aio_poll(t->ctx, true);
    }
    t_drain_ctx(t->ctx);
    return NULL;
}

static void iothread_start(s_iothread *t, int fdmon, bool gsource)
{
    /* QAIO_FDMON is read when the context is created; set it here, while
     * the case's other threads cannot be reading the environment. */
    t_set_fdmon(fdmon >= 0 ? t_fdmons[fdmon] : NULL);
    t->fdmon = fdmon;
    t->gmain = gsource ? g_main_context_new() : NULL;
    atomic_init(&t->stop, false);
    sem_init(&t->ready, 0, 0);
    pthread_create(&t->thread, NULL, iothread_main, t);
    sem_wait(&t->ready);
}

void s_iothread_start(s_iothread *t, int fdmon)
{
    iothread_start(t, fdmon, false);
}

void s_iothread_start_gsource(s_iothread *t, int fdmon)
{
    iothread_start(t, fdmon, true);
}

static void stop_bh(void *opaque)
{
    atomic_store(&((s_iothread *)opaque)->stop, true);
}

void s_iothread_stop(s_iothread *t)
{
    aio_bh_schedule_oneshot(t->ctx, stop_bh, t);
    pthread_join(t->thread, NULL);
    sem_destroy(&t->ready);
}

void s_iothread_free(s_iothread *t)
{
    aio_context_unref(t->ctx);
    if (t->gmain) {
        g_main_context_unref(t->gmain);
    }
}

void s_iothreads_start(s_iothread *t, int n)
{
    for (int i = 0; i < n; i++) {
        s_iothread_start(&t[i], -1);
    }
}

/* All stopped before any is freed: a coroutine may still be on its way
 * from one to another until every loop has ended. */
void s_iothreads_stop_and_free(s_iothread *t, int n)
{
    for (int i = 0; i < n; i++) {
        s_iothread_stop(&t[i]);
    }
    for (int i = 0; i < n; i++) {
        s_iothread_free(&t[i]);
    }
}

typedef struct {
    void (*fn)(void *);
    void *opaque;
    sem_t done;
} RunIn;

static void run_in_bh(void *opaque)
{
    RunIn *r = opaque;

    r->fn(r->opaque);
    sem_post(&r->done);
}

void s_run_in(AioContext *ctx, void (*fn)(void *), void *opaque)
{
    RunIn r = { .fn = fn, .opaque = opaque };

    sem_init(&r.done, 0, 0);
    aio_bh_schedule_oneshot(ctx, run_in_bh, &r);
    sem_wait(&r.done);
    sem_destroy(&r.done);
}

bool s_fdmon_usable(int i)
{
    return strcmp(t_fdmons[i], "io_uring") != 0 || t_io_uring_available();
}
