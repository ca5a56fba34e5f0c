// SPDX-License-Identifier: MIT
// The io_uring fd monitor: poll requests on a ring of the monitor's own, so
// one system call submits the registration changes and waits, and busy
// polling can peek at the completion ring from user space.
//
// One-shot polls: QEMU's handlers are level-triggered, and a multishot
// POLL_ADD only reports transitions, so a handler that consumed part of the
// data would never hear of the rest.  Each watched fd has one one-shot
// POLL_ADD in flight; its completion reports the handler and queues a re-arm
// for the next wait, which completes at once if the fd is still ready.
//
// Slots: the loop may free a handler while its poll is in the kernel, so
// user_data holds (slot index + 1, generation), never a pointer.  Removal
// nulls the slot's handler and queues a POLL_REMOVE; the slot is freed once
// the POLL_ADD's completion was seen (never two polls per slot).  The
// generation changes at every arm and free: other generations are stale.
//
// Threads: update() runs in any thread (under the registry lock), maybe
// while the home thread sleeps in the kernel, and only edits the slot table
// and the pending FIFO, under mu_; the ring is the home thread's.  Reaping
// maps completions under mu_, so "the slot names h" implies update(h, old,
// 0) has not returned; the loop frees h only after the visit around wait(),
// and its aio_notify after every change wakes a sleeping wait to apply it.
//
// Under glib, one system call per iteration: glib polls the ring fd and
// check() reads completions from the shared ring, but re-arming a handler
// that just ran would cost an io_uring_enter in prepare().  So such a
// handler goes "hot": its fd joins glib's poll set (a GPollFD of its slot),
// glib's poll is its level re-check, and it goes back to the ring (a
// POLL_ADD at the next prepare) the first time glib finds it idle.  A wait()
// first takes every hot fd back; a hot slot is never in the kernel as well.
//
// io_uring_submit_and_wait_timeout passes the timeout in the same
// io_uring_enter (IORING_FEAT_EXT_ARG, Linux 5.11); kernels without it are
// refused (which also rules out those whose POLL_ADD failed on ttys).
//
// Errors: a POLL_ADD failing for its fd (-EBADF, -EINVAL...) reports
// G_IO_ERR once and is not re-armed until update() changes the registration,
// or the loop would spin; -ECANCELED (our POLL_REMOVE) is silent, -EAGAIN
// and -ENOMEM only re-arm.  A signal ends a wait with 0, leaving completions
// for the next.  io_uring_enter's EAGAIN/EBUSY: reap and retry; other
// failures (but EINTR, ETIME) are fatal, as in QEMU.
//
// need_wait() (busy polling stops): a completion is there, or changes wait
// to be submitted.  surely_idle() is its negation.
#include "lib/posix/fd_monitor.hh"
#include "lib/support/fatal.hh"
#include "lib/timer/clock.hh"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <liburing.h>
#include <memory>
#include <mutex>
#include <new>
#include <poll.h>
#include <vector>

namespace qaio::posix {

namespace {

// Poll masks pass between the kernel (POLL*) and handlers (G_IO_*) as is.
static_assert(G_IO_IN == POLLIN && G_IO_OUT == POLLOUT && G_IO_PRI == POLLPRI &&
              G_IO_ERR == POLLERR && G_IO_HUP == POLLHUP && G_IO_NVAL == POLLNVAL);

// As QEMU; a larger batch of changes is submitted in pieces.
constexpr unsigned sq_entries = 128;
// A wait finds one completion per watched fd; the kernel keeps what exceeds
// the CQ ring on an overflow list (an allocation each, a system call to
// flush): 1024 entries keep that for storms of ready fds.
constexpr unsigned cq_entries = 1024;

constexpr uint32_t no_slot = UINT32_MAX;
// user_data of our POLL_REMOVEs (low half 0: no slot); their result tells
// nothing the POLL_ADD's own completion will not.
constexpr uint64_t remove_tag = 0;

uint64_t make_user_data(uint32_t index, uint32_t gen) noexcept
{
    return (uint64_t{gen} << 32) | (uint64_t{index} + 1);
}

// One registration, and the poll request that serves it.
struct slot {
    handler *h = nullptr;  // null: unregistered (free, or draining)
    int fd = -1;                 // copied: the ring side never reads h
    int want = 0;                // G_IO_* bits the registration asks for
    int armed_events = 0;        // mask of the POLL_ADD in flight
    uint32_t gen = 0;            // generation of the POLL_ADD in flight
    uint32_t next_pending = no_slot;
    uint32_t next_free = no_slot;
    bool armed = false;          // a POLL_ADD is in the SQ or in the kernel
    bool cancelling = false;     // a POLL_REMOVE for it has been queued
    bool queued = false;         // on the pending FIFO
    bool failed = false;         // POLL_ADD failed: wait for update()
    bool read_drain = false;     // wait by reading the eventfd (ctx notifier)
    bool reported = false;       // its last poll reported the handler ready
    bool hot = false;            // watched by glib's poll, not by the ring
    uint32_t hot_pos = 0;        // index in hot_ while hot
    // What glib polls while hot; allocated once, at a stable address.
    std::unique_ptr<GPollFD> hot_pfd;
};

class io_uring_monitor final : public monitor {
public:
    ~io_uring_monitor() override
    {
        // A finalizing source frees its poll list without reading ours.
        if (source_alive()) {
            g_source_remove_poll(source_, &gpfd_);
            for (uint32_t i : hot_) {
                g_source_remove_poll(source_, slots_[i].hot_pfd.get());
            }
        }
        // Cancels the polls in flight; their completions are never looked at.
        if (ring_ready_) {
            io_uring_queue_exit(&ring_);
        }
    }

