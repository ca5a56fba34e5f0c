// SPDX-License-Identifier: MIT
// Coroutine I/O helpers.  The fd wait installs a one-shot read handler (it
// replaces the fd's handler in that context) with its state in the waiter's
// frame.  The socket loop yields on EAGAIN and, as QEMU's, leaves the
// re-entry to its caller.
#include "lib/colock/colock.hh"

#include "block/aio.h"
#include "qemu/iov.h"
#include "lib/support/fatal.hh"

namespace qaio::colock {

namespace {

struct fd_wait {
    loop::context *ctx_;
    Coroutine *co_;
    int fd_;
};

void fd_readable_cb(void *opaque)
{
    auto *w = static_cast<fd_wait *>(opaque);

    // *w dies when the waiter resumes.
    Coroutine *co = w->co_;
    w->ctx_->set_fd_handler(w->fd_, false, nullptr, nullptr, nullptr, nullptr, nullptr);
    coroutine::enter_here(co);
}

} // namespace

void yield_until_readable(int fd) noexcept
{
    QAIO_CHECK(coroutine::in_coroutine(), "yield_until_fd_readable(%d) called outside a coroutine",
               fd);
    AioContext *ctx = loop::current_context();
    QAIO_CHECK(ctx, "yield_until_fd_readable(%d): no current AioContext", fd);
    fd_wait w{loop::context::from(ctx), coroutine::self(), fd};

    w.ctx_->set_fd_handler(fd, false, fd_readable_cb, nullptr, nullptr, nullptr, &w);
    coroutine::yield();
}

ssize_t co_sendv_recvv(int sockfd, struct iovec *iov, unsigned iov_cnt, size_t offset,
                       size_t bytes, bool do_send) noexcept
{
    size_t done = 0;

    while (done < bytes) {
        ssize_t ret = iov_send_recv(sockfd, iov, iov_cnt, offset + done, bytes - done, do_send);
        if (ret > 0) {
            done += ret;
        } else if (ret < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                coroutine::yield();  // the caller's fd handler re-enters us
            } else if (done == 0) {
                return -errno;
            } else {
                break;
            }
        } else if (!do_send) {
            break;  // end of stream (a send of 0 bytes is retried, as in QEMU)
        }
    }
    return done;
}

} // namespace qaio::colock
