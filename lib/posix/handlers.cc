// SPDX-License-Identifier: MIT
// The POSIX backend's fd handler registry: changes from any thread,
// deferred freeing while the home thread visits, aio_disable/enable_external,
// the fd monitor, and the context's eventfd notifier.  A replaced handler
// becomes a new node and the old one is retired, so the home thread never
// reads a callback/opaque pair being rewritten.
//
// Writers (any thread) hold the registry lock (list_lock_'s lock half) for
// by_fd_, the counts, new nodes' fields and the deleted list.  Nodes are
// published only through the monitor's update(), under the monitor's mutex,
// which the poller also takes: the mutex orders the writer's stores before
// the poller's reads.  Retiring detaches first: by_fd_ drops the node and
// update(h, old, 0) returns once the monitor will not hand it out again.
//
// The home thread reads nodes only between visit_begin() (lockcnt inc) and
// visit_end().  deleted_, the deleted list head, poll_disable_cnt_ and the
// poll hooks are relaxed atomics: hints, never what makes a free safe (a
// late "not deleted" means one more callback, as QEMU allows).
//
// free_deleted() runs under the lock when (a) a writer reads the visitor
// count as zero (lockcnt::count, acquire) or (b) the last visitor leaves by
// dec_and_lock (acquire).  Each visit ends with a release decrement, and
// later changes of the word are RMWs (release sequence), so whatever a
// visit read happens-before the free.  A new visit cannot begin under the
// lock, and then finds the node unreachable (free_deleted skips nodes on a
// ready list and unlinks poll_list_ entries).  The writer's own stores reach
// a free by the last visitor through unlock (release) / dec_and_lock.
#include "lib/posix/backend.hh"
#include "lib/support/fatal.hh"
#include "lib/support/knobs.hh"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <new>

