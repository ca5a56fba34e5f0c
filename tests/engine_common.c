/* SPDX-License-Identifier: MIT */
/*
 * The behaviours both block engines share (see engine_common.h), written
 * once against the t_engine table and registered by each engine's suite.
 * Every test checks data against the file's pattern, and every request is
 * checked to have completed exactly once; a request that never completes
 * makes the test time out rather than pass.
 */
#define _GNU_SOURCE
#include "engine_common.h"
#include "qemu/main-loop.h"

#include <pthread.h>
#include <sys/stat.h>

const t_engine *t_eng;
uint64_t t_dev_max_batch;

/* ---- the data file ------------------------------------------------------ */

static const char *data_dir(void)
{
    static char dir[4096];
    const char *b = getenv("QAIO_BUILDDIR");
    struct stat st;

    if (dir[0]) {
        return dir;
    }
    snprintf(dir, sizeof(dir), "%s/tests", b && *b ? b : ".");
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(dir, sizeof(dir), "%s", b && *b ? b : ".");
    }
    return dir;
}

static int make_file(void)
{
    char path[4200];
    int fd;

    snprintf(path, sizeof(path), "%s/engine-data-XXXXXX", data_dir());
    fd = mkstemp(path);
    if (fd < 0) {
        ck_abort_msg("mkstemp in %s: %s", data_dir(), strerror(errno));
    }
    unlink(path);
    return fd;
}

bool t_direct_usable(void)
{
    static int usable = -1;

    if (usable < 0) {
        int fd = make_file();
        int fl = fcntl(fd, F_GETFL);

        usable = fcntl(fd, F_SETFL, fl | O_DIRECT) == 0;
        if (!usable) {
            printf("SKIP: O_DIRECT refused for files in %s (%s): the %s tests "
                   "use buffered I/O\n", data_dir(), strerror(errno),
                   t_eng ? t_eng->name : "engine");
            fflush(stdout);
        }
        close(fd);
    }
    return usable;
}

static uint8_t pattern_byte(uint64_t off)
{
    uint32_t x = (uint32_t)off * 2654435761u + (uint32_t)(off >> 32);

    return (uint8_t)(x >> 13);
}

void t_pattern_fill(void *buf, uint64_t offset, size_t len)
{
    uint8_t *p = buf;

    for (size_t i = 0; i < len; i++) {
        p[i] = pattern_byte(offset + i);
    }
}

int64_t t_pattern_mismatch(const void *buf, uint64_t offset, size_t len)
{
    const uint8_t *p = buf;

    for (size_t i = 0; i < len; i++) {
        if (p[i] != pattern_byte(offset + i)) {
            return (int64_t)(offset + i);
        }
    }
    return -1;
}

void *t_buf(size_t len)
{
    void *p = NULL;

    if (posix_memalign(&p, 4096, len ? len : 1) != 0) {
        ck_abort_msg("posix_memalign(%zu) failed", len);
    }
    memset(p, 0xee, len);
    return p;
}

void t_file_open(t_file *f, size_t size, bool direct)
{
    size_t chunk = 1 << 20;
    char *buf = t_buf(chunk);

    f->fd = make_file();
    f->size = size;
    for (size_t off = 0; off < size; off += chunk) {
        size_t n = MIN(chunk, size - off);

        t_pattern_fill(buf, off, n);
        if (pwrite(f->fd, buf, n, off) != (ssize_t)n) {
            ck_abort_msg("writing the data file: %s", strerror(errno));
        }
    }
    free(buf);
    f->direct = direct && t_direct_usable();
    if (f->direct) {
        int fl = fcntl(f->fd, F_GETFL);

        if (fcntl(f->fd, F_SETFL, fl | O_DIRECT) != 0) {
            ck_abort_msg("O_DIRECT: %s", strerror(errno));
        }
    }
}

void t_file_close(t_file *f)
{
    close(f->fd);
    f->fd = -1;
}

/* ---- requests ----------------------------------------------------------- */

AioContext *t_engine_ctx_new(void)
{
    AioContext *ctx = aio_context_new(&error_abort);

    qemu_set_current_aio_context(ctx);
    return ctx;
}

AioContext *t_fault_ctx_new(void)
{
    t_set_fdmon("epoll");
    return t_engine_ctx_new();
}

