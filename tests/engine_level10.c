/* SPDX-License-Identifier: MIT */
/*
 * The engines at the 10.0 level, through QEMU 10.0's exported functions:
 * submissions go to the current context's engine; a write with BDRV_REQ_FUA
 * reaches the kernel with RWF_DSYNC and one without it does not; a flush is
 * one IO_CMD_FDSYNC (linux-aio) or IORING_OP_FSYNC (io_uring); requests
 * made inside a defer_call section reach the kernel in one system call at
 * its end, and outside one each goes at once.  What reached the kernel is
 * read from the fault-injection layer's record of every submission.
 */
#include "engine_common.h"

#if QAIO_QEMU_API_AT_LEAST(10, 0)
#include "qemu/defer-call.h"

static int coroutine_fn submit10(t_req *r, BdrvRequestFlags flags)
{
#ifdef CONFIG_LINUX_AIO
    if (strcmp(t_eng->name, "linux-aio") == 0) {
        return laio_co_submit(r->fd, r->offset, r->qiov, r->type, flags,
                              t_dev_max_batch);
    }
#endif
#ifdef CONFIG_LINUX_IO_URING
    if (strcmp(t_eng->name, "io_uring") == 0) {
        return luring_co_submit(NULL, r->fd, r->offset, r->qiov, r->type, flags);
    }
#endif
    ck_abort_msg("no engine called %s", t_eng->name);
    return -ENOSYS;
}

static void coroutine_fn fua_entry(void *opaque)
{
    t_req *r = opaque;

    r->ret = submit10(r, BDRV_REQ_FUA);
    r->completions++;
}

static void coroutine_fn plain_entry(void *opaque)
{
    t_req *r = opaque;

    r->ret = submit10(r, 0);
    r->completions++;
}

static void run10(AioContext *ctx, t_req *reqs, int n, CoroutineEntry *entry,
                  bool in_section)
{
    if (in_section) {
        defer_call_begin();
    }
    for (int i = 0; i < n; i++) {
        qemu_coroutine_enter(qemu_coroutine_create(entry, &reqs[i]));
    }
    if (in_section) {
        defer_call_end();
    }
    t_wait_requests(ctx, reqs, n);
}

static bool has_fua(void)
{
#ifdef CONFIG_LINUX_AIO
    if (strcmp(t_eng->name, "linux-aio") == 0) {
        return laio_has_fua();
    }
#endif
    return luring_has_fua();
}

/* A context with the engine under test and a 64 KiB file, fault counts
 * zeroed; finish10 undoes it. */
static AioContext *start10(t_file *f, bool direct)
{
    AioContext *ctx = t_fault_ctx_new();

    t_faults_reset();
    t_eng->setup(ctx, &error_abort);
    t_file_open(f, 1 << 16, direct);
    return ctx;
}

static void finish10(AioContext *ctx, t_file *f)
{
    t_file_close(f);
    aio_context_unref(ctx);
}

START_TEST(fua_write_reaches_the_kernel_with_dsync)
{
    t_file f;
    AioContext *ctx = start10(&f, true);
    void *buf = t_buf(4096);
    QEMUIOVector qiov;
    t_req r;

    ck_assert(has_fua());
    t_pattern_fill(buf, 8192, 4096);
    t_req_buf(&r, NULL, f.fd, QEMU_AIO_WRITE, 8192, buf, 4096, &qiov);
    run10(ctx, &r, 1, fua_entry, false);
    ck_assert_int_eq(r.ret, 0);
    ck_assert_uint_eq(t_fault_count.dsync_writes, 1);
    ck_assert_uint_eq(t_fault_count.plain_writes, 0);

    /* The same write without the flag carries none. */
    t_req_buf(&r, NULL, f.fd, QEMU_AIO_WRITE, 8192, buf, 4096, &qiov);
    run10(ctx, &r, 1, plain_entry, false);
    ck_assert_int_eq(r.ret, 0);
    ck_assert_uint_eq(t_fault_count.dsync_writes, 1);
    ck_assert_uint_eq(t_fault_count.plain_writes, 1);
    free(buf);
    finish10(ctx, &f);
}
END_TEST

START_TEST(fua_on_a_read_is_not_a_dsync_write)
{
    t_file f;
    AioContext *ctx = start10(&f, true);
    void *buf = t_buf(4096);
    QEMUIOVector qiov;
    t_req r;

    t_req_buf(&r, NULL, f.fd, QEMU_AIO_READ, 4096, buf, 4096, &qiov);
    run10(ctx, &r, 1, fua_entry, false);
    ck_assert_int_eq(r.ret, 0);
    ck_assert_int_eq(t_pattern_mismatch(buf, 4096, 4096), -1);
    ck_assert_uint_eq(t_fault_count.submitted, 1);
    ck_assert_uint_eq(t_fault_count.dsync_writes + t_fault_count.plain_writes, 0);
    free(buf);
    finish10(ctx, &f);
}
END_TEST

/* 10.0's engines issue a zone append as a plain write at the offset given
 * (the kernel's zone append is the file system's), never with FUA. */