    // 0, or -errno when the kernel refuses the ring (-ENOTSUP: no EXT_ARG).
    int init() noexcept
    {
        io_uring_params p;
        std::memset(&p, 0, sizeof p);
        p.flags = IORING_SETUP_CQSIZE;
        p.cq_entries = cq_entries;
        int r = io_uring_queue_init_params(sq_entries, &ring_, &p);
        if (r < 0) {
            return r;
        }
        ring_ready_ = true;
        return (p.features & IORING_FEAT_EXT_ARG) ? 0 : -ENOTSUP;
    }

    const char *name() const noexcept override { return "io_uring"; }

    void update(handler *h, int old_events, int new_events) noexcept override
    {
        std::lock_guard<std::mutex> lock(mu_);
        uint32_t i = slot_of(slots_, h);
        if (i != no_slot) {
            // glib must not poll it for a freed handler or with a stale mask.
            cool_locked(i);
        }
        if (new_events == 0) {
            if (i == no_slot) {
                return;
            }
            // From here on a completion leaves h alone: the loop may free it.
            slots_[i].h = nullptr;
            h->mon_index_ = -1;
            live_.fetch_sub(1, std::memory_order_relaxed);
            enqueue_locked(i);
            return;
        }
        if (i == no_slot) {
            i = alloc_slot_locked();
            slots_[i].h = h;
            slots_[i].fd = h->fd_;
            // One READ buffer per ring: for the context's own notifier.
            slots_[i].read_drain = h->drain_by_read_ && !drain_in_use_;
            drain_in_use_ = drain_in_use_ || slots_[i].read_drain;
            h->mon_index_ = static_cast<int>(i);
            live_.fetch_add(1, std::memory_order_relaxed);
        }
        slots_[i].want = new_events;
        // A changed registration gets a fresh attempt after an error.
        slots_[i].failed = false;
        enqueue_locked(i);
    }

    int wait(ready_list &ready, int64_t timeout_ns) noexcept override
    {
        // Hot fds back to the ring; this wait submits their re-arms.
        cool_all();
        if (timeout_ns == 0) {
            flush_changes(false);
            submit_pending();
            return reap(ready, nullptr);
        }
        // A deadline past what int64_t holds (a timer at INT64_MAX) is none.
        const int64_t now = timeout_ns > 0 ? timer::monotonic_ns() : 0;
        const int64_t deadline = timeout_ns > 0 && timeout_ns <= INT64_MAX - now
                                     ? now + timeout_ns : -1;
        int64_t remaining = timeout_ns;
        for (;;) {
            flush_changes(false);
            __kernel_timespec *ts = nullptr;
            if (deadline >= 0) {
                ts_.tv_sec = remaining / 1000000000;
                ts_.tv_nsec = remaining % 1000000000;
                ts = &ts_;
            }
            io_uring_cqe *cqe;
            int r = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, ts, nullptr);
            if (r == -EINTR) {
                // Completions that came stay for the next wait (need_wait()).
                return 0;
            }
            if (r < 0 && r != -ETIME && r != -EAGAIN && r != -EBUSY) {
                QAIO_FATAL("io_uring_submit_and_wait_timeout on ring fd %d: %s", ring_.ring_fd,
                           std::strerror(-r));
            }
            int reported = 0;
            int pushed = reap(ready, &reported);
            // Also a handler push() skipped: looping on would spin on it.
            if (reported > 0 || r == -ETIME) {
                return pushed;
            }
            // Woken by completions that report nothing (removes, mask changes),
            // or by a signal liburing hid behind a submit: sleep on.
            if (deadline >= 0) {
                remaining = deadline - timer::monotonic_ns();
                if (remaining <= 0) {
                    return 0;
                }
            }
        }
    }