static void coroutine_fn req_entry(void *opaque)
{
    t_req *r = opaque;

    r->ret = t_eng->co_submit(r->engine, r->fd, r->offset, r->qiov, r->type,
                              t_dev_max_batch);
    r->completions++;
    if (r->after) {
        r->after(r);
    }
}

void t_start_requests(t_req *reqs, int n, bool plugged)
{
    if (plugged && n) {
        t_eng->plug(reqs[0].engine);
    }
    for (int i = 0; i < n; i++) {
        qemu_coroutine_enter(qemu_coroutine_create(req_entry, &reqs[i]));
    }
    if (plugged && n) {
        t_eng->unplug(reqs[0].engine, t_dev_max_batch);
    }
}

static bool all_returned(t_req *reqs, int n)
{
    for (int i = 0; i < n; i++) {
        if (!reqs[i].completions) {
            return false;
        }
    }
    return true;
}

void t_wait_requests(AioContext *ctx, t_req *reqs, int n)
{
    while (!all_returned(reqs, n)) {
        aio_poll(ctx, true);
    }
    t_drain_ctx(ctx);
    for (int i = 0; i < n; i++) {
        ck_assert_msg(reqs[i].completions == 1,
                      "request %d (offset %" PRIu64 ") returned %d times", i,
                      reqs[i].offset, reqs[i].completions);
    }
}

void t_run_requests(AioContext *ctx, t_req *reqs, int n, bool plugged)
{
    t_start_requests(reqs, n, plugged);
    t_wait_requests(ctx, reqs, n);
}

void t_req_buf(t_req *r, void *engine, int fd, int type, uint64_t offset,
               void *buf, size_t len, QEMUIOVector *qiov)
{
    memset(r, 0, sizeof(*r));
    qemu_iovec_init_buf(qiov, buf, len);
    r->engine = engine;
    r->fd = fd;
    r->type = type;
    r->offset = offset;
    r->qiov = qiov;
}

/* N single-block requests of one type, block i at offset of block map[i]. */
typedef struct batch {
    int n;
    size_t bs;
    t_req *reqs;
    QEMUIOVector *qiovs;
    void **bufs;
} batch;

static void batch_new(batch *b, void *engine, const t_file *f, int type,
                      int n, size_t bs, bool scatter)
{
    size_t nblocks = f->size / bs;

    b->n = n;
    b->bs = bs;
    b->reqs = g_new0(t_req, n);
    b->qiovs = g_new0(QEMUIOVector, n);
    b->bufs = g_new0(void *, n);
    for (int i = 0; i < n; i++) {
        /* A fixed permutation-ish walk, so neighbours are far apart. */
        uint64_t blk = scatter ? ((uint64_t)i * 7919u) % nblocks : i % nblocks;

        b->bufs[i] = t_buf(bs);
        if (type == QEMU_AIO_WRITE) {
            t_pattern_fill(b->bufs[i], blk * bs, bs);
        }
        t_req_buf(&b->reqs[i], engine, f->fd, type, blk * bs, b->bufs[i], bs,
                  &b->qiovs[i]);
    }
}

static void batch_free(batch *b)
{
    for (int i = 0; i < b->n; i++) {
        free(b->bufs[i]);
    }
    g_free(b->reqs);
    g_free(b->qiovs);
    g_free(b->bufs);
}

static void batch_check_reads(const batch *b)
{
    for (int i = 0; i < b->n; i++) {
        int64_t bad;

        ck_assert_msg(b->reqs[i].ret == 0, "read %d at %" PRIu64 " returned %d",
                      i, b->reqs[i].offset, b->reqs[i].ret);
        bad = t_pattern_mismatch(b->bufs[i], b->reqs[i].offset, b->bs);
        ck_assert_msg(bad < 0, "read %d at %" PRIu64 ": wrong byte at file "
                      "offset %" PRId64, i, b->reqs[i].offset, bad);
    }
}

/* The file's bytes [offset, offset + len), read with pread. */
static void check_file(const t_file *f, uint64_t offset, size_t len)
{
    void *buf = t_buf(len);
    ssize_t n = pread(f->fd, buf, len, offset);
    int64_t bad;

    ck_assert_int_eq(n, (ssize_t)len);
    bad = t_pattern_mismatch(buf, offset, len);
    ck_assert_msg(bad < 0, "file byte %" PRId64 " differs from what was written",
                  bad);
    free(buf);
}

