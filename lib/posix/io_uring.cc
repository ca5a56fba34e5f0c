// SPDX-License-Identifier: MIT
// The io_uring fd monitor: the context's fds are watched by poll requests on
// an io_uring owned by the monitor, so one system call both submits the
// registration changes and waits, and readiness can be seen by peeking the
// completion ring from userspace while the loop busy-polls.
//
// Design note.
//
// One-shot polls.  QEMU's fd handlers are level-triggered: a handler runs on
// every iteration while its fd stays ready.  A multishot IORING_OP_POLL_ADD
// only reports transitions (edge-triggered), and a handler that consumes part
// of the data would never hear of the rest.  So every watched fd has one
// one-shot POLL_ADD in flight; its completion reports the handler and queues
// a new POLL_ADD (a re-arm) that the next wait submits.  If the fd is still
// ready, that re-arm completes at once, and the handler is reported again.
//
// Slots.  The loop may free a handler as soon as the visit that removed it
// ends, while its poll request is still in the kernel, so user_data never
// holds a handler pointer.  It holds (slot index + 1, generation); the slot,
// in a table owned by this monitor, maps to the handler while the
// registration lives.  Removal sets the slot's handler to null and queues a
// POLL_REMOVE for the request still in flight; the slot returns to the free
// list only after that request's completion has been seen, so a slot never
// has two poll requests in the kernel and a late completion can always be
// matched to its slot.  The generation changes at every arm and whenever a
// slot is freed; a completion whose generation is not the one the slot
// armed last is stale and ignored.  A completion for a slot whose handler is
// null is consumed without touching the (possibly freed) handler.
//
// Where state changes.  update() runs in any thread (serialized by the
// context's registry lock), possibly while the home thread sleeps in the
// kernel: it only edits the slot table and appends the slot to a pending
// FIFO, under mu_.  Everything that touches the ring (turning pending slots
// into SQEs, submitting, reaping) runs in the home thread: in wait(), and in
// gsource_prepare()/gsource_check() when glib drives the context.  Reaping
// holds mu_ while it maps completions to slots, which is what makes "the slot
// still names a handler" imply "the handler is not freed yet": update(h, old,
// 0) cannot run in between, and after it has run the loop frees h only once
// the visit around wait() has ended.  The loop calls aio_notify after every
// registration change, which wakes a sleeping wait so the change is applied.
//
// Under glib: one system call per iteration.  glib polls the ring fd, and
// check() reads the completions from the shared ring without entering the
// kernel; but re-arming the one-shot poll of a handler that just ran would
// cost an io_uring_enter in prepare() before glib's own poll.  So a handler
// whose poll completed is handed to glib instead (it becomes "hot"): its fd
// joins glib's poll set through a GPollFD of its slot, and glib's poll, which
// happens anyway, is the level-triggered re-check.  While the fd keeps being
// ready it stays with glib and costs nothing more; the first time glib finds
// it idle it goes back to the ring (a POLL_ADD submitted by the next
// prepare).  A wait() (aio_poll on the same context) first takes every hot
// fd back to the ring, submitted with the wait itself.  Only glib's check
// reads a hot GPollFD, so a hot slot is never in the kernel as well.
//
// Operations used: IORING_OP_POLL_ADD (one-shot), IORING_OP_POLL_REMOVE by
// user_data (for removals and for event-mask changes), and
// io_uring_submit_and_wait_timeout with the kernel's extended argument
// (IORING_FEAT_EXT_ARG, Linux 5.11), which passes the timeout to the same
// io_uring_enter call instead of queueing a timeout request whose timespec
// would have to outlive this function.  Kernels without it are refused, and
// the selector falls back to epoll or poll(2); this also rules out the
// kernels before 5.8 whose POLL_ADD failed on ttys.
//
// Errors.  A POLL_ADD that completes with an error for its fd (-EBADF for a
// closed fd, -EINVAL, ...) reports the handler once with G_IO_ERR and is not
// re-armed until update() changes that registration: re-arming would fail the
// same way at every wait and turn the loop into a busy loop.  -ECANCELED
// (our own POLL_REMOVE) is silent; -EAGAIN/-ENOMEM are transient and only
// re-arm.  A wait interrupted by a signal returns 0 and leaves completions in
// the ring for the next wait.  EAGAIN/EBUSY from io_uring_enter (the kernel
// short of memory, or completions to reap first) mean: reap and try again;
// any other failure than those and EINTR/ETIME means the ring is unusable
// and is fatal, as in QEMU.
//
// Busy polling.  The loop peeks need_wait() while it polls io_poll handlers:
// true as soon as a completion sits in the ring, or when re-arms or changes
// wait to be submitted (without the latter, a re-armed fd could never be
// seen by a loop that keeps polling).  surely_idle() is its negation, and
// lets a non-blocking aio_poll skip the system call altogether.
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

