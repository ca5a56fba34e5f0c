/* SPDX-License-Identifier: MIT */
/*
 * Suite "io_uring": the io_uring block engine (luring_*,
 * aio_setup_linux_io_uring).  The behaviours it shares with linux-aio come
 * from engine_common.c; here are its own: -EAGAIN and -EINTR completions
 * resubmitted, short reads continued at the advanced offset with the rest of
 * the vector (QEMU once used the byte count as the offset), a short read
 * then end of file zero-filling the rest, a plugged engine submitting once
 * the ring fills, an unsupported request type aborting, and the kind of
 * ring: deferring its task work for a context its thread alone polls, until
 * the engine meets a pipe.  White-box:
 * linked with the core's objects so that the fault-injection wrappers
 * (tests/fault_inject.c) see the engine's liburing calls.  Skipped, with a
 * message, when io_uring is configured out or the kernel refuses it.
 */
#include "engine_common.h"

#ifdef CONFIG_LINUX_IO_URING
#include <liburing.h>

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

bool t_luring_ring_defers(void *s);   /* io_uring_whitebox.cc */

/* Whether the kernel sets up rings that defer their task work (6.1). */
static bool t_defer_taskrun_available(void)
{
    struct io_uring ring;

    if (io_uring_queue_init(4, &ring, IORING_SETUP_SINGLE_ISSUER |
                            IORING_SETUP_DEFER_TASKRUN) < 0) {
        return false;
    }
    io_uring_queue_exit(&ring);
    return true;
}

/* Reads of a regular file at queue depth n, and with them, if with_pipe, a
 * 1-byte read of a pipe that the test fills only after all was submitted. */
static void file_and_pipe_reads(AioContext *ctx, LuringState *s, const t_file *f, int n,
                                bool with_pipe)
{
    int total = n + with_pipe;
    t_req *reqs = g_new0(t_req, n + 1);
    QEMUIOVector *q = g_new0(QEMUIOVector, n + 1);
    char *buf = t_buf((size_t)n * 4096);
    char byte = 0;
    int pfd[2];

    ck_assert_int_eq(pipe(pfd), 0);
    for (int i = 0; i < n; i++) {
        t_req_buf(&reqs[i], s, f->fd, QEMU_AIO_READ, (uint64_t)i * 4096,
                  buf + (size_t)i * 4096, 4096, &q[i]);
    }
    t_req_buf(&reqs[n], s, pfd[0], QEMU_AIO_READ, 0, &byte, 1, &q[n]);
    t_start_requests(reqs, total, false);
    if (with_pipe) {
        ck_assert_int_eq(reqs[n].completions, 0);
        ck_assert_int_eq(write(pfd[1], "x", 1), 1);
    }
    t_wait_requests(ctx, reqs, total);
    for (int i = 0; i < total; i++) {
        ck_assert_int_eq(reqs[i].ret, 0);
    }
    ck_assert(t_pattern_mismatch(buf, 0, (size_t)n * 4096) < 0);
    ck_assert_int_eq(byte, with_pipe ? 'x' : 0);
    close(pfd[0]);
    close(pfd[1]);
    free(buf);
    g_free(q);
    g_free(reqs);
}

/* A ring that defers its task work to the context's thread serves regular
 * files (tmpfs reads complete on io-wq workers that then only queue them),
 * but for a pipe the kernel posts the completion from the poll wake-up, and
 * Linux 6.18 signals such a ring's eventfd 10-20 ms after it.  The first
 * pipe an engine meets, alone or behind reads in flight, moves it to a
 * cooperative ring for good; every request completes once, in order. */
START_TEST(a_pipe_moves_the_engine_off_a_deferred_ring_for_good)
{
    AioContext *ctx = t_engine_ctx_new();

    for (int depth = 0; depth <= 32; depth += 32) {
        LuringState *s = t_eng->init(&error_abort);
        t_file f;

        t_eng->attach(s, ctx);
        t_file_open(&f, 32 * 4096, depth > 0);
        file_and_pipe_reads(ctx, s, &f, 1, false);
        file_and_pipe_reads(ctx, s, &f, depth, true);
        ck_assert(!t_luring_ring_defers(s));
        file_and_pipe_reads(ctx, s, &f, 32, true);
        file_and_pipe_reads(ctx, s, &f, 32, false);
        ck_assert(!t_luring_ring_defers(s));
        t_file_close(&f);
        t_eng->detach(s, ctx);
        t_eng->cleanup(s);
    }
    aio_context_unref(ctx);
}
END_TEST

/* An engine that has met no pipe, on a context this thread alone polls:
 * where the kernel and QAIO_IO_URING_DEFER allow it, its ring defers. */
START_TEST(a_context_polled_by_its_thread_alone_gets_a_deferred_ring_for_files)
{
    AioContext *ctx = t_engine_ctx_new();
    LuringState *s = aio_setup_linux_io_uring(ctx, &error_abort);
    char *buf = t_buf(4096);
    const char *knob = getenv("QAIO_IO_URING_DEFER");
    QEMUIOVector q;
    t_req r;
    t_file f;

    t_file_open(&f, 4096, false);
    t_req_buf(&r, s, f.fd, QEMU_AIO_READ, 0, buf, 4096, &q);
    t_run_requests(ctx, &r, 1, false);
    ck_assert_int_eq(r.ret, 0);
    if (knob && strcmp(knob, "0") == 0) {
        ck_assert(!t_luring_ring_defers(s));
    } else if (t_defer_taskrun_available()) {
        ck_assert(t_luring_ring_defers(s));
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
    tcase_add_test(tc_io, a_context_polled_by_its_thread_alone_gets_a_deferred_ring_for_files);
    tcase_add_test(tc_io, a_pipe_moves_the_engine_off_a_deferred_ring_for_good);
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