/* ---- init ------------------------------------------------------------- */

START_TEST(init_then_cleanup_without_a_context)
{
    void *s = t_eng->init(&error_abort);

    ck_assert_ptr_nonnull(s);
    t_eng->cleanup(s);
}
END_TEST

START_TEST(attach_then_detach_leaves_the_context_idle)
{
    AioContext *ctx = t_engine_ctx_new();
    void *s = t_eng->init(&error_abort);

    t_eng->attach(s, ctx);
    t_drain_ctx(ctx);
    t_eng->detach(s, ctx);
    t_drain_ctx(ctx);
    ck_assert(!aio_poll(ctx, false));
    t_eng->cleanup(s);
    aio_context_unref(ctx);
}
END_TEST

START_TEST(setup_makes_one_engine_per_context)
{
    AioContext *a = t_engine_ctx_new();
    AioContext *b = aio_context_new(&error_abort);
    void *ea = t_eng->setup(a, &error_abort);
    void *eb = t_eng->setup(b, &error_abort);

    ck_assert_ptr_nonnull(ea);
    ck_assert_ptr_nonnull(eb);
    ck_assert_ptr_ne(ea, eb);
    ck_assert_ptr_eq(t_eng->setup(a, &error_abort), ea);
    ck_assert_ptr_eq(t_eng->get(a), ea);
    ck_assert_ptr_eq(t_eng->get(b), eb);
    /* Finalizing the contexts detaches and frees their engines. */
    aio_context_unref(b);
    aio_context_unref(a);
}
END_TEST

START_TEST(get_without_setup_aborts)
{
    AioContext *ctx = t_engine_ctx_new();

    t_eng->get(ctx);
}
END_TEST

START_TEST(cleanup_of_an_attached_engine_aborts)
{
    AioContext *ctx = t_engine_ctx_new();
    void *s = t_eng->init(&error_abort);

    t_eng->attach(s, ctx);
    t_eng->cleanup(s);
}
END_TEST

START_TEST(unplug_without_plug_aborts)
{
    AioContext *ctx = t_engine_ctx_new();

    t_eng->unplug(t_eng->setup(ctx, &error_abort), t_dev_max_batch);
}
END_TEST

/* Reads from a context bound to the calling thread, with engine s. */
static void read_some_blocks(void *s, AioContext *ctx, bool direct)
{
    t_file f;
    batch b;

    t_file_open(&f, 1 << 20, direct);
    batch_new(&b, s, &f, QEMU_AIO_READ, 16, 4096, true);
    t_run_requests(ctx, b.reqs, b.n, false);
    batch_check_reads(&b);
    batch_free(&b);
    t_file_close(&f);
}

static void *init_in_thread(void *unused)
{
    return t_eng->init(&error_abort);
}

START_TEST(engine_created_in_another_thread_serves_this_one)
{
    AioContext *ctx = t_engine_ctx_new();
    pthread_t th;
    void *s;

    ck_assert_int_eq(pthread_create(&th, NULL, init_in_thread, NULL), 0);
    ck_assert_int_eq(pthread_join(th, &s), 0);
    t_eng->attach(s, ctx);
    read_some_blocks(s, ctx, true);
    t_eng->detach(s, ctx);
    t_eng->cleanup(s);
    aio_context_unref(ctx);
}
END_TEST

static void *use_in_thread(void *s)
{
    AioContext *ctx = t_engine_ctx_new();

    t_eng->attach(s, ctx);
    read_some_blocks(s, ctx, true);
    t_eng->detach(s, ctx);
    aio_context_unref(ctx);
    return NULL;
}

START_TEST(engine_created_here_serves_another_thread)
{
    void *s = t_eng->init(&error_abort);
    pthread_t th;

    ck_assert_int_eq(pthread_create(&th, NULL, use_in_thread, s), 0);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    t_eng->cleanup(s);
}
END_TEST

/* Handed back and forth between threads, each polling a context bound to
 * it, the engine serves every turn (io_uring binds its ring to a thread). */
START_TEST(engine_serves_threads_in_turn)
{
    void *s = t_eng->init(&error_abort);
    AioContext *ctx = t_engine_ctx_new();

    for (int turn = 0; turn < 3; turn++) {
        pthread_t th;

        t_eng->attach(s, ctx);
        read_some_blocks(s, ctx, true);
        t_eng->detach(s, ctx);
        ck_assert_int_eq(pthread_create(&th, NULL, use_in_thread, s), 0);
        ck_assert_int_eq(pthread_join(th, NULL), 0);
    }
    t_eng->cleanup(s);
    aio_context_unref(ctx);
}
END_TEST

