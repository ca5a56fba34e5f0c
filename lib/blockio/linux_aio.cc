// SPDX-License-Identifier: MIT
// The linux-aio block engine (QEMU's laio_*): coroutines read and write a
// file descriptor through one kernel AIO context per engine, and are woken
// in the engine's AioContext when their request completes.
//
// Design note.
//
// Requests.  A request lives in the frame of the coroutine that waits for
// it (laio_submit_co), so it costs no allocation; it is queued on the
// engine's FIFO, handed to the kernel by io_submit, and completed exactly
// once: its result is stored, then the coroutine is woken with aio_co_wake,
// unless the coroutine is the one running (its request completed while it
// was still submitting), in which case it finds the result without
// yielding.  Nothing may touch a request after its coroutine was woken: the
// frame may be gone.
//
// Batching.  A submission goes to the kernel at once, as in QEMU, unless the
// engine is plugged (laio_plug), and then waits in the queue until the
// batch limit (QEMU's: the device's dev_max_batch, the context's
// aio-max-batch or 32, and the free ring slots) or the unplug.  Requests of
// coroutines woken by a pass over the completion ring go at once too:
// holding them to the end of the pass, to save io_submit calls, cost 5-10%
// of the IOPS of a virtio disk at QD64 (O_DIRECT 4 KiB random reads), the
// device starting on each request later.  Every pass still ends with a
// flush of whatever is queued, nested passes included, so a request is
// never left queued behind a loop that waits for it.  After a flush the
// engine looks at the ring again (a fast device or the page cache may have
// completed the batch already), up to a few rounds before it returns to the
// loop.
//
// Requeueing.  io_submit may take only the front part of a batch, or refuse
// with -EAGAIN when the kernel is out of request slots: the rest stays at
// the head of the queue and the engine is "blocked" until a completion frees
// room; the completion pass then resubmits.  -EINTR retries at once.  Any
// other error belongs to the first request of the batch (the kernel stops
// there): that request completes with it and the others are submitted
// again.  At most 1024 requests are in flight (the size of the AIO context);
// more wait in the queue.  When nothing is in flight, no completion will come
// to unblock the queue, so the completion bottom half retries instead.
//
// Reaping.  The kernel signals the engine's eventfd for every completion and
// appends an io_event to the completion ring it maps into user space at the
// address io_setup returned.  The engine reads that ring directly (the
// kernel ABI of fs/aio.c: a header with head, tail and a magic number, then
// the events), which costs no system call; busy polling (io_poll) only
// compares head and tail.  If the header does not look like the ring this
// code knows, completions are fetched with io_getevents instead.
//
// Nested event loops.  A woken coroutine may run a nested aio_poll before
// the pass is over.  Each event is copied and consumed (the ring's head
// advanced, or the io_getevents buffer's index moved) before its request is
// completed, so a nested pass continues where the outer one stopped and no
// event is seen twice.  While a pass runs, the engine's completion bottom
// half is scheduled, so a nested aio_poll enters a pass of its own (and
// flushes the queue) even if the eventfd has already been read.
//
// Threading.  laio_new may run in any thread; everything else runs in the
// home thread of the context the engine is attached to.
#include "lib/blockio/engines.hh"
#include "lib/coroutine/coroutine.hh"
#include "lib/loop/bh.hh"
#include "lib/loop/context.hh"
#include "lib/loop/event_notifier.hh"
#include "lib/support/fatal.hh"

#include "block/aio.h"
#include "qemu/iov.h"

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <libaio.h>
#include <new>

namespace qaio::blockio {
namespace {

constexpr unsigned max_events = 1024;      // size of the kernel AIO context
constexpr uint64_t default_max_batch = 32; // QEMU's when aio-max-batch is 0
// Submit/reap rounds one turn may run before it lets the loop do other work.
constexpr int max_rounds = 16;

// The completion ring's header, as the kernel lays it out (fs/aio.c); the
// io_events follow it.
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

struct request {
    Coroutine *co_;
    QEMUIOVector *qiov_;
    size_t nbytes_;
    long ret_;
    bool done_;
    op kind_;
    request *next_;
    struct iocb iocb_;
};

// Store the result and wake the waiter; the request may be gone afterwards.
void finish(request *r, long ret) noexcept
{
    Coroutine *co = r->co_;
    r->ret_ = ret;
    r->done_ = true;
    // A coroutine with a caller is the one running: it is still submitting
    // and finds the result without yielding.
    if (!co->caller) {
        qaio::loop::co_wake(co);
    }
}

} // namespace
} // namespace qaio::blockio

