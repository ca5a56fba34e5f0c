// SPDX-License-Identifier: MIT
// The linux-aio block engine (QEMU's laio_*); the shared core is engine.hh.
//
// Batching: a submission goes to the kernel at once, as in QEMU, unless the
// engine is plugged (then at the batch limit or the unplug).  Requests of
// coroutines a completion pass woke go at once too (holding them to the
// pass's end costs IOPS); after a pass's flush the engine looks at the ring
// again, a few rounds at most.  io_submit may take part of a batch or refuse
// with -EAGAIN: the rest stays queued, "blocked" until a completion frees
// room (or, none in flight, the completion BH retries).  Other errors are
// the first request's.
//
// Reaping reads the completion ring the kernel maps at the io_setup address
// (fs/aio.c's ABI) without a system call; io_poll compares head and tail.
// A ring that does not look as expected falls back to io_getevents.
#include "lib/blockio/engine.hh"
#include "lib/loop/bh.hh"
#include "lib/loop/context.hh"
#include "lib/posix/event_notifier.hh"
#include "lib/support/fatal.hh"

#include "block/aio.h"
#include "qemu/iov.h"

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <libaio.h>
#include <linux/fs.h>
#include <new>

namespace qaio::blockio {
namespace {

constexpr unsigned max_events = 1024;      // size of the kernel AIO context
constexpr uint64_t default_max_batch = 32; // QEMU's when aio-max-batch is 0

// The completion ring's header (fs/aio.c); the io_events follow it.
struct aio_ring_header {
    unsigned id;
    unsigned nr;
    unsigned head;
    unsigned tail;
    unsigned magic;
    unsigned compat_features;
    unsigned incompat_features;
    unsigned header_length;
};
constexpr unsigned aio_ring_magic = 0xa10a10a1;

struct aio_request : request {
    using request::request;
    QEMUIOVector *qiov_;
    size_t nbytes_;
    struct iocb iocb_;
};

} // namespace

const engine_kind linux_aio_kind = {"linux-aio", "laio", "linux-aio completion", max_events};

} // namespace qaio::blockio

struct LinuxAioState : qaio::blockio::engine<LinuxAioState> {
    using request = qaio::blockio::request;

    LinuxAioState() noexcept : engine(qaio::blockio::linux_aio_kind) {}

    io_context_t kctx_ = nullptr;
    // null: io_getevents.
    qaio::blockio::aio_ring_header *ring_ = nullptr;
    struct io_event *ring_events_ = nullptr;
    unsigned ring_nr_ = 0;

    EventNotifier notifier_{};

    // io_getevents fallback: events fetched but not yet completed.
    unsigned ev_next_ = 0;
    unsigned ev_count_ = 0;
    struct io_event events_[qaio::blockio::max_events];
    struct iocb *batch_[qaio::blockio::max_events];

    static const qaio::loop::attachment_kind attachment;

    static LinuxAioState *create(qaio::blockio::init_failure *why) noexcept
    {
        using namespace qaio::blockio;
        auto *s = new (std::nothrow) LinuxAioState;
        QAIO_CHECK(s, "out of memory allocating a linux-aio engine");
        int r = qaio::posix::notifier::init(&s->notifier_, 0);
        if (r < 0) {
            *why = {-r, "failed to initialize event notifier"};
            delete s;
            return nullptr;
        }
        r = io_setup(int(max_events), &s->kctx_);
        if (r < 0) {
            *why = {-r, "failed to create linux AIO context"};
            qaio::posix::notifier::cleanup(&s->notifier_);
            delete s;
            return nullptr;
        }
        auto *ring = reinterpret_cast<aio_ring_header *>(s->kctx_);
        if (ring->magic == aio_ring_magic && ring->incompat_features == 0 &&
            ring->header_length == sizeof(*ring) && ring->nr > 0) {
            s->ring_ = ring;
            s->ring_events_ = reinterpret_cast<struct io_event *>(ring + 1);
            s->ring_nr_ = ring->nr;
        }
        return s;
    }

