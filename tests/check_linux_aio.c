/* SPDX-License-Identifier: MIT */
/*
 * Suite "linux_aio": the linux-aio engine (laio_*, aio_setup_linux_aio).
 * The behaviours it shares with io_uring come from engine_common.c; here
 * are its own: the batch limit (dev_max_batch, aio-max-batch), io_submit
 * taking part of a batch, completions fetched with io_getevents when the
 * completion ring cannot be read, and QEMU's linux-aio semantics for a short
 * read (the rest reads as zeroes) and for unsupported request types (-EIO).
 * White-box: linked with the core's objects, so that the fault-injection
 * wrappers (tests/fault_inject.c) see the engine's libaio calls (a queue that
 * io_submit fills only in part must wait, not fail).
 * Skipped, with a message, when linux-aio is configured out or the kernel
 * refuses an AIO context.
 */
#include "engine_common.h"

#ifdef CONFIG_LINUX_AIO

/* Reads of n blocks, started one by one inside a plug; returns how many
 * io_submit calls happened before the unplug. */
static unsigned plugged_submissions(AioContext *ctx, int n)
{
    LinuxAioState *s = aio_setup_linux_aio(ctx, &error_abort);
    t_req *reqs = g_new0(t_req, n);
    QEMUIOVector *q = g_new0(QEMUIOVector, n);
    void *buf = t_buf((size_t)n * 4096);
    unsigned before, during;
    t_file f;

    t_file_open(&f, 1 << 20, true);
    for (int i = 0; i < n; i++) {
        t_req_buf(&reqs[i], s, f.fd, QEMU_AIO_READ, (uint64_t)i * 4096,
                  (char *)buf + i * 4096, 4096, &q[i]);
    }
    t_eng->plug(s);
    before = t_fault_count.submit_calls;
    t_start_requests(reqs, n, false);
    during = t_fault_count.submit_calls - before;
    t_eng->unplug(s, t_dev_max_batch);
    t_wait_requests(ctx, reqs, n);
    for (int i = 0; i < n; i++) {
        ck_assert_int_eq(reqs[i].ret, 0);
    }
    ck_assert(t_pattern_mismatch(buf, 0, (size_t)n * 4096) < 0);
    free(buf);
    g_free(q);
    g_free(reqs);
    t_file_close(&f);
    return during;
}

START_TEST(plugged_queue_goes_out_at_dev_max_batch)
{
    AioContext *ctx = t_engine_ctx_new();

    t_dev_max_batch = 4;
    ck_assert_uint_eq(plugged_submissions(ctx, 10), 2);
    aio_context_unref(ctx);
}
END_TEST

START_TEST(plugged_queue_goes_out_at_the_context_aio_max_batch)
{
    AioContext *ctx = t_engine_ctx_new();

#if QAIO_QEMU_API_AT_LEAST(10, 0)
    aio_context_set_aio_params(ctx, 8);
#else
    aio_context_set_aio_params(ctx, 8, &error_abort);
#endif
    ck_assert_uint_eq(plugged_submissions(ctx, 20), 2);
    aio_context_unref(ctx);
}
END_TEST

START_TEST(unsupported_request_type_returns_eio)
{
    AioContext *ctx = t_engine_ctx_new();
    void *s = aio_setup_linux_aio(ctx, &error_abort);
    void *buf = t_buf(4096);
    QEMUIOVector q;
    t_req r;
    t_file f;

    t_file_open(&f, 1 << 20, false);
    t_req_buf(&r, s, f.fd, QEMU_AIO_DISCARD, 0, buf, 4096, &q);
    t_run_requests(ctx, &r, 1, false);
    ck_assert_int_eq(r.ret, -EIO);
    free(buf);
    t_file_close(&f);
    aio_context_unref(ctx);
}
END_TEST

/* Reads of all 256 blocks of a buffered 1 MiB file under the fault plan,
 * in plugged batches; returns the requests and buffers for checks. */
static void faulty_reads(t_req **reqs_out, void **buf_out, int n)
{
    AioContext *ctx = t_fault_ctx_new();
    LinuxAioState *s = aio_setup_linux_aio(ctx, &error_abort);
    t_req *reqs = g_new0(t_req, n);
    QEMUIOVector *q = g_new0(QEMUIOVector, n);
    void *buf = t_buf((size_t)n * 4096);
    t_file f;

    t_file_open(&f, (size_t)n * 4096, false);
    for (int i = 0; i < n; i++) {
        t_req_buf(&reqs[i], s, f.fd, QEMU_AIO_READ, (uint64_t)i * 4096,
                  (char *)buf + i * 4096, 4096, &q[i]);
    }
    for (int i = 0; i < n; i += 40) {
        t_start_requests(reqs + i, MIN(40, n - i), true);
    }
    t_wait_requests(ctx, reqs, n);
    t_file_close(&f);
    aio_context_unref(ctx);
    g_free(q);
    *reqs_out = reqs;
    *buf_out = buf;
}