namespace qaio::posix {

// With the registry lock held.
void fd_backend::retire(handler *h) noexcept
{
    if (h->events_) {
        int old = h->events_;
        h->events_ = 0;
        monitor_->update(h, old, 0);
    }
    if (h->is_external_) {
        external_count_--;
    }
    if (!h->io_poll_) {
        poll_disable_cnt_.fetch_sub(1, std::memory_order_relaxed);
    }
    h->deleted_.store(true, std::memory_order_relaxed);
    h->deleted_next_ = deleted_.load(std::memory_order_relaxed);
    deleted_.store(h, std::memory_order_relaxed);
}

// With the registry lock held and no visitor.
void fd_backend::free_deleted() noexcept
{
    handler *h = deleted_.exchange(nullptr, std::memory_order_relaxed);
    handler *kept = nullptr;
    while (h) {
        handler *next = h->deleted_next_;
        if (h->queued()) {
            // Still on a GSource ready list.
            h->deleted_next_ = kept;
            kept = h;
            h = next;
            continue;
        }
        if (h->on_poll_list_) {
            *std::find(poll_list_.begin(), poll_list_.end(), h) = poll_list_.back();
            poll_list_.pop_back();
        }
        delete h;
        h = next;
    }
    deleted_.store(kept, std::memory_order_relaxed);
}

int fd_backend::effective_events(const handler *h) const noexcept
{
    if (h->is_external_ && external_disabled_seen_) {
        return 0;
    }
    return h->wanted_events();
}

void fd_backend::set_handler(int fd, bool is_external, IOHandler *io_read,
                             IOHandler *io_write, AioPollFn *io_poll,
                             IOHandler *io_poll_ready, void *opaque,
                             bool is_ctx_notifier) noexcept
{
    QAIO_CHECK(fd >= 0, "aio_set_fd_handler: invalid fd %d", fd);
    if (!io_poll_ready) {
        io_poll = nullptr;
    }
    bool removing = !io_read && !io_write && !io_poll;

    handler *h = nullptr;
    if (!removing && fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
        // It would wake every wait with POLLNVAL and run nothing.
        std::fprintf(stderr, "qaio: aio_set_fd_handler: fd %d is not open; "
                     "handler not registered\n", fd);
        return;
    }
    if (!removing) {
        h = new (std::nothrow) handler{
            .fd_ = fd, .is_external_ = is_external, .is_ctx_notifier_ = is_ctx_notifier,
            .drain_by_read_ = is_ctx_notifier && notifier_.rfd == notifier_.wfd,
            .io_read_ = io_read, .io_write_ = io_write, .io_poll_ = io_poll,
            .io_poll_ready_ = io_poll_ready, .opaque_ = opaque, .pfd_ = {fd, 0, 0}};
        QAIO_CHECK(h, "out of memory registering fd %d", fd);
    }

    lockcnt::lock(&list_lock_);
    size_t slot = static_cast<size_t>(fd);
    handler *old = slot < by_fd_.size() ? by_fd_[slot] : nullptr;
    if (!old && removing) {
        lockcnt::unlock(&list_lock_);
        return;  // never registered
    }
    if (slot >= by_fd_.size()) {
        by_fd_.resize(slot + 1 + by_fd_.size() / 2, nullptr);
    }
    if (old) {
        // The begin/end hooks belong to the fd: keep them.
        if (h) {
            h->io_poll_begin_.store(old->poll_begin(), std::memory_order_relaxed);
            h->io_poll_end_.store(old->poll_end(), std::memory_order_relaxed);
        }
        retire(old);
    }
    by_fd_[slot] = h;
    if (h) {
        if (is_external) {
            external_count_++;
        }
        if (!h->io_poll_) {
            poll_disable_cnt_.fetch_add(1, std::memory_order_relaxed);
        }
        h->events_ = effective_events(h);
        h->pfd_.events = static_cast<gushort>(h->wanted_events());
        if (h->events_) {
            monitor_->update(h, 0, h->events_);
        }
    }
    // Case (a).
    if (lockcnt::count(&list_lock_) == 0) {
        free_deleted();
    }
    lockcnt::unlock(&list_lock_);
    ctx_->notify();
}

void fd_backend::set_fd_poll(int fd, IOHandler *begin, IOHandler *end) noexcept
{
    lockcnt::lock(&list_lock_);
    if (fd >= 0 && static_cast<size_t>(fd) < by_fd_.size() && by_fd_[fd]) {
        by_fd_[fd]->io_poll_begin_.store(begin, std::memory_order_relaxed);
        by_fd_[fd]->io_poll_end_.store(end, std::memory_order_relaxed);
    }
    lockcnt::unlock(&list_lock_);
}

void fd_backend::visit_end() noexcept
{
    // Case (b); a removal racing with the peek waits for the next one.
    if (!deleted_.load(std::memory_order_relaxed)) {
        lockcnt::dec(&list_lock_);
    } else if (lockcnt::dec_and_lock(&list_lock_)) {
        free_deleted();
        lockcnt::unlock(&list_lock_);
    }
}

void fd_backend::sync_external() noexcept
{
    bool disabled = qaio_external_disable_count(ctx_->c()) != 0;
    if (disabled == external_disabled_seen_) {
        return;
    }
    lockcnt::lock(&list_lock_);
    external_disabled_seen_ = disabled;
    if (external_count_ > 0) {
        for (handler *h : by_fd_) {
            if (h && h->is_external_) {
                int old = h->events_;
                h->events_ = effective_events(h);
                if (old != h->events_) {
                    monitor_->update(h, old, h->events_);
                }
            }
        }
    }
    lockcnt::unlock(&list_lock_);
}

void fd_backend::upgrade_monitor() noexcept
{
    if (std::unique_ptr<fd_monitor> next = monitor_choice_->grown(*monitor_, ctx_->counters())) {
        switch_monitor(std::move(next));
    }
    monitor_may_grow_ = monitor_choice_->may_grow(*monitor_);  // a fallback ends it
}

void fd_backend::choose_monitor_under_glib() noexcept
{
    if (std::unique_ptr<fd_monitor> next = monitor_choice_->under_glib(*monitor_)) {
        switch_monitor(std::move(next));
    }
}

void fd_backend::switch_monitor(std::unique_ptr<fd_monitor> next) noexcept
{
    lockcnt::lock(&list_lock_);
    for (handler *h : by_fd_) {
        if (h && h->events_) {
            next->update(h, 0, h->events_);
        }
    }
    monitor_.swap(next);
    monitor_may_grow_ = monitor_choice_->may_grow(*monitor_);
    if (gsource_mode_) {
        monitor_->gsource_attach(ctx_->source());
    }
    // The lock keeps handlers alive while the poll monitor detaches GPollFDs.
    next.reset();
    lockcnt::unlock(&list_lock_);
}

fd_backend::~fd_backend()
{
    lockcnt::lock(&list_lock_);
    for (handler *h : by_fd_) {
        delete h;
    }
    by_fd_.clear();
    for (handler *h = deleted_.exchange(nullptr, std::memory_order_relaxed); h;) {
        handler *next = h->deleted_next_;
        delete h;
        h = next;
    }
    lockcnt::unlock(&list_lock_);
    destroy();
    notifier::cleanup(&notifier_);
    lockcnt::destroy(&list_lock_);
}

void fd_backend::attach(loop::context *ctx) noexcept
{
    ctx_ = ctx;
    lockcnt::init(&list_lock_);
    if (auto max_ns = support::knob_int(support::knob::poll_max_ns)) {
        poll_max_ns_ = *max_ns;
    }
    setup();
    // The context's notifier; busy polling sees the flag, without a syscall.
    auto read = [](void *b) { notifier::test_and_clear(&static_cast<fd_backend *>(b)->notifier_); };
    auto poll = [](void *b) { return static_cast<fd_backend *>(b)->ctx_->notified(); };
    auto poll_ready = [](void *) {};
    set_handler(notifier::read_fd(&notifier_), false, read, nullptr, poll, poll_ready, this, true);
}

void fd_backend::setup() noexcept
{
    if (!monitor_) {
        monitor_choice_ = make_monitor_choice();
        monitor_ = monitor_choice_->first(ctx_->counters());
        monitor_may_grow_ = monitor_choice_->may_grow(*monitor_);
    }
}

} // namespace qaio::posix

std::unique_ptr<qaio::loop::wait_backend> qaio::loop::make_wait_backend() noexcept
{
    EventNotifier n;
    int r = posix::notifier::init(&n, 0);
    if (r < 0) {
        errno = -r;
        return nullptr;
    }
    // Blocking: read only when readable, or by io_uring's READ request,
    // which must wait in the kernel rather than fail with EAGAIN.
    if (n.rfd == n.wfd) {
        fcntl(n.rfd, F_SETFL, fcntl(n.rfd, F_GETFL) & ~O_NONBLOCK);
    }
    auto *b = new (std::nothrow) posix::fd_backend(n);
    if (!b) {
        posix::notifier::cleanup(&n);
        errno = ENOMEM;
    }
    return std::unique_ptr<wait_backend>(b);
}
