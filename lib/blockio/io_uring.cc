// SPDX-License-Identifier: MIT
// The io_uring block engine (QEMU's luring_*): one io_uring per engine;
// coroutines are woken in the engine's AioContext when their request
// completes.  (lib/posix/io_uring.cc is the fd monitor, not this.)
//
// Requests, queue, plug, attach and the completion pass are the engine
// core's (engine.hh).  A request becomes an SQE only when one is free, so a
// resubmission describes its current state; user_data is its address.
//
// Retries: -EAGAIN/-EINTR requeue it unchanged.  A short read goes on with
// the remainder (a vector trimmed from the caller's) past the bytes done; a
// read of 0 then means end of file, and the rest is zero-filled.  A short
// write fails with -ENOSPC.
//
// Batching: a completion pass submits its coroutines' requests every
// `reap_batch` and at its end (one io_uring_enter per request costs a fifth
// of tmpfs's IOPS at QD64), then looks at the CQ ring again a few rounds,
// since the page cache completes reads inside io_uring_enter.  A plugged
// engine submits once in-flight plus queued reach the ring size.  In-flight
// requests never exceed the CQ ring, which therefore cannot overflow.  When
// the kernel refuses SQEs (-EAGAIN, -EBUSY, or a partial submit) they stay in
// the ring and the engine is blocked until a completion; with nothing in the
// kernel, the completion BH retries.
//
// Rings: tmpfs reads go to an io-wq worker; on an IORING_SETUP_DEFER_TASKRUN
// ring it only queues each completion for the ring's thread, instead of
// posting it under the completion lock and waking watchers.  Such a ring
// needs SINGLE_ISSUER, so:
//  - it is used only by a thread that bound the context with
//    qemu_set_current_aio_context, and never for QEMU's main context, which
//    any BQL holder may poll (a vCPU thread draining there would wait forever
//    for completions only the main thread can post).  Elsewhere the ring is
//    COOP_TASKRUN.  QAIO_IO_URING_DEFER=0 or a kernel before 6.1: always so.
//  - it is created disabled and bound to the first thread that enters it
//    (QEMU issue 1193); another thread entering an idle engine gets a new
//    ring of the kind it needs, and one that is not the ring's own while
//    requests are in flight leaves them queued to the completion BH.
//  - the context watches an eventfd registered with the ring (the same one
//    across rings), switched off (IORING_CQ_EVENTFD_DISABLED) during a pass
//    so the worker pays no wake-up per completion.  The kernel signals only
//    when its deferred list becomes non-empty, so a pass that stops with
//    work left schedules the completion BH.
//  - only regular files and block devices go to it.  A request the kernel
//    completes by polling its fd (pipe, socket, character device) queues
//    its completion from the poll wake-up, and Linux 6.18 signals the
//    eventfd of a deferred ring for those 10-20 ms late, where a
//    cooperative ring's fd is readable within microseconds.  The first
//    such fd makes the engine cooperative for good: new requests wait until
//    the deferred ring is empty, then the ring is replaced.  fds are checked
//    with fstat once each while the engine is busy, and again after it was
//    idle, when they may have been closed and reused.
// TASKRUN_FLAG shows in the SQ flags that completions wait for a kernel
// entry, which io_uring_peek_batch_cqe then makes; before 5.19 the kernel
// refuses these flags and the ring is plain.
#include "lib/blockio/engine.hh"
#include "lib/coroutine/coroutine.hh"
#include "lib/loop/bh.hh"
#include "lib/loop/context.hh"
#include "lib/support/fatal.hh"
#include "lib/support/knobs.hh"

