// SPDX-License-Identifier: MIT
// EventNotifier on POSIX: an eventfd (rfd == wfd), or a pipe on a kernel
// without eventfd.  Non-blocking, so setting a full notifier is no error:
// several sets before a clear collapse into one readiness.
#include "lib/posix/event_notifier.hh"

#include <cerrno>
#include <cstdint>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace qaio::posix::notifier {

int init(EventNotifier *e, int active) noexcept
{
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd >= 0) {
        e->rfd = e->wfd = fd;
    } else {
        // Other failures (EMFILE...) would fail for a pipe as well.
        int fds[2];
        if (errno != ENOSYS || pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0) {
            return -errno;
        }
        e->rfd = fds[0];
        e->wfd = fds[1];
    }
    e->initialized = true;
    if (active) {
        set(e);
    }
    return 0;
}

void init_fd(EventNotifier *e, int fd) noexcept
{
    e->rfd = e->wfd = fd;
    e->initialized = true;
}

void cleanup(EventNotifier *e) noexcept
{
    if (!e->initialized) {
        return;
    }
    if (e->wfd != e->rfd) {
        close(e->wfd);
    }
    close(e->rfd);
    e->rfd = e->wfd = -1;
    e->initialized = false;
}

int set(EventNotifier *e) noexcept
{
    if (!e->initialized) {
        return -1;
    }
    // An eventfd only accepts a 64-bit add.
    const uint64_t one = 1;
    ssize_t n;
    do {
        n = write(e->wfd, &one, sizeof one);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && errno != EAGAIN) {
        return -errno;
    }
    return 0;
}

bool test_and_clear(EventNotifier *e) noexcept
{
    if (!e->initialized) {
        return false;
    }
    // Reads until one comes back short: an eventfd's counter in one read,
    // a pipe (or any fd given to init_fd) emptied, so that one clear undoes
    // any number of sets.
    char buf[512];
    bool pending = false;
    ssize_t n;
    do {
        n = read(e->rfd, buf, sizeof buf);
        pending |= n > 0;
    } while ((n < 0 && errno == EINTR) || n == static_cast<ssize_t>(sizeof buf));
    return pending;
}

} // namespace qaio::posix::notifier
