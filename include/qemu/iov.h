/* SPDX-License-Identifier: MIT */
/*
 * I/O vectors: helpers on plain struct iovec arrays and QEMUIOVector, the
 * scatter/gather list the block engines and coroutine socket I/O take.  These
 * functions belong to QEMU's util library, not to the event-loop subsystem:
 * inside a QEMU tree QEMU's own util/iov.c defines them, and libqaio-core.a
 * only calls them; standalone programs get them from libqaio's support
 * runtime.  Only the part the engines and their callers use is declared.
 *
 * QEMUIOVector has QEMU 7.2's 40-byte layout, which callers embed: `size`
 * shares its storage with `local_iov.iov_len`, so a single-buffer vector
 * (QEMU_IOVEC_INIT_BUF) needs no separate size.  `nalloc` is the capacity of
 * an owned array, or -1 for a vector that does not own its array (external
 * or embedded).
 */
#ifndef QEMU_IOV_H
#define QEMU_IOV_H

#include "qemu/osdep.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Total length of an iovec array. */
size_t iov_size(const struct iovec *iov, const unsigned int iov_cnt);

/*
 * Copy @bytes from @buf into the vector, starting @offset bytes into it (or
 * out of it, for iov_to_buf_full).  Returns the number of bytes copied, which
 * is less than @bytes when the vector ends first.  @offset must not lie
 * beyond the end of the vector.
 */
size_t iov_from_buf_full(const struct iovec *iov, unsigned int iov_cnt,
                         size_t offset, const void *buf, size_t bytes);
size_t iov_to_buf_full(const struct iovec *iov, const unsigned int iov_cnt,
                       size_t offset, void *buf, size_t bytes);

/* Constant-size copies that fit the first element become one memcpy. */
static inline size_t iov_from_buf(const struct iovec *iov,
                                  unsigned int iov_cnt, size_t offset,
                                  const void *buf, size_t bytes)
{
    if (__builtin_constant_p(bytes) && iov_cnt &&
        offset <= iov[0].iov_len && bytes <= iov[0].iov_len - offset) {
        memcpy((char *)iov[0].iov_base + offset, buf, bytes);
        return bytes;
    }
    return iov_from_buf_full(iov, iov_cnt, offset, buf, bytes);
}

static inline size_t iov_to_buf(const struct iovec *iov,
                                const unsigned int iov_cnt, size_t offset,
                                void *buf, size_t bytes)
{
    if (__builtin_constant_p(bytes) && iov_cnt &&
        offset <= iov[0].iov_len && bytes <= iov[0].iov_len - offset) {
        memcpy(buf, (char *)iov[0].iov_base + offset, bytes);
        return bytes;
    }
    return iov_to_buf_full(iov, iov_cnt, offset, buf, bytes);
}

/* Fill @bytes of the vector from @offset with @fillc; returns bytes set. */
size_t iov_memset(const struct iovec *iov, const unsigned int iov_cnt,
                  size_t offset, int fillc, size_t bytes);

/*
 * Send or receive the byte range [@offset, @offset + @bytes) of the vector
 * on a socket, looping over partial transfers, without modifying the
 * caller's array.  Returns the number of bytes moved; a short count when the
 * socket would block after some progress, or when the peer closed the
 * connection (receive); -1 with errno set when nothing could be moved.
 */
ssize_t iov_send_recv(int sockfd, const struct iovec *iov, unsigned iov_cnt,
                      size_t offset, size_t bytes, bool do_send);
#define iov_recv(sockfd, iov, iov_cnt, offset, bytes) \
    iov_send_recv(sockfd, iov, iov_cnt, offset, bytes, false)
#define iov_send(sockfd, iov, iov_cnt, offset, bytes) \
    iov_send_recv(sockfd, iov, iov_cnt, offset, bytes, true)

typedef struct QEMUIOVector {
    struct iovec *iov;
    int niov;

    /*
     * An owned vector keeps its capacity in nalloc (local_iov unused).  An
     * embedded single-buffer vector points iov at local_iov and sets nalloc
     * to -1; its local_iov.iov_len is the vector's size.  For every kind,
     * `size` (at the offset of local_iov.iov_len) is the total length.
     */
    union {
        struct {
            int nalloc;
            struct iovec local_iov;
        };
        struct {
            char __pad[sizeof(int) + offsetof(struct iovec, iov_len)];
            size_t size;
        };
    };
} QEMUIOVector;

#ifdef __cplusplus
static_assert(offsetof(QEMUIOVector, size) ==
              offsetof(QEMUIOVector, local_iov.iov_len),
              "QEMUIOVector.size must alias local_iov.iov_len");
#else
_Static_assert(offsetof(QEMUIOVector, size) ==
               offsetof(QEMUIOVector, local_iov.iov_len),
               "QEMUIOVector.size must alias local_iov.iov_len");
#endif

#define QEMU_IOVEC_INIT_BUF(self, buf, len)              \
{                                                        \
    .iov = &(self).local_iov,                            \
    .niov = 1,                                           \
    .nalloc = -1,                                        \
    .local_iov = {                                       \
        .iov_base = (void *)(buf),                       \
        .iov_len = (len),                                \
    },                                                   \
}

/* Make @qiov a single-buffer vector over [@buf, @buf + @len). */
static inline void qemu_iovec_init_buf(QEMUIOVector *qiov, const void *buf,
                                       size_t len)
{
    qiov->iov = &qiov->local_iov;
    qiov->niov = 1;
    qiov->nalloc = -1;
    qiov->local_iov.iov_base = (void *)buf;
    qiov->local_iov.iov_len = len;
}

/* The buffer of a single-buffer vector. */
static inline void *qemu_iovec_buf(QEMUIOVector *qiov)
{
    /* Only an embedded vector has a buffer of its own. */
    assert(qiov->nalloc == -1 && qiov->iov == &qiov->local_iov);
    return qiov->local_iov.iov_base;
}

/* An empty owned vector with room for @alloc_hint elements. */
void qemu_iovec_init(QEMUIOVector *qiov, int alloc_hint);
/* A vector over the caller's array (not owned; never grown or freed). */
void qemu_iovec_init_external(QEMUIOVector *qiov, struct iovec *iov, int niov);
/* Append one element to an owned vector. */
void qemu_iovec_add(QEMUIOVector *qiov, void *base, size_t len);
/*
 * Append to @dst references to the bytes [@soffset, @soffset + @sbytes) of
 * @src (no data is copied); the range is cut at the end of @src.
 */
void qemu_iovec_concat(QEMUIOVector *dst, QEMUIOVector *src, size_t soffset,
                       size_t sbytes);
size_t qemu_iovec_concat_iov(QEMUIOVector *dst, struct iovec *src_iov,
                             unsigned int src_cnt, size_t soffset,
                             size_t sbytes);
/* Free an owned array and zero the struct; harmless on a zeroed struct. */
void qemu_iovec_destroy(QEMUIOVector *qiov);
/* Empty an owned vector, keeping its capacity. */
void qemu_iovec_reset(QEMUIOVector *qiov);
size_t qemu_iovec_to_buf(QEMUIOVector *qiov, size_t offset, void *buf,
                         size_t bytes);
size_t qemu_iovec_from_buf(QEMUIOVector *qiov, size_t offset, const void *buf,
                           size_t bytes);
size_t qemu_iovec_memset(QEMUIOVector *qiov, size_t offset, int fillc,
                         size_t bytes);

#ifdef __cplusplus
}
#endif

#endif