#include "block/aio.h"
#include "qemu/iov.h"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <liburing.h>
#include <linux/fs.h>
#include <new>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace qaio::blockio {
namespace {

constexpr unsigned ring_entries = 128;  // QEMU's ring size
constexpr unsigned reap_batch = 8;  // requests a pass queues before submitting

enum class ring_mode { deferred, cooperative };

struct uring_request : request {
    using request::request;
    QEMUIOVector *qiov_;
    // The unread part of qiov_ after a short read; zero-filled until then.
    QEMUIOVector rest_{};
    uint64_t offset_;
    size_t done_bytes_ = 0;  // bytes already read by earlier attempts
    int fd_;
    bool fua_ = false;       // write with RWF_DSYNC
};

void prep(struct io_uring_sqe *sqe, uring_request *r) noexcept
{
    switch (r->kind_) {
    case op::read: {
        const QEMUIOVector *v = r->rest_.iov ? &r->rest_ : r->qiov_;
        io_uring_prep_readv(sqe, r->fd_, v->iov, unsigned(v->niov), r->offset_ + r->done_bytes_);
        break;
    }
    case op::write:
        io_uring_prep_writev2(sqe, r->fd_, r->qiov_->iov, unsigned(r->qiov_->niov), r->offset_,
                              r->fua_ ? RWF_DSYNC : 0);
        break;
    case op::flush:
        io_uring_prep_fsync(sqe, r->fd_, IORING_FSYNC_DATASYNC);
        break;
    }
    io_uring_sqe_set_data(sqe, r);
}

} // namespace

// At most a CQ ring (twice the SQ ring) in flight.
const engine_kind io_uring_kind = {"io_uring", "luring", "io_uring completion", 2 * ring_entries};

} // namespace qaio::blockio

struct LuringState : qaio::blockio::engine<LuringState> {
    using request = qaio::blockio::request;
    using uring_request = qaio::blockio::uring_request;
    using op = qaio::blockio::op;
    using ring_mode = qaio::blockio::ring_mode;

    LuringState() noexcept : engine(qaio::blockio::io_uring_kind) {}

    struct io_uring ring_;
    unsigned max_in_flight_ = 0;  // the CQ ring's size
    ring_mode mode_ = ring_mode::cooperative;
    bool deferred_allowed_ = false;  // the kernel and QAIO_IO_URING_DEFER allow it
    // The thread that entered ring_ last; none for a new ring.
    bool ring_thread_known_ = false;
    pthread_t ring_thread_{};
    int wake_fd_ = -1;               // deferred rings: the eventfd the kernel signals
    int watched_fd_ = -1;            // the fd the context watches for us
    bool poll_driven_seen_ = false;  // a request on an fd the kernel polls
    // fds seen to be regular files or block devices since the engine was
    // last idle (checked_next_: the slot to overwrite when full).
    static constexpr unsigned checked_max = 8;
    int checked_fds_[checked_max];
    unsigned checked_count_ = 0, checked_next_ = 0;

    static const qaio::loop::attachment_kind attachment;

    static LuringState *create(qaio::blockio::init_failure *why) noexcept
    {
        auto *s = new (std::nothrow) LuringState;
        QAIO_CHECK(s, "out of memory allocating an io_uring engine");
        s->wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (s->wake_fd_ < 0) {
            *why = {errno, "failed to create an eventfd for the io_uring ring"};
            delete s;
            return nullptr;
        }
        int r = -EINVAL;
        if (qaio::support::knob_int(qaio::support::knob::io_uring_defer).value_or(1) != 0) {
            r = s->make_ring(ring_mode::deferred);
        }
        s->deferred_allowed_ = r == 0;
        if (r < 0) {
            r = s->make_ring(ring_mode::cooperative);
        }
        if (r < 0) {
            *why = {-r, "failed to init linux io_uring ring"};
            close(s->wake_fd_);
            delete s;
            return nullptr;
        }
        return s;
    }

    void release_kernel_side() noexcept
    {
        io_uring_queue_exit(&ring_);
        close(wake_fd_);
    }