// The kernel takes and reports poll masks in POLL* bits; the handlers speak
// G_IO_*.  They coincide on Linux, so conversion is the identity.
static_assert(G_IO_IN == POLLIN && G_IO_OUT == POLLOUT && G_IO_PRI == POLLPRI &&
                  G_IO_ERR == POLLERR && G_IO_HUP == POLLHUP &&
                  G_IO_NVAL == POLLNVAL,
              "G_IO_* must equal POLL* for masks to pass through unchanged");

// Submission ring: 128 entries, as QEMU.  One pending slot needs at most one
// SQE, and a batch larger than the ring is submitted in pieces as it is
// built, so this only bounds how many changes one io_uring_enter carries.
constexpr unsigned sq_entries = 128;
// Completion ring: every watched fd has one poll in flight, so a wait can
// find up to one completion per fd.  Past the CQ size the kernel keeps the
// surplus on an overflow list (IORING_FEAT_NODROP, implied by EXT_ARG) that
// costs an allocation per completion and an extra system call to flush;
// 1024 entries (16 KiB) keep that slow path for storms of > 1024 ready fds.
constexpr unsigned cq_entries = 1024;

constexpr uint32_t no_slot = UINT32_MAX;
// user_data whose low half is 0 names no slot: the completions of our
// POLL_REMOVE requests, whose result (0, -ENOENT, -EALREADY) tells nothing
// the POLL_ADD's own completion will not.
constexpr uint64_t remove_tag = 0;

uint64_t make_user_data(uint32_t index, uint32_t gen) noexcept
{
    return (uint64_t{gen} << 32) | (uint64_t{index} + 1);
}

// One registration, and the poll request that serves it.
struct slot {
    handler *h = nullptr;  // null: unregistered (free, or draining)
    int fd = -1;                 // copied at registration: the ring side never reads h
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
    io_uring_monitor() noexcept = default;
    ~io_uring_monitor() override;

    // Creates the ring; 0, or -errno when the kernel refuses it (-ENOTSUP:
    // it lacks EXT_ARG).
    int init() noexcept;

    const char *name() const noexcept override { return "io_uring"; }
    void update(handler *h, int old_events, int new_events) noexcept override;
    int wait(ready_list &ready, int64_t timeout_ns) noexcept override;
    bool need_wait() noexcept override;
    // Completions are posted by the kernel without our help (task work runs
    // whenever this thread returns from the kernel, interrupts included), so
    // an empty completion ring with nothing to submit is the whole truth.
    bool surely_idle() noexcept override { return !need_wait(); }
    unsigned features() const noexcept override
    {
        return watches_many | polls_unpollable | glib_polls_alone;
    }
    void gsource_attach(GSource *source) noexcept override;
    void gsource_prepare() noexcept override;
    int gsource_check(ready_list &ready) noexcept override;
    int watched() const noexcept override { return live_.load(std::memory_order_relaxed); }

private:
    // Registration side, under mu_.
    uint32_t find_locked(const handler *h) const noexcept;
    uint32_t alloc_slot_locked() noexcept;
    void free_slot_locked(uint32_t i) noexcept;
    void enqueue_locked(uint32_t i) noexcept;