    bool need_wait() noexcept override
    {
        // A hot fd may be ready: only a wait can tell.
        return io_uring_cq_ready(&ring_) > 0 || io_uring_sq_ready(&ring_) > 0 ||
               io_uring_cq_has_overflow(&ring_) || changes_.load(std::memory_order_acquire) ||
               hot_count_.load(std::memory_order_relaxed) > 0;
    }

    // Completions are posted without us (task work at any kernel exit).
    bool surely_idle() noexcept override { return !need_wait(); }
    unsigned features() const noexcept override
    {
        return watches_many | polls_unpollable | glib_polls_alone;
    }

    void gsource_attach(GSource *source) noexcept override
    {
        // Readable while completions wait: glib sleeps on every fd at once.
        source_ = source;
        gpfd_.fd = ring_.ring_fd;
        gpfd_.events = G_IO_IN;
        gpfd_.revents = 0;
        g_source_add_poll(source, &gpfd_);
    }

    void gsource_prepare() noexcept override
    {
        // Else changes made while only glib runs would never reach the kernel
        // (LP#1877716); a POLL_ADD of a ready fd completes during the submit.
        flush_changes(true);
        submit_pending();
    }

    int gsource_check(ready_list &ready) noexcept override
    {
        int pushed = reap(ready, nullptr);
        if (hot_count_.load(std::memory_order_relaxed) == 0) {
            return pushed;
        }
        // glib's poll was the hot fds' level check: a ready one stays, an idle
        // or closed one returns (backwards: cool_locked() fills holes).
        std::lock_guard<std::mutex> lock(mu_);
        for (size_t k = hot_.size(); k-- > 0;) {
            uint32_t i = hot_[k];
            slot &s = slots_[i];
            int rev = s.hot_pfd->revents;
            s.hot_pfd->revents = 0;
            rev &= s.want | G_IO_ERR | G_IO_HUP | G_IO_NVAL;
            if (rev && !(rev & G_IO_NVAL)) {
                const int before = ready.size();
                ready.push(s.h, rev);
                pushed += ready.size() - before;
            } else {
                cool_locked(i);
            }
        }
        return pushed;
    }

    int watched() const noexcept override { return live_.load(std::memory_order_relaxed); }

private:
    // Registration side, under mu_.

    uint32_t alloc_slot_locked() noexcept
    {
        if (free_head_ != no_slot) {
            uint32_t i = free_head_;
            free_head_ = slots_[i].next_free;
            slots_[i].next_free = no_slot;
            return i;
        }
        // Grows with the registrations (and those draining), never per event.
        slots_.emplace_back();
        return static_cast<uint32_t>(slots_.size() - 1);
    }

    void free_slot_locked(uint32_t i) noexcept
    {
        slot &s = slots_[i];
        // No completion of the slot's past can match again.
        ++s.gen;
        s.fd = -1;
        if (s.read_drain) {
            s.read_drain = false;
            drain_in_use_ = false;
        }
        s.want = 0;
        s.failed = false;
        s.reported = false;
        s.next_free = free_head_;
        free_head_ = i;
    }

    void enqueue_locked(uint32_t i) noexcept
    {
        slot &s = slots_[i];
        if (s.queued) {
            return;
        }
        s.queued = true;
        s.next_pending = no_slot;
        if (pending_tail_ == no_slot) {
            pending_head_ = i;
        } else {
            slots_[pending_tail_].next_pending = i;
        }
        pending_tail_ = i;
        changes_.store(true, std::memory_order_release);
    }

    // Ring side, home thread only.

    // An SQE (submitting a full ring), or null: the kernel takes no more now.
    io_uring_sqe *get_sqe() noexcept
    {
        for (;;) {
            io_uring_sqe *sqe = io_uring_get_sqe(&ring_);
            if (sqe) {
                return sqe;
            }
            int r = io_uring_submit(&ring_);
            if (r == -EAGAIN || r == -EBUSY || r == 0) {
                return nullptr;
            }
            if (r < 0 && r != -EINTR) {
                QAIO_FATAL("io_uring_submit on ring fd %d: %s", ring_.ring_fd, std::strerror(-r));
            }
        }
    }