    // ring_ anew, of that kind (deferred: disabled, eventfd registered).
    int make_ring(ring_mode mode) noexcept
    {
        unsigned flags = mode == ring_mode::deferred
                             ? IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
                                   IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_R_DISABLED
                             : IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
        int r = io_uring_queue_init(qaio::blockio::ring_entries, &ring_, flags);
        if (r == -EINVAL && mode == ring_mode::cooperative) {
            r = io_uring_queue_init(qaio::blockio::ring_entries, &ring_, 0);
        }
        if (r < 0) {
            return r;
        }
        if (mode == ring_mode::deferred) {
            r = io_uring_register_eventfd(&ring_, wake_fd_);
            if (r < 0) {
                io_uring_queue_exit(&ring_);
                return r;
            }
        }
        mode_ = mode;
        ring_thread_known_ = false;
        max_in_flight_ = ring_.cq.ring_entries;
        return 0;
    }

    // Whether this thread may enter the ring; an idle engine first gets the
    // kind of ring this thread needs.
    bool enter_here() noexcept
    {
        pthread_t self = pthread_self();
        if (ring_thread_known_ && pthread_equal(ring_thread_, self)) {
            return true;
        }
        if (in_flight_) {
            if (mode_ == ring_mode::deferred) {
                return false;  // only the ring's own thread can reap these
            }
        } else {
            ring_mode want = deferred_allowed_ && !poll_driven_seen_ &&
                                     qaio::loop::polled_by_this_thread_alone(ctx_->c())
                                 ? ring_mode::deferred
                                 : ring_mode::cooperative;
            // A deferred ring that a thread entered is that thread's.
            if (want != mode_ || (want == ring_mode::deferred && ring_thread_known_)) {
                replace_ring(want);
            }
            if (mode_ == ring_mode::deferred) {
                // Binds the new ring to this thread (no liburing 2.3 wrapper).
                long r = syscall(__NR_io_uring_register, ring_.ring_fd,
                                 IORING_REGISTER_ENABLE_RINGS, nullptr, 0);
                QAIO_CHECK(r >= 0, "io_uring engine %p: cannot enable its ring: %s",
                           static_cast<void *>(this), strerror(errno));
            }
        }
        ring_thread_ = self;
        ring_thread_known_ = true;
        return true;
    }

    void replace_ring(ring_mode mode) noexcept
    {
        struct io_uring old = ring_;
        int r = make_ring(mode);
        if (r < 0 && mode == ring_mode::deferred) {
            r = make_ring(ring_mode::cooperative);
        }
        QAIO_CHECK(r >= 0, "io_uring engine %p: cannot set up a new ring: %s",
                   static_cast<void *>(this), strerror(-r));
        watch(ctx_);
        io_uring_queue_exit(&old);
    }

    // The fd readable while completions wait: a deferred ring's eventfd, or
    // a cooperative ring's own fd.
    int wakeup_fd() const noexcept
    {
        return mode_ == ring_mode::deferred ? wake_fd_ : ring_.ring_fd;
    }

    // Has ctx watch wakeup_fd(), or nothing if ctx is nullptr.
    void watch(qaio::loop::context *ctx) noexcept
    {
        int fd = ctx ? wakeup_fd() : -1;
        if (fd == watched_fd_) {
            return;
        }
        if (watched_fd_ >= 0) {
            ctx_->set_fd_handler(watched_fd_, false, nullptr, nullptr, nullptr, nullptr, nullptr);
        }
        if (fd >= 0) {
            ctx->set_fd_handler(fd, false, on_readable, nullptr, on_poll, on_ready, this);
        }
        watched_fd_ = fd;
    }

    // Deferred rings: signals on again; whether completions came meanwhile.
    bool unmute_wakeups() noexcept
    {
        io_uring_cq_eventfd_toggle(&ring_, true);
#if defined(__x86_64__) || defined(__i386__)
        // Pairs with the kernel's locked set of IORING_SQ_TASKRUN before it
        // reads the eventfd flag: one side sees the other.
        std::atomic_thread_fence(std::memory_order_seq_cst);
        return io_uring_cq_ready(&ring_) || task_work_pending();
#else
        io_uring_get_events(&ring_);
        return io_uring_cq_ready(&ring_) > 0;
#endif
    }