    // Ring side, home thread only.
    io_uring_sqe *get_sqe() noexcept;
    bool flush_changes(bool for_glib) noexcept;
    bool apply_locked(uint32_t i, bool for_glib) noexcept;
    bool heat_locked(uint32_t i) noexcept;
    void cool_locked(uint32_t i) noexcept;
    void cool_all() noexcept;
    bool source_alive() const noexcept { return source_ && !g_source_is_destroyed(source_); }
    void submit_pending() noexcept;
    int reap(ready_list &ready, int *reported) noexcept;
    bool complete_locked(const io_uring_cqe *cqe, ready_list &ready) noexcept;

    io_uring ring_ {};
    bool ring_ready_ = false;
    // Target of the context notifier's READ; a member, so it outlives the
    // request (the slot table may be reallocated meanwhile).
    uint64_t drain_buf_ = 0;
    bool drain_in_use_ = false;

    // Guards slots_, the free list and the pending FIFO.
    std::mutex mu_;
    std::vector<slot> slots_;
    uint32_t free_head_ = no_slot;
    uint32_t pending_head_ = no_slot;
    uint32_t pending_tail_ = no_slot;
    // True while the pending FIFO may be non-empty.  Written under mu_, read
    // without it by need_wait() and by wait()'s fast path; set with release
    // in enqueue_locked, paired with the acquire loads there.
    std::atomic<bool> changes_ {false};
    std::atomic<int> live_ {0};
    // Hot slots (see the design note), under mu_; their number is also
    // read without it by need_wait().
    std::vector<uint32_t> hot_;
    std::atomic<int> hot_count_ {0};

    // Kept in the monitor, not on wait()'s stack: nothing in the kernel can
    // then refer to a dead frame, whatever path liburing takes.
    __kernel_timespec ts_ {};

    GSource *source_ = nullptr;
    GPollFD gpfd_ = {-1, 0, 0};
};

int io_uring_monitor::init() noexcept
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

io_uring_monitor::~io_uring_monitor()
{
    // A finalizing GSource is already destroyed and frees its poll list
    // without reading our GPollFD; only a live source must forget it.
    if (source_alive()) {
        g_source_remove_poll(source_, &gpfd_);
        for (uint32_t i : hot_) {
            g_source_remove_poll(source_, slots_[i].hot_pfd.get());
        }
    }
    // Tearing the ring down cancels the polls still in flight; their
    // completions, and the handlers they named, are never looked at.
    if (ring_ready_) {
        io_uring_queue_exit(&ring_);
    }
}

// ---- registration side -----------------------------------------------------

uint32_t io_uring_monitor::find_locked(const handler *h) const noexcept
{
    // mon_index_ may be stale (another monitor's index, or a slot since
    // freed), so it only counts if the slot points back at h.
    int i = h->mon_index_;
    if (i >= 0 && static_cast<size_t>(i) < slots_.size() && slots_[i].h == h) {
        return static_cast<uint32_t>(i);
    }
    return no_slot;
}

uint32_t io_uring_monitor::alloc_slot_locked() noexcept
{
    if (free_head_ != no_slot) {
        uint32_t i = free_head_;
        free_head_ = slots_[i].next_free;
        slots_[i].next_free = no_slot;
        return i;
    }
    // The only allocation: the table grows with the number of registrations
    // (plus those still draining), never per event.
    slots_.emplace_back();
    return static_cast<uint32_t>(slots_.size() - 1);
}

