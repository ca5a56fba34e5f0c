/* SPDX-License-Identifier: MIT */
/*
 * Suite "iov": the QEMUIOVector and iovec helpers of qemu/iov.h that the
 * block engines and coroutine socket I/O use, as libqaio's support runtime
 * provides them for standalone programs (inside a QEMU tree, QEMU's own
 * util/iov.c serves).  QEMU's test-iov behaviours for from/to/memset and
 * send/recv, then the header's QEMUIOVector semantics: owned, external and
 * embedded vectors, growth, concatenation, reset and destroy, and the
 * aborts on misuse.  Black box: public headers and libqaio only.
 */
#include "qemu/osdep.h"
#include "qemu/iov.h"
#include "helpers.h"

#include <sys/socket.h>

/* ---- layout --------------------------------------------------------------- */

_Static_assert(sizeof(QEMUIOVector) == 40, "QEMUIOVector is 40 bytes");
_Static_assert(offsetof(QEMUIOVector, iov) == 0, "iov at 0");
_Static_assert(offsetof(QEMUIOVector, niov) == 8, "niov at 8");
_Static_assert(offsetof(QEMUIOVector, nalloc) == 16, "nalloc at 16");
_Static_assert(offsetof(QEMUIOVector, local_iov) == 24, "local_iov at 24");
_Static_assert(offsetof(QEMUIOVector, size) == 32, "size at 32");

START_TEST(size_shares_storage_with_local_iov_len)
{
    QEMUIOVector q;

    memset(&q, 0, sizeof(q));
    q.local_iov.iov_len = 12345;
    ck_assert_uint_eq(q.size, 12345);
    q.size = 777;
    ck_assert_uint_eq(q.local_iov.iov_len, 777);
}
END_TEST

/* ---- from/to/memset ------------------------------------------------------- */

/* A random vector of 3..7 elements of 5..19 bytes over one flat buffer,
 * with a guard byte between elements. */
typedef struct rvec {
    struct iovec iov[7];
    unsigned cnt;
    size_t size;
    uint8_t flat[7 * 20];
} rvec;

static void rvec_make(rvec *v, GRand *rnd)
{
    size_t at = 0;

    v->cnt = (unsigned)g_rand_int_range(rnd, 3, 8);
    v->size = 0;
    memset(v->flat, 0xcc, sizeof(v->flat));
    for (unsigned i = 0; i < v->cnt; i++) {
        size_t len = (size_t)g_rand_int_range(rnd, 5, 20);

        v->iov[i].iov_base = v->flat + at;
        v->iov[i].iov_len = len;
        v->size += len;
        at += len + 1;
    }
}

/* The i-th byte of the vector, as stored. */
static uint8_t *rvec_byte(rvec *v, size_t i)
{
    for (unsigned k = 0; k < v->cnt; k++) {
        if (i < v->iov[k].iov_len) {
            return (uint8_t *)v->iov[k].iov_base + i;
        }
        i -= v->iov[k].iov_len;
    }
    return NULL;
}

/* One range of one vector: move it in, out and fill it; false on the first
 * byte that is wrong (checked without ck_assert, which is slow per call). */
static bool range_round_trip(rvec *v, size_t off, size_t bytes)
{
    uint8_t src[140], dst[142];

    for (size_t i = 0; i < v->size; i++) {
        *rvec_byte(v, i) = (uint8_t)i;
    }
    for (size_t i = 0; i < bytes; i++) {
        src[i] = (uint8_t)(0x80 + i);
    }
    if (iov_from_buf(v->iov, v->cnt, off, src, bytes) != bytes) {
        return false;
    }
    for (size_t i = 0; i < v->size; i++) {
        uint8_t want = i >= off && i < off + bytes ? (uint8_t)(0x80 + i - off)
                                                   : (uint8_t)i;
        if (*rvec_byte(v, i) != want) {
            return false;
        }
    }
    memset(dst, 0x55, sizeof(dst));
    if (iov_to_buf(v->iov, v->cnt, off, dst + 1, bytes) != bytes ||
        dst[0] != 0x55 || dst[bytes + 1] != 0x55 ||
        memcmp(dst + 1, src, bytes) != 0) {
        return false;
    }
    if (iov_memset(v->iov, v->cnt, off, 0xa5, bytes) != bytes) {
        return false;
    }
    for (size_t i = 0; i < v->size; i++) {
        uint8_t want = i >= off && i < off + bytes ? 0xa5 : (uint8_t)i;
        if (*rvec_byte(v, i) != want) {
            return false;
        }
    }
    /* The guard bytes between elements are never touched. */
    for (unsigned k = 0; k + 1 < v->cnt; k++) {
        if (((uint8_t *)v->iov[k].iov_base)[v->iov[k].iov_len] != 0xcc) {
            return false;
        }
    }
    return true;
}

