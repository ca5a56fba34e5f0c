// SPDX-License-Identifier: MIT
// The epoll fd monitor: the kernel keeps the interest set, so a wait costs
// O(ready fds).  A positive timeout waits in ppoll on the epoll fd (ns
// precision), then collects with epoll_wait(0).  Under a GSource glib polls
// the epoll fd alone.
//
// The context's notifier is registered edge-triggered and never read: the
// notified flag says a notification is pending, and under EPOLLET every
// write wakes a wait whatever the count.  That saves a read() per wake-up.
// A level-triggered monitor taking over finds it readable once and drains it.
//
// Tokens, not pointers: the kernel keys a registration by (open file, fd
// number).  An fd closed while registered whose file lives on elsewhere (a
// dup, a child, an SCM_RIGHTS message) stays in the interest set, beyond
// the reach of EPOLL_CTL_DEL/MOD, and keeps reporting.  So event data holds
// (slot index + 1, generation) into a slot table of ours, and a freed slot
// changes generation: a late event never reaches whoever reuses it.
//
// Stale registrations: a DEL or MOD that fails, or an ADD meeting the same
// (file, number) (EEXIST), leaves one we cannot remove.  Its slot is
// quarantined (no handler, not reused), a handler still wanting events moves
// to a fresh slot, and the home thread, at its next wait or glib prepare,
// dup3()s a new instance built from the live slots onto the old fd number
// (glib's GPollFD stays valid), which drops the stale registrations.  Until
// then the token check drops their events; at worst one wait returns early.
// (QEMU 7.2 falls back to poll(2) instead.)
//
// Threads: update() runs in any thread under the registry lock; the token
// mapping and the rebuild (home thread) hold mu_ too, so "the slot still
// names h" implies update(h, old, 0) has not returned.  epoll_wait does not.
//
// Files epoll refuses (EPERM: regular files, which poll(2) reports always
// ready) are reported ready on every wait, which then does not block.
//
// Idle without a system call: a doorbell (doorbell.hh) rings at every wakeup
// of the epoll fd.  When the last wait found nothing, nothing was registered
// since, and the doorbell is quiet, a look (timeout 0) would find nothing
// either: surely_idle() says so and the look is skipped.  A wait that found
// events (or was interrupted) clears that state, as level-triggered fds
// still ready wake nobody.  Only looks drain the doorbell, so the last drain
// came before the last wait.  A rebuild makes a new doorbell (the old one's
// poll holds the old file).
#include "lib/posix/doorbell.hh"
#include "lib/posix/fd_monitor.hh"
#include "lib/support/fatal.hh"

#include <atomic>
#include <cerrno>
#include <fcntl.h>
#include <mutex>
#include <new>
#include <poll.h>
#include <sys/epoll.h>
#include <unistd.h>
#include <vector>

namespace qaio::posix {

namespace {

constexpr int max_events = 128;
constexpr uint32_t no_slot = UINT32_MAX;

// Masks pass between epoll and handlers as they are, these four bits only.
static_assert(G_IO_IN == int(EPOLLIN) && G_IO_OUT == int(EPOLLOUT) &&
              G_IO_HUP == int(EPOLLHUP) && G_IO_ERR == int(EPOLLERR));
constexpr int epoll_bits = G_IO_IN | G_IO_OUT | G_IO_HUP | G_IO_ERR;

// One registration.
struct slot {
    handler *h = nullptr;  // null: free or quarantined
    int fd = -1;
    int want = 0;                // G_IO_* bits
    uint32_t gen = 0;
    uint32_t next_free = no_slot;
    bool in_kernel = false;      // an epoll registration carries its token
    bool always_ready = false;   // on always_ready_ instead (EPERM)
    bool quarantined = false;    // a stale registration may carry its token
};

class epoll_monitor final : public monitor {
public:
    explicit epoll_monitor(int epfd) noexcept : epfd_(epfd), bell_(make_doorbell(epfd)) {}
    ~epoll_monitor() override
    {
        // A finalizing source drops its polls itself.
        if (source_ && !g_source_is_destroyed(source_)) {
            g_source_remove_poll(source_, &gpfd_);
        }
        close(epfd_);
    }

    const char *name() const noexcept override { return "epoll"; }
    unsigned features() const noexcept override { return watches_many; }

    void update(handler *h, int, int new_events) noexcept override
    {
        // Also for what the doorbell cannot see (an always-ready file).
        idle_.store(false, std::memory_order_relaxed);
        std::lock_guard<std::mutex> guard(mu_);
        uint32_t i = slot_of(slots_, h);
        if (new_events == 0) {
            if (i != no_slot) {
                h->mon_index_ = -1;
                release_locked(i);
                count_.fetch_sub(1, std::memory_order_relaxed);
            }
            return;
        }
        if (i == no_slot) {
            i = alloc_locked(h);
            count_.fetch_add(1, std::memory_order_relaxed);
            slots_[i].want = new_events;
            add_locked(epfd_, i);
            return;
        }
        slot &s = slots_[i];
        s.want = new_events;
        if (s.always_ready || !s.in_kernel) {
            return;  // nothing in the kernel to change (a rebuild adds it)
        }
        epoll_event ev = event_for(i);
        if (epoll_ctl(epfd_, EPOLL_CTL_MOD, s.fd, &ev) != 0) {
            // Out of reach: the rebuild registers the handler afresh.
            uint32_t j = alloc_locked(h);
            slots_[j].want = new_events;
            quarantine_locked(i);
        }
    }