/*
 * QEMU's main context may be polled by any thread holding the BQL (a vCPU
 * thread draining, say) while the main thread, bound to it, waits: requests
 * the main thread submitted must complete in that other thread.  The main
 * context is the real one, from qemu_init_main_loop.  libqaio's big lock is
 * the tools' stub, never held, so the other thread earns its right to poll
 * by binding the main context as its own; to the engine it is the main
 * context all the same (a ring any thread may use).
 */
typedef struct poll_job {
    AioContext *ctx;
    t_req *reqs;
    int n;
} poll_job;

static void *wait_requests_in_thread(void *opaque)
{
    poll_job *j = opaque;

    qemu_set_current_aio_context(j->ctx);
    t_wait_requests(j->ctx, j->reqs, j->n);
    return NULL;
}

START_TEST(main_context_polled_by_another_thread_completes_requests)
{
    AioContext *ctx;
    void *s;
    pthread_t th;
    poll_job j;
    t_file f;
    batch b;

    qemu_init_main_loop(&error_abort);
    ctx = qemu_get_aio_context();
    s = t_eng->setup(ctx, &error_abort);
    t_file_open(&f, 1 << 20, true);
    batch_new(&b, s, &f, QEMU_AIO_READ, 64, 4096, true);
    /* Plugged, so all go in one submission and few are done at return. */
    t_start_requests(b.reqs, b.n, true);
    j = (poll_job){ ctx, b.reqs, b.n };
    ck_assert_int_eq(pthread_create(&th, NULL, wait_requests_in_thread, &j), 0);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    batch_check_reads(&b);
    batch_free(&b);
    t_file_close(&f);
}
END_TEST

/* ---- io ----------------------------------------------------------------- */

START_TEST(reads_return_the_file_data)
{
    AioContext *ctx = t_engine_ctx_new();
    void *s = t_eng->setup(ctx, &error_abort);
    t_file f;
    batch b;

    t_file_open(&f, 4 << 20, true);
    /* One at a time, then all at once. */
    batch_new(&b, s, &f, QEMU_AIO_READ, 32, 4096, true);
    for (int i = 0; i < b.n; i++) {
        t_run_requests(ctx, &b.reqs[i], 1, false);
    }
    batch_check_reads(&b);
    batch_free(&b);
    batch_new(&b, s, &f, QEMU_AIO_READ, 64, 4096, true);
    t_run_requests(ctx, b.reqs, b.n, false);
    batch_check_reads(&b);
    batch_free(&b);
    t_file_close(&f);
    aio_context_unref(ctx);
}
END_TEST

START_TEST(writes_reach_the_file_and_read_back)
{
    AioContext *ctx = t_engine_ctx_new();
    void *s = t_eng->setup(ctx, &error_abort);
    t_file f;
    batch w, r;

    t_file_open(&f, 1 << 20, true);
    /* Zero the file first, so only the writes can restore the pattern. */
    {
        void *z = t_buf(f.size);

        memset(z, 0, f.size);
        ck_assert_int_eq(pwrite(f.fd, z, f.size, 0), (ssize_t)f.size);
        free(z);
    }
    batch_new(&w, s, &f, QEMU_AIO_WRITE, 64, 16384, false);
    t_run_requests(ctx, w.reqs, w.n, false);
    for (int i = 0; i < w.n; i++) {
        ck_assert_msg(w.reqs[i].ret == 0, "write %d returned %d", i, w.reqs[i].ret);
    }
    batch_new(&r, s, &f, QEMU_AIO_READ, 64, 16384, false);
    t_run_requests(ctx, r.reqs, r.n, false);
    batch_check_reads(&r);
    check_file(&f, 0, f.size);
    batch_free(&w);
    batch_free(&r);
    t_file_close(&f);
    aio_context_unref(ctx);
}
END_TEST

/* A vector of `n` separate 4 KiB buffers, in the reverse of the order
 * they were allocated in. */
static void make_vector(QEMUIOVector *qiov, void **bufs, int n)
{
    qemu_iovec_init(qiov, 1);
    for (int i = 0; i < n; i++) {
        bufs[i] = t_buf(4096);
    }
    for (int i = 0; i < n; i++) {
        qemu_iovec_add(qiov, bufs[n - 1 - i], 4096);
    }
}