    // Whether completions wait as task work for a kernel entry.
    bool task_work_pending() const noexcept
    {
        return IO_URING_READ_ONCE(*ring_.sq.kflags) & IORING_SQ_TASKRUN;
    }

    // Queued requests, or SQEs the kernel has not consumed yet.
    bool has_work() const noexcept
    {
        return !queue_.empty() || io_uring_sq_ready(&ring_);
    }

    // Before a request on fd is queued: whether a deferred ring may serve
    // it is noted (see "only regular files" on top).
    void check_fd(int fd) noexcept
    {
        if (!deferred_allowed_ || poll_driven_seen_ ||
            (mode_ != ring_mode::deferred && !qaio::loop::polled_by_this_thread_alone(ctx_->c()))) {
            return;  // this engine's rings are cooperative anyway
        }
        if (!in_flight_ && queue_.empty()) {
            checked_count_ = checked_next_ = 0;
        }
        for (unsigned i = 0; i < checked_count_; i++) {
            if (checked_fds_[i] == fd) {
                return;
            }
        }
        struct stat st;
        if (fstat(fd, &st) < 0) {
            return;  // the request fails with this error, on any ring
        }
        if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
            poll_driven_seen_ = true;
            return;
        }
        checked_fds_[checked_next_] = fd;
        checked_next_ = (checked_next_ + 1) % checked_max;
        checked_count_ += checked_count_ < checked_max;
    }

    // A deferred ring after a poll-driven fd was seen takes nothing more;
    // once it is empty, enter_here() gives the engine a cooperative one.
    bool retire_deferred_ring() noexcept
    {
        if (in_flight_) {
            return false;
        }
        ring_thread_known_ = false;  // past enter_here()'s own-thread shortcut
        return enter_here();
    }

    // Fills free SQEs from the queue and submits, again while the kernel
    // takes everything and more waits.  Whether the kernel took any.
    bool submit_queued() noexcept
    {
        bool accepted = false;
        unsigned pending;
        if (mode_ == ring_mode::deferred && poll_driven_seen_ && !retire_deferred_ring()) {
            return false;  // the ring's completions submit these later
        }
        blocked_ = false;
        for (;;) {
            while (!queue_.empty() && in_flight_ < max_in_flight_) {
                struct io_uring_sqe *sqe = io_uring_get_sqe(&ring_);
                if (!sqe) {
                    break;  // the SQ ring is full: submit, then refill
                }
                qaio::blockio::prep(sqe, static_cast<uring_request *>(queue_.pop()));
                ++in_flight_;
            }
            pending = io_uring_sq_ready(&ring_);
            if (!pending) {
                break;
            }
            int r = io_uring_submit(&ring_);
            if (r == -EINTR) {
                continue;
            }
            if (r > 0) {
                accepted = true;
            }
            pending = io_uring_sq_ready(&ring_);
            if (r < 0 || pending) {
                // Refused or stopped early: kept until a completion.
                blocked_ = true;
                break;
            }
        }
        if (!queue_.empty() && in_flight_ >= max_in_flight_) {
            blocked_ = true;  // the CQ ring is full up: completions resubmit
        }
        if (blocked_ && in_flight_ == pending) {
            // No completion will come to unblock it: retry from the loop
            // (scheduled after any pass's cancel).
            blocked_ = false;
            qaio::loop::bh_schedule(completion_bh_, 0);
        }
        return accepted;
    }

    bool next_completion(request **r, long *res) noexcept
    {
        struct io_uring_cqe *cqe;
        if (io_uring_peek_batch_cqe(&ring_, &cqe, 1) != 1) {
            return false;
        }
        *r = static_cast<uring_request *>(io_uring_cqe_get_data(cqe));
        *res = cqe->res;
        io_uring_cqe_seen(&ring_, cqe);
        return true;
    }

    void complete(request *base, long result) noexcept
    {
        auto *r = static_cast<uring_request *>(base);
        int res = int(result);
        if (res == -EINTR || res == -EAGAIN) {
            queue_.push(r);  // again, as it was
            return;
        }
        if (res >= 0 && r->kind_ != op::flush) {
            size_t total = r->done_bytes_ + size_t(res);
            if (total == r->qiov_->size) {
                res = 0;
            } else if (r->kind_ == op::write) {
                res = -ENOSPC;
            } else if (res > 0) {
                r->done_bytes_ = total;
                if (r->rest_.iov) {
                    qemu_iovec_reset(&r->rest_);
                } else {
                    qemu_iovec_init(&r->rest_, r->qiov_->niov);
                }
                qemu_iovec_concat(&r->rest_, r->qiov_, total, r->qiov_->size - total);
                queue_.push(r);
                return;
            } else {
                // End of file.
                qemu_iovec_memset(r->qiov_, total, 0, r->qiov_->size - total);
                res = 0;
            }
        }
        if (r->rest_.iov) {
            qemu_iovec_destroy(&r->rest_);
        }
        r->finish(res);
    }

    void process() noexcept
    {
        if (!enter_here()) {
            return;  // the ring's own thread runs the completion BH
        }
        bool outer = !reaping_ && mode_ == ring_mode::deferred;
        if (outer) {
            io_uring_cq_eventfd_toggle(&ring_, false);  // no signal during a pass
        }
        for (int round = 0; round < max_rounds; round++) {
            bool resubmitted = reap_pass();
            if (reaping_) {
                return;  // a nested pass: the outer one goes on
            }
            if (!resubmitted && (!outer || !unmute_wakeups())) {
                return;
            }
            if (outer) {
                io_uring_cq_eventfd_toggle(&ring_, false);
            }
        }
        // Out of rounds: let the loop run other work first.
        if (outer) {
            unmute_wakeups();
        }
        qaio::loop::bh_schedule(completion_bh_, 0);
    }

    void submit_and_reap() noexcept
    {
        if (!enter_here()) {
            qaio::loop::bh_schedule(completion_bh_, 0);
            return;
        }
        if (submit_queued() && !reaping_) {
            process();
        }
    }

    static void on_readable(void *opaque)
    {
        auto *s = static_cast<LuringState *>(opaque);
        uint64_t count;
        if (s->mode_ == ring_mode::deferred && read(s->wake_fd_, &count, sizeof(count)) < 0) {
            QAIO_CHECK(errno == EAGAIN, "io_uring engine %p: reading its eventfd: %s",
                       static_cast<void *>(s), strerror(errno));
        }
        s->process();
    }

    static bool on_poll(void *opaque)
    {
        auto *s = static_cast<LuringState *>(opaque);
        return io_uring_cq_ready(&s->ring_) > 0 || s->task_work_pending();
    }
};