    int wait(ready_list &ready, int64_t timeout_ns) noexcept override
    {
        if (timeout_ns == 0 && surely_idle()) {
            return 0;  // a look would find nothing (see the top)
        }
        rebuild_if_needed();
        // Drained before a look (what rings after is news), and only by one
        // that may let the next skip: else every notified wait would pay it.
        if (bell_ && timeout_ns == 0 && (idle_.load(std::memory_order_relaxed) || !bell_->rang())) {
            bell_->drain();
        }
        idle_.store(false, std::memory_order_relaxed);
        int pushed = push_always_ready(ready);
        if (pushed) {
            timeout_ns = 0;
        }
        bool looked = false;
        pushed += collect(ready, timeout_ns, &looked);
        if (pushed == 0 && looked) {
            idle_.store(true, std::memory_order_relaxed);
        }
        return pushed;
    }

    bool surely_idle() noexcept override
    {
        return idle_.load(std::memory_order_relaxed) && bell_ && bell_->quiet();
    }

    void gsource_attach(GSource *source) noexcept override
    {
        source_ = source;
        gpfd_.fd = epfd_;
        gpfd_.events = G_IO_IN;
        g_source_add_poll(source_, &gpfd_);
    }

    void gsource_prepare() noexcept override { rebuild_if_needed(); }

    int gsource_check(ready_list &ready) noexcept override
    {
        // Under glib the doorbell is not what says idle: left undrained.
        idle_.store(false, std::memory_order_relaxed);
        int pushed = push_always_ready(ready);
        if (gpfd_.revents & G_IO_IN) {
            gpfd_.revents = 0;
            bool looked;
            pushed += collect(ready, 0, &looked);
        }
        return pushed;
    }

    int watched() const noexcept override { return count_.load(std::memory_order_relaxed); }

private:
    static uint64_t token(uint32_t i, uint32_t gen) noexcept
    {
        return (uint64_t{gen} << 32) | (uint64_t{i} + 1);
    }

    epoll_event event_for(uint32_t i) const noexcept
    {
        epoll_event ev{};
        ev.events = uint32_t(slots_[i].want & epoll_bits) | (is_ctx_notifier(i) ? EPOLLET : 0u);
        ev.data.u64 = token(i, slots_[i].gen);
        return ev;
    }

    bool is_ctx_notifier(uint32_t i) const noexcept
    {
        return slots_[i].h && slots_[i].h->is_ctx_notifier_;
    }

    uint32_t alloc_locked(handler *h) noexcept
    {
        uint32_t i;
        if (free_head_ != no_slot) {
            i = free_head_;
            free_head_ = slots_[i].next_free;
        } else {
            slots_.emplace_back();
            i = static_cast<uint32_t>(slots_.size() - 1);
        }
        slot &s = slots_[i];
        s.h = h;
        s.fd = h->fd_;
        s.next_free = no_slot;
        h->mon_index_ = static_cast<int>(i);
        return i;
    }

    void free_locked(uint32_t i) noexcept
    {
        slot &s = slots_[i];
        ++s.gen;  // no event fetched under the old token can match again
        s = slot{nullptr, -1, 0, s.gen, free_head_, false, false, false};
        free_head_ = i;
    }

    // Registers slot i in the instance epfd.  EPERM: always ready; EEXIST:
    // a stale registration of the same (file, number), for the rebuild.
    void add_locked(int epfd, uint32_t i) noexcept
    {
        slot &s = slots_[i];
        epoll_event ev = event_for(i);
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, s.fd, &ev) == 0) {
            s.in_kernel = true;
        } else if (errno == EPERM) {
            s.always_ready = true;
            always_ready_.push_back(i);
            always_ready_count_.store(static_cast<int>(always_ready_.size()),
                                      std::memory_order_relaxed);
        } else if (errno == EEXIST) {
            rebuild_.store(true, std::memory_order_relaxed);
        }
        // Other errors (EBADF: closed meanwhile): nothing to watch.
    }

    void release_locked(uint32_t i) noexcept
    {
        slot &s = slots_[i];
        if (s.always_ready) {
            erase_always_ready(i);
        } else if (s.in_kernel) {
            epoll_event ev{};
            if (epoll_ctl(epfd_, EPOLL_CTL_DEL, s.fd, &ev) != 0) {
                // Closed fd: its file may live on, and the registration.
                quarantine_locked(i);
                return;
            }
        }
        free_locked(i);
    }

