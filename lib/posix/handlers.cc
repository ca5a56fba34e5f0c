// SPDX-License-Identifier: MIT
// The POSIX backend's life and its fd handler registry: registration,
// replacement and removal from any thread, deferred freeing while the home
// thread visits the handlers, the bookkeeping that follows
// aio_disable/enable_external, the fd monitor's setup and changes, and the
// context's eventfd notifier, registered as a handler.
//
// A replaced handler becomes a new node and the old one is retired like a
// removed one, so the home thread never reads a callback/opaque pair that
// another thread is rewriting.
//
// The protocol, and why a poller never reads a freed handler.
//
// Writers.  Any thread registers, replaces or removes handlers holding the
// registry lock (the lock half of the context's QemuLockCnt, list_lock_).
// Under it, it writes by_fd_, the handler counts, a new node's fields (all
// before the node is published) and the deleted list: the head deleted_ and
// each node's deleted_next_.  It publishes a node only through the fd
// monitor's update(), which takes the monitor's own mutex; the monitor hands
// nodes to the poller under that mutex too, so whatever the writer wrote
// before update() happens-before the poller's reads (the mutex pairs them).
// Retiring a node first detaches it: by_fd_ no longer names it, and
// update(h, old, 0) returns only once the monitor will never hand it out
// again (fd_monitor.hh).
//
// The poller.  The home thread reads nodes only while visiting, between
// visit_begin() (lockcnt inc) and visit_end() (lockcnt dec or dec_and_lock),
// and reaches them only through the monitor, by_fd_ under the lock, and two
// lists of its own that may outlive a visit: poll_list_ (busy polling) and
// the GSource ready list (from check() to dispatch()).
//
// What crosses threads while both run, and is therefore atomic: a node's
// deleted_ flag (set by the remover, read by the poller to skip a node
// removed mid-pass), the deleted list head (pushed by a writer, peeked by
// visit_end to decide whether to take the lock), poll_disable_cnt_ (read to
// decide on busy polling) and the io_poll_begin/end hooks (aio_set_fd_poll
// on a live node).  All relaxed: they are hints, never what makes a free
// safe.  A late "not deleted" means one more callback for a handler removed
// from another thread (QEMU promises no better for that case; the memory is
// still valid, see below); a stale empty head leaves the node for the next
// visitor or writer to free.
//
// Freeing.  free_deleted() runs with the registry lock held, in one of two
// cases, and each comes with an acquire that pairs with the release of
// every visit that may have read the node:
//   (a) a writer, holding the lock, reads the visitor count as zero
//       (lockcnt::count, acquire);
//   (b) the last visitor leaves through dec_and_lock, which takes the count
//       to zero and the lock in one compare-and-swap (acquire).
// A visit ends with a release decrement; every later change of the lockcnt
// word is a read-modify-write, so the value (a) or (b) acquires is in that
// decrement's release sequence, and everything the visit read happens-
// before the free.  A visit that has not begun cannot begin while the lock
// is held (a first inc waits for unlock, whose release it acquires), and
// when it begins the node is unreachable: detached as said above, and not
// on the poller's own lists, because free_deleted skips nodes still queued
// on a ready list and unlinks poll_list_ entries before freeing (the home
// thread wrote those fields during a visit, ordered by the same pairs).  In
// the other direction, what a writer did under the lock (the flag, the
// links) happens-before a free by the last visitor through the writer's
// unlock (release) and dec_and_lock (acquire).
#include "lib/posix/backend.hh"
#include "lib/support/fatal.hh"
#include "lib/support/knobs.hh"

#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <new>