namespace qaio::blockio {

QAIO_BLOCKIO_ENGINE_OPERATIONS(LuringState);

int luring_submit_co(LuringState *s, int fd, uint64_t offset, QEMUIOVector *qiov,
                     op kind, bool fua) noexcept
{
    s->check_submit();
    s->check_fd(fd);
    uring_request r(kind);
    r.qiov_ = qiov;
    r.offset_ = offset;
    r.fd_ = fd;
    r.fua_ = fua;
    // At 10.0 outside a pass, the caller's deferral section decides.
    return s->queue_and_wait(&r, [&] {
        unsigned queued = s->queue_.size();
        bool batching = loop::level_hooks.defer || s->plugged_ > 0;
        return (!batching && !s->reaping_) || (!s->plugged_ && s->reaping_ && queued >= reap_batch) ||
               s->in_flight_ + queued >= ring_entries;
    });
}

bool luring_ring_defers(const LuringState *s) noexcept
{
    return s->mode_ == ring_mode::deferred;
}

void luring_unplug(LuringState *s) noexcept
{
    s->drop_plug();
    if (!s->plugged_ && !s->blocked_ && s->has_work()) {
        s->submit_and_reap();
    }
}

} // namespace qaio::blockio

// The context's engine, finalized after the thread pool.
const qaio::loop::attachment_kind LuringState::attachment = {
    2, qaio::blockio::context_engine_finalize<LuringState>};