struct LinuxAioState {
    using request = qaio::blockio::request;

    io_context_t kctx_ = nullptr;
    // The kernel's completion ring, or null to use io_getevents.
    qaio::blockio::aio_ring_header *ring_ = nullptr;
    struct io_event *ring_events_ = nullptr;
    unsigned ring_nr_ = 0;

    EventNotifier notifier_{};
    qaio::loop::context *ctx_ = nullptr;
    qaio::loop::bh *completion_bh_ = nullptr;

    // Requests not yet accepted by the kernel, oldest first.
    request *head_ = nullptr;
    request **tail_ = &head_;
    unsigned in_queue_ = 0;
    unsigned in_flight_ = 0;
    unsigned plugged_ = 0;
    bool blocked_ = false;  // the kernel refused more: wait for a completion

    unsigned reaping_ = 0;  // completion passes on the stack
    uint64_t passes_ = 0;   // passes started, to notice nested ones

    // io_getevents fallback: events fetched but not yet completed.
    unsigned ev_next_ = 0;
    unsigned ev_count_ = 0;
    struct io_event events_[qaio::blockio::max_events];
    struct iocb *batch_[qaio::blockio::max_events];

    void enqueue(request *r) noexcept
    {
        r->next_ = nullptr;
        *tail_ = r;
        tail_ = &r->next_;
        ++in_queue_;
    }

    request *pop() noexcept
    {
        request *r = head_;
        head_ = r->next_;
        if (!head_) {
            tail_ = &head_;
        }
        --in_queue_;
        return r;
    }