    void release_kernel_side() noexcept
    {
        qaio::posix::notifier::cleanup(&notifier_);
        int r = io_destroy(kctx_);
        if (r < 0) {
            fprintf(stderr, "laio_cleanup: io_destroy of AIO context %p failed: %s\n",
                    static_cast<void *>(kctx_), strerror(-r));
        }
    }

    void watch(qaio::loop::context *ctx) noexcept
    {
        int fd = qaio::posix::notifier::read_fd(&notifier_);
        if (ctx) {
            ctx->set_fd_handler(fd, false, on_notifier, nullptr, on_poll, on_ready, this);
        } else {
            ctx_->set_fd_handler(fd, false, nullptr, nullptr, nullptr, nullptr, nullptr);
        }
    }

    // QEMU's: the device's, else the context's (or 32), at most the free slots.
    uint64_t max_batch(uint64_t dev_max_batch) const noexcept
    {
        uint64_t limit = ctx_ && ctx_->max_batch() > 0 ? uint64_t(ctx_->max_batch())
                                                       : qaio::blockio::default_max_batch;
        if (dev_max_batch && dev_max_batch < limit) {
            limit = dev_max_batch;
        }
        uint64_t room = qaio::blockio::max_events - in_flight_;
        if (room && room < limit) {
            limit = room;
        }
        return limit;
    }

    bool has_work() const noexcept { return !queue_.empty(); }

    bool submit_queued() noexcept
    {
        bool accepted = false;
        while (!queue_.empty()) {
            unsigned room = qaio::blockio::max_events - in_flight_;
            if (room == 0) {
                blocked_ = true;
                break;
            }
            unsigned n = 0;
            for (request *r = queue_.front(); r && n < room; r = r->next_) {
                batch_[n++] = &static_cast<qaio::blockio::aio_request *>(r)->iocb_;
            }
            int ret = io_submit(kctx_, n, batch_);
            if (ret == -EINTR) {
                continue;
            }
            if (ret == -EAGAIN || ret == 0) {
                blocked_ = true;
                break;
            }
            if (ret < 0) {
                // The first request's own error (bad fd...): it alone fails.
                queue_.pop()->finish(ret);
                continue;
            }
            for (int i = 0; i < ret; i++) {
                queue_.pop();
            }
            in_flight_ += unsigned(ret);
            accepted = true;
            if (unsigned(ret) < n) {
                blocked_ = true;  // the rest waits for completions to free room
                break;
            }
        }
        if (queue_.empty()) {
            blocked_ = false;
        } else if (blocked_ && in_flight_ == 0) {
            // No completion will unblock the queue: retry from the loop
            // (scheduled after any pass's cancel).
            blocked_ = false;
            qaio::loop::bh_schedule(completion_bh_, 0);
        }
        return accepted;
    }

    bool ring_has_events() const noexcept
    {
        if (ev_next_ < ev_count_) {
            return true;
        }
        if (!ring_) {
            return false;
        }
        // Acquire: pairs with the kernel's release of the tail.
        unsigned tail = std::atomic_ref<unsigned>(ring_->tail).load(std::memory_order_acquire);
        return std::atomic_ref<unsigned>(ring_->head).load(std::memory_order_relaxed) != tail;
    }

    bool next_completion(request **r, long *res) noexcept
    {
        struct io_event ev;
        if (ev_next_ < ev_count_) {
            ev = events_[ev_next_++];
        } else if (ring_) {
            std::atomic_ref<unsigned> head(ring_->head);
            // Acquire: pairs with the kernel's release of the tail.
            unsigned tail = std::atomic_ref<unsigned>(ring_->tail).load(std::memory_order_acquire);
            unsigned h = head.load(std::memory_order_relaxed);
            if (h == tail) {
                return false;
            }
            if (h >= ring_nr_) {
                h %= ring_nr_;
            }
            ev = ring_events_[h];
            // Release: pairs with the kernel's acquire of the head.
            head.store((h + 1) % ring_nr_, std::memory_order_release);
        } else {
            static const struct timespec zero = {0, 0};
            int n;
            do {
                n = io_getevents(kctx_, 0, qaio::blockio::max_events, events_,
                                 const_cast<struct timespec *>(&zero));
            } while (n == -EINTR);
            if (n <= 0) {
                return false;
            }
            ev_count_ = unsigned(n);
            ev_next_ = 1;
            ev = events_[0];
        }
        *r = static_cast<qaio::blockio::aio_request *>(ev.data);
        *res = long(ev.res);
        return true;
    }

