// SPDX-License-Identifier: MIT
// qemu/coroutine.h: coroutine I/O on fds and sockets (QEMU's
// util/qemu-coroutine-io).
#include "qemu/osdep.h"
#include "qemu/coroutine.h"

#include "cabi/export.hh"
#include "lib/colock/colock.hh"

QAIO_EXPORT void yield_until_fd_readable(int fd)
{
    qaio::colock::yield_until_readable(fd);
}

QAIO_EXPORT ssize_t qemu_co_sendv_recvv(int sockfd, struct iovec *iov, unsigned iov_cnt,
                                        size_t offset, size_t bytes, bool do_send)
{
    return qaio::colock::co_sendv_recvv(sockfd, iov, iov_cnt, offset, bytes, do_send);
}

QAIO_EXPORT ssize_t qemu_co_send_recv(int sockfd, void *buf, size_t bytes, bool do_send)
{
    struct iovec iov = { buf, bytes };
    return qaio::colock::co_sendv_recvv(sockfd, &iov, 1, 0, bytes, do_send);
}