    void quarantine_locked(uint32_t i) noexcept
    {
        slots_[i].h = nullptr;
        slots_[i].quarantined = true;
        rebuild_.store(true, std::memory_order_relaxed);
    }

    // Home thread: the interest set anew from the live slots (see the top).
    void rebuild_if_needed() noexcept
    {
        // A flag set after this load is followed by an aio_notify.
        if (!rebuild_.load(std::memory_order_relaxed)) {
            return;
        }
        std::lock_guard<std::mutex> guard(mu_);
        int fresh = epoll_create1(EPOLL_CLOEXEC);
        if (fresh < 0) {
            return;  // tokens keep stale events harmless; try again later
        }
        always_ready_.clear();
        for (uint32_t i = 0; i < slots_.size(); i++) {
            slot &s = slots_[i];
            if (s.quarantined) {
                free_locked(i);
            } else if (s.h) {
                s.in_kernel = false;
                s.always_ready = false;
                add_locked(fresh, i);
            }
        }
        always_ready_count_.store(static_cast<int>(always_ready_.size()),
                                  std::memory_order_relaxed);
        QAIO_CHECK(dup3(fresh, epfd_, O_CLOEXEC) == epfd_,
                   "epoll monitor: dup3 onto epoll fd %d failed", epfd_);
        close(fresh);
        rebuild_.store(false, std::memory_order_relaxed);
        if (bell_) {
            bell_ = make_doorbell(epfd_);
        }
        idle_.store(false, std::memory_order_relaxed);
    }

    // Waits up to timeout_ns (< 0: no limit) and pushes what is ready;
    // *looked: the kernel answered (no signal, no error).
    int collect(ready_list &ready, int64_t timeout_ns, bool *looked) noexcept
    {
        int n = wait_kernel(timeout_ns);
        *looked = n >= 0;
        if (n <= 0) {
            return 0;
        }
        int pushed = 0;
        std::lock_guard<std::mutex> guard(mu_);
        for (int k = 0; k < n; k++) {
            uint64_t t = events_[k].data.u64;
            uint32_t i = static_cast<uint32_t>(t) - 1;
            if (i < slots_.size() && slots_[i].h &&
                slots_[i].gen == static_cast<uint32_t>(t >> 32)) {
                // The edge-triggered notifier is not read (see the top).
                ready.push(slots_[i].h, is_ctx_notifier(i) ? G_IO_IN | revents_drained
                                                           : int(events_[k].events & epoll_bits));
                pushed++;
            }
        }
        return pushed;
    }

    // ppoll, not epoll_wait (ms only) or epoll_pwait2 (ends early with
    // EINTR when task work interrupts it; ppoll restarts).  The events
    // fetched, 0 when none, or < 0 (signal).
    int wait_kernel(int64_t timeout_ns) noexcept
    {
        if (timeout_ns > 0) {
            pollfd p{epfd_, POLLIN, 0};
            timespec ts{static_cast<time_t>(timeout_ns / 1000000000),
                        static_cast<long>(timeout_ns % 1000000000)};
            int r = ppoll(&p, 1, &ts, nullptr);
            if (r <= 0) {
                return r;  // timeout or signal
            }
            timeout_ns = 0;
        }
        return epoll_wait(epfd_, events_, max_events, timeout_ns < 0 ? -1 : 0);
    }

    int push_always_ready(ready_list &ready) noexcept
    {
        if (always_ready_count_.load(std::memory_order_relaxed) == 0) {
            return 0;
        }
        std::lock_guard<std::mutex> guard(mu_);
        for (uint32_t i : always_ready_) {
            ready.push(slots_[i].h, slots_[i].want & (G_IO_IN | G_IO_OUT));
        }
        return static_cast<int>(always_ready_.size());
    }

    void erase_always_ready(uint32_t i) noexcept
    {
        std::erase(always_ready_, i);
        always_ready_count_.store(static_cast<int>(always_ready_.size()),
                                  std::memory_order_relaxed);
    }

    int epfd_;
    std::unique_ptr<doorbell> bell_;   // null without io_uring
    // The last wait found nothing and nothing was registered since; update()
    // (any thread) only clears it.
    std::atomic<bool> idle_{false};
    epoll_event events_[max_events];
    std::atomic<int> count_{0};
    // Guards everything below it except the atomics.
    std::mutex mu_;
    std::vector<slot> slots_;
    uint32_t free_head_ = no_slot;
    std::vector<uint32_t> always_ready_;
    std::atomic<int> always_ready_count_{0};
    std::atomic<bool> rebuild_{false};  // written under mu_, peeked at without
    GSource *source_ = nullptr;
    GPollFD gpfd_ = {-1, 0, 0};
};

} // namespace

std::unique_ptr<monitor> make_epoll(int &error) noexcept
{
    int epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0) {
        error = -errno;
        return nullptr;
    }
    auto *m = new (std::nothrow) epoll_monitor(epfd);
    if (!m) {
        close(epfd);
        error = -ENOMEM;
    }
    return std::unique_ptr<monitor>(m);
}

} // namespace qaio::posix
