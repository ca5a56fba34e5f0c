/* SPDX-License-Identifier: MIT */
/*
 * Suite "io_uring": the io_uring block engine (luring_*,
 * aio_setup_linux_io_uring).  The behaviours it shares with linux-aio come
 * from engine_common.c; here are its own: -EAGAIN and -EINTR completions
 * resubmitted, short reads continued at the advanced offset with the rest of
 * the vector (QEMU once used the byte count as the offset), a short read
 * then end of file zero-filling the rest, a plugged engine submitting once
 * the ring fills, and an unsupported request type aborting.  White-box:
 * linked with the core's objects so that the fault-injection wrappers
 * (tests/fault_inject.c) see the engine's liburing calls.  Skipped, with a
 * message, when io_uring is configured out or the kernel refuses it.
 */
#include "engine_common.h"

#ifdef CONFIG_LINUX_IO_URING

START_TEST(unsupported_request_type_aborts)
{
    AioContext *ctx = t_engine_ctx_new();
    void *s = aio_setup_linux_io_uring(ctx, &error_abort);
    void *buf = t_buf(4096);
    QEMUIOVector q;
    t_req r;

    t_req_buf(&r, s, 0, QEMU_AIO_DISCARD, 0, buf, 4096, &q);
    t_run_requests(ctx, &r, 1, false);
}
END_TEST

START_TEST(plugged_engine_submits_once_the_ring_fills)
{
    AioContext *ctx = t_fault_ctx_new();
    LuringState *s = aio_setup_linux_io_uring(ctx, &error_abort);
    enum { N = 140 };
    t_req reqs[N];
    QEMUIOVector q[N];
    void *buf = t_buf(N * 4096);
    unsigned before, during;
    t_file f;

    t_file_open(&f, N * 4096, true);
    for (int i = 0; i < N; i++) {
        t_req_buf(&reqs[i], s, f.fd, QEMU_AIO_READ, (uint64_t)i * 4096,
                  (char *)buf + i * 4096, 4096, &q[i]);
    }
    t_eng->plug(s);
    before = t_fault_count.submit_calls;
    t_start_requests(reqs, 127, false);
    ck_assert_uint_eq(t_fault_count.submit_calls, before);
    t_start_requests(reqs + 127, N - 127, false);
    during = t_fault_count.submit_calls - before;
    ck_assert_uint_ge(during, 1);
    t_eng->unplug(s, 0);
    t_wait_requests(ctx, reqs, N);
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(reqs[i].ret, 0);
    }
    ck_assert(t_pattern_mismatch(buf, 0, N * 4096) < 0);
    free(buf);
    t_file_close(&f);
    aio_context_unref(ctx);
}
END_TEST

/* An IOThread-style context (adaptive polling on): completions are found by
 * the engine's io_poll handler and reaped by its io_poll_ready. */
START_TEST(reads_complete_with_the_contexts_polling_on)
{
    AioContext *ctx = t_engine_ctx_new();
    LuringState *s = aio_setup_linux_io_uring(ctx, &error_abort);
    enum { QD = 64, WAVES = 8 };
    t_req reqs[QD];
    QEMUIOVector q[QD];
    void *buf = t_buf(QD * 4096);
    t_file f;

    aio_context_set_poll_params(ctx, 32768, 0, 0, &error_abort);
    t_file_open(&f, WAVES * QD * 4096, true);
    for (int w = 0; w < WAVES; w++) {
        memset(buf, 0xee, QD * 4096);
        for (int i = 0; i < QD; i++) {
            t_req_buf(&reqs[i], s, f.fd, QEMU_AIO_READ,
                      (uint64_t)(w * QD + i) * 4096, (char *)buf + i * 4096,
                      4096, &q[i]);
        }
        t_run_requests(ctx, reqs, QD, false);
        for (int i = 0; i < QD; i++) {
            ck_assert_int_eq(reqs[i].ret, 0);
            ck_assert(t_pattern_mismatch((char *)buf + i * 4096,
                                         (uint64_t)(w * QD + i) * 4096, 4096) < 0);
        }
    }
    free(buf);
    t_file_close(&f);
    aio_context_unref(ctx);
}
END_TEST

/* Reads of `len` bytes each, as vectors of 4 KiB elements, over a
 * buffered file of `size` bytes, under the fault plan. */
