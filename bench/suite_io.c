/* SPDX-License-Identifier: MIT */
/*
 * Suite "io": 4 KiB random reads and writes from coroutines, at queue depth
 * 1 and 64, through each block engine: linux-aio (laio_co_submit), io_uring
 * (luring_co_submit) and the thread pool (thread_pool_submit_co with
 * pread/pwrite), beside fio doing the same shapes with libaio, io_uring
 * and psync (QD threads of one request each, as many as the pool's) in the
 * same invocation.  Queue depth N is N coroutines, each looping
 * "pick a random block, submit, wait" until the round's time is up, on one
 * AioContext that a worker thread runs with aio_poll.  A request's latency
 * is measured in its coroutine, from the submission call to its return;
 * fio's is its total latency (lat_ns, submission to completion).
 *
 * Two places by default: a file in /dev/shm read and written without
 * O_DIRECT (tmpfs: the page cache is the storage, so this measures the
 * software path) and a file in the current directory with O_DIRECT (the
 * local disk).  --io-path DIR runs one place in DIR instead, with O_DIRECT
 * where the file system allows it unless --io-direct no; --io-size sets the
 * file size.  Each shape runs in rounds: a round is one qaio run per engine
 * and one fio invocation with one stonewalled job per engine, each qaio
 * engine run next to its fio twin (before it in even rounds, after it in
 * odd ones), so a burst of load on the machine hits both sides of a round.
 * There are as many rounds as repeats (5; 3 with --quick).  A figure is the
 * median over rounds; a ratio is the median over rounds of the quotient of
 * the two runs of a round.  Targets (reads only): on tmpfs, with O_DIRECT
 * or without, qaio reaches 85% of fio's IOPS with the same engine at QD64;
 * on a disk read with O_DIRECT 95% at QD64, and its p50 latency at QD1 is
 * within 10% of fio's.  The thread
 * pool's goal at QD64 is 90% of fio psync's IOPS on either place.  On tmpfs
 * the thread pool's and io_uring's rows also say where their CPU time goes
 * per request, and the thread pool's at QD64 the ceiling that the CPUs put
 * on any thread pool there.
 */
#define _GNU_SOURCE
#include "config.h"

#include "bench.h"

#include "block/raw-aio.h"
#include "qapi/error.h"
#include "block/thread-pool.h"
#include "qemu/coroutine.h"
#include "qemu/iov.h"

#include <sys/stat.h>
#include <sys/vfs.h>

/* Options, set by qaio-bench.c (--io-path, --io-size, --io-direct). */
const char *bench_io_path;
long bench_io_size_mib = 256;
int bench_io_direct = -1;   /* -1: where the file system allows it */

enum { ENG_LINUX_AIO, ENG_IO_URING, ENG_THREADS, N_ENG };

static const char *const eng_name[N_ENG] = { "linux-aio", "io_uring", "threads" };
/*
 * fio's engine for the same shape.  The thread pool's twin is psync with one
 * thread per request in flight (numjobs=QD, iodepth 1, reported as a group),
 * as many threads as the pool runs at that depth.
 */
static const char *const eng_fio[N_ENG] = { "libaio", "io_uring", "psync" };

#define IO_BS 4096
#define MAX_ROUNDS 16

typedef struct io_place {
    const char *label;      /* "shm", "disk", "path" */
    char *path;
    int fd;
    bool direct;
    uint64_t size;
    char fs[32];
} io_place;

/* One measured run. */
typedef struct io_figures {
    bool ok;
    double iops;
    double mbps;
    double p50_us;
    double p99_us;
    /* The thread pool and io_uring on tmpfs, per request: CPU time of the
     * process (io_uring's io-wq workers included), of the loop thread, and
     * (thread pool) of the job run alone on the loop thread; and the share
     * of the CPUs the process kept busy. */
    double cpu_ns, loop_ns, alone_ns, busy;
} io_figures;

/* What the worker thread owns: the context and the engines attached to it. */
typedef struct io_host {
    AioContext *ctx;
    void *engine[N_ENG];
    char why[N_ENG][160];
} io_host;

typedef struct io_job io_job;

typedef struct io_slot {
    io_job *job;
    uint64_t seed;
    void *buf;
    QEMUIOVector qiov;
    uint64_t offset;
} io_slot;

