// SPDX-License-Identifier: MIT
// The epoll fd monitor: the kernel keeps the interest set, so a wait costs
// O(ready fds) however many are registered.  Each epoll event carries its
// handler; the loop frees removed handlers only after the visit that might
// still hold such a pointer.  Timeouts keep ns precision: a positive timeout
// waits in ppoll on the epoll fd, then collects with epoll_wait(0).  Under a
// GSource glib polls the epoll fd alone.
//
// Files epoll refuses (EPERM: regular files and the like, which poll(2)
// reports as always ready) are kept on an "always ready" list and reported
// on every wait, which then does not block, as poll(2) would behave.
//
// Idle without a system call: where io_uring is there, a doorbell
// (doorbell.hh) rings at every wakeup of the epoll fd.  When the last wait
// found nothing, nothing was registered since, and the doorbell has not
// rung, a wait of timeout 0 would find nothing either, so surely_idle() says
// so and a non-blocking aio_poll skips epoll_wait.  A wait that found events
// clears that state: level-triggered fds still ready wake nobody, and only
// epoll_wait can tell.
#include "lib/fdmon/doorbell.hh"
#include "lib/fdmon/monitor.hh"
#include "lib/support/fatal.hh"

#include <atomic>
#include <cerrno>
#include <mutex>
#include <new>
#include <poll.h>
#include <sys/epoll.h>
#include <unistd.h>
#include <vector>

namespace qaio::fdmon {

namespace {

constexpr int max_events = 128;

uint32_t to_epoll(int events) noexcept
{
    return (events & G_IO_IN ? EPOLLIN : 0u) | (events & G_IO_OUT ? EPOLLOUT : 0u) |
           (events & G_IO_HUP ? EPOLLHUP : 0u) | (events & G_IO_ERR ? EPOLLERR : 0u);
}

int from_epoll(uint32_t ev) noexcept
{
    return (ev & EPOLLIN ? G_IO_IN : 0) | (ev & EPOLLOUT ? G_IO_OUT : 0) |
           (ev & EPOLLHUP ? G_IO_HUP : 0) | (ev & EPOLLERR ? G_IO_ERR : 0);
}

// mon_flags_ bit: the handler is on the always-ready list.
constexpr uint32_t flag_always_ready = 1;

class epoll_monitor final : public monitor {
public:
    explicit epoll_monitor(int epfd) noexcept : epfd_(epfd), bell_(make_doorbell(epfd)) {}
    ~epoll_monitor() override
    {
        // A finalizing source is already destroyed and drops its polls itself.
        if (source_ && !g_source_is_destroyed(source_)) {
            g_source_remove_poll(source_, &gpfd_);
        }
        close(epfd_);
    }

    const char *name() const noexcept override { return "epoll"; }

    void update(loop::handler *h, int old_events, int new_events) noexcept override
    {
        // The doorbell would ring for a ready fd added now; this also covers
        // what it cannot see (an always-ready file).
        idle_.store(false, std::memory_order_relaxed);
        if (h->mon_flags_ & flag_always_ready) {
            if (new_events == 0) {
                std::lock_guard<std::mutex> guard(mu_);
                erase_always_ready(h);
                h->mon_flags_ &= ~flag_always_ready;
                count_.fetch_sub(1, std::memory_order_relaxed);
            }
            return;
        }
        epoll_event ev{};
        ev.events = to_epoll(new_events);
        ev.data.ptr = h;
        int op = old_events == 0 ? EPOLL_CTL_ADD
                 : new_events == 0 ? EPOLL_CTL_DEL : EPOLL_CTL_MOD;
        if (epoll_ctl(epfd_, op, h->fd_, &ev) == 0) {
            if (op == EPOLL_CTL_ADD) {
                count_.fetch_add(1, std::memory_order_relaxed);
            } else if (op == EPOLL_CTL_DEL) {
                count_.fetch_sub(1, std::memory_order_relaxed);
            }
            return;
        }
        if (op == EPOLL_CTL_ADD && errno == EPERM) {
            std::lock_guard<std::mutex> guard(mu_);
            h->mon_flags_ |= flag_always_ready;
            always_ready_.push_back(h);
            always_ready_count_.store(static_cast<int>(always_ready_.size()),
                                      std::memory_order_relaxed);
            count_.fetch_add(1, std::memory_order_relaxed);
        } else if (op == EPOLL_CTL_DEL) {
            // A closed fd has already left the interest set by itself.
            count_.fetch_sub(1, std::memory_order_relaxed);
        }
    }