START_TEST(vectored_read_fills_every_element_in_order)
{
    AioContext *ctx = t_engine_ctx_new();
    void *s = t_eng->setup(ctx, &error_abort);
    enum { N = 5 };
    void *bufs[N];
    QEMUIOVector qiov;
    t_file f;
    t_req r = { 0 };

    t_file_open(&f, 1 << 20, true);
    make_vector(&qiov, bufs, N);
    r.engine = s;
    r.fd = f.fd;
    r.type = QEMU_AIO_READ;
    r.offset = 12 * 4096;
    r.qiov = &qiov;
    t_run_requests(ctx, &r, 1, false);
    ck_assert_int_eq(r.ret, 0);
    for (int i = 0; i < N; i++) {
        uint64_t off = r.offset + (uint64_t)i * 4096;
        ck_assert_msg(t_pattern_mismatch(qiov.iov[i].iov_base, off, 4096) < 0,
                      "element %d holds the wrong data", i);
    }
    qemu_iovec_destroy(&qiov);
    for (int i = 0; i < N; i++) {
        free(bufs[i]);
    }
    t_file_close(&f);
    aio_context_unref(ctx);
}
END_TEST

START_TEST(vectored_write_gathers_every_element_in_order)
{
    AioContext *ctx = t_engine_ctx_new();
    void *s = t_eng->setup(ctx, &error_abort);
    enum { N = 6 };
    void *bufs[N];
    QEMUIOVector qiov;
    t_file f;
    t_req r = { 0 };

    t_file_open(&f, 1 << 20, true);
    make_vector(&qiov, bufs, N);
    r.offset = 40 * 4096;
    for (int i = 0; i < N; i++) {
        t_pattern_fill(qiov.iov[i].iov_base, r.offset + (uint64_t)i * 4096, 4096);
    }
    {
        void *z = t_buf(N * 4096);

        memset(z, 0, N * 4096);
        ck_assert_int_eq(pwrite(f.fd, z, N * 4096, r.offset), N * 4096);
        free(z);
    }
    r.engine = s;
    r.fd = f.fd;
    r.type = QEMU_AIO_WRITE;
    r.qiov = &qiov;
    t_run_requests(ctx, &r, 1, false);
    ck_assert_int_eq(r.ret, 0);
    check_file(&f, r.offset, N * 4096);
    qemu_iovec_destroy(&qiov);
    for (int i = 0; i < N; i++) {
        free(bufs[i]);
    }
    t_file_close(&f);
    aio_context_unref(ctx);
}
END_TEST

START_TEST(read_spanning_end_of_file_zero_fills_the_rest)
{
    AioContext *ctx = t_engine_ctx_new();
    void *s = t_eng->setup(ctx, &error_abort);
    const size_t tail = 1000;
    t_file f;
    t_req r[2];
    QEMUIOVector q[2];
    void *span = t_buf(8192), *past = t_buf(4096);

    t_file_open(&f, (64 << 10) + tail, true);
    t_req_buf(&r[0], s, f.fd, QEMU_AIO_READ, 64 << 10, span, 8192, &q[0]);
    t_req_buf(&r[1], s, f.fd, QEMU_AIO_READ, 128 << 10, past, 4096, &q[1]);
    t_run_requests(ctx, r, 2, false);
    ck_assert_int_eq(r[0].ret, 0);
    ck_assert_int_eq(r[1].ret, 0);
    ck_assert(t_pattern_mismatch(span, 64 << 10, tail) < 0);
    for (size_t i = tail; i < 8192; i++) {
        ck_assert_msg(((uint8_t *)span)[i] == 0, "byte %zu past end of file "
                      "is not zero", i);
    }
    for (size_t i = 0; i < 4096; i++) {
        ck_assert_msg(((uint8_t *)past)[i] == 0, "byte %zu of a read past end "
                      "of file is not zero", i);
    }
    free(span);
    free(past);
    t_file_close(&f);
    aio_context_unref(ctx);
}
END_TEST