START_TEST(from_to_and_memset_move_exactly_the_range)
{
    GRand *rnd = g_rand_new_with_seed(72);

    for (int round = 0; round < 20; round++) {
        rvec v;

        rvec_make(&v, rnd);
        for (size_t off = 0; off <= v.size; off++) {
            for (size_t bytes = 0; off + bytes <= v.size; bytes++) {
                ck_assert_msg(range_round_trip(&v, off, bytes),
                              "round %d: range [%zu, +%zu) of a %u-element "
                              "vector of %zu bytes", round, off, bytes, v.cnt,
                              v.size);
            }
        }
    }
    g_rand_free(rnd);
}
END_TEST

START_TEST(ranges_past_the_end_are_cut_short)
{
    char a[4], b[6], src[32] = "abcdefghijklmnopqrstuvwxyz", dst[32];
    struct iovec v[2] = { { a, sizeof(a) }, { b, sizeof(b) } };

    ck_assert_uint_eq(iov_size(v, 2), 10);
    ck_assert_uint_eq(iov_from_buf(v, 2, 7, src, 20), 3);
    ck_assert(memcmp(b + 3, "abc", 3) == 0);
    ck_assert_uint_eq(iov_to_buf(v, 2, 8, dst, 20), 2);
    ck_assert(memcmp(dst, "bc", 2) == 0);
    ck_assert_uint_eq(iov_memset(v, 2, 10, 0, 5), 0);
}
END_TEST

START_TEST(offset_past_the_end_aborts)
{
    char a[4];
    struct iovec v = { a, sizeof(a) };

    iov_memset(&v, 1, 5, 0, 1);
}
END_TEST

/* ---- send/recv ------------------------------------------------------------ */

static void nonblocking_pair(int sv[2])
{
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(fcntl(sv[i], F_SETFL, fcntl(sv[i], F_GETFL) | O_NONBLOCK), 0);
    }
}

START_TEST(send_and_recv_move_byte_ranges_and_leave_the_vector_alone)
{
    enum { N = 8, LEN = 1000 };
    static uint8_t sbuf[N * LEN], rbuf[N * LEN];
    struct iovec siov[N], riov[N], copy[N];
    GRand *rnd = g_rand_new_with_seed(1);
    int sv[2];

    nonblocking_pair(sv);
    for (int i = 0; i < N * LEN; i++) {
        sbuf[i] = (uint8_t)g_rand_int(rnd);
    }
    for (int i = 0; i < N; i++) {
        siov[i].iov_base = sbuf + i * LEN;
        siov[i].iov_len = LEN;
        riov[i].iov_base = rbuf + i * LEN;
        riov[i].iov_len = LEN;
    }
    memcpy(copy, siov, sizeof(copy));
    for (int round = 0; round < 50; round++) {
        size_t off = (size_t)g_rand_int_range(rnd, 0, N * LEN);
        size_t bytes = (size_t)g_rand_int_range(rnd, 0, (gint32)(N * LEN - off + 1));
        size_t sent = 0, got = 0;

        memset(rbuf, 0, sizeof(rbuf));
        while (got < bytes) {
            if (sent < bytes) {
                ssize_t n = iov_send(sv[0], siov, N, off + sent, bytes - sent);
                ck_assert(n > 0 || (n < 0 && errno == EAGAIN));
                if (n > 0) {
                    sent += (size_t)n;
                }
            }
            ssize_t n = iov_recv(sv[1], riov, N, off + got, bytes - got);
            ck_assert(n > 0 || (n < 0 && errno == EAGAIN));
            if (n > 0) {
                got += (size_t)n;
            }
        }
        ck_assert_uint_eq(got, bytes);
        ck_assert(memcmp(rbuf + off, sbuf + off, bytes) == 0);
        ck_assert(memcmp(copy, siov, sizeof(copy)) == 0);
    }
    g_rand_free(rnd);
    close(sv[0]);
    close(sv[1]);
}
END_TEST

