/* SPDX-License-Identifier: MIT */
/*
 * Shared machinery of qaio-bench (see bench.h): time, worker threads, the
 * interleaved median-of-repeats measurement, the result rows and their two
 * renderings (an aligned text table and JSON), the progress line and the
 * watchdog.  Nothing here knows what a suite measures; the suites describe
 * cases, the driver chooses suites and options, and this file turns cases
 * into figures and figures into a report.
 */
#include "config.h"

#ifndef _GNU_SOURCE
#define _GNU_SOURCE     /* pthread_setname_np */
#endif
#include "bench.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#ifndef _WIN32
#include <glib-unix.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#endif
#ifdef CONFIG_LINUX_IO_URING
#include <linux/io_uring.h>
#endif

#include "qapi/error.h"

#ifdef QAIO_HAVE_LIBEVENT
#include <event2/event.h>
#endif
#ifdef QAIO_HAVE_LIBUV
#include <uv.h>
#endif

bench_opts bench_opt = {
    .json = false,
    .quick = false,
    .repeats = 5,
    .repeat_seconds = 0.2,
};

/* ---- time --------------------------------------------------------------- */

uint64_t bench_clock_ns(clockid_t clock)
{
    struct timespec ts;

    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t bench_now_ns(void)
{
    return bench_clock_ns(CLOCK_MONOTONIC);
}

static uint64_t bench_t0;
/* The 1-minute load average when the run started: a busy machine blurs
 * every figure, so the report says how busy it was. */
static double bench_load_at_start = -1;

/* ---- watchdog ----------------------------------------------------------- */

#define BENCH_WATCHDOG_SECONDS 60

static _Atomic uint64_t bench_last_alive;
static pthread_mutex_t bench_alive_lock = PTHREAD_MUTEX_INITIALIZER;
static char bench_alive_what[128] = "start-up";

void bench_alive(const char *what)
{
    atomic_store_explicit(&bench_last_alive, bench_now_ns(),
                          memory_order_relaxed);
    if (what) {
        pthread_mutex_lock(&bench_alive_lock);
        g_strlcpy(bench_alive_what, what, sizeof(bench_alive_what));
        pthread_mutex_unlock(&bench_alive_lock);
    }
}

static void *bench_watchdog(void *unused)
{
    for (;;) {
        g_usleep(G_USEC_PER_SEC);
        uint64_t last = atomic_load_explicit(&bench_last_alive,
                                             memory_order_relaxed);
        if (bench_now_ns() - last > BENCH_WATCHDOG_SECONDS * 1000000000ull) {
            pthread_mutex_lock(&bench_alive_lock);
            fprintf(stderr, "\nqaio-bench: no progress for %d s during %s "
                    "(a thread is blocked: lost wake-up?)\n",
                    BENCH_WATCHDOG_SECONDS, bench_alive_what);
            _exit(3);
        }
    }
    return NULL;
}

void bench_init(void)
{
    pthread_t tid;

    bench_t0 = bench_now_ns();
    bench_load_at_start = bench_host_load();
    bench_alive("start-up");
    if (pthread_create(&tid, NULL, bench_watchdog, NULL) == 0) {
        pthread_detach(tid);
    }
}

/* ---- progress line ------------------------------------------------------ */

static int bench_progress_len;

void bench_progress(const char *suite, const char *what, int i, int n,
                    int repeat, int repeats)
{
    char line[160];
    int len;

    if (bench_now_ns() - bench_t0 < 1000000000ull) {
        return;
    }
    if (repeat > 0) {
        len = snprintf(line, sizeof(line), "[%s] %s %d/%d (repeat %d/%d)",
                       suite, what, i, n, repeat, repeats);
    } else {
        len = snprintf(line, sizeof(line), "[%s] %s %d/%d", suite, what, i, n);
    }
    if (len >= (int)sizeof(line)) {
        len = sizeof(line) - 1;
    }
    /* Pad with blanks so a shorter line hides the end of a longer one. */
    fprintf(stderr, "\r%s%*s", line,
            bench_progress_len > len ? bench_progress_len - len : 0, "");
    fflush(stderr);
    bench_progress_len = len;
}

void bench_progress_clear(void)
{
    if (bench_progress_len) {
        fprintf(stderr, "\r%*s\r", bench_progress_len, "");
        fflush(stderr);
        bench_progress_len = 0;
    }
}

/* ---- worker threads ----------------------------------------------------- */

struct bench_worker {
    pthread_t tid;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    void (*fn)(void *);
    void *arg;
    bool busy;              /* a function was posted and has not returned */
    bool stop;
    char name[16];
};

static void *bench_worker_main(void *opaque)
{
    bench_worker *w = opaque;

    pthread_setname_np(pthread_self(), w->name);
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (!w->fn && !w->stop) {
            pthread_cond_wait(&w->cond, &w->lock);
        }
        if (!w->fn) {
            break;
        }
        void (*fn)(void *) = w->fn;
        void *arg = w->arg;
        pthread_mutex_unlock(&w->lock);
        fn(arg);
        pthread_mutex_lock(&w->lock);
        w->fn = NULL;
        w->busy = false;
        pthread_cond_broadcast(&w->cond);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

bench_worker *bench_worker_start(const char *name)
{
    bench_worker *w = g_new0(bench_worker, 1);

    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
    g_strlcpy(w->name, name, sizeof(w->name));
    if (pthread_create(&w->tid, NULL, bench_worker_main, w) != 0) {
        fprintf(stderr, "qaio-bench: cannot create thread %s\n", name);
        exit(2);
    }
    return w;
}

void bench_worker_post(bench_worker *w, void (*fn)(void *), void *arg)
{
    pthread_mutex_lock(&w->lock);
    while (w->busy) {
        pthread_cond_wait(&w->cond, &w->lock);
    }
    w->fn = fn;
    w->arg = arg;
    w->busy = true;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

void bench_worker_wait(bench_worker *w)
{
    pthread_mutex_lock(&w->lock);
    while (w->busy) {
        pthread_cond_wait(&w->cond, &w->lock);
    }
    pthread_mutex_unlock(&w->lock);
}

void bench_worker_call(bench_worker *w, void (*fn)(void *), void *arg)
{
    bench_worker_post(w, fn, arg);
    bench_worker_wait(w);
}

void bench_worker_stop(bench_worker *w)
{
    if (!w) {
        return;
    }
    bench_worker_wait(w);
    pthread_mutex_lock(&w->lock);
    w->stop = true;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->tid, NULL);
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->lock);
    g_free(w);
}

/* ---- measurement -------------------------------------------------------- */

typedef struct bench_batch {
    bench_case *c;
    uint64_t iters;
    uint64_t elapsed_ns;
    uint64_t cpu_ns;        /* the running thread's CPU time */
} bench_batch;

/* Timed where the body runs, so the hand-off to a worker is not counted. */
static void bench_batch_run(void *opaque)
{
    bench_batch *b = opaque;
    uint64_t c0 = bench_clock_ns(CLOCK_THREAD_CPUTIME_ID), t0 = bench_now_ns();

    b->c->body(b->c->arg, b->iters);
    b->elapsed_ns = bench_now_ns() - t0;
    b->cpu_ns = bench_clock_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
}

static bench_batch bench_time_batch(bench_case *c, uint64_t iters)
{
    bench_batch b = { .c = c, .iters = iters };

    if (c->worker) {
        bench_worker_call(c->worker, bench_batch_run, &b);
    } else {
        bench_batch_run(&b);
    }
    b.elapsed_ns = MAX(b.elapsed_ns, 1);
    return b;
}

static int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* `split` cuts each repeat into that many rounds, and each round starts
 * with the next subject. */
static void bench_measure_rounds(bench_case *cases, int n, const char *suite,
                                 const char *what, int group, int ngroups, int split)
{
    const uint64_t want_ns = bench_opt.repeat_seconds * 1e9;
    const uint64_t calib_ns = want_ns / 8;
    int repeats = bench_opt.repeats * split;
    double *samples = g_new0(double, (size_t)n * repeats);
    double *cpu = g_new0(double, (size_t)n * repeats);
    char alive[128];

    /*
     * Calibration grows the batch (eightfold while far off, then twofold)
     * until it lasts an eighth of a repeat; it also serves as the warm-up
     * (caches, lazily created state, the adaptive-polling window).
     */
    bench_progress(suite, what, group, ngroups, 0, 0);
    for (int i = 0; i < n; i++) {
        bench_case *c = &cases[i];
        uint64_t iters = 1, t;

        snprintf(alive, sizeof(alive), "[%s] %s: %s (calibrating)",
                 suite, what, c->label ? c->label : "");
        bench_alive(alive);
        /* Uncounted: a first iteration doing lazy set-up (10000 POLL_ADDs
         * for io_uring in the fd suite) would make calibration stop at one
         * iteration and leave batches of a few cold ones. */
        bench_time_batch(c, 1);
        for (;;) {
            t = bench_time_batch(c, iters).elapsed_ns;
            if (t >= calib_ns || iters >= (1ull << 40)) {
                break;
            }
            iters *= t < calib_ns / 16 ? 8 : 2;
        }
        c->stats.iters = MAX(1, (uint64_t)((double)iters * want_ns / t / split));
    }

    for (int r = 0; r < repeats; r++) {
        if (r % split == 0) {
            bench_progress(suite, what, group, ngroups, r / split + 1, bench_opt.repeats);
        }
        for (int k = 0; k < n; k++) {
            int i = split > 1 ? (k + r) % n : k;
            bench_case *c = &cases[i];

            snprintf(alive, sizeof(alive), "[%s] %s: %s (repeat %d)",
                     suite, what, c->label ? c->label : "", r + 1);
            bench_alive(alive);
            bench_batch b = bench_time_batch(c, c->stats.iters);
            samples[i * repeats + r] = (double)b.elapsed_ns / c->stats.iters;
            cpu[i * repeats + r] = (double)b.cpu_ns / c->stats.iters;
        }
    }

    for (int i = 0; i < n; i++) {
        bench_stats_set_samples(&cases[i].stats, &samples[i * repeats], repeats);
        cases[i].stats.cpu_samples = g_memdup2(&cpu[i * repeats], sizeof(*cpu) * repeats);
    }
    g_free(samples);
    g_free(cpu);
}

void bench_measure(bench_case *cases, int n, const char *suite,
                   const char *what, int group, int ngroups)
{
    bench_measure_rounds(cases, n, suite, what, group, ngroups, 1);
}

void bench_measure_fine(bench_case *cases, int n, const char *suite,
                        const char *what, int group, int ngroups)
{
    bench_measure_rounds(cases, n, suite, what, group, ngroups, BENCH_FINE_SPLIT);
}

void bench_stats_set_samples(bench_stats *st, const double *samples, int n)
{
    double *sorted = g_memdup2(samples, sizeof(*samples) * n);

    st->samples = g_memdup2(samples, sizeof(*samples) * n);
    qsort(sorted, n, sizeof(*sorted), bench_cmp_double);
    st->repeats = n;
    st->min_ns = sorted[0];
    st->max_ns = sorted[n - 1];
    st->median_ns = n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    g_free(sorted);
}

/* ---- results ------------------------------------------------------------ */

static GPtrArray *bench_results;
static GPtrArray *bench_notes;

bench_result *bench_record(const char *suite, const char *case_name,
                           const char *subject, const bench_stats *st)
{
    bench_result *r = g_new0(bench_result, 1);

    if (!bench_results) {
        bench_results = g_ptr_array_new();
    }
    g_strlcpy(r->suite, suite, sizeof(r->suite));
    g_strlcpy(r->case_name, case_name, sizeof(r->case_name));
    g_strlcpy(r->subject, subject, sizeof(r->subject));
    g_strlcpy(r->metric, "ns/op", sizeof(r->metric));
    if (st) {
        r->st = *st;
    } else {
        r->st.median_ns = -1;
    }
    g_ptr_array_add(bench_results, r);
    return r;
}

void bench_add_ratio(bench_result *r, const char *name, double value)
{
    if (r->nratios < BENCH_MAX_RATIOS && value >= 0) {
        g_strlcpy(r->ratio[r->nratios].name, name,
                  sizeof(r->ratio[r->nratios].name));
        r->ratio[r->nratios].value = value;
        r->nratios++;
    }
}

void bench_set_target(bench_result *r, const char *text, double limit,
                      double value)
{
    g_strlcpy(r->target, text, sizeof(r->target));
    r->target_limit = limit;
    r->target_value = value;
    if (value < 0) {
        r->verdict = BENCH_UNAVAILABLE;
    } else {
        r->verdict = value <= limit ? BENCH_MET : BENCH_MISSED;
    }
}

void bench_result_note(bench_result *r, const char *fmt, ...)
{
    va_list ap;
    size_t len = strlen(r->note);

    if (len && len < sizeof(r->note) - 2) {
        g_strlcpy(r->note + len, "; ", sizeof(r->note) - len);
        len += 2;
    }
    va_start(ap, fmt);
    vsnprintf(r->note + len, sizeof(r->note) - len, fmt, ap);
    va_end(ap);
}

void bench_note(const char *suite, const char *fmt, ...)
{
    va_list ap;
    char *text;

    if (!bench_notes) {
        bench_notes = g_ptr_array_new();
    }
    va_start(ap, fmt);
    text = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_ptr_array_add(bench_notes, g_strdup_printf("%s: %s", suite, text));
    g_free(text);
}

double bench_ratio(double a, double b)
{
    if (!(a > 0) || !(b > 0)) {
        return -1;
    }
    return a / b;
}

static double bench_median_quotient(const double *a, const double *b, int repeats)
{
    double q[repeats > 0 ? repeats : 1];
    int n = 0;

    for (int r = 0; r < repeats; r++) {
        if (a[r] > 0 && b[r] > 0) {
            q[n++] = a[r] / b[r];
        }
    }
    if (!n) {
        return -1;
    }
    qsort(q, n, sizeof(q[0]), bench_cmp_double);
    return n % 2 ? q[n / 2] : (q[n / 2 - 1] + q[n / 2]) / 2;
}

double bench_paired_ratio(const bench_stats *a, const bench_stats *b)
{
    if (!a->samples || !b->samples || a->repeats != b->repeats) {
        return bench_ratio(a->median_ns, b->median_ns);
    }
    return bench_median_quotient(a->samples, b->samples, a->repeats);
}

double bench_paired_cpu_ratio(const bench_stats *a, const bench_stats *b)
{
    if (!a->cpu_samples || !b->cpu_samples || a->repeats != b->repeats) {
        return -1;
    }
    return bench_median_quotient(a->cpu_samples, b->cpu_samples, a->repeats);
}

/* ---- report ------------------------------------------------------------- */

static const char *bench_verdict_word(bench_verdict v)
{
    switch (v) {
    case BENCH_MET:
        return "met";
    case BENCH_MISSED:
        return "missed";
    case BENCH_UNAVAILABLE:
        return "n/a";
    default:
        return "";
    }
}

static void bench_format_median(char *buf, size_t len, double ns)
{
    if (ns < 0) {
        snprintf(buf, len, "-");
    } else if (ns < 100) {
        snprintf(buf, len, "%.2f", ns);
    } else if (ns < 10000) {
        snprintf(buf, len, "%.1f", ns);
    } else {
        snprintf(buf, len, "%.0f", ns);
    }
}

static void bench_format_ratios(char *buf, size_t len, const bench_result *r)
{
    size_t used = 0;

    buf[0] = '\0';
    for (int i = 0; i < r->nratios && used < len; i++) {
        double v = r->ratio[i].value;
        used += snprintf(buf + used, len - used, "%s%s %.*fx",
                         i ? "; " : "", r->ratio[i].name,
                         v < 10 ? 2 : v < 100 ? 1 : 0, v);
    }
    if (!buf[0]) {
        g_strlcpy(buf, "-", len);
    }
}

static void bench_format_target(char *buf, size_t len, const bench_result *r)
{
    if (r->verdict == BENCH_NO_TARGET) {
        g_strlcpy(buf, "", len);
    } else {
        snprintf(buf, len, "%s: %s", r->target, bench_verdict_word(r->verdict));
    }
}

/* Display width of a UTF-8 string (one column per code point). */
static int bench_width(const char *s)
{
    int w = 0;

    for (; *s; s++) {
        w += ((unsigned char)*s & 0xc0) != 0x80;
    }
    return w;
}

static void bench_cell(const char *s, int width, bool right)
{
    int pad = width - bench_width(s);

    if (pad < 0) {
        pad = 0;
    }
    if (right) {
        printf("%*s%s", pad, "", s);
    } else {
        printf("%s%*s", s, pad, "");
    }
}

static char *bench_peer_versions(void)
{
    GString *s = g_string_new(NULL);

#ifdef QAIO_HAVE_LIBEVENT
    g_string_append_printf(s, "libevent %s, ", event_get_version());
#endif
#ifdef QAIO_HAVE_LIBUV
    g_string_append_printf(s, "libuv %s, ", uv_version_string());
#endif
    g_string_append_printf(s, "glib %u.%u.%u", glib_major_version,
                           glib_minor_version, glib_micro_version);
    return g_string_free(s, FALSE);
}

static void bench_count_verdicts(int *met, int *missed, int *na)
{
    *met = *missed = *na = 0;
    for (guint i = 0; bench_results && i < bench_results->len; i++) {
        bench_result *r = bench_results->pdata[i];
        *met += r->verdict == BENCH_MET;
        *missed += r->verdict == BENCH_MISSED;
        *na += r->verdict == BENCH_UNAVAILABLE;
    }
}

static char *bench_command_line(int argc, char **argv)
{
    GString *s = g_string_new("qaio-bench");

    for (int i = 1; i < argc; i++) {
        g_string_append_c(s, ' ');
        g_string_append(s, argv[i]);
    }
    return g_string_free(s, FALSE);
}

/* The QAIO_* knobs set for this run, as "NAME=value" strings. */
#ifndef _WIN32
extern char **environ;  /* mingw's stdlib.h has it */
#endif

static GPtrArray *bench_knobs_set(void)
{
    GPtrArray *knobs = g_ptr_array_new();

    for (char **e = environ; e && *e; e++) {
        if (g_str_has_prefix(*e, "QAIO_") && strchr(*e, '=')) {
            g_ptr_array_add(knobs, *e);
        }
    }
    return knobs;
}

static void bench_report_table(int argc, char **argv)
{
    enum { NCOL = 7 };
    static const char *head[NCOL] = {
        "suite", "case", "subject", "metric", "median", "ratio", "target"
    };
    int width[NCOL];
    char cell[NCOL][160];
    bench_host h;
    char *peers = bench_peer_versions();
    char *cmd = bench_command_line(argc, argv);
    int met, missed, na;

    bench_host_get(&h);
    printf("%s\nqaio %s; %ld CPUs (%s); %s %s; load %.2f at start; "
           "median of %d repeats of ~%.2f s\npeers: %s\n", cmd, QAIO_VERSION,
           h.cpus, h.cpu, h.system, h.release, bench_load_at_start,
           bench_opt.repeats, bench_opt.repeat_seconds, peers);
    if (h.wine) {
        printf("under Wine %s: these are Wine's figures (Win32 emulated on "
               "Linux), not Windows figures\n", h.wine);
    }
    GPtrArray *knobs = bench_knobs_set();
    for (guint k = 0; k < knobs->len; k++) {
        printf("%s\n", (char *)knobs->pdata[k]);
    }
    g_ptr_array_free(knobs, TRUE);
    printf("\n");

    for (int c = 0; c < NCOL; c++) {
        width[c] = bench_width(head[c]);
    }
    for (guint i = 0; bench_results && i < bench_results->len; i++) {
        bench_result *r = bench_results->pdata[i];

        bench_format_median(cell[4], sizeof(cell[4]), r->st.median_ns);
        bench_format_ratios(cell[5], sizeof(cell[5]), r);
        bench_format_target(cell[6], sizeof(cell[6]), r);
        width[0] = MAX(width[0], bench_width(r->suite));
        width[1] = MAX(width[1], bench_width(r->case_name));
        width[2] = MAX(width[2], bench_width(r->subject));
        width[3] = MAX(width[3], bench_width(r->metric));
        for (int c = 4; c < NCOL; c++) {
            width[c] = MAX(width[c], bench_width(cell[c]));
        }
    }

    for (int c = 0; c < NCOL; c++) {
        bench_cell(head[c], c == NCOL - 1 ? 0 : width[c], c == 4);
        printf(c == NCOL - 1 ? "\n" : "  ");
    }
    for (guint i = 0; bench_results && i < bench_results->len; i++) {
        bench_result *r = bench_results->pdata[i];
        const char *col[NCOL];

        bench_format_median(cell[4], sizeof(cell[4]), r->st.median_ns);
        bench_format_ratios(cell[5], sizeof(cell[5]), r);
        bench_format_target(cell[6], sizeof(cell[6]), r);
        col[0] = r->suite;
        col[1] = r->case_name;
        col[2] = r->subject;
        col[3] = r->metric;
        col[4] = cell[4];
        col[5] = cell[5];
        col[6] = cell[6];
        for (int c = 0; c < NCOL; c++) {
            bench_cell(col[c], c == NCOL - 1 ? 0 : width[c], c == 4);
            printf(c == NCOL - 1 ? "\n" : "  ");
        }
    }

    bool any_note = false;
    for (guint i = 0; bench_results && i < bench_results->len; i++) {
        bench_result *r = bench_results->pdata[i];
        if (r->note[0]) {
            if (!any_note) {
                printf("\nnotes:\n");
                any_note = true;
            }
            printf("  %s %s %s: %s\n", r->suite, r->case_name, r->subject,
                   r->note);
        }
    }
    for (guint i = 0; bench_notes && i < bench_notes->len; i++) {
        if (!any_note) {
            printf("\nnotes:\n");
            any_note = true;
        }
        printf("  %s\n", (char *)bench_notes->pdata[i]);
    }

    bench_count_verdicts(&met, &missed, &na);
    if (met + missed + na) {
        printf("\ntargets: %d met, %d missed, %d not measurable\n",
               met, missed, na);
        for (guint i = 0; bench_results && i < bench_results->len; i++) {
            bench_result *r = bench_results->pdata[i];
            if (r->verdict == BENCH_MISSED) {
                printf("  missed: %s %s %s: %.2fx, target %s\n", r->suite,
                       r->case_name, r->subject, r->target_value, r->target);
            } else if (r->verdict == BENCH_UNAVAILABLE) {
                printf("  not measurable: %s %s %s (see notes)\n", r->suite,
                       r->case_name, r->subject);
            }
        }
    }
    g_free(peers);
    g_free(cmd);
}

static void bench_json_string(const char *s)
{
    putchar('"');
    for (; s && *s; s++) {
        unsigned char ch = *s;
        if (ch == '"' || ch == '\\') {
            printf("\\%c", ch);
        } else if (ch < 0x20) {
            printf("\\u%04x", ch);
        } else {
            putchar(ch);
        }
    }
    putchar('"');
}

static void bench_json_number(double v)
{
    if (isfinite(v) && v >= 0) {
        printf("%.6g", v);
    } else {
        printf("null");
    }
}

static void bench_report_json(int argc, char **argv)
{
    bench_host h;
    char *cmd = bench_command_line(argc, argv);
    int met, missed, na;

    bench_host_get(&h);
    printf("{\n  \"tool\": \"qaio-bench\",\n  \"version\": ");
    bench_json_string(QAIO_VERSION);
    printf(",\n  \"command\": ");
    bench_json_string(cmd);
    printf(",\n  \"machine\": {\"cpus\": %ld, \"cpu_model\": ", h.cpus);
    bench_json_string(h.cpu);
    printf(", \"kernel\": ");
    bench_json_string(h.release);
    /* figures under Wine are Wine's, not Windows' */
    printf(", \"wine\": ");
    if (h.wine) {
        bench_json_string(h.wine);
    } else {
        printf("null");
    }
    printf(", \"load_at_start\": ");
    bench_json_number(bench_load_at_start);
    printf("},\n  \"settings\": {\"repeats\": %d, \"repeat_seconds\": %g, "
           "\"quick\": %s},\n", bench_opt.repeats, bench_opt.repeat_seconds,
           bench_opt.quick ? "true" : "false");
    printf("  \"env\": {");
    GPtrArray *knobs = bench_knobs_set();
    for (guint k = 0; k < knobs->len; k++) {
        const char *kv = knobs->pdata[k];
        const char *eq = strchr(kv, '=');
        char *name = g_strndup(kv, eq - kv);

        printf("%s", k ? ", " : "");
        bench_json_string(name);
        printf(": ");
        bench_json_string(eq + 1);
        g_free(name);
    }
    g_ptr_array_free(knobs, TRUE);
    printf("},\n  \"peers\": {");
#ifdef QAIO_HAVE_LIBEVENT
    printf("\"libevent\": ");
    bench_json_string(event_get_version());
    printf(", ");
#endif
#ifdef QAIO_HAVE_LIBUV
    printf("\"libuv\": ");
    bench_json_string(uv_version_string());
    printf(", ");
#endif
    printf("\"glib\": \"%u.%u.%u\"},\n", glib_major_version,
           glib_minor_version, glib_micro_version);

    printf("  \"results\": [");
    for (guint i = 0; bench_results && i < bench_results->len; i++) {
        bench_result *r = bench_results->pdata[i];

        printf("%s\n    {\"suite\": ", i ? "," : "");
        bench_json_string(r->suite);
        printf(", \"case\": ");
        bench_json_string(r->case_name);
        printf(", \"subject\": ");
        bench_json_string(r->subject);
        printf(", \"metric\": ");
        bench_json_string(r->metric);
        printf(", \"median\": ");
        bench_json_number(r->st.median_ns);
        printf(", \"min\": ");
        bench_json_number(r->st.min_ns);
        printf(", \"max\": ");
        bench_json_number(r->st.max_ns);
        /* Operations per second where the metric gives them: a time per
         * operation, or IOPS itself; null for latencies. */
        printf(", \"ops_per_sec\": ");
        if (strcmp(r->metric, "ns/op") == 0) {
            bench_json_number(r->st.median_ns > 0 ? 1e9 / r->st.median_ns : -1);
        } else {
            bench_json_number(strcmp(r->metric, "IOPS") == 0 ? r->st.median_ns : -1);
        }
        printf(", \"repeats\": %d, \"iterations_per_repeat\": %" PRIu64,
               r->st.repeats, r->st.iters);
        printf(", \"ratios\": [");
        for (int k = 0; k < r->nratios; k++) {
            printf("%s{\"name\": ", k ? ", " : "");
            bench_json_string(r->ratio[k].name);
            printf(", \"value\": ");
            bench_json_number(r->ratio[k].value);
            printf("}");
        }
        printf("]");
        if (r->verdict != BENCH_NO_TARGET) {
            printf(", \"target\": {\"text\": ");
            bench_json_string(r->target);
            printf(", \"limit\": ");
            bench_json_number(r->target_limit);
            printf(", \"value\": ");
            bench_json_number(r->target_value);
            printf(", \"verdict\": \"%s\"}", bench_verdict_word(r->verdict));
        }
        if (r->note[0]) {
            printf(", \"note\": ");
            bench_json_string(r->note);
        }
        printf("}");
    }
    printf("\n  ],\n  \"notes\": [");
    for (guint i = 0; bench_notes && i < bench_notes->len; i++) {
        printf("%s\n    ", i ? "," : "");
        bench_json_string(bench_notes->pdata[i]);
    }
    bench_count_verdicts(&met, &missed, &na);
    printf("\n  ],\n  \"targets\": {\"met\": %d, \"missed\": %d, "
           "\"unavailable\": %d}\n}\n", met, missed, na);
    g_free(cmd);
}

void bench_report(int argc, char **argv)
{
    bench_progress_clear();
    if (bench_opt.json) {
        bench_report_json(argc, argv);
    } else {
        bench_report_table(argc, argv);
    }
    fflush(stdout);
}

/* ---- qaio helpers ------------------------------------------------------- */

AioContext *bench_context_new(const char *fdmon, char *why, size_t whylen)
{
    const char *old = getenv("QAIO_FDMON");
    char *saved = old ? g_strdup(old) : NULL;
    Error *err = NULL;
    AioContext *ctx;

    /* qaio reads its knobs when a context is created. */
    if (fdmon) {
        g_setenv("QAIO_FDMON", fdmon, TRUE);
    } else {
        g_unsetenv("QAIO_FDMON");
    }
    ctx = aio_context_new(&err);
    if (saved) {
        g_setenv("QAIO_FDMON", saved, TRUE);
    } else {
        g_unsetenv("QAIO_FDMON");
    }
    g_free(saved);
    if (!ctx && why) {
        snprintf(why, whylen, "aio_context_new: %s",
                 err ? error_get_pretty(err) : "failed");
    }
    if (err) {
        error_free(err);
    }
    return ctx;
}

#ifndef _WIN32
bool bench_io_uring_usable(char *why, size_t whylen)
{
#ifdef CONFIG_LINUX_IO_URING
    struct io_uring_params p;
    long fd;

    memset(&p, 0, sizeof(p));
    fd = syscall(__NR_io_uring_setup, 4, &p);
    if (fd < 0) {
        snprintf(why, whylen, "the kernel refuses io_uring_setup (%s)",
                 strerror(errno));
        return false;
    }
    close(fd);
    return true;
#else
    snprintf(why, whylen, "qaio was configured without io_uring");
    return false;
#endif
}

bool bench_eventfds_open(int n, int **fds, int *nopen, char *why, size_t whylen)
{
    uint64_t one = 1;

    *fds = g_new(int, n);
    for (*nopen = 0; *nopen < n; (*nopen)++) {
        int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (fd < 0) {
            snprintf(why, whylen, "eventfd #%d: %s", *nopen + 1, strerror(errno));
            return false;
        }
        (*fds)[*nopen] = fd;
    }
    if (write((*fds)[n / 2], &one, sizeof(one)) != sizeof(one)) {
        snprintf(why, whylen, "eventfd write: %s", strerror(errno));
        return false;
    }
    return true;
}

static gboolean bench_glib_count(gint fd, GIOCondition cond, gpointer dispatched)
{
    (*(uint64_t *)dispatched)++;
    return G_SOURCE_CONTINUE;
}

GMainContext *bench_glib_watch(const int *fds, int n, uint64_t *dispatched)
{
    GMainContext *mc = g_main_context_new();

    for (int i = 0; i < n; i++) {
        GSource *src = g_unix_fd_source_new(fds[i], G_IO_IN);

        g_source_set_callback(src, (GSourceFunc)(void (*)(void))bench_glib_count,
                              dispatched, NULL);
        g_source_attach(src, mc);
        g_source_unref(src);
    }
    return mc;
}

void bench_glib_iterate(GMainContext *mc, uint64_t iters)
{
    for (uint64_t i = 0; i < iters; i++) {
        g_main_context_iteration(mc, FALSE);
    }
}
#endif

uint64_t bench_rand(uint64_t *state)
{
    /* xorshift64*: fast, good enough to scatter deadlines. */
    uint64_t x = *state;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545f4914f6cdd1dull;
}
