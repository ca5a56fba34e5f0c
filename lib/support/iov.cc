// SPDX-License-Identifier: MIT
// QEMUIOVector and iovec helpers (qemu/iov.h) for standalone programs:
// libqaio only, as a QEMU tree has util/iov.c.  QEMU's semantics: an offset
// past the end asserts, byte counts are cut short, owned arrays come from
// glib, nalloc == -1 marks a vector not owning its array.
#include "qemu/iov.h"

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstring>
#ifndef _WIN32
#include <sys/socket.h>
#endif

#define QAIO_RUNTIME_EXPORT extern "C" __attribute__((visibility("default")))

namespace {

char *base_of(const struct iovec &v) noexcept
{
    return static_cast<char *>(v.iov_base);
}

#ifdef _WIN32
// The errno of a Winsock error, as QEMU's socket wrappers set it (a would-
// block as EAGAIN, which callers test beside EWOULDBLOCK); EIO for others.
int errno_of_wsa(int err) noexcept
{
    switch (err) {
    case WSAEWOULDBLOCK: return EAGAIN;
    case WSAEINTR: return EINTR;
    case WSAEBADF: return EBADF;
    case WSAENOTSOCK: return ENOTSOCK;
    case WSAEFAULT: return EFAULT;
    case WSAEINVAL: return EINVAL;
    case WSAEMSGSIZE: return EMSGSIZE;
    case WSAENOBUFS: return ENOBUFS;
    case WSAENOTCONN: return ENOTCONN;
    case WSAECONNRESET: return ECONNRESET;
    case WSAECONNABORTED: return ECONNABORTED;
    case WSAECONNREFUSED: return ECONNREFUSED;
    case WSAETIMEDOUT: return ETIMEDOUT;
    case WSAENETDOWN: return ENETDOWN;
    case WSAENETUNREACH: return ENETUNREACH;
    case WSAEHOSTUNREACH: return EHOSTUNREACH;
    default: return EIO;
    }
}

// One send/recv of the first element (7.2's fd is the SOCKET); the caller
// resumes after a partial transfer.
ssize_t transfer(int fd, struct iovec *iov, unsigned, bool do_send) noexcept
{
    SOCKET s = static_cast<SOCKET>(fd);
    int len = iov[0].iov_len > INT_MAX ? INT_MAX : int(iov[0].iov_len);
    int r = do_send ? send(s, base_of(iov[0]), len, 0) : recv(s, base_of(iov[0]), len, 0);
    if (r == SOCKET_ERROR) {
        errno = errno_of_wsa(WSAGetLastError());
        return -1;
    }
    return r;
}
#else
ssize_t transfer(int fd, struct iovec *iov, unsigned cnt, bool do_send) noexcept
{
    struct msghdr msg {};
    msg.msg_iov = iov;
    msg.msg_iovlen = cnt;
    ssize_t r;
    do {
        r = do_send ? sendmsg(fd, &msg, 0) : recvmsg(fd, &msg, 0);
    } while (r < 0 && errno == EINTR);
    return r;
}
#endif

// fn(piece, length, done) over [offset, offset + bytes), cut short at the
// end; returns the bytes visited.
template <typename Fn>
size_t for_each_piece(const struct iovec *iov, unsigned cnt, size_t offset, size_t bytes, Fn fn)
{
    size_t done = 0;
    for (unsigned i = 0; i < cnt && (offset || done < bytes); i++) {
        if (offset >= iov[i].iov_len) {
            offset -= iov[i].iov_len;
            continue;
        }
        size_t n = std::min(iov[i].iov_len - offset, bytes - done);
        fn(base_of(iov[i]) + offset, n, done);
        done += n;
        offset = 0;
    }
    assert(offset == 0);
    return done;
}

} // namespace

QAIO_RUNTIME_EXPORT size_t iov_size(const struct iovec *iov, const unsigned int iov_cnt)
{
    size_t total = 0;
    for (unsigned i = 0; i < iov_cnt; i++) {
        total += iov[i].iov_len;
    }
    return total;
}

QAIO_RUNTIME_EXPORT size_t iov_from_buf_full(const struct iovec *iov, unsigned int iov_cnt,
                                             size_t offset, const void *buf, size_t bytes)
{
    const char *src = static_cast<const char *>(buf);
    return for_each_piece(iov, iov_cnt, offset, bytes, [&](char *p, size_t n, size_t done) {
        memcpy(p, src + done, n);
    });
}

QAIO_RUNTIME_EXPORT size_t iov_to_buf_full(const struct iovec *iov, const unsigned int iov_cnt,
                                           size_t offset, void *buf, size_t bytes)
{
    char *dst = static_cast<char *>(buf);
    return for_each_piece(iov, iov_cnt, offset, bytes, [&](char *p, size_t n, size_t done) {
        memcpy(dst + done, p, n);
    });
}