    void complete(request *base, long res) noexcept
    {
        auto *r = static_cast<qaio::blockio::aio_request *>(base);
        long ret = res < 0 ? res : 0;
        if (res >= 0 && size_t(res) != r->nbytes_) {
            if (r->kind_ == qaio::blockio::op::read) {
                // A short read ends at end of file: the rest reads as zeroes.
                qemu_iovec_memset(r->qiov_, size_t(res), 0, r->qiov_->size - size_t(res));
            } else if (r->kind_ == qaio::blockio::op::write) {
                ret = -ENOSPC;
            }
        }
        r->finish(int(ret));
    }

    static void on_notifier(void *opaque)
    {
        auto *s = static_cast<LinuxAioState *>(opaque);
        if (!s->ring_) {
            // Clear first, so a completion signalled later wakes us again.
            if (qaio::posix::notifier::test_and_clear(&s->notifier_)) {
                s->process();
            }
            return;
        }
        // Complete before the eventfd read, so nobody waits for it; the
        // kernel writes the event before signalling, so one more look after
        // the clear catches what signalled in between.
        s->process();
        qaio::posix::notifier::test_and_clear(&s->notifier_);
        if (s->ring_has_events()) {
            s->process();
        }
    }

    static bool on_poll(void *opaque)
    {
        return static_cast<LinuxAioState *>(opaque)->ring_has_events();
    }
};

namespace qaio::blockio {

QAIO_BLOCKIO_ENGINE_OPERATIONS(LinuxAioState);

int laio_submit_co(LinuxAioState *s, int fd, uint64_t offset, QEMUIOVector *qiov,
                   op kind, uint64_t dev_max_batch, bool fua) noexcept
{
    s->check_submit();
    aio_request r(kind);
    r.qiov_ = qiov;
    r.nbytes_ = kind == op::flush ? 0 : qiov->size;
    switch (kind) {
    case op::read:
        io_prep_preadv(&r.iocb_, fd, qiov->iov, qiov->niov, (long long)offset);
        break;
    case op::write:
        io_prep_pwritev2(&r.iocb_, fd, qiov->iov, qiov->niov, (long long)offset,
                         fua ? RWF_DSYNC : 0);
        break;
    case op::flush:
        io_prep_fdsync(&r.iocb_, fd);
        break;
    }
    io_set_eventfd(&r.iocb_, posix::notifier::read_fd(&s->notifier_));
    r.iocb_.data = &r;
    // At 10.0 only requests of coroutines a pass woke go at once.
    return s->queue_and_wait(&r, [&] {
        return (loop::level_hooks.defer ? s->reaping_ > 0 : !s->plugged_) ||
               s->queue_.size() >= s->max_batch(dev_max_batch);
    });
}

bool laio_fdsync_supported(int fd) noexcept
{
    io_context_t probe = nullptr;
    if (io_setup(1, &probe) < 0) {
        return false;
    }
    struct iocb cb;
    struct iocb *cbs[] = {&cb};
    io_prep_fdsync(&cb, fd);
    // -EINVAL: no AIO fsync for this file; io_destroy waits for a taken one.
    int r = io_submit(probe, 1, cbs);
    io_destroy(probe);
    return r != -EINVAL;
}

void laio_unplug(LinuxAioState *s, uint64_t dev_max_batch) noexcept
{
    s->drop_plug();
    // Another device may have queued past this one's own limit.
    if (s->queue_.size() >= s->max_batch(dev_max_batch) ||
        (!s->plugged_ && !s->blocked_ && !s->queue_.empty())) {
        s->submit_and_reap();
    }
}

} // namespace qaio::blockio

// Slot 1: finalized after the thread pool.
const qaio::loop::attachment_kind LinuxAioState::attachment = {
    1, qaio::blockio::context_engine_finalize<LinuxAioState>};