START_TEST(zone_append_is_a_plain_write)
{
    t_file f;
    AioContext *ctx = start10(&f, true);
    void *buf = t_buf(4096), *back = t_buf(4096);
    QEMUIOVector qiov;
    t_req r;

    memset(buf, 0x5a, 4096);
    t_req_buf(&r, NULL, f.fd, QEMU_AIO_ZONE_APPEND, 12288, buf, 4096, &qiov);
    run10(ctx, &r, 1, fua_entry, false);
    ck_assert_int_eq(r.ret, 0);
    ck_assert_uint_eq(t_fault_count.plain_writes, 1);
    ck_assert_uint_eq(t_fault_count.dsync_writes, 0);
    ck_assert_int_eq(pread(f.fd, back, 4096, 12288), 4096);
    ck_assert_int_eq(memcmp(back, buf, 4096), 0);
    free(back);
    free(buf);
    finish10(ctx, &f);
}
END_TEST

START_TEST(flush_reaches_the_kernel_as_one_fdsync)
{
    t_file f;
    AioContext *ctx = start10(&f, false);
    t_req r;

#ifdef CONFIG_LINUX_AIO
    /* A regular file on a kernel with AIO fsync (4.18 and later). */
    if (strcmp(t_eng->name, "linux-aio") == 0) {
        ck_assert(laio_has_fdsync(f.fd));
    }
#endif
    t_faults_reset();   /* counted from here: laio_has_fdsync's probe is one */
    memset(&r, 0, sizeof(r));
    r.fd = f.fd;
    r.type = QEMU_AIO_FLUSH;
    run10(ctx, &r, 1, plain_entry, false);
    ck_assert_int_eq(r.ret, 0);
    ck_assert_uint_eq(t_fault_count.fsyncs, 1);
    ck_assert_uint_eq(t_fault_count.submitted, 1);
    finish10(ctx, &f);
}
END_TEST

enum { N_BATCH = 6 };

static void batch_reads(t_file *f, t_req *reqs, void **bufs, QEMUIOVector *qiovs)
{
    for (int i = 0; i < N_BATCH; i++) {
        bufs[i] = t_buf(4096);
        t_req_buf(&reqs[i], NULL, f->fd, QEMU_AIO_READ, 4096 * (uint64_t)i,
                  bufs[i], 4096, &qiovs[i]);
    }
}

static void check_reads(t_req *reqs, void **bufs)
{
    for (int i = 0; i < N_BATCH; i++) {
        ck_assert_int_eq(reqs[i].ret, 0);
        ck_assert_int_eq(t_pattern_mismatch(bufs[i], 4096 * (uint64_t)i, 4096), -1);
        free(bufs[i]);
    }
}

/* N_BATCH reads started one by one, inside a section or not; checks them. */
static void run_batch(bool in_section)
{
    t_file f;
    AioContext *ctx = start10(&f, true);
    QEMUIOVector qiovs[N_BATCH];
    void *bufs[N_BATCH];
    t_req reqs[N_BATCH];

    batch_reads(&f, reqs, bufs, qiovs);
    run10(ctx, reqs, N_BATCH, plain_entry, in_section);
    check_reads(reqs, bufs);
    ck_assert_uint_eq(t_fault_count.submitted, N_BATCH);
    finish10(ctx, &f);
}

START_TEST(defer_call_section_submits_its_requests_in_one_call)
{
    run_batch(true);
    ck_assert_uint_eq(t_fault_count.submit_calls, 1);
    ck_assert_uint_eq(t_fault_count.largest_batch, N_BATCH);
}
END_TEST

START_TEST(requests_outside_a_section_go_one_by_one)
{
    run_batch(false);
    ck_assert_uint_eq(t_fault_count.submit_calls, N_BATCH);
    ck_assert_uint_eq(t_fault_count.largest_batch, 1);
}
END_TEST

START_TEST(submission_without_a_context_engine_aborts)
{
    AioContext *ctx = t_fault_ctx_new();
    void *buf = t_buf(4096);
    QEMUIOVector qiov;
    t_req r;

    /* No aio_setup_linux_*: the current context has no engine. */
    t_req_buf(&r, NULL, 0, QEMU_AIO_READ, 0, buf, 4096, &qiov);
    run10(ctx, &r, 1, plain_entry, false);
}
END_TEST

void t_engine_add_level10_tests(Suite *s)
{
    TCase *tc = tcase_create("level10");

    tcase_add_test(tc, fua_write_reaches_the_kernel_with_dsync);
    tcase_add_test(tc, fua_on_a_read_is_not_a_dsync_write);
    tcase_add_test(tc, zone_append_is_a_plain_write);
    tcase_add_test(tc, flush_reaches_the_kernel_as_one_fdsync);
    tcase_add_test(tc, defer_call_section_submits_its_requests_in_one_call);
    tcase_add_test(tc, requests_outside_a_section_go_one_by_one);
    tcase_add_test_raise_signal(tc, submission_without_a_context_engine_aborts, SIGABRT);
    suite_add_tcase(s, tc);
}
#endif