START_TEST(recv_with_nothing_to_read_fails_with_eagain)
{
    char buf[16];
    struct iovec v = { buf, sizeof(buf) };
    int sv[2];

    nonblocking_pair(sv);
    errno = 0;
    ck_assert_int_eq(iov_recv(sv[1], &v, 1, 0, sizeof(buf)), -1);
    ck_assert_int_eq(errno, EAGAIN);
    close(sv[0]);
    close(sv[1]);
}
END_TEST

START_TEST(recv_returns_what_arrived_before_end_of_stream)
{
    char buf[16];
    struct iovec v = { buf, sizeof(buf) };
    int sv[2];

    nonblocking_pair(sv);
    ck_assert_int_eq(write(sv[0], "hello", 5), 5);
    close(sv[0]);
    ck_assert_int_eq(iov_recv(sv[1], &v, 1, 0, sizeof(buf)), 5);
    ck_assert(memcmp(buf, "hello", 5) == 0);
    ck_assert_int_eq(iov_recv(sv[1], &v, 1, 0, sizeof(buf)), 0);
    close(sv[1]);
}
END_TEST

START_TEST(send_stops_with_the_count_moved_when_the_socket_fills)
{
    size_t len = 16 << 20;
    char *big = g_malloc0(len);
    struct iovec v[2] = { { big, len / 2 }, { big + len / 2, len / 2 } };
    int sv[2];
    ssize_t n;

    nonblocking_pair(sv);
    n = iov_send(sv[0], v, 2, 0, len);
    ck_assert(n > 0 && (size_t)n < len);
    g_free(big);
    close(sv[0]);
    close(sv[1]);
}
END_TEST

START_TEST(zero_bytes_moves_nothing)
{
    char buf[4];
    struct iovec v = { buf, sizeof(buf) };

    ck_assert_int_eq(iov_send_recv(-1, &v, 1, 0, 0, true), 0);
}
END_TEST

/* ---- QEMUIOVector --------------------------------------------------------- */

START_TEST(init_gives_an_empty_owned_vector)
{
    QEMUIOVector q;

    qemu_iovec_init(&q, 4);
    ck_assert_int_eq(q.niov, 0);
    ck_assert_int_eq(q.nalloc, 4);
    ck_assert_uint_eq(q.size, 0);
    ck_assert_ptr_nonnull(q.iov);
    qemu_iovec_destroy(&q);
}
END_TEST

START_TEST(add_appends_and_grows_capacity_to_twice_plus_one)
{
    static char data[100];
    QEMUIOVector q;
    int expect_alloc[] = { 1, 3, 3, 7, 7, 7, 7, 15 };

    qemu_iovec_init(&q, 0);
    for (int i = 0; i < 8; i++) {
        qemu_iovec_add(&q, data + i, (size_t)i + 1);
        ck_assert_int_eq(q.niov, i + 1);
        ck_assert_int_eq(q.nalloc, expect_alloc[i]);
        ck_assert_ptr_eq(q.iov[i].iov_base, data + i);
        ck_assert_uint_eq(q.iov[i].iov_len, (size_t)i + 1);
    }
    ck_assert_uint_eq(q.size, 36);
    qemu_iovec_destroy(&q);
}
END_TEST

START_TEST(init_external_wraps_the_callers_array)
{
    char a[3], b[5];
    struct iovec v[2] = { { a, sizeof(a) }, { b, sizeof(b) } };
    QEMUIOVector q;

    qemu_iovec_init_external(&q, v, 2);
    ck_assert_ptr_eq(q.iov, v);
    ck_assert_int_eq(q.niov, 2);
    ck_assert_int_eq(q.nalloc, -1);
    ck_assert_uint_eq(q.size, 8);
    qemu_iovec_destroy(&q);
    /* The caller's array is not freed or changed. */
    ck_assert_ptr_eq(v[0].iov_base, a);
    ck_assert_uint_eq(v[1].iov_len, 5);
    ck_assert_ptr_null(q.iov);
}
END_TEST