namespace qaio::posix {

// Detaches h from the registry; it is freed now if nobody visits, or by the
// last visitor.  Called with the registry lock held.
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

// With the registry lock held and no visitor (see the top of the file).
void fd_backend::free_deleted() noexcept
{
    handler *h = deleted_.exchange(nullptr, std::memory_order_relaxed);
    handler *kept = nullptr;
    while (h) {
        handler *next = h->deleted_next_;
        if (h->queued()) {
            // Still on a GSource ready list; freed after dispatch pops it.
            h->deleted_next_ = kept;
            kept = h;
            h = next;
            continue;
        }
        if (h->on_poll_list_) {
            auto &pl = poll_list_;
            for (size_t i = 0; i < pl.size(); i++) {
                if (pl[i] == h) {
                    pl[i] = pl.back();
                    pl.pop_back();
                    break;
                }
            }
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
    // A polling callback is useless without a way to report its readiness.
    if (!io_poll_ready) {
        io_poll = nullptr;
    }
    bool removing = !io_read && !io_write && !io_poll;

    handler *h = nullptr;
    if (!removing && fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
        // Watching a closed fd would wake every wait with POLLNVAL and run
        // nothing: refuse it loudly instead.
        std::fprintf(stderr, "qaio: aio_set_fd_handler: fd %d is not open; "
                     "handler not registered\n", fd);
        return;
    }
    if (!removing) {
        h = new (std::nothrow) handler;
        QAIO_CHECK(h, "out of memory registering fd %d", fd);
        h->fd_ = fd;
        h->is_external_ = is_external;
        h->io_read_ = io_read;
        h->io_write_ = io_write;
        h->io_poll_ = io_poll;
        h->io_poll_ready_ = io_poll_ready;
        h->is_ctx_notifier_ = is_ctx_notifier;
        h->drain_by_read_ = is_ctx_notifier && notifier_.rfd == notifier_.wfd;
        h->opaque_ = opaque;
        h->pfd_.fd = fd;
    }

    lockcnt::lock(&list_lock_);
    if (static_cast<size_t>(fd) >= by_fd_.size()) {
        if (removing) {
            lockcnt::unlock(&list_lock_);
            return;  // never registered: nothing to do, nothing to notify
        }
        by_fd_.resize(static_cast<size_t>(fd) + 1 + by_fd_.size() / 2, nullptr);
    }
    handler *old = by_fd_[fd];
    if (!old && removing) {
        lockcnt::unlock(&list_lock_);
        return;
    }
    if (old) {
        // Keep the begin/end hooks across a replacement, as they belong to
        // the fd rather than to one set of callbacks.
        if (h) {
            h->io_poll_begin_.store(old->poll_begin(), std::memory_order_relaxed);
            h->io_poll_end_.store(old->poll_end(), std::memory_order_relaxed);
        }
        retire(old);
    }
    by_fd_[fd] = h;
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
    // Free at once if the home thread is not visiting: case (a) above.
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
    // The last visitor frees what was removed meanwhile: case (b) above.  A
    // removal racing with the peek is freed by the next visit or writer.
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
    // The poll monitor detaches its GPollFDs from the source as it goes; the
    // lock keeps their handlers alive meanwhile.
    next.reset();
    lockcnt::unlock(&list_lock_);
}

fd_backend::~fd_backend()
{
    // Handlers still registered by their owners are dropped with the context.
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
    // The context's own notifier: readable when aio_notify wrote the
    // eventfd; busy polling sees notifications through the flag instead,
    // without a system call, and aio_poll accepts them itself.
    auto read = [](void *b) { notifier::test_and_clear(&static_cast<fd_backend *>(b)->notifier_); };
    auto poll = [](void *b) { return static_cast<fd_backend *>(b)->ctx_->notified(); };
    auto poll_ready = [](void *) {};
    set_handler(notifier::read_fd(&notifier_), false, read, nullptr, poll, poll_ready, this, true);
}

// The monitor itself is the choice's (make_monitor_choice); the backend
// only asks it at creation, as its registrations grow, and when glib takes
// over.
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
    // The context's own eventfd blocks: it is read only once it is known to
    // be readable, or by the io_uring monitor's READ request, which must
    // wait in the kernel instead of failing with EAGAIN.
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