static void faulty_vector_reads(int n, size_t len, size_t size)
{
    AioContext *ctx = t_fault_ctx_new();
    LuringState *s = aio_setup_linux_io_uring(ctx, &error_abort);
    t_req *reqs = g_new0(t_req, n);
    QEMUIOVector *q = g_new0(QEMUIOVector, n);
    char *buf = t_buf((size_t)n * len);
    size_t nblocks = size / len + (size % len != 0);
    t_file f;

    t_file_open(&f, size, false);
    for (int i = 0; i < n; i++) {
        qemu_iovec_init(&q[i], 1);
        for (size_t k = 0; k < len; k += 4096) {
            qemu_iovec_add(&q[i], buf + (size_t)i * len + k, MIN(4096, len - k));
        }
        reqs[i].engine = s;
        reqs[i].fd = f.fd;
        reqs[i].type = QEMU_AIO_READ;
        reqs[i].offset = (uint64_t)((i * 7u) % nblocks) * len;
        reqs[i].qiov = &q[i];
    }
    for (int i = 0; i < n; i += 32) {
        t_start_requests(reqs + i, MIN(32, n - i), true);
    }
    t_wait_requests(ctx, reqs, n);
    for (int i = 0; i < n; i++) {
        const char *b = buf + (size_t)i * len;
        uint64_t off = reqs[i].offset;
        size_t valid = off >= size ? 0 : MIN(len, size - off);

        ck_assert_int_eq(reqs[i].ret, 0);
        ck_assert_msg(t_pattern_mismatch(b, off, valid) < 0,
                      "read %d at %" PRIu64 " holds wrong data", i, off);
        for (size_t k = valid; k < len; k++) {
            ck_assert_int_eq(b[k], 0);
        }
        qemu_iovec_destroy(&q[i]);
    }
    free(buf);
    g_free(q);
    g_free(reqs);
    t_file_close(&f);
    aio_context_unref(ctx);
}

START_TEST(eagain_and_eintr_completions_are_resubmitted)
{
    t_faults_reset();
    t_faults.complete_eagain_every = 3;
    t_faults.complete_eintr_every = 5;
    faulty_vector_reads(200, 16384, 4 << 20);
    ck_assert_uint_gt(t_fault_count.eagain, 0);
    ck_assert_uint_gt(t_fault_count.eintr, 0);
}
END_TEST

START_TEST(short_reads_continue_at_the_advanced_offset)
{
    t_faults_reset();
    /* Every other completion is halved, resubmissions included, so one
     * request is cut several times over. */
    t_faults.complete_truncate_every = 2;
    faulty_vector_reads(200, 16384, 4 << 20);
    ck_assert_uint_gt(t_fault_count.truncated, 100);
}
END_TEST

START_TEST(short_read_then_end_of_file_zero_fills_the_rest)
{
    t_faults_reset();
    t_faults.complete_truncate_every = 2;
    /* The file ends 5000 bytes into the last request's range. */
    faulty_vector_reads(40, 16384, 39 * 16384 + 5000);
    ck_assert_uint_gt(t_fault_count.truncated, 0);
}
END_TEST

START_TEST(everything_at_once_still_completes_each_request_once)
{
    t_faults_reset();
    t_faults.submit_eagain_every = 3;
    t_faults.submit_eintr_every = 4;
    t_faults.complete_eagain_every = 5;
    t_faults.complete_eintr_every = 7;
    t_faults.complete_truncate_every = 3;
    faulty_vector_reads(300, 16384, 2 << 20);
}
END_TEST

int main(void)
{
    TCase *tc_init, *tc_io, *tc_batch, *tc_faults, *tc_poll;
    Suite *s;
    Error *err = NULL;
    LuringState *probe;

    t_eng = qaio_block_engine("io_uring");
    if (!t_io_uring_available()) {
        printf("SKIP: the kernel refuses io_uring (io_uring_setup failed)\n");
        return 77;
    }
    probe = luring_init(&err);
    if (!probe) {
        printf("SKIP: luring_init failed: %s\n", error_get_pretty(err));
        error_free(err);
        return 77;
    }
    luring_cleanup(probe);
    t_direct_usable();

    s = suite_create("io_uring");
    t_engine_add_common_tests(s, &tc_init, &tc_io, &tc_batch, &tc_faults);
    tcase_add_test_raise_signal(tc_io, unsupported_request_type_aborts, SIGABRT);
    tcase_add_test(tc_batch, plugged_engine_submits_once_the_ring_fills);
    tc_poll = tcase_create("poll");
    tcase_set_timeout(tc_poll, 30);
    tcase_add_test(tc_poll, reads_complete_with_the_contexts_polling_on);
    suite_add_tcase(s, tc_poll);
    tcase_add_test(tc_faults, eagain_and_eintr_completions_are_resubmitted);
    tcase_add_test(tc_faults, short_reads_continue_at_the_advanced_offset);
    tcase_add_test(tc_faults, short_read_then_end_of_file_zero_fills_the_rest);
    tcase_add_test(tc_faults, everything_at_once_still_completes_each_request_once);
#if QAIO_QEMU_API_AT_LEAST(10, 0)
    t_engine_add_level10_tests(s);
#endif
    return t_run_suite(s);
}

#else

int main(void)
{
    printf("SKIP: qaio was configured without io_uring (--with-io-uring=no): "
           "luring_* do not exist in this build\n");
    return 77;
}

#endif
