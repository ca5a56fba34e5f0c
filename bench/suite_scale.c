/* SPDX-License-Identifier: MIT */
/*
 * Suite "scale": many live coroutines in one process.  For 10^4, 10^5 and
 * 10^6 coroutines: create each and enter it up to its one yield, so that
 * all are alive and parked at once, then enter each again so that it ends.
 * Rows give ns per coroutine of each phase and the memory each parked
 * coroutine holds (growth of VmRSS plus VmPTE, the page tables, over the
 * creation phase, divided by the count); notes give the process's map
 * count at the peak.  The counts run in turn within each round, so a
 * burst of load hits all of them alike, and the ratios are medians of
 * per-round quotients.  Targets: 10^6 alive at once (the row exists), the
 * cost per coroutine of each phase at 10^6 at most 1.5x that at 10^4, and
 * at most 12 KiB resident per parked coroutine.
 *
 * A kernel without MADV_GUARD_INSTALL (before Linux 6.13) makes qaio give
 * every stack a mapping of its own; counts that would then pass
 * vm.max_map_count are skipped with a note rather than aborted.
 */
#include "config.h"

#include "bench.h"

#include "qemu/coroutine.h"

#include <sys/mman.h>

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif

enum { SCALE_NCOUNTS = 3 };

static const long scale_counts[SCALE_NCOUNTS] = { 10000, 100000, 1000000 };
static const char *const scale_names[SCALE_NCOUNTS] = { "10^4", "10^5", "10^6" };

typedef struct scale_sample {
    double create_ns;       /* per coroutine */
    double finish_ns;
    double kib_per_co;      /* VmRSS + VmPTE growth per parked coroutine */
    double rss_kib_per_co;
    long maps;              /* map count with all of them parked */
} scale_sample;

static void scale_fn(void *opaque)
{
    qemu_coroutine_yield();
}

/* A "Name:   N kB" line of /proc/self/status, in KiB; -1 if absent. */
static long scale_status_kib(const char *name)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t len = strlen(name);
    long kib = -1;

    if (!f) {
        return -1;
    }
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, name, len) == 0 && line[len] == ':') {
            kib = strtol(line + len + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kib;
}

static long scale_map_count(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    long n = 0;
    int c;

    if (!f) {
        return -1;
    }
    while ((c = getc(f)) != EOF) {
        n += c == '\n';
    }
    fclose(f);
    return n;
}

static long scale_max_map_count(void)
{
    FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
    long v = 65530;

    if (f) {
        if (fscanf(f, "%ld", &v) != 1) {
            v = 65530;
        }
        fclose(f);
    }
    return v;
}

/* What qaio probes too: can a page inside a mapping be guarded? */
static bool scale_guard_markers(void)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    void *p = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    bool ok;

    if (p == MAP_FAILED) {
        return false;
    }
    ok = madvise(p, page, MADV_GUARD_INSTALL) == 0;
    munmap(p, 2 * page);
    return ok;
}

static void scale_once(long n, Coroutine **co, scale_sample *s)
{
    long rss0 = scale_status_kib("VmRSS"), pte0 = scale_status_kib("VmPTE");
    long rss1, pte1;
    uint64_t t0, t1, t2;

    t0 = bench_now_ns();
    for (long i = 0; i < n; i++) {
        co[i] = qemu_coroutine_create(scale_fn, NULL);
        qemu_coroutine_enter(co[i]);
        if (i % 65536 == 65535) {
            bench_alive("[scale] create");
        }
    }
    t1 = bench_now_ns();
    rss1 = scale_status_kib("VmRSS");
    pte1 = scale_status_kib("VmPTE");
    s->maps = scale_map_count();
    bench_alive("[scale] resume");
    t2 = bench_now_ns();
    for (long i = 0; i < n; i++) {
        qemu_coroutine_enter(co[i]);
        if (i % 65536 == 65535) {
            bench_alive("[scale] resume");
        }
    }
    s->finish_ns = (double)(bench_now_ns() - t2) / n;
    s->create_ns = (double)(t1 - t0) / n;
    s->rss_kib_per_co = (double)(rss1 - rss0) / n;
    s->kib_per_co = (double)(rss1 - rss0 + MAX(pte1 - pte0, 0)) / n;
}

static int scale_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static double scale_median(double *v, int n)
{
    double *s = g_memdup2(v, sizeof(*v) * n);
    double m;

    qsort(s, n, sizeof(*s), scale_cmp);
    m = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    g_free(s);
    return m;
}