START_TEST(init_buf_embeds_a_single_buffer)
{
    char buf[64];
    QEMUIOVector q;
    QEMUIOVector m = QEMU_IOVEC_INIT_BUF(m, buf, 48);

    qemu_iovec_init_buf(&q, buf, sizeof(buf));
    ck_assert_ptr_eq(q.iov, &q.local_iov);
    ck_assert_int_eq(q.niov, 1);
    ck_assert_int_eq(q.nalloc, -1);
    ck_assert_uint_eq(q.size, sizeof(buf));
    ck_assert_ptr_eq(qemu_iovec_buf(&q), buf);
    ck_assert_ptr_eq(m.iov, &m.local_iov);
    ck_assert_int_eq(m.niov, 1);
    ck_assert_int_eq(m.nalloc, -1);
    ck_assert_uint_eq(m.size, 48);
    ck_assert_ptr_eq(qemu_iovec_buf(&m), buf);
}
END_TEST

START_TEST(reset_empties_but_keeps_the_array)
{
    static char data[8];
    QEMUIOVector q;
    struct iovec *arr;

    qemu_iovec_init(&q, 2);
    qemu_iovec_add(&q, data, 4);
    qemu_iovec_add(&q, data + 4, 4);
    arr = q.iov;
    qemu_iovec_reset(&q);
    ck_assert_int_eq(q.niov, 0);
    ck_assert_uint_eq(q.size, 0);
    ck_assert_int_eq(q.nalloc, 2);
    ck_assert_ptr_eq(q.iov, arr);
    qemu_iovec_destroy(&q);
}
END_TEST

START_TEST(destroy_zeroes_the_struct_and_is_harmless_when_zeroed)
{
    static char data[8];
    QEMUIOVector q, zero, empty;

    memset(&empty, 0, sizeof(empty));
    qemu_iovec_init(&q, 1);
    qemu_iovec_add(&q, data, 8);
    qemu_iovec_destroy(&q);
    ck_assert(memcmp(&q, &empty, sizeof(q)) == 0);
    memset(&zero, 0, sizeof(zero));
    qemu_iovec_destroy(&zero);
    ck_assert(memcmp(&zero, &empty, sizeof(zero)) == 0);
}
END_TEST

START_TEST(concat_appends_references_to_a_range_of_the_source)
{
    static char a[10], b[10], c[10];
    QEMUIOVector src, dst;

    qemu_iovec_init(&src, 3);
    qemu_iovec_add(&src, a, 10);
    qemu_iovec_add(&src, b, 10);
    qemu_iovec_add(&src, c, 10);
    qemu_iovec_init(&dst, 0);
    qemu_iovec_concat(&dst, &src, 7, 15);
    ck_assert_int_eq(dst.niov, 3);
    ck_assert_uint_eq(dst.size, 15);
    ck_assert_ptr_eq(dst.iov[0].iov_base, a + 7);
    ck_assert_uint_eq(dst.iov[0].iov_len, 3);
    ck_assert_ptr_eq(dst.iov[1].iov_base, b);
    ck_assert_uint_eq(dst.iov[1].iov_len, 10);
    ck_assert_ptr_eq(dst.iov[2].iov_base, c);
    ck_assert_uint_eq(dst.iov[2].iov_len, 2);
    qemu_iovec_destroy(&dst);
    qemu_iovec_destroy(&src);
}
END_TEST

START_TEST(concat_stops_at_the_end_of_the_source)
{
    static char a[10], b[10];
    struct iovec v[2] = { { a, 10 }, { b, 10 } };
    QEMUIOVector dst;

    qemu_iovec_init(&dst, 1);
    ck_assert_uint_eq(qemu_iovec_concat_iov(&dst, v, 2, 15, 100), 5);
    ck_assert_int_eq(dst.niov, 1);
    ck_assert_ptr_eq(dst.iov[0].iov_base, b + 5);
    ck_assert_uint_eq(dst.size, 5);
    ck_assert_uint_eq(qemu_iovec_concat_iov(&dst, v, 2, 3, 0), 0);
    ck_assert_int_eq(dst.niov, 1);
    qemu_iovec_destroy(&dst);
}
END_TEST