QAIO_RUNTIME_EXPORT size_t iov_memset(const struct iovec *iov, const unsigned int iov_cnt,
                                      size_t offset, int fillc, size_t bytes)
{
    return for_each_piece(iov, iov_cnt, offset, bytes,
                          [&](char *p, size_t n, size_t) { memset(p, fillc, n); });
}

// A private copy of the range is trimmed after partial transfers.
QAIO_RUNTIME_EXPORT ssize_t iov_send_recv(int sockfd, const struct iovec *iov,
                                          unsigned iov_cnt, size_t offset, size_t bytes,
                                          bool do_send)
{
    if (bytes == 0) {
        return 0;
    }
    struct iovec *local = g_new(struct iovec, iov_cnt);
    unsigned n = 0;
    size_t want = for_each_piece(iov, iov_cnt, offset, bytes, [&](char *p, size_t len, size_t) {
        local[n++] = {p, len};
    });
    assert(want == bytes);

    struct iovec *cur = local;
    ssize_t total = 0;
    while (n > 0) {
        ssize_t r = transfer(sockfd, cur, n, do_send);
        if (r < 0) {
            int saved = errno;
            g_free(local);
            if (saved == EAGAIN && total > 0) {
                return total;
            }
            errno = saved;
            return -1;
        }
        if (r == 0 && !do_send) {
            break;  // the peer shut down its side
        }
        total += r;
        size_t moved = size_t(r);
        while (n > 0 && moved >= cur->iov_len) {
            moved -= cur->iov_len;
            cur++;
            n--;
        }
        if (n > 0) {
            cur->iov_base = base_of(*cur) + moved;
            cur->iov_len -= moved;
        }
    }
    g_free(local);
    return total;
}

QAIO_RUNTIME_EXPORT void qemu_iovec_init(QEMUIOVector *qiov, int alloc_hint)
{
    qiov->iov = g_new(struct iovec, alloc_hint);
    qiov->niov = 0;
    qiov->nalloc = alloc_hint;
    qiov->size = 0;
}

QAIO_RUNTIME_EXPORT void qemu_iovec_init_external(QEMUIOVector *qiov, struct iovec *iov, int niov)
{
    qiov->iov = iov;
    qiov->niov = niov;
    qiov->nalloc = -1;
    qiov->size = iov_size(iov, unsigned(niov));
}

QAIO_RUNTIME_EXPORT void qemu_iovec_add(QEMUIOVector *qiov, void *base, size_t len)
{
    assert(qiov->nalloc != -1);  // external and embedded vectors cannot grow
    if (qiov->niov == qiov->nalloc) {
        qiov->nalloc = 2 * qiov->nalloc + 1;
        qiov->iov = g_renew(struct iovec, qiov->iov, qiov->nalloc);
    }
    qiov->iov[qiov->niov++] = {base, len};
    qiov->size += len;
}

QAIO_RUNTIME_EXPORT size_t qemu_iovec_concat_iov(QEMUIOVector *dst, struct iovec *src_iov,
                                                 unsigned int src_cnt, size_t soffset,
                                                 size_t sbytes)
{
    if (sbytes == 0) {
        return 0;
    }
    assert(dst->nalloc != -1);
    return for_each_piece(src_iov, src_cnt, soffset, sbytes,
                          [&](char *p, size_t len, size_t) { qemu_iovec_add(dst, p, len); });
}

QAIO_RUNTIME_EXPORT void qemu_iovec_concat(QEMUIOVector *dst, QEMUIOVector *src,
                                           size_t soffset, size_t sbytes)
{
    qemu_iovec_concat_iov(dst, src->iov, unsigned(src->niov), soffset, sbytes);
}

QAIO_RUNTIME_EXPORT void qemu_iovec_destroy(QEMUIOVector *qiov)
{
    if (qiov->nalloc != -1) {
        g_free(qiov->iov);
    }
    memset(qiov, 0, sizeof(*qiov));
}

QAIO_RUNTIME_EXPORT void qemu_iovec_reset(QEMUIOVector *qiov)
{
    assert(qiov->nalloc != -1);
    qiov->niov = 0;
    qiov->size = 0;
}

QAIO_RUNTIME_EXPORT size_t qemu_iovec_to_buf(QEMUIOVector *qiov, size_t offset, void *buf,
                                             size_t bytes)
{
    return iov_to_buf_full(qiov->iov, unsigned(qiov->niov), offset, buf, bytes);
}

QAIO_RUNTIME_EXPORT size_t qemu_iovec_from_buf(QEMUIOVector *qiov, size_t offset,
                                               const void *buf, size_t bytes)
{
    return iov_from_buf_full(qiov->iov, unsigned(qiov->niov), offset, buf, bytes);
}

QAIO_RUNTIME_EXPORT size_t qemu_iovec_memset(QEMUIOVector *qiov, size_t offset, int fillc,
                                             size_t bytes)
{
    return iov_memset(qiov->iov, unsigned(qiov->niov), offset, fillc, bytes);
}