    // Turns the pending FIFO into SQEs, not submitted unless the SQ ring
    // filled up.  False if it had to stop early.
    bool flush_changes(bool for_glib) noexcept
    {
        // A change enqueued after this load is followed by an aio_notify.
        if (!changes_.load(std::memory_order_acquire)) {
            return true;
        }
        std::lock_guard<std::mutex> lock(mu_);
        while (pending_head_ != no_slot) {
            uint32_t i = pending_head_;
            if (!apply_locked(i, for_glib)) {
                return false;
            }
            slot &s = slots_[i];
            pending_head_ = s.next_pending;
            if (pending_head_ == no_slot) {
                pending_tail_ = no_slot;
            }
            s.next_pending = no_slot;
            s.queued = false;
        }
        changes_.store(false, std::memory_order_relaxed);
        return true;
    }

    // Makes the kernel's view of slot i match its registration, or, before
    // glib polls, makes a slot that just reported hot.  False without an SQE.
    bool apply_locked(uint32_t i, bool for_glib) noexcept
    {
        slot &s = slots_[i];
        const bool reported = s.reported;
        s.reported = false;
        if (for_glib && reported && s.h && !s.armed && !s.failed && !s.read_drain &&
            source_alive() && heat_locked(i)) {
            return true;
        }
        if (!s.h || (s.armed && s.armed_events != s.want)) {
            if (!s.armed) {
                free_slot_locked(i);
                return true;
            }
            // Released or re-armed when the POLL_ADD completes.
            if (!s.cancelling) {
                io_uring_sqe *sqe = get_sqe();
                if (!sqe) {
                    return false;
                }
                if (s.read_drain) {
                    io_uring_prep_cancel64(sqe, make_user_data(i, s.gen), 0);
                } else {
                    io_uring_prep_poll_remove(sqe, make_user_data(i, s.gen));
                }
                io_uring_sqe_set_data64(sqe, remove_tag);
                s.cancelling = true;
            }
            return true;
        }
        if (s.armed || s.failed) {
            return true;
        }
        io_uring_sqe *sqe = get_sqe();
        if (!sqe) {
            return false;
        }
        ++s.gen;
        if (s.read_drain) {
            // The wake-up and the eventfd read in one request.
            io_uring_prep_read(sqe, s.fd, &drain_buf_, sizeof(drain_buf_), 0);
        } else {
            io_uring_prep_poll_add(sqe, s.fd, static_cast<unsigned>(s.want));
        }
        io_uring_sqe_set_data64(sqe, make_user_data(i, s.gen));
        s.armed = true;
        s.armed_events = s.want;
        return true;
    }

    // glib polls slot i's fd from now on.  False without memory.
    bool heat_locked(uint32_t i) noexcept
    {
        slot &s = slots_[i];
        if (!s.hot_pfd) {
            s.hot_pfd.reset(new (std::nothrow) GPollFD{});
            if (!s.hot_pfd) {
                return false;
            }
        }
        *s.hot_pfd = GPollFD{s.fd, static_cast<gushort>(s.want), 0};
        g_source_add_poll(source_, s.hot_pfd.get());
        s.hot = true;
        s.hot_pos = static_cast<uint32_t>(hot_.size());
        hot_.push_back(i);
        hot_count_.fetch_add(1, std::memory_order_relaxed);
        return true;
    }

    // Gives a hot slot back to the ring (queued for a POLL_ADD or release).
    void cool_locked(uint32_t i) noexcept
    {
        slot &s = slots_[i];
        if (!s.hot) {
            return;
        }
        if (source_alive()) {
            g_source_remove_poll(source_, s.hot_pfd.get());
        }
        uint32_t last = hot_.back();
        hot_[s.hot_pos] = last;
        slots_[last].hot_pos = s.hot_pos;
        hot_.pop_back();
        s.hot = false;
        hot_count_.fetch_sub(1, std::memory_order_relaxed);
        enqueue_locked(i);
    }

    void cool_all() noexcept
    {
        if (hot_count_.load(std::memory_order_relaxed) == 0) {
            return;
        }
        std::lock_guard<std::mutex> lock(mu_);
        while (!hot_.empty()) {
            cool_locked(hot_.back());
        }
    }

    bool source_alive() const noexcept { return source_ && !g_source_is_destroyed(source_); }

    // Submits queued SQEs without waiting.
    void submit_pending() noexcept
    {
        while (io_uring_sq_ready(&ring_) > 0) {
            int r = io_uring_submit(&ring_);
            if (r == -EINTR) {
                continue;
            }
            if (r == -EAGAIN || r == -EBUSY) {
                return;  // left in the SQ; need_wait() reports them
            }
            if (r < 0) {
                QAIO_FATAL("io_uring_submit on ring fd %d: %s", ring_.ring_fd, std::strerror(-r));
            }
            if (r == 0) {
                return;  // the kernel took none: retry at the next wait, do not spin
            }
        }
    }