void io_uring_monitor::free_slot_locked(uint32_t i) noexcept
{
    slot &s = slots_[i];
    // A new generation, so no completion of the slot's past can ever match.
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

void io_uring_monitor::enqueue_locked(uint32_t i) noexcept
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

void io_uring_monitor::update(handler *h, int old_events, int new_events) noexcept
{
    std::lock_guard<std::mutex> lock(mu_);
    uint32_t i = find_locked(h);
    if (i != no_slot) {
        // Back to the ring: glib must not poll an fd whose handler may be
        // freed, or with a stale mask.
        cool_locked(i);
    }
    if (new_events == 0) {
        if (i == no_slot) {
            return;
        }
        // From here on the slot no longer names h: a completion reaped later
        // finds a null handler and leaves h alone, so the loop may free it.
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
        // One READ buffer per ring: only the context's own notifier uses it.
        slots_[i].read_drain = h->drain_by_read_ && !drain_in_use_;
        drain_in_use_ = drain_in_use_ || slots_[i].read_drain;
        h->mon_index_ = static_cast<int>(i);
        live_.fetch_add(1, std::memory_order_relaxed);
    }
    slots_[i].want = new_events;
    // A changed registration deserves a fresh attempt after an error.
    slots_[i].failed = false;
    enqueue_locked(i);
}

// ---- ring side ---------------------------------------------------------------

// An SQE, submitting what is queued when the ring is full.  Null when the
// kernel will not take more right now (EAGAIN, EBUSY): the caller leaves its
// change pending, and the next wait reaps completions and tries again.
io_uring_sqe *io_uring_monitor::get_sqe() noexcept
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

// glib polls slot i's fd from now on (see the design note).  False when it
// cannot (no memory).
bool io_uring_monitor::heat_locked(uint32_t i) noexcept
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

// Gives a hot slot back to the ring: queued for a POLL_ADD (or for its
// release, if removed).
void io_uring_monitor::cool_locked(uint32_t i) noexcept
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

void io_uring_monitor::cool_all() noexcept
{
    if (hot_count_.load(std::memory_order_relaxed) == 0) {
        return;
    }
    std::lock_guard<std::mutex> lock(mu_);
    while (!hot_.empty()) {
        cool_locked(hot_.back());
    }
}

// Makes the kernel's view of slot i match its registration, or, before
// glib polls, hands a slot that just reported its handler to glib.  False
// if no SQE could be had; the slot then stays at the head of the FIFO.
bool io_uring_monitor::apply_locked(uint32_t i, bool for_glib) noexcept
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
        // The slot is released (or re-armed with the new mask) when the
        // POLL_ADD completes, with -ECANCELED or with a result that raced.
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
        // Completes once the counter is non-zero, and resets it: the wake-up
        // and the eventfd read in one request.
        io_uring_prep_read(sqe, s.fd, &drain_buf_, sizeof(drain_buf_), 0);
    } else {
        io_uring_prep_poll_add(sqe, s.fd, static_cast<unsigned>(s.want));
    }
    io_uring_sqe_set_data64(sqe, make_user_data(i, s.gen));
    s.armed = true;
    s.armed_events = s.want;
    return true;
}