START_TEST(memset_to_buf_and_from_buf_cross_elements)
{
    char a[5], b[5], out[10];
    struct iovec v[2] = { { a, 5 }, { b, 5 } };
    QEMUIOVector q;

    qemu_iovec_init_external(&q, v, 2);
    ck_assert_uint_eq(qemu_iovec_from_buf(&q, 0, "0123456789", 10), 10);
    ck_assert_uint_eq(qemu_iovec_memset(&q, 3, 'x', 4), 4);
    ck_assert_uint_eq(qemu_iovec_to_buf(&q, 0, out, 10), 10);
    ck_assert(memcmp(out, "012xxxx789", 10) == 0);
    ck_assert_uint_eq(qemu_iovec_to_buf(&q, 8, out, 10), 2);
    ck_assert(memcmp(out, "89", 2) == 0);
}
END_TEST

START_TEST(add_to_an_external_vector_aborts)
{
    char a[4];
    struct iovec v = { a, 4 };
    QEMUIOVector q;

    qemu_iovec_init_external(&q, &v, 1);
    qemu_iovec_add(&q, a, 4);
}
END_TEST

/* Only a vector made by qemu_iovec_init_buf has a buffer of its own. */
START_TEST(buf_of_an_external_vector_aborts)
{
    char a[4];
    struct iovec v = { a, 4 };
    QEMUIOVector q;

    qemu_iovec_init_external(&q, &v, 1);
    ck_assert_ptr_nonnull(qemu_iovec_buf(&q));
}
END_TEST

START_TEST(reset_of_an_embedded_vector_aborts)
{
    char a[4];
    QEMUIOVector q;

    qemu_iovec_init_buf(&q, a, sizeof(a));
    qemu_iovec_reset(&q);
}
END_TEST

START_TEST(concat_starting_past_the_source_aborts)
{
    char a[4];
    struct iovec v = { a, 4 };
    QEMUIOVector dst;

    qemu_iovec_init(&dst, 1);
    qemu_iovec_concat_iov(&dst, &v, 1, 9, 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("iov");
    TCase *tc;

    tc = tcase_create("layout");
    tcase_add_test(tc, size_shares_storage_with_local_iov_len);
    suite_add_tcase(s, tc);

    tc = tcase_create("buf");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, from_to_and_memset_move_exactly_the_range);
    tcase_add_test(tc, ranges_past_the_end_are_cut_short);
    tcase_add_test_raise_signal(tc, offset_past_the_end_aborts, SIGABRT);
    suite_add_tcase(s, tc);

    tc = tcase_create("send_recv");
    tcase_add_test(tc, send_and_recv_move_byte_ranges_and_leave_the_vector_alone);
    tcase_add_test(tc, recv_with_nothing_to_read_fails_with_eagain);
    tcase_add_test(tc, recv_returns_what_arrived_before_end_of_stream);
    tcase_add_test(tc, send_stops_with_the_count_moved_when_the_socket_fills);
    tcase_add_test(tc, zero_bytes_moves_nothing);
    suite_add_tcase(s, tc);

    tc = tcase_create("qiov");
    tcase_add_test(tc, init_gives_an_empty_owned_vector);
    tcase_add_test(tc, add_appends_and_grows_capacity_to_twice_plus_one);
    tcase_add_test(tc, init_external_wraps_the_callers_array);
    tcase_add_test(tc, init_buf_embeds_a_single_buffer);
    tcase_add_test(tc, reset_empties_but_keeps_the_array);
    tcase_add_test(tc, destroy_zeroes_the_struct_and_is_harmless_when_zeroed);
    tcase_add_test(tc, concat_appends_references_to_a_range_of_the_source);
    tcase_add_test(tc, concat_stops_at_the_end_of_the_source);
    tcase_add_test(tc, memset_to_buf_and_from_buf_cross_elements);
    tcase_add_test_raise_signal(tc, add_to_an_external_vector_aborts, SIGABRT);
    tcase_add_test_raise_signal(tc, reset_of_an_embedded_vector_aborts, SIGABRT);
    tcase_add_test_raise_signal(tc, buf_of_an_external_vector_aborts, SIGABRT);
    tcase_add_test_raise_signal(tc, concat_starting_past_the_source_aborts, SIGABRT);
    suite_add_tcase(s, tc);

    return t_run_suite(s);
}