    // Consumes every completion.  How many handlers landed on `ready`;
    // *reported also counts those already on another list.
    int reap(ready_list &ready, int *reported) noexcept
    {
        const int before = ready.size();
        int seen_live = 0;
        for (;;) {
            if (io_uring_cq_ready(&ring_) > 0) {
                std::lock_guard<std::mutex> lock(mu_);
                unsigned head;
                unsigned seen = 0;
                io_uring_cqe *cqe;
                io_uring_for_each_cqe(&ring_, head, cqe) {
                    seen_live += complete_locked(cqe, ready);
                    ++seen;
                }
                io_uring_cq_advance(&ring_, seen);
            }
            if (!io_uring_cq_has_overflow(&ring_)) {
                break;
            }
            // Overflowed completions wait for an io_uring_enter with GETEVENTS.
            int r = io_uring_get_events(&ring_);
            if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY) {
                QAIO_FATAL("io_uring_get_events on ring fd %d: %s", ring_.ring_fd,
                           std::strerror(-r));
            }
            if (io_uring_cq_ready(&ring_) == 0) {
                break;
            }
        }
        if (reported) {
            *reported = seen_live;
        }
        return ready.size() - before;
    }

    // Consumes one completion.  True if it reported a live handler (pushed,
    // or already on a ready list).
    bool complete_locked(const io_uring_cqe *cqe, ready_list &ready) noexcept
    {
        uint64_t ud = io_uring_cqe_get_data64(cqe);
        uint32_t index_plus_one = static_cast<uint32_t>(ud);
        // Our POLL_REMOVEs, or not ours.
        if (index_plus_one == 0 || index_plus_one > slots_.size()) {
            return false;
        }
        uint32_t i = index_plus_one - 1;
        slot &s = slots_[i];
        if (!s.armed || static_cast<uint32_t>(ud >> 32) != s.gen) {
            return false;  // stale: not the request this slot has in flight
        }
        s.armed = false;
        s.cancelling = false;
        // Re-arm, new mask or release: decided when the FIFO is applied.
        enqueue_locked(i);
        if (!s.h) {
            return false;  // removed: the handler may be gone
        }
        int res = cqe->res;
        if (s.read_drain && res == int(sizeof(drain_buf_))) {
            ready.push(s.h, G_IO_IN | revents_drained);
            return true;
        }
        if (s.read_drain && res >= 0) {
            return false;  // a short read cannot happen on an eventfd: re-arm
        }
        if (res >= 0) {
            // Kept, as poll(2) would: POLLERR/POLLHUP come with any mask.
            int revents = res & (s.want | G_IO_ERR | G_IO_HUP | G_IO_NVAL);
            if (revents == 0) {
                return false;
            }
            ready.push(s.h, revents);
            s.reported = true;
            return true;
        }
        if (res == -ECANCELED || res == -EAGAIN || res == -ENOMEM) {
            return false;
        }
        // Stops re-arming only once the error was handed over.
        const int before = ready.size();
        ready.push(s.h, G_IO_ERR);
        s.failed = ready.size() != before;
        return true;
    }

    io_uring ring_ {};
    bool ring_ready_ = false;
    // Target of the context notifier's READ (outlives the request).
    uint64_t drain_buf_ = 0;
    bool drain_in_use_ = false;

    // Guards slots_, the free list and the pending FIFO.
    std::mutex mu_;
    std::vector<slot> slots_;
    uint32_t free_head_ = no_slot;
    uint32_t pending_head_ = no_slot;
    uint32_t pending_tail_ = no_slot;
    // The pending FIFO may be non-empty.  Written under mu_; set with
    // release in enqueue_locked, paired with the acquire loads without mu_.
    std::atomic<bool> changes_ {false};
    std::atomic<int> live_ {0};
    std::vector<uint32_t> hot_;     // hot slots (see the top), under mu_
    std::atomic<int> hot_count_ {0};  // their number, also read without

    // Not on wait()'s stack: nothing in the kernel refers to a dead frame.
    __kernel_timespec ts_ {};

    GSource *source_ = nullptr;
    GPollFD gpfd_ = {-1, 0, 0};
};

} // namespace

std::unique_ptr<monitor> make_io_uring(int &error) noexcept
{
    std::unique_ptr<io_uring_monitor> m(new (std::nothrow) io_uring_monitor());
    error = m ? m->init() : -ENOMEM;
    if (error < 0) {
        return nullptr;
    }
    return m;
}

} // namespace qaio::posix