/* linux-aio at 7.2 refuses QEMU_AIO_FLUSH with -EIO, as 7.2 did. */
START_TEST(flush_completes_after_writes_unless_the_level_refuses_it)
{
    AioContext *ctx = t_engine_ctx_new();
    void *s = t_eng->setup(ctx, &error_abort);
    t_file f;
    batch w;
    t_req fl = { 0 };

    t_file_open(&f, 1 << 20, true);
    batch_new(&w, s, &f, QEMU_AIO_WRITE, 8, 4096, true);
    t_run_requests(ctx, w.reqs, w.n, false);
    fl.engine = s;
    fl.fd = f.fd;
    fl.type = QEMU_AIO_FLUSH;
    t_run_requests(ctx, &fl, 1, false);
    if (!QAIO_QEMU_API_AT_LEAST(10, 0) && strcmp(t_eng->name, "linux-aio") == 0) {
        /* 7.2's engine takes reads and writes only (AIO fsync came in 9.0). */
        ck_assert_int_eq(fl.ret, -EIO);
    } else if (fl.ret == -EINVAL && strcmp(t_eng->name, "linux-aio") == 0) {
        printf("SKIP: this kernel has no AIO fdsync for this file system\n");
    } else {
        ck_assert_int_eq(fl.ret, 0);
    }
    batch_free(&w);
    t_file_close(&f);
    aio_context_unref(ctx);
}
END_TEST

START_TEST(request_on_a_closed_fd_fails_alone)
{
    AioContext *ctx = t_engine_ctx_new();
    void *s = t_eng->setup(ctx, &error_abort);
    int bad = 1000;
    t_file f;
    batch b;

    t_file_open(&f, 1 << 20, true);
    while (fcntl(bad, F_GETFD) >= 0) {
        bad++;
    }
    batch_new(&b, s, &f, QEMU_AIO_READ, 5, 4096, true);
    b.reqs[2].fd = bad;
    t_run_requests(ctx, b.reqs, b.n, true);
    ck_assert_int_eq(b.reqs[2].ret, -EBADF);
    for (int i = 0; i < b.n; i++) {
        if (i != 2) {
            ck_assert_int_eq(b.reqs[i].ret, 0);
            ck_assert(t_pattern_mismatch(b.bufs[i], b.reqs[i].offset, 4096) < 0);
        }
    }
    batch_free(&b);
    t_file_close(&f);
    aio_context_unref(ctx);
}
END_TEST

/* ---- batch -------------------------------------------------------------- */

START_TEST(plugged_requests_wait_for_unplug_and_go_in_one_submission)
{
    /* Not io_uring fd monitoring: its submissions would be counted too. */
    AioContext *ctx = t_fault_ctx_new();
    void *s = t_eng->setup(ctx, &error_abort);
    unsigned calls;
    t_file f;
    batch b;

    t_file_open(&f, 1 << 20, true);
    batch_new(&b, s, &f, QEMU_AIO_READ, 8, 4096, true);
    t_eng->plug(s);
    calls = t_fault_count.submit_calls;
    t_start_requests(b.reqs, b.n, false);
    t_drain_ctx(ctx);
    ck_assert_uint_eq(t_fault_count.submit_calls, calls);
    for (int i = 0; i < b.n; i++) {
        ck_assert_int_eq(b.reqs[i].completions, 0);
    }
    t_eng->unplug(s, t_dev_max_batch);
    ck_assert_uint_eq(t_fault_count.submit_calls, calls + 1);
    t_wait_requests(ctx, b.reqs, b.n);
    batch_check_reads(&b);
    batch_free(&b);
    t_file_close(&f);
    aio_context_unref(ctx);
}
END_TEST

START_TEST(nested_plugs_submit_at_the_last_unplug)
{
    AioContext *ctx = t_fault_ctx_new();
    void *s = t_eng->setup(ctx, &error_abort);
    unsigned calls;
    t_file f;
    batch b;

    t_file_open(&f, 1 << 20, true);
    batch_new(&b, s, &f, QEMU_AIO_READ, 6, 4096, true);
    t_eng->plug(s);
    t_eng->plug(s);
    calls = t_fault_count.submit_calls;
    t_start_requests(b.reqs, 3, false);
    t_eng->unplug(s, t_dev_max_batch);
    t_drain_ctx(ctx);
    ck_assert_uint_eq(t_fault_count.submit_calls, calls);
    t_start_requests(b.reqs + 3, 3, false);
    t_eng->unplug(s, t_dev_max_batch);
    ck_assert_uint_eq(t_fault_count.submit_calls, calls + 1);
    t_wait_requests(ctx, b.reqs, b.n);
    batch_check_reads(&b);
    batch_free(&b);
    t_file_close(&f);
    aio_context_unref(ctx);
}
END_TEST