/* A row from per-round values (samples kept for paired ratios). */
static bench_result *scale_row(const char *case_name, double *v, int rounds,
                               const char *metric)
{
    bench_stats st = { .repeats = rounds, .iters = 1 };
    bench_result *r;
    double *sorted = g_memdup2(v, sizeof(*v) * rounds);

    qsort(sorted, rounds, sizeof(*sorted), scale_cmp);
    st.samples = g_memdup2(v, sizeof(*v) * rounds);
    st.median_ns = scale_median(v, rounds);
    st.min_ns = sorted[0];
    st.max_ns = sorted[rounds - 1];
    g_free(sorted);
    r = bench_record("scale", case_name, "qaio", &st);
    g_strlcpy(r->metric, metric, sizeof(r->metric));
    return r;
}

/* Ratio of a row to the 10^4 figures of the same rounds. */
static void scale_judge(bench_result *r, double *base, int rounds,
                        const char *name, bool judged)
{
    bench_stats b = { .repeats = rounds, .samples = base, .median_ns = 1 };
    double q = bench_paired_ratio(&r->st, &b);

    bench_add_ratio(r, name, q);
    if (judged) {
        bench_set_target(r, "≤1.5x 10^4", 1.5, q);
    }
}

static void scale_run(void)
{
    int rounds = bench_opt.repeats;
    long max_maps = scale_max_map_count();
    bool markers = scale_guard_markers();
    bool usable[SCALE_NCOUNTS];
    double create[SCALE_NCOUNTS][64], finish[SCALE_NCOUNTS][64];
    double kib[SCALE_NCOUNTS][64], rss[SCALE_NCOUNTS][64];
    long maps[SCALE_NCOUNTS] = { 0 };
    Coroutine **co = g_new(Coroutine *, scale_counts[SCALE_NCOUNTS - 1]);

    rounds = MIN(MAX(rounds, 1), 64);
    for (int c = 0; c < SCALE_NCOUNTS; c++) {
        /* One mapping and one guard per stack, plus what is there already. */
        usable[c] = markers || 2 * scale_counts[c] + scale_map_count() < max_maps;
        if (!usable[c]) {
            bench_note("scale", "%s coroutines skipped: this kernel lacks "
                       "MADV_GUARD_INSTALL, so each stack is two map entries and "
                       "vm.max_map_count is %ld", scale_names[c], max_maps);
        }
    }
    for (int r = 0; r < rounds; r++) {
        for (int c = 0; c < SCALE_NCOUNTS; c++) {
            scale_sample s;
            char what[48];

            if (!usable[c]) {
                continue;
            }
            snprintf(what, sizeof(what), "%s coroutines", scale_names[c]);
            bench_progress("scale", what, c + 1, SCALE_NCOUNTS, r + 1, rounds);
            bench_alive("[scale] create");
            scale_once(scale_counts[c], co, &s);
            create[c][r] = s.create_ns;
            finish[c][r] = s.finish_ns;
            kib[c][r] = s.kib_per_co;
            rss[c][r] = s.rss_kib_per_co;
            maps[c] = MAX(maps[c], s.maps);
        }
    }
    bench_progress_clear();

    for (int c = 0; c < SCALE_NCOUNTS; c++) {
        char name[48];
        bench_result *rc, *rf, *rm;

        if (!usable[c]) {
            continue;
        }
        snprintf(name, sizeof(name), "create+park %s", scale_names[c]);
        rc = scale_row(name, create[c], rounds, "ns/op");
        snprintf(name, sizeof(name), "resume+end %s", scale_names[c]);
        rf = scale_row(name, finish[c], rounds, "ns/op");
        snprintf(name, sizeof(name), "memory per parked %s", scale_names[c]);
        rm = scale_row(name, kib[c], rounds, "KiB/co");
        bench_set_target(rm, "≤12 KiB", 12, rm->st.median_ns);
        bench_result_note(rm, "VmRSS alone %.2f KiB/co; %ld map entries with all "
                          "parked (vm.max_map_count %ld)",
                          scale_median(rss[c], rounds), maps[c], max_maps);
        if (c > 0 && usable[0]) {
            char ratio[40];

            snprintf(ratio, sizeof(ratio), "%s/10^4", scale_names[c]);
            scale_judge(rc, create[0], rounds, ratio, c == SCALE_NCOUNTS - 1);
            scale_judge(rf, finish[0], rounds, ratio, c == SCALE_NCOUNTS - 1);
        }
    }
    bench_note("scale", "coroutine stacks %s; %s", markers
               ? "share slabs guarded with MADV_GUARD_INSTALL"
               : "have a mapping each (no MADV_GUARD_INSTALL)",
               "memory per parked coroutine is VmRSS+VmPTE growth over the "
               "creation phase");
    g_free(co);
}

const bench_suite bench_suite_scale = {
    .name = "scale",
    .summary = "10^4, 10^5, 10^6 live coroutines: create+park, resume+end, "
               "memory per parked coroutine",
    .run = scale_run,
};