static void check_all_reads(t_req *reqs, void *buf, int n)
{
    for (int i = 0; i < n; i++) {
        ck_assert_int_eq(reqs[i].ret, 0);
    }
    ck_assert(t_pattern_mismatch(buf, 0, (size_t)n * 4096) < 0);
}

START_TEST(partially_accepted_batches_requeue_the_rest)
{
    t_req *reqs;
    void *buf;

    t_faults_reset();
    t_faults.submit_partial_every = 1;
    faulty_reads(&reqs, &buf, 256);
    check_all_reads(reqs, buf, 256);
    ck_assert_uint_gt(t_fault_count.submit_partial, 0);
    free(buf);
    g_free(reqs);
}
END_TEST

START_TEST(completions_come_through_io_getevents_when_the_ring_is_hidden)
{
    t_req *reqs;
    void *buf;

    t_faults_reset();
    t_faults.hide_aio_ring = true;
    t_faults.getevents_eintr_every = 3;
    t_faults.getevents_short_every = 2;
    faulty_reads(&reqs, &buf, 256);
    check_all_reads(reqs, buf, 256);
    ck_assert_uint_gt(t_fault_count.getevents_eintr, 0);
    ck_assert_uint_gt(t_fault_count.getevents_short, 0);
    free(buf);
    g_free(reqs);
}
END_TEST

START_TEST(short_read_completion_zero_fills_the_rest)
{
    t_req *reqs;
    void *buf;
    unsigned short_ones = 0;

    t_faults_reset();
    t_faults.hide_aio_ring = true;
    t_faults.complete_truncate_every = 3;
    faulty_reads(&reqs, &buf, 256);
    /* Like QEMU, linux-aio takes a short read for end of file. */
    for (int i = 0; i < 256; i++) {
        char *b = (char *)buf + i * 4096;

        ck_assert_int_eq(reqs[i].ret, 0);
        if (t_pattern_mismatch(b, (uint64_t)i * 4096, 4096) >= 0) {
            ck_assert(t_pattern_mismatch(b, (uint64_t)i * 4096, 2048) < 0);
            for (int k = 2048; k < 4096; k++) {
                ck_assert_int_eq(b[k], 0);
            }
            short_ones++;
        }
    }
    ck_assert_uint_gt(t_fault_count.truncated, 0);
    ck_assert_uint_eq(short_ones, t_fault_count.truncated);
    free(buf);
    g_free(reqs);
}
END_TEST

START_TEST(everything_at_once_still_completes_each_request_once)
{
    t_req *reqs;
    void *buf;

    t_faults_reset();
    t_faults.submit_eagain_every = 5;
    t_faults.submit_eintr_every = 7;
    t_faults.submit_partial_every = 2;
    t_faults.hide_aio_ring = true;
    t_faults.getevents_eintr_every = 4;
    t_faults.getevents_short_every = 3;
    faulty_reads(&reqs, &buf, 256);
    check_all_reads(reqs, buf, 256);
    free(buf);
    g_free(reqs);
}
END_TEST

int main(void)
{
    TCase *tc_init, *tc_io, *tc_batch, *tc_faults;
    Suite *s;
    Error *err = NULL;
    LinuxAioState *probe;

    t_eng = qaio_block_engine("linux-aio");
    probe = laio_init(&err);
    if (!probe) {
        printf("SKIP: the kernel refuses an AIO context: %s\n",
               error_get_pretty(err));
        error_free(err);
        return 77;
    }
    laio_cleanup(probe);
    t_direct_usable();

    s = suite_create("linux_aio");
    t_engine_add_common_tests(s, &tc_init, &tc_io, &tc_batch, &tc_faults);
    tcase_add_test(tc_io, unsupported_request_type_returns_eio);
    tcase_add_test(tc_batch, plugged_queue_goes_out_at_dev_max_batch);
    tcase_add_test(tc_batch, plugged_queue_goes_out_at_the_context_aio_max_batch);
    tcase_add_test(tc_faults, partially_accepted_batches_requeue_the_rest);
    tcase_add_test(tc_faults, completions_come_through_io_getevents_when_the_ring_is_hidden);
    tcase_add_test(tc_faults, short_read_completion_zero_fills_the_rest);
    tcase_add_test(tc_faults, everything_at_once_still_completes_each_request_once);
#if QAIO_QEMU_API_AT_LEAST(10, 0)
    t_engine_add_level10_tests(s);
#endif
    return t_run_suite(s);
}

#else

int main(void)
{
    printf("SKIP: qaio was configured without linux-aio (--with-linux-aio=no): "
           "laio_* do not exist in this build\n");
    return 77;
}

#endif