START_TEST(more_requests_than_the_engine_holds_all_complete)
{
    AioContext *ctx = t_engine_ctx_new();
    void *s = t_eng->setup(ctx, &error_abort);
    int n = (int)t_eng->max_in_flight + 100;
    t_file f;
    batch b;

    t_file_open(&f, 8 << 20, true);
    /* Plugged, so that all of them are queued before the first goes. */
    batch_new(&b, s, &f, QEMU_AIO_READ, n, 4096, true);
    t_run_requests(ctx, b.reqs, b.n, true);
    batch_check_reads(&b);
    batch_free(&b);
    /* And unplugged: each submitted as it comes. */
    batch_new(&b, s, &f, QEMU_AIO_READ, n, 4096, true);
    t_run_requests(ctx, b.reqs, b.n, false);
    batch_check_reads(&b);
    batch_free(&b);
    t_file_close(&f);
    aio_context_unref(ctx);
}
END_TEST

/*
 * Whichever request returns first runs nested event loops from its
 * coroutine, while the pass that completed it may still be going: every
 * other request must still complete exactly once.
 */
static bool nested_done;

static void nested_poll(t_req *r)
{
    AioContext *ctx = r->opaque;

    if (!nested_done) {
        nested_done = true;
        for (int i = 0; i < 8; i++) {
            aio_poll(ctx, false);
        }
    }
}

START_TEST(nested_event_loop_in_a_completion_loses_nothing)
{
    AioContext *ctx = t_engine_ctx_new();
    void *s = t_eng->setup(ctx, &error_abort);
    t_file f;
    batch b;

    t_file_open(&f, 1 << 20, true);
    batch_new(&b, s, &f, QEMU_AIO_READ, 24, 4096, true);
    for (int i = 0; i < b.n; i++) {
        b.reqs[i].after = nested_poll;
        b.reqs[i].opaque = ctx;
    }
    t_run_requests(ctx, b.reqs, b.n, true);
    ck_assert(nested_done);
    batch_check_reads(&b);
    batch_free(&b);
    t_file_close(&f);
    aio_context_unref(ctx);
}
END_TEST

/* ---- faults ------------------------------------------------------------- */

/* Reads of every block of a 1 MiB buffered file, plugged in batches of 50,
 * under the current fault plan. */
static void run_reads_under_faults(int n)
{
    AioContext *ctx = t_fault_ctx_new();
    void *s = t_eng->setup(ctx, &error_abort);
    t_file f;
    batch b;

    t_file_open(&f, 1 << 20, false);
    batch_new(&b, s, &f, QEMU_AIO_READ, n, 4096, true);
    for (int i = 0; i < n; i += 50) {
        t_start_requests(b.reqs + i, MIN(50, n - i), true);
    }
    t_wait_requests(ctx, b.reqs, b.n);
    batch_check_reads(&b);
    batch_free(&b);
    t_file_close(&f);
    aio_context_unref(ctx);
}

START_TEST(submission_refused_with_eagain_is_retried)
{
    t_faults_reset();
    t_faults.submit_eagain_every = 2;
    run_reads_under_faults(400);
    ck_assert_uint_gt(t_fault_count.submit_eagain, 0);
}
END_TEST

START_TEST(submission_interrupted_with_eintr_is_retried)
{
    t_faults_reset();
    t_faults.submit_eintr_every = 2;
    run_reads_under_faults(400);
    ck_assert_uint_gt(t_fault_count.submit_eintr, 0);
}
END_TEST

START_TEST(writes_under_refused_submissions_all_land)
{
    AioContext *ctx = t_fault_ctx_new();
    void *s = t_eng->setup(ctx, &error_abort);
    t_file f;
    batch w;

    t_faults_reset();
    t_faults.submit_eagain_every = 3;
    t_faults.submit_eintr_every = 5;
    t_file_open(&f, 1 << 20, false);
    {
        void *z = t_buf(f.size);

        memset(z, 0, f.size);
        ck_assert_int_eq(pwrite(f.fd, z, f.size, 0), (ssize_t)f.size);
        free(z);
    }
    batch_new(&w, s, &f, QEMU_AIO_WRITE, 256, 4096, false);
    for (int i = 0; i < w.n; i += 32) {
        t_start_requests(w.reqs + i, 32, true);
    }
    t_wait_requests(ctx, w.reqs, w.n);
    for (int i = 0; i < w.n; i++) {
        ck_assert_int_eq(w.reqs[i].ret, 0);
    }
    check_file(&f, 0, f.size);
    ck_assert_uint_gt(t_fault_count.submit_eagain, 0);
    batch_free(&w);
    t_file_close(&f);
    aio_context_unref(ctx);
}
END_TEST