    // QEMU's batch limit: the device's, else the context's (or 32), never
    // more than the free slots of the AIO context.
    uint64_t max_batch(uint64_t dev_max_batch) const noexcept
    {
        uint64_t limit = ctx_ && ctx_->max_batch() > 0
                             ? uint64_t(ctx_->max_batch())
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

    // Hand the queue to the kernel, front first.  Returns whether any request
    // was accepted.
    bool submit_queued() noexcept
    {
        bool accepted = false;
        while (head_) {
            unsigned room = qaio::blockio::max_events - in_flight_;
            if (room == 0) {
                blocked_ = true;
                break;
            }
            unsigned n = 0;
            for (request *r = head_; r && n < room; r = r->next_) {
                batch_[n++] = &r->iocb_;
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
                // The kernel rejected the first request itself (bad fd,
                // unsupported operation...): it alone fails.
                qaio::blockio::finish(pop(), ret);
                continue;
            }
            for (int i = 0; i < ret; i++) {
                pop();
            }
            in_flight_ += unsigned(ret);
            accepted = true;
            if (unsigned(ret) < n) {
                blocked_ = true;  // the rest waits for completions to free room
                break;
            }
        }
        if (!head_) {
            blocked_ = false;
        } else if (blocked_ && in_flight_ == 0) {
            // No completion will come to unblock the queue: retry from the
            // loop.  Scheduled last, after any pass's cancel.
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
        unsigned tail = std::atomic_ref<unsigned>(ring_->tail).load(std::memory_order_acquire);
        return std::atomic_ref<unsigned>(ring_->head).load(std::memory_order_relaxed) != tail;
    }

    // Take one completion, consuming it before it is processed.
    bool next_event(struct io_event *ev) noexcept
    {
        if (ev_next_ < ev_count_) {
            *ev = events_[ev_next_++];
            return true;
        }
        if (ring_) {
            std::atomic_ref<unsigned> head(ring_->head);
            // Acquire: the kernel writes the event before it moves the tail.
            unsigned tail = std::atomic_ref<unsigned>(ring_->tail).load(std::memory_order_acquire);
            unsigned h = head.load(std::memory_order_relaxed);
            if (h == tail) {
                return false;
            }
            if (h >= ring_nr_) {
                h %= ring_nr_;
            }
            *ev = ring_events_[h];
            // Release: the event is copied before the kernel may reuse its slot.
            head.store((h + 1) % ring_nr_, std::memory_order_release);
            return true;
        }
        static const struct timespec zero = {0, 0};
        for (;;) {
            int n = io_getevents(kctx_, 0, qaio::blockio::max_events, events_,
                                 const_cast<struct timespec *>(&zero));
            if (n == -EINTR) {
                continue;
            }
            if (n <= 0) {
                return false;
            }
            ev_count_ = unsigned(n);
            ev_next_ = 1;
            *ev = events_[0];
            return true;
        }
    }

    void complete(request *r, long res) noexcept
    {
        long ret;
        if (res >= 0 && size_t(res) == r->nbytes_) {
            ret = 0;
        } else if (res < 0) {
            ret = res;
        } else if (r->kind_ == qaio::blockio::op::read) {
            // A short read ends at end of file: the rest reads as zeroes.
            qemu_iovec_memset(r->qiov_, size_t(res), 0, r->qiov_->size - size_t(res));
            ret = 0;
        } else if (r->kind_ == qaio::blockio::op::write) {
            ret = -ENOSPC;
        } else {
            ret = 0;
        }
        qaio::blockio::finish(r, ret);
    }

    // One pass over the completions available now.  Returns whether its
    // final flush handed new requests to the kernel.
    bool reap_pass() noexcept
    {
        ++reaping_;
        uint64_t pass = ++passes_;
        // A completion that runs a nested aio_poll must find this BH, so
        // that the nested loop continues the pass and flushes the queue.
        qaio::loop::bh_schedule(completion_bh_, 0);
        unsigned completed = 0;
        struct io_event ev;
        while (next_event(&ev)) {
            --in_flight_;
            ++completed;
            blocked_ = false;  // a slot was freed
            complete(static_cast<request *>(ev.data), long(ev.res));
            if (passes_ != pass) {
                // A nested pass ran and cancelled the BH at its end.
                pass = passes_;
                qaio::loop::bh_schedule(completion_bh_, 0);
            }
        }
        qaio::loop::bh_cancel(completion_bh_);
        --reaping_;
        if (head_ && !plugged_ && !blocked_) {
            return submit_queued();
        }
        return false;
    }

    // Complete what is done and submit what was queued meanwhile; repeat
    // while submissions may have completed at once.
    void process() noexcept
    {
        for (int round = 0; round < qaio::blockio::max_rounds; round++) {
            if (!reap_pass() || reaping_) {
                return;
            }
        }
        // Left for the next loop iteration: the eventfd has been signalled
        // for whatever completes meanwhile.
    }

    void submit_and_reap() noexcept
    {
        if (submit_queued() && !reaping_) {
            process();
        }
    }

    static void on_notifier(void *opaque)
    {
        auto *s = static_cast<LinuxAioState *>(opaque);
        if (!s->ring_) {
            // io_getevents cannot tell what is there without a system call:
            // clear first, so a completion signalled later wakes us again.
            if (qaio::loop::notifier::test_and_clear(&s->notifier_)) {
                s->process();
            }
            return;
        }
        // Complete first and clear the eventfd after, so that neither the
        // waiting coroutines nor the next submissions wait for the read.
        // The kernel writes an event before it signals the eventfd, so one
        // more look at the ring after the clear catches whatever signalled
        // in between.
        s->process();
        qaio::loop::notifier::test_and_clear(&s->notifier_);
        if (s->ring_has_events()) {
            s->process();
        }
    }

    static bool on_poll(void *opaque)
    {
        return static_cast<LinuxAioState *>(opaque)->ring_has_events();
    }

    static void on_poll_ready(void *opaque)
    {
        static_cast<LinuxAioState *>(opaque)->process();
    }

    static void on_bh(void *opaque)
    {
        static_cast<LinuxAioState *>(opaque)->process();
    }
};

namespace qaio::blockio {

LinuxAioState *laio_new(init_failure *why) noexcept
{
    auto *s = new (std::nothrow) LinuxAioState;
    QAIO_CHECK(s, "out of memory allocating a linux-aio engine");
    int r = loop::notifier::init(&s->notifier_, 0);
    if (r < 0) {
        *why = {-r, "failed to initialize event notifier"};
        delete s;
        return nullptr;
    }
    r = io_setup(int(max_events), &s->kctx_);
    if (r < 0) {
        *why = {-r, "failed to create linux AIO context"};
        loop::notifier::cleanup(&s->notifier_);
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

void laio_free(LinuxAioState *s) noexcept
{
    QAIO_CHECK(!s->ctx_,
               "laio_cleanup: linux-aio engine %p is still attached to AioContext %p",
               static_cast<void *>(s), static_cast<void *>(s->ctx_->c()));
    QAIO_CHECK(!s->in_flight_ && !s->head_,
               "laio_cleanup: linux-aio engine %p still has %u requests in flight and "
               "%u queued",
               static_cast<void *>(s), s->in_flight_, s->in_queue_);
    loop::notifier::cleanup(&s->notifier_);
    int r = io_destroy(s->kctx_);
    if (r < 0) {
        fprintf(stderr, "laio_cleanup: io_destroy of AIO context %p failed: %s\n",
                static_cast<void *>(s->kctx_), strerror(-r));
    }
    delete s;
}

void laio_attach(LinuxAioState *s, loop::context *ctx) noexcept
{
    QAIO_CHECK(!s->ctx_,
               "laio_attach_aio_context: linux-aio engine %p is already attached to "
               "AioContext %p",
               static_cast<void *>(s), static_cast<void *>(s->ctx_->c()));
    s->ctx_ = ctx;
    s->completion_bh_ = loop::bh_new(ctx, LinuxAioState::on_bh, s, "linux-aio completion");
    ctx->set_fd_handler(loop::notifier::read_fd(&s->notifier_), false,
                        LinuxAioState::on_notifier, nullptr, LinuxAioState::on_poll,
                        LinuxAioState::on_poll_ready, s);
}

void laio_detach(LinuxAioState *s, loop::context *ctx) noexcept
{
    QAIO_CHECK(s->ctx_ == ctx,
               "laio_detach_aio_context: linux-aio engine %p is attached to AioContext "
               "%p, not %p",
               static_cast<void *>(s), s->ctx_ ? static_cast<void *>(s->ctx_->c()) : nullptr,
               static_cast<void *>(ctx->c()));
    ctx->set_fd_handler(loop::notifier::read_fd(&s->notifier_), false, nullptr, nullptr,
                        nullptr, nullptr, nullptr);
    loop::bh_delete(s->completion_bh_);
    s->completion_bh_ = nullptr;
    s->ctx_ = nullptr;
}

int laio_submit_co(LinuxAioState *s, int fd, uint64_t offset, QEMUIOVector *qiov,
                   op kind, uint64_t dev_max_batch) noexcept
{
    QAIO_CHECK(qaio::coroutine::in_coroutine(),
               "laio_co_submit called outside coroutine context");
    QAIO_CHECK(s->ctx_, "laio_co_submit: linux-aio engine %p is not attached to an AioContext",
               static_cast<void *>(s));
    request r;
    r.co_ = qaio::coroutine::self();
    r.qiov_ = qiov;
    r.ret_ = 0;
    r.done_ = false;
    r.kind_ = kind;
    switch (kind) {
    case op::read:
        io_prep_preadv(&r.iocb_, fd, qiov->iov, qiov->niov, (long long)offset);
        r.nbytes_ = qiov->size;
        break;
    case op::write:
        io_prep_pwritev(&r.iocb_, fd, qiov->iov, qiov->niov, (long long)offset);
        r.nbytes_ = qiov->size;
        break;
    case op::flush:
        io_prep_fdsync(&r.iocb_, fd);
        r.nbytes_ = 0;
        break;
    }
    io_set_eventfd(&r.iocb_, loop::notifier::read_fd(&s->notifier_));
    r.iocb_.data = &r;

    s->enqueue(&r);
    if (!s->blocked_ && (!s->plugged_ || s->in_queue_ >= s->max_batch(dev_max_batch))) {
        s->submit_and_reap();
    }
    while (!r.done_) {
        qaio::coroutine::yield();
    }
    return int(r.ret_);
}

void laio_plug(LinuxAioState *s) noexcept
{
    s->plugged_++;
}

void laio_unplug(LinuxAioState *s, uint64_t dev_max_batch) noexcept
{
    QAIO_CHECK(s->plugged_ > 0,
               "laio_io_unplug: linux-aio engine %p was not plugged", static_cast<void *>(s));
    s->plugged_--;
    // Another device may have queued past this one's own limit.
    if (s->in_queue_ >= s->max_batch(dev_max_batch) ||
        (!s->plugged_ && !s->blocked_ && s->head_)) {
        s->submit_and_reap();
    }
}

// The context's engine is its attachment of this kind, finalized after
// the thread pool.
const loop::attachment_kind linux_aio_attachment = {1, linux_aio_context_finalize};

LinuxAioState *linux_aio_setup(loop::context *ctx, init_failure *why) noexcept
{
    if (!linux_aio_attached(ctx)) {
        LinuxAioState *s = laio_new(why);
        if (!s) {
            return nullptr;
        }
        laio_attach(s, ctx);
        ctx->attach(linux_aio_attachment, s);
    }
    return linux_aio_attached(ctx);
}

LinuxAioState *linux_aio_attached(loop::context *ctx) noexcept
{
    return static_cast<LinuxAioState *>(ctx->attached(linux_aio_attachment));
}

void linux_aio_context_finalize(loop::context *ctx) noexcept
{
    if (LinuxAioState *s = linux_aio_attached(ctx)) {
        laio_detach(s, ctx);
        laio_free(s);
        ctx->attach(linux_aio_attachment, nullptr);
    }
}

} // namespace qaio::blockio