    int wait(loop::ready_list &ready, int64_t timeout_ns) noexcept override
    {
        // Before looking: whatever rings from now on is news.
        if (bell_) {
            bell_->drain();
        }
        idle_.store(false, std::memory_order_relaxed);
        int pushed = push_always_ready(ready);
        if (pushed) {
            timeout_ns = 0;
        }
        if (timeout_ns > 0) {
            pollfd p{epfd_, POLLIN, 0};
            timespec ts{static_cast<time_t>(timeout_ns / 1000000000),
                        static_cast<long>(timeout_ns % 1000000000)};
            if (ppoll(&p, 1, &ts, nullptr) <= 0) {
                return pushed;  // timeout or signal
            }
            timeout_ns = 0;
        }
        pushed += collect(ready, timeout_ns < 0 ? -1 : 0);
        if (pushed == 0) {
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

    int gsource_check(loop::ready_list &ready) noexcept override
    {
        // Under glib the doorbell is not what says idle; keep its ring from
        // filling up.
        if (bell_) {
            bell_->drain();
        }
        idle_.store(false, std::memory_order_relaxed);
        int pushed = push_always_ready(ready);
        if (gpfd_.revents & G_IO_IN) {
            gpfd_.revents = 0;
            pushed += collect(ready, 0);
        }
        return pushed;
    }

    int watched() const noexcept override { return count_.load(std::memory_order_relaxed); }

private:
    int collect(loop::ready_list &ready, int timeout_ms) noexcept
    {
        int n = epoll_wait(epfd_, events_, max_events, timeout_ms);
        for (int i = 0; i < n; i++) {
            ready.push(static_cast<loop::handler *>(events_[i].data.ptr),
                       from_epoll(events_[i].events));
        }
        return n > 0 ? n : 0;
    }

    int push_always_ready(loop::ready_list &ready) noexcept
    {
        if (always_ready_count_.load(std::memory_order_relaxed) == 0) {
            return 0;
        }
        std::lock_guard<std::mutex> guard(mu_);
        for (loop::handler *h : always_ready_) {
            ready.push(h, h->events_ & (G_IO_IN | G_IO_OUT));
        }
        return static_cast<int>(always_ready_.size());
    }

    void erase_always_ready(loop::handler *h) noexcept
    {
        for (size_t i = 0; i < always_ready_.size(); i++) {
            if (always_ready_[i] == h) {
                always_ready_[i] = always_ready_.back();
                always_ready_.pop_back();
                break;
            }
        }
        always_ready_count_.store(static_cast<int>(always_ready_.size()),
                                  std::memory_order_relaxed);
    }

    int epfd_;
    std::unique_ptr<doorbell> bell_;   // null without io_uring
    // The last wait found nothing and nothing was registered since.  Written
    // by update() in any thread (only ever to false) and by the home thread.
    std::atomic<bool> idle_{false};
    epoll_event events_[max_events];
    std::atomic<int> count_{0};
    std::mutex mu_;
    std::vector<loop::handler *> always_ready_;
    std::atomic<int> always_ready_count_{0};
    GSource *source_ = nullptr;
    GPollFD gpfd_ = {-1, 0, 0};
};

} // namespace

std::unique_ptr<monitor> make_epoll() noexcept
{
    int epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0) {
        return nullptr;
    }
    auto *m = new (std::nothrow) epoll_monitor(epfd);
    if (!m) {
        close(epfd);
    }
    return std::unique_ptr<monitor>(m);
}

} // namespace qaio::fdmon