START_TEST(short_write_completion_fails_with_enospc)
{
    AioContext *ctx;
    void *s;
    t_file f;
    batch w;
    int enospc = 0;

    t_faults_reset();
    t_faults.complete_truncate_every = 4;
    /* linux-aio: completions pass through io_getevents, where they are
     * altered, only while the ring is hidden. */
    t_faults.hide_aio_ring = true;
    ctx = t_fault_ctx_new();
    s = t_eng->setup(ctx, &error_abort);
    t_file_open(&f, 1 << 20, false);
    batch_new(&w, s, &f, QEMU_AIO_WRITE, 64, 4096, true);
    t_run_requests(ctx, w.reqs, w.n, true);
    for (int i = 0; i < w.n; i++) {
        ck_assert_msg(w.reqs[i].ret == 0 || w.reqs[i].ret == -ENOSPC,
                      "write %d returned %d", i, w.reqs[i].ret);
        enospc += w.reqs[i].ret == -ENOSPC;
    }
    ck_assert_uint_gt(t_fault_count.truncated, 0);
    ck_assert_int_eq(enospc, (int)t_fault_count.truncated);
    batch_free(&w);
    t_file_close(&f);
    aio_context_unref(ctx);
}
END_TEST

void t_engine_add_common_tests(Suite *s, TCase **tc_init, TCase **tc_io,
                               TCase **tc_batch, TCase **tc_faults)
{
    TCase *tc;

    tc = tcase_create("init");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, init_then_cleanup_without_a_context);
    tcase_add_test(tc, attach_then_detach_leaves_the_context_idle);
    tcase_add_test(tc, setup_makes_one_engine_per_context);
    tcase_add_test_raise_signal(tc, get_without_setup_aborts, SIGABRT);
    tcase_add_test_raise_signal(tc, cleanup_of_an_attached_engine_aborts, SIGABRT);
    tcase_add_test_raise_signal(tc, unplug_without_plug_aborts, SIGABRT);
    tcase_add_test(tc, engine_created_in_another_thread_serves_this_one);
    tcase_add_test(tc, engine_created_here_serves_another_thread);
    tcase_add_test(tc, engine_serves_threads_in_turn);
    tcase_add_test(tc, main_context_polled_by_another_thread_completes_requests);
    suite_add_tcase(s, tc);
    *tc_init = tc;

    tc = tcase_create("io");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, reads_return_the_file_data);
    tcase_add_test(tc, writes_reach_the_file_and_read_back);
    tcase_add_test(tc, vectored_read_fills_every_element_in_order);
    tcase_add_test(tc, vectored_write_gathers_every_element_in_order);
    tcase_add_test(tc, read_spanning_end_of_file_zero_fills_the_rest);
    tcase_add_test(tc, flush_completes_after_writes_unless_the_level_refuses_it);
    tcase_add_test(tc, request_on_a_closed_fd_fails_alone);
    suite_add_tcase(s, tc);
    *tc_io = tc;

    tc = tcase_create("batch");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, plugged_requests_wait_for_unplug_and_go_in_one_submission);
    tcase_add_test(tc, nested_plugs_submit_at_the_last_unplug);
    tcase_add_test(tc, more_requests_than_the_engine_holds_all_complete);
    tcase_add_test(tc, nested_event_loop_in_a_completion_loses_nothing);
    suite_add_tcase(s, tc);
    *tc_batch = tc;

    tc = tcase_create("faults");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, submission_refused_with_eagain_is_retried);
    tcase_add_test(tc, submission_interrupted_with_eintr_is_retried);
    tcase_add_test(tc, writes_under_refused_submissions_all_land);
    tcase_add_test(tc, short_write_completion_fails_with_enospc);
    suite_add_tcase(s, tc);
    *tc_faults = tc;
}