struct io_job {
    io_host *host;
    const io_place *place;
    int eng;
    bool write;
    int qd;
    uint64_t nblocks;
    double seconds;         /* length of a round */
    uint64_t deadline_ns;
    uint64_t start_ns;
    uint64_t end_ns;
    uint64_t ops;
    uint64_t errors;
    int first_error;
    uint32_t *lat;          /* per-request latency, ns */
    size_t nlat, cap;
    int live;
    io_slot *slots;
    io_figures out;
};

static int io_cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return x < y ? -1 : x > y;
}

static int io_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static double io_median(double *v, int n)
{
    if (n <= 0) {
        return -1;
    }
    qsort(v, n, sizeof(v[0]), io_cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---- the qaio side ------------------------------------------------------- */

static int io_pool_rw(void *opaque)
{
    io_slot *s = opaque;
    const io_job *j = s->job;
    ssize_t n = j->write ? pwrite(j->place->fd, s->buf, IO_BS, s->offset)
                         : pread(j->place->fd, s->buf, IO_BS, s->offset);

    return n == IO_BS ? 0 : n < 0 ? -errno : -EIO;
}

static void coroutine_fn io_co(void *opaque)
{
    io_slot *s = opaque;
    io_job *j = s->job;
    void *e = j->host->engine[j->eng];
    int type G_GNUC_UNUSED = j->write ? QEMU_AIO_WRITE : QEMU_AIO_READ;

    for (;;) {
        uint64_t t0 = bench_now_ns(), t1;
        int r = -ENOTSUP;

        if (t0 >= j->deadline_ns) {
            break;
        }
        s->offset = (bench_rand(&s->seed) % j->nblocks) * IO_BS;
        switch (j->eng) {
#ifdef CONFIG_LINUX_AIO
        case ENG_LINUX_AIO:
#if QAIO_QEMU_API_AT_LEAST(10, 0)
            r = laio_co_submit(j->place->fd, s->offset, &s->qiov, type, 0, 0);
#else
            r = laio_co_submit(NULL, e, j->place->fd, s->offset, &s->qiov,
                               type, 0);
#endif
            break;
#endif
#ifdef CONFIG_LINUX_IO_URING
        case ENG_IO_URING:
#if QAIO_QEMU_API_AT_LEAST(10, 0)
            r = luring_co_submit(NULL, j->place->fd, s->offset, &s->qiov, type, 0);
#else
            r = luring_co_submit(NULL, e, j->place->fd, s->offset, &s->qiov,
                                 type);
#endif
            break;
#endif
        case ENG_THREADS:
            r = bench_pool_submit_co(e, io_pool_rw, s);
            break;
        default:
            break;
        }
        t1 = bench_now_ns();
        if (j->nlat == j->cap) {
            j->cap = j->cap ? j->cap * 2 : 65536;
            j->lat = g_renew(uint32_t, j->lat, j->cap);
        }
        j->lat[j->nlat++] = (uint32_t)MIN(t1 - t0, UINT32_MAX);
        j->ops++;
        if (r && !j->errors++) {
            j->first_error = r;
        }
        j->end_ns = t1;
    }
    j->live--;
}

/* tmpfs: the page cache is the storage, with or without O_DIRECT (which
 * Linux 6.6 and later accept there). */
static bool io_on_memory(const io_place *pl)
{
    return !strcmp(pl->fs, "tmpfs");
}

/* The disk's targets (95% of fio, the QD1 latency) are for a device read
 * with O_DIRECT, not for tmpfs that accepts the flag. */
static bool io_on_disk(const io_place *pl)
{
    return pl->direct && !io_on_memory(pl);
}

/* On memory the CPUs are the bound, so where they go is the story: the
 * thread pool's and io_uring's rows on tmpfs say it. */
static bool io_tells_costs(int eng, const io_place *pl)
{
    return eng != ENG_LINUX_AIO && io_on_memory(pl);
}

/* Thread CPU time of one pool job run directly on this thread: what fio
 * psync's threads pay per request, which no pool can avoid. */
static double io_job_alone_ns(io_job *j)
{
    io_slot *s = &j->slots[0];
    uint64_t t0 = bench_now_ns(), c0 = bench_clock_ns(CLOCK_THREAD_CPUTIME_ID);
    long n = 0;

    do {
        s->offset = (bench_rand(&s->seed) % j->nblocks) * IO_BS;
        io_pool_rw(s);
        n++;
    } while (n < 100000 && bench_now_ns() - t0 < 20 * 1000 * 1000);
    return (double)(bench_clock_ns(CLOCK_THREAD_CPUTIME_ID) - c0) / n;
}

/* Runs on the worker: one round of one engine. */
static void io_run_job(void *opaque)
{
    io_job *j = opaque;
    double secs;
    bool costs = io_tells_costs(j->eng, j->place);
    uint64_t cpu0 = bench_clock_ns(CLOCK_PROCESS_CPUTIME_ID);
    uint64_t loop0 = bench_clock_ns(CLOCK_THREAD_CPUTIME_ID);

    j->ops = j->errors = 0;
    j->nlat = 0;
    j->live = j->qd;
    j->start_ns = j->end_ns = bench_now_ns();
    j->deadline_ns = j->start_ns + (uint64_t)(j->seconds * 1e9);
    for (int i = 0; i < j->qd; i++) {
        qemu_coroutine_enter(qemu_coroutine_create(io_co, &j->slots[i]));
    }
    while (j->live) {
        aio_poll(j->host->ctx, true);
    }
    secs = (j->end_ns - j->start_ns) / 1e9;
    memset(&j->out, 0, sizeof(j->out));
    if (!j->ops || secs <= 0) {
        return;
    }
    if (costs) {
        uint64_t cpu = bench_clock_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu0;

        j->out.cpu_ns = (double)cpu / j->ops;
        j->out.loop_ns = (double)(bench_clock_ns(CLOCK_THREAD_CPUTIME_ID) - loop0) / j->ops;
        j->out.busy = cpu / 1e9 / secs / sysconf(_SC_NPROCESSORS_ONLN);
        j->out.alone_ns = j->eng == ENG_THREADS ? io_job_alone_ns(j) : 0;
    }
    qsort(j->lat, j->nlat, sizeof(j->lat[0]), io_cmp_u32);
    j->out.ok = j->errors == 0;
    j->out.iops = j->ops / secs;
    j->out.mbps = j->out.iops * IO_BS / 1e6;
    j->out.p50_us = j->lat[(j->nlat - 1) / 2] / 1e3;
    j->out.p99_us = j->lat[(size_t)((j->nlat - 1) * 0.99)] / 1e3;
}

static void io_host_setup(void *opaque)
{
    io_host *h = opaque;
    Error *err G_GNUC_UNUSED = NULL;
    char why[160];

    h->ctx = bench_context_new(NULL, why, sizeof(why));
    if (!h->ctx) {
        for (int e = 0; e < N_ENG; e++) {
            g_strlcpy(h->why[e], why, sizeof(h->why[e]));
        }
        return;
    }
    qemu_set_current_aio_context(h->ctx);
#ifdef CONFIG_LINUX_AIO
    h->engine[ENG_LINUX_AIO] = aio_setup_linux_aio(h->ctx, &err);
    if (!h->engine[ENG_LINUX_AIO]) {
        snprintf(h->why[ENG_LINUX_AIO], sizeof(h->why[0]), "laio_init: %s",
                 error_get_pretty(err));
        error_free(err);
        err = NULL;
    }
#else
    g_strlcpy(h->why[ENG_LINUX_AIO], "qaio was configured without linux-aio",
              sizeof(h->why[0]));
#endif
#ifdef CONFIG_LINUX_IO_URING
    h->engine[ENG_IO_URING] = aio_setup_linux_io_uring(h->ctx, &err);
    if (!h->engine[ENG_IO_URING]) {
        snprintf(h->why[ENG_IO_URING], sizeof(h->why[0]), "luring_init: %s",
                 error_get_pretty(err));
        error_free(err);
        err = NULL;
    }
#else
    g_strlcpy(h->why[ENG_IO_URING], "qaio was configured without io_uring",
              sizeof(h->why[0]));
#endif
    h->engine[ENG_THREADS] = aio_get_thread_pool(h->ctx);
}

static void io_host_teardown(void *opaque)
{
    io_host *h = opaque;

    if (h->ctx) {
        aio_context_unref(h->ctx);
    }
}

/* ---- the fio side -------------------------------------------------------- */

#ifdef QAIO_FIO_PATH
/* The number after "key" : at or after p, or -1. */
static double io_json_number(const char *p, const char *key, const char *end)
{
    char quoted[64];
    const char *k;

    snprintf(quoted, sizeof(quoted), "\"%s\"", key);
    k = p ? strstr(p, quoted) : NULL;
    if (!k || (end && k > end)) {
        return -1;
    }
    k = strchr(k + strlen(quoted), ':');
    return k ? g_ascii_strtod(k + 1, NULL) : -1;
}

/*
 * One fio invocation: rounds x engines jobs, one after the other
 * (stonewall), in the order round 1 engine 1, round 1 engine 2, ...
 * out[round][eng] receives each job's figures.  The suite runs one round
 * per invocation, between its own qaio runs.
 */
static bool io_run_fio(const io_place *pl, bool is_write, int qd, int rounds,
                       double seconds, io_figures out[][N_ENG], char *why,
                       size_t whylen)
{
    GString *jobs = g_string_new(NULL);
    char *jobfile = NULL, *output = NULL;
    GError *gerr = NULL;
    int fd, status = 0;
    const char *p;
    bool ok = false;

    g_string_append_printf(jobs,
        "[global]\nfilename=%s\nsize=%" PRIu64 "\nrw=%s\nbs=%d\niodepth=%d\n"
        "direct=%d\nruntime=%dms\ntime_based\nnorandommap\nrandrepeat=0\n"
        "invalidate=0\nlat_percentiles=1\nthread\ngroup_reporting\n",
        pl->path, pl->size, is_write ? "randwrite" : "randread", IO_BS, qd,
        pl->direct, (int)(seconds * 1000));
    for (int r = 0; r < rounds; r++) {
        for (int e = 0; e < N_ENG; e++) {
            if (eng_fio[e]) {
                g_string_append_printf(jobs, "[r%d-%s]\nioengine=%s\nstonewall\n",
                                       r, eng_fio[e], eng_fio[e]);
            }
            if (e == ENG_THREADS) {
                g_string_append_printf(jobs, "iodepth=1\nnumjobs=%d\n", qd);
            }
        }
    }
    fd = g_file_open_tmp("qaio-bench-fio-XXXXXX.fio", &jobfile, &gerr);
    if (fd < 0 || write(fd, jobs->str, jobs->len) != (ssize_t)jobs->len) {
        snprintf(why, whylen, "cannot write the fio job file");
        goto out;
    }
    {
        char *argv[] = { (char *)QAIO_FIO_PATH, (char *)"--output-format=json",
                         (char *)"--eta=never", jobfile, NULL };

        if (!g_spawn_sync(NULL, argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL,
                          NULL, &output, NULL, &status, &gerr) ||
            !g_spawn_check_wait_status(status, NULL)) {
            snprintf(why, whylen, "fio failed%s%s", gerr ? ": " : "",
                     gerr ? gerr->message : "");
            goto out;
        }
    }
    /* Jobs come in order; each has "read" then "write" objects. */
    p = strstr(output, "\"jobs\"");
    for (int r = 0; r < rounds && p; r++) {
        for (int e = 0; e < N_ENG && p; e++) {
            const char *job, *dir, *lat, *pct, *next;
            io_figures *f = &out[r][e];

            if (!eng_fio[e]) {
                continue;
            }
            job = strstr(p, "\"jobname\"");
            if (!job) {
                p = NULL;
                break;
            }
            next = strstr(job + 1, "\"jobname\"");
            dir = strstr(job, is_write ? "\"write\"" : "\"read\"");
            lat = dir ? strstr(dir, "\"lat_ns\"") : NULL;
            pct = lat ? strstr(lat, "\"percentile\"") : NULL;
            if (io_json_number(job, "error", next) != 0 || !pct ||
                (next && pct > next)) {
                p = NULL;
                break;
            }
            f->iops = io_json_number(dir, "iops", next);
            f->mbps = io_json_number(dir, "bw", next) * 1024 / 1e6;
            f->p50_us = io_json_number(pct, "50.000000", next) / 1e3;
            f->p99_us = io_json_number(pct, "99.000000", next) / 1e3;
            f->ok = f->iops > 0 && f->p50_us > 0;
            p = next ? next : job + 1;
        }
    }
    ok = p != NULL;
    if (!ok) {
        snprintf(why, whylen, "cannot read fio's JSON output");
    }
out:
    if (fd >= 0) {
        close(fd);
    }
    if (jobfile) {
        unlink(jobfile);
    }
    g_free(jobfile);
    g_free(output);
    if (gerr) {
        g_error_free(gerr);
    }
    g_string_free(jobs, TRUE);
    return ok;
}
#endif

/* ---- places -------------------------------------------------------------- */

static const char *io_fs_name(long type)
{
    switch ((unsigned long)type) {
    case 0x01021994:
        return "tmpfs";
    case 0xef53:
        return "ext4";
    case 0x58465342:
        return "xfs";
    case 0x9123683e:
        return "btrfs";
    default:
        return "?";
    }
}

static char *io_cleanup_paths[4];

static void io_remove_files(void)
{
    for (size_t i = 0; i < ARRAY_SIZE(io_cleanup_paths); i++) {
        if (io_cleanup_paths[i]) {
            unlink(io_cleanup_paths[i]);
            g_free(io_cleanup_paths[i]);
            io_cleanup_paths[i] = NULL;
        }
    }
}

/* Create the place's file, full of non-zero data; false with a note. */
static bool io_place_open(io_place *pl, const char *dir, int direct)
{
    static bool registered;
    size_t chunk = 1 << 20;
    struct statfs sfs;
    char *buf;
    int fl;

    pl->size = (uint64_t)bench_io_size_mib << 20;
    pl->path = g_strdup_printf("%s/qaio-bench-io.XXXXXX", dir);
    pl->fd = mkstemp(pl->path);
    if (pl->fd < 0) {
        bench_note("io", "%s: cannot create a file in %s: %s", pl->label, dir,
                   strerror(errno));
        return false;
    }
    if (!registered) {
        atexit(io_remove_files);
        registered = true;
    }
    for (size_t i = 0; i < ARRAY_SIZE(io_cleanup_paths); i++) {
        if (!io_cleanup_paths[i]) {
            io_cleanup_paths[i] = g_strdup(pl->path);
            break;
        }
    }
    g_strlcpy(pl->fs, fstatfs(pl->fd, &sfs) == 0 ? io_fs_name(sfs.f_type) : "?",
              sizeof(pl->fs));
    bench_alive("[io] creating the data file");
    buf = g_malloc(chunk);
    for (size_t i = 0; i < chunk; i++) {
        buf[i] = (char)(i * 131 + 7);
    }
    for (uint64_t off = 0; off < pl->size; off += chunk) {
        if (pwrite(pl->fd, buf, chunk, off) != (ssize_t)chunk) {
            bench_note("io", "%s: writing %s: %s", pl->label, pl->path,
                       strerror(errno));
            g_free(buf);
            return false;
        }
    }
    g_free(buf);
    fsync(pl->fd);
    pl->direct = false;
    if (direct != 0) {
        fl = fcntl(pl->fd, F_GETFL);
        pl->direct = fcntl(pl->fd, F_SETFL, fl | O_DIRECT) == 0;
        if (!pl->direct && direct > 0) {
            bench_note("io", "%s: O_DIRECT refused on %s (%s): buffered I/O",
                       pl->label, pl->fs, strerror(errno));
        }
    }
    return true;
}

static void io_place_close(io_place *pl)
{
    if (pl->fd >= 0) {
        close(pl->fd);
    }
    if (pl->path) {
        unlink(pl->path);
    }
    g_free(pl->path);
    memset(pl, 0, sizeof(*pl));
    pl->fd = -1;
}

/* 1 if the place is usable, else 0 (with a note) and *pl cleared. */
static int io_place_add(io_place *pl, const char *label, const char *dir,
                        int direct)
{
    pl->label = label;
    pl->fd = -1;
    if (io_place_open(pl, dir, direct)) {
        return 1;
    }
    io_place_close(pl);
    return 0;
}

/* ---- one shape ----------------------------------------------------------- */

typedef struct io_shape_result {
    io_figures qaio[MAX_ROUNDS][N_ENG];
    io_figures fio[MAX_ROUNDS][N_ENG];
    bool fio_ok;
    char fio_why[200];
    uint64_t errors[N_ENG];     /* failed qaio requests, all rounds */
    int first_error[N_ENG];
} io_shape_result;

enum { F_IOPS, F_MBPS, F_P50, F_P99, F_CPU, F_LOOP, F_ALONE, F_BUSY };

static double io_field(const io_figures *f, int field)
{
    switch (field) {
    case F_IOPS: return f->iops;
    case F_MBPS: return f->mbps;
    case F_P50: return f->p50_us;
    case F_P99: return f->p99_us;
    case F_CPU: return f->cpu_ns;
    case F_LOOP: return f->loop_ns;
    case F_ALONE: return f->alone_ns;
    default: return f->busy;
    }
}

/* Median of one field over the rounds where the run succeeded. */
static double io_med(io_figures runs[][N_ENG], int rounds, int e, int field)
{
    double v[MAX_ROUNDS];
    int n = 0;

    for (int r = 0; r < rounds; r++) {
        if (runs[r][e].ok) {
            v[n++] = io_field(&runs[r][e], field);
        }
    }
    return io_median(v, n);
}

/* Median over rounds of a's field over b's in the same round, where both
 * runs succeeded; -1 if no round has both. */
static double io_paired(io_figures a[][N_ENG], io_figures b[][N_ENG],
                        int rounds, int e, int field)
{
    double v[MAX_ROUNDS];
    int n = 0;

    for (int r = 0; r < rounds; r++) {
        double x = io_field(&a[r][e], field), y = io_field(&b[r][e], field);

        if (a[r][e].ok && b[r][e].ok && x > 0 && y > 0) {
            v[n++] = x / y;
        }
    }
    return io_median(v, n);
}

static bench_result *io_record(const char *case_name, const char *subject,
                               io_figures runs[][N_ENG], int rounds, int e)
{
    bench_stats st = { .median_ns = io_med(runs, rounds, e, F_IOPS),
                       .repeats = rounds };
    bench_result *r;

    st.min_ns = st.max_ns = st.median_ns;
    for (int k = 0; k < rounds; k++) {
        if (runs[k][e].ok) {
            st.min_ns = MIN(st.min_ns, runs[k][e].iops);
            st.max_ns = MAX(st.max_ns, runs[k][e].iops);
        }
    }
    r = bench_record("io", case_name, subject, &st);
    g_strlcpy(r->metric, "IOPS", sizeof(r->metric));
    if (st.median_ns > 0) {
        bench_result_note(r, "%.1f MB/s, p50 %.1f µs, p99 %.1f µs",
                          io_med(runs, rounds, e, F_MBPS),
                          io_med(runs, rounds, e, F_P50),
                          io_med(runs, rounds, e, F_P99));
    }
    return r;
}

/*
 * Where an engine's CPU time goes per request on tmpfs.  For the thread
 * pool also the job run alone, and at QD64 the most IOPS this machine's
 * CPUs allow any pool that costs nothing itself and leaves no CPU idle:
 * each request still needs its job (all that fio psync's threads do) and
 * its coroutine's turn on the loop thread.  io_uring's requests are CPU
 * work of io-wq workers, counted in the process's time.
 */
static void io_note_costs(bench_result *rq, io_figures runs[][N_ENG], int rounds,
                          int e, int qd, double fio_iops)
{
    double cpu = io_med(runs, rounds, e, F_CPU);
    double loop = io_med(runs, rounds, e, F_LOOP);
    double alone = io_med(runs, rounds, e, F_ALONE);
    double busy = io_med(runs, rounds, e, F_BUSY);
    long ncpus = sysconf(_SC_NPROCESSORS_ONLN);
    double ceiling;

    if (cpu <= 0) {
        return;
    }
    if (e != ENG_THREADS) {
        bench_result_note(rq, "CPU ns per request %.0f: loop thread %.0f, io-wq "
                          "workers and the rest %.0f; CPUs busy %.0f%%", cpu, loop,
                          cpu - loop, busy * 100);
        return;
    }
    bench_result_note(rq, "CPU ns per request %.0f: loop thread %.0f, job "
                      "alone %.0f, the pool's workers besides %.0f; CPUs "
                      "busy %.0f%%", cpu, loop, alone, cpu - loop - alone,
                      busy * 100);
    /* At QD1 the CPUs wait for each other: no ceiling of theirs applies. */
    if (fio_iops > 0 && qd > 1 && alone > 0 && ncpus > 0) {
        ceiling = ncpus * 1e9 / (alone + loop);
        bench_result_note(rq, "ceiling %ld CPUs / (job alone + loop thread) "
                          "= %.0f IOPS = %.2fx fio psync", ncpus, ceiling,
                          ceiling / fio_iops);
    }
}

/* One qaio run of one engine in round r (nothing if the engine is missing). */
static void io_shape_run(bench_worker *w, io_job *j, io_shape_result *res,
                         int r, const char *case_name, int shape, int nshapes,
                         int rounds)
{
    char what[64];

    if (!j) {
        return;
    }
    snprintf(what, sizeof(what), "%s qaio %s", case_name, eng_name[j->eng]);
    bench_progress("io", what, shape, nshapes, r + 1, rounds);
    bench_alive(what);
    bench_worker_call(w, io_run_job, j);
    res->qaio[r][j->eng] = j->out;
    if (j->errors) {
        res->qaio[r][j->eng].ok = false;
        if (!res->errors[j->eng]) {
            res->first_error[j->eng] = j->first_error;
        }
        res->errors[j->eng] += j->errors;
    }
}

static void io_shape(bench_worker *w, io_host *h, io_place *pl, bool write,
                     int qd, int rounds, double seconds, int shape, int nshapes)
{
    io_shape_result *res = g_new0(io_shape_result, 1);
    io_job *jobs[N_ENG] = { NULL };
    char case_name[48], what[64];
    bool judged = !write;
    double target = io_on_disk(pl) ? 0.95 : 0.85;
    /* The thread pool's goal against fio psync, on either place. */
    const double target_threads = 0.9;

    snprintf(case_name, sizeof(case_name), "%s %s qd%d", pl->label,
             write ? "randwrite" : "randread", qd);
    for (int e = 0; e < N_ENG; e++) {
        io_job *j;

        if (!h->engine[e]) {
            continue;
        }
        j = jobs[e] = g_new0(io_job, 1);
        j->host = h;
        j->place = pl;
        j->eng = e;
        j->write = write;
        j->qd = qd;
        j->nblocks = pl->size / IO_BS;
        j->seconds = seconds;
        j->slots = g_new0(io_slot, qd);
        for (int i = 0; i < qd; i++) {
            io_slot *s = &j->slots[i];

            s->job = j;
            s->seed = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1) + (uint64_t)shape;
            s->buf = NULL;
            if (posix_memalign(&s->buf, 4096, IO_BS) != 0) {
                abort();
            }
            memset(s->buf, 0x5a, IO_BS);
            qemu_iovec_init_buf(&s->qiov, s->buf, IO_BS);
        }
    }

    /*
     * An even round runs the thread pool and linux-aio, then fio (libaio,
     * then io_uring), then io_uring: each engine next to its fio twin, so
     * that the two sides of a quotient are as close in time as one fio
     * start-up allows.  An odd round runs io_uring first and linux-aio and
     * the thread pool after fio, so that a device that drifts in one
     * direction over a second favours neither side.
     */
    static const int order[2][N_ENG] = {
        { ENG_THREADS, ENG_LINUX_AIO, ENG_IO_URING },
        { ENG_IO_URING, ENG_LINUX_AIO, ENG_THREADS },
    };
    static const int n_before[2] = { 2, 1 };

    for (int r = 0; r < rounds; r++) {
        const int *seq = order[r % 2];

        for (int k = 0; k < n_before[r % 2]; k++) {
            io_shape_run(w, jobs[seq[k]], res, r, case_name, shape, nshapes, rounds);
        }
#ifdef QAIO_FIO_PATH
        snprintf(what, sizeof(what), "%s fio", case_name);
        bench_progress("io", what, shape, nshapes, r + 1, rounds);
        bench_alive(what);
        if (io_run_fio(pl, write, qd, 1, seconds, &res->fio[r], res->fio_why,
                       sizeof(res->fio_why))) {
            res->fio_ok = true;
        }
#endif
        for (int k = n_before[r % 2]; k < N_ENG; k++) {
            io_shape_run(w, jobs[seq[k]], res, r, case_name, shape, nshapes, rounds);
        }
    }
#ifndef QAIO_FIO_PATH
    g_strlcpy(res->fio_why, "fio not installed", sizeof(res->fio_why));
#endif

    for (int e = 0; e < N_ENG; e++) {
        char subject[16];
        bench_result *rq = NULL;
        double ratio = -1;

        snprintf(subject, sizeof(subject), "qaio %s", eng_name[e]);
        if (jobs[e]) {
            rq = io_record(case_name, subject, res->qaio, rounds, e);
            if (res->errors[e]) {
                bench_result_note(rq, "%" PRIu64 " requests failed (first: %s)",
                                  res->errors[e], strerror(-res->first_error[e]));
            }
        } else {
            rq = bench_record("io", case_name, subject, NULL);
            g_strlcpy(rq->metric, "IOPS", sizeof(rq->metric));
            bench_result_note(rq, "not measured: %s", h->why[e]);
        }
        if (!eng_fio[e]) {
            continue;
        }
        if (res->fio_ok) {
            snprintf(subject, sizeof(subject), "fio %s", eng_fio[e]);
            io_record(case_name, subject, res->fio, rounds, e);
            if (jobs[e]) {
                ratio = io_paired(res->qaio, res->fio, rounds, e, F_IOPS);
            }
        }
        bench_add_ratio(rq, "qaio/fio", ratio);
        if (jobs[e] && io_tells_costs(e, pl)) {
            io_note_costs(rq, res->qaio, rounds, e, qd,
                          res->fio_ok ? io_med(res->fio, rounds, e, F_IOPS) : -1);
        }
        if (judged && qd == 64) {
            char text[40];

            double goal = e == ENG_THREADS ? target_threads : target;

            snprintf(text, sizeof(text), "fio/qaio ≤%.2fx", 1 / goal);
            bench_set_target(rq, text, 1 / goal, bench_ratio(1, ratio));
            if (!res->fio_ok) {
                bench_result_note(rq, "target not judged: %s", res->fio_why);
            }
        }
        if (judged && qd == 1 && io_on_disk(pl)) {
            /* The latency target: p50 at QD1 on the disk. */
            bench_stats st = { .repeats = rounds };
            double lr = res->fio_ok && jobs[e]
                        ? io_paired(res->qaio, res->fio, rounds, e, F_P50) : -1;
            bench_result *rl;

            st.median_ns = jobs[e] ? io_med(res->qaio, rounds, e, F_P50) : -1;
            st.min_ns = st.max_ns = st.median_ns;
            snprintf(subject, sizeof(subject), "qaio %s", eng_name[e]);
            rl = bench_record("io", case_name, subject, &st);
            g_strlcpy(rl->metric, "p50 µs", sizeof(rl->metric));
            bench_add_ratio(rl, "qaio/fio", lr);
            bench_set_target(rl, "≤1.10x fio p50", 1.10, lr);
        }
    }

    for (int e = 0; e < N_ENG; e++) {
        if (jobs[e]) {
            for (int i = 0; i < qd; i++) {
                free(jobs[e]->slots[i].buf);
            }
            g_free(jobs[e]->slots);
            g_free(jobs[e]->lat);
            g_free(jobs[e]);
        }
    }
    g_free(res);
}

static void io_run(void)
{
    io_place places[2];
    int nplaces = 0;
    bench_worker *w;
    io_host *h = g_new0(io_host, 1);
    int rounds = MIN(MAX(bench_opt.repeats, 1), MAX_ROUNDS);
    double seconds = MAX(bench_opt.repeat_seconds, 0.1);
    static const int qds[] = { 1, 64 };
    int shape = 0, nshapes;

    if (bench_io_size_mib < 1) {
        bench_io_size_mib = 1;
    }
    memset(places, 0, sizeof(places));
    if (bench_io_path) {
        nplaces += io_place_add(&places[nplaces], "path", bench_io_path,
                                bench_io_direct);
    } else {
        nplaces += io_place_add(&places[nplaces], "shm", "/dev/shm", 0);
        nplaces += io_place_add(&places[nplaces], "disk", ".", 1);
    }
    for (int p = 0; p < nplaces; p++) {
        bench_note("io", "%s: %s (%s, %" PRIu64 " MiB, %s)", places[p].label,
                   places[p].path, places[p].fs, places[p].size >> 20,
                   places[p].direct ? "O_DIRECT" : "buffered");
    }
    bench_note("io", "4 KiB random requests, QD n = n coroutines on one "
               "AioContext; %d round(s) of %.2f s per engine, each round "
               "qaio then fio; figures are medians over rounds, ratios "
               "medians of per-round quotients; latency = submission call "
               "to return (fio: lat_ns)", rounds, seconds);
#ifndef QAIO_FIO_PATH
    bench_note("io", "fio not installed: no fio rows, targets not judged");
#endif

    w = bench_worker_start("bench-io");
    bench_worker_call(w, io_host_setup, h);
    nshapes = nplaces * 2 * 2;
    for (int p = 0; p < nplaces; p++) {
        for (int wr = 0; wr < 2; wr++) {
            for (size_t q = 0; q < ARRAY_SIZE(qds); q++) {
                io_shape(w, h, &places[p], wr, qds[q], rounds, seconds,
                         shape++, nshapes);
            }
        }
    }
    bench_alive("[io] tear-down");
    bench_worker_call(w, io_host_teardown, h);
    bench_worker_stop(w);
    for (int p = 0; p < nplaces; p++) {
        io_place_close(&places[p]);
    }
    io_remove_files();
    g_free(h);
}

const bench_suite bench_suite_io = {
    .name = "io",
    .summary = "4 KiB random I/O from coroutines: linux-aio, io_uring, "
               "thread pool, beside fio",
    .run = io_run,
};