// Turns the pending FIFO into SQEs (not submitted yet, unless the SQ ring
// filled up).  False if it had to stop early.
bool io_uring_monitor::flush_changes(bool for_glib) noexcept
{
    // Lock-free fast path.  A change enqueued right after this load is
    // followed by the loop's aio_notify, whose wake-up brings us back here.
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

// Submits queued SQEs without waiting.
void io_uring_monitor::submit_pending() noexcept
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

// Consumes one completion.  True if it reported a live handler (pushed, or
// skipped by push() because the handler already waits on a ready list).
bool io_uring_monitor::complete_locked(const io_uring_cqe *cqe, ready_list &ready) noexcept
{
    uint64_t ud = io_uring_cqe_get_data64(cqe);
    uint32_t index_plus_one = static_cast<uint32_t>(ud);
    // Our POLL_REMOVEs; anything else that names no slot is not ours to read.
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
    // Whatever happens next (re-arm, new mask, release of a removed slot)
    // is decided when the FIFO is applied.
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
        // The kernel adds POLLERR/POLLHUP to any mask; keep them, as poll(2)
        // would, and let dispatch decide which callback they concern.
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
    // Stop re-arming only once the error has really been handed over; a
    // handler that push() skipped (already queued elsewhere) hears of it at
    // the next wait instead.
    const int before = ready.size();
    ready.push(s.h, G_IO_ERR);
    s.failed = ready.size() != before;
    return true;
}

// Consumes every available completion.  Returns how many handlers landed
// on `ready`; *reported also counts those push() left on another list.
int io_uring_monitor::reap(ready_list &ready, int *reported) noexcept
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
        // Completions the CQ ring had no room for wait in the kernel until
        // an io_uring_enter with GETEVENTS moves them over.
        int r = io_uring_get_events(&ring_);
        if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY) {
            QAIO_FATAL("io_uring_get_events on ring fd %d: %s", ring_.ring_fd, std::strerror(-r));
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

int io_uring_monitor::wait(ready_list &ready, int64_t timeout_ns) noexcept
{
    // Hot fds are polled by glib only: back to the ring, whose re-arms this
    // wait submits (and which reports those still ready at once).
    cool_all();
    if (timeout_ns == 0) {
        flush_changes(false);
        submit_pending();
        return reap(ready, nullptr);
    }
    const int64_t deadline = timeout_ns > 0 ? timer::monotonic_ns() + timeout_ns : -1;
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
            // Completions that did arrive stay in the ring; need_wait() says
            // so and the next wait takes them at once.
            return 0;
        }
        if (r < 0 && r != -ETIME && r != -EAGAIN && r != -EBUSY) {
            QAIO_FATAL("io_uring_submit_and_wait_timeout on ring fd %d: %s", ring_.ring_fd,
                       std::strerror(-r));
        }
        int reported = 0;
        int pushed = reap(ready, &reported);
        // A report counts even when push() skipped the handler: looping on
        // would re-arm it, see it ready again at once, and spin.
        if (reported > 0 || r == -ETIME) {
            return pushed;
        }
        // Woken by completions that report nothing (cancellations, removes,
        // a mask change), or by a signal that liburing could not tell apart
        // because the same call submitted requests: sleep for what is left.
        if (deadline >= 0) {
            remaining = deadline - timer::monotonic_ns();
            if (remaining <= 0) {
                return 0;
            }
        }
    }
}

bool io_uring_monitor::need_wait() noexcept
{
    // A hot fd may be ready: only a wait can tell.
    return io_uring_cq_ready(&ring_) > 0 || io_uring_sq_ready(&ring_) > 0 ||
           io_uring_cq_has_overflow(&ring_) || changes_.load(std::memory_order_acquire) ||
           hot_count_.load(std::memory_order_relaxed) > 0;
}

// ---- GSource mode ------------------------------------------------------------

void io_uring_monitor::gsource_attach(GSource *source) noexcept
{
    // The ring fd polls readable while the completion ring holds entries, so
    // glib sleeps on it for every fd at once.
    source_ = source;
    gpfd_.fd = ring_.ring_fd;
    gpfd_.events = G_IO_IN;
    gpfd_.revents = 0;
    g_source_add_poll(source, &gpfd_);
}

void io_uring_monitor::gsource_prepare() noexcept
{
    // Without this, changes made while only glib runs would never reach the
    // kernel (the LP#1877716 trap); a POLL_ADD whose fd is already ready
    // completes during the submit, so glib's poll returns at once.  Handlers
    // that just ran go to glib's poll instead, without a submit.
    flush_changes(true);
    submit_pending();
}

int io_uring_monitor::gsource_check(ready_list &ready) noexcept
{
    int pushed = reap(ready, nullptr);
    if (hot_count_.load(std::memory_order_relaxed) == 0) {
        return pushed;
    }
    // glib's poll was the level check of the hot fds: a ready one stays with
    // glib; an idle one (or one closed behind the loop's back, POLLNVAL)
    // goes back to the ring.  Backwards, as cool_locked() moves the last
    // entry into the hole.
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
