// SPDX-License-Identifier: MIT
// The poll(2) fd monitor: a pollfd array kept by update() and the home
// thread's snapshot of it for ppoll.  Past epoll_threshold fds the choice
// replaces it (unless QAIO_FDMON=poll).  Under a GSource each handler's
// GPollFD goes to glib.
#include "lib/posix/fd_monitor.hh"
#include "lib/timer/clock.hh"

#include <atomic>
#include <mutex>
#include <new>
#include <poll.h>
#include <vector>

namespace qaio::posix {

namespace {

class poll_monitor final : public monitor {
public:
    ~poll_monitor() override
    {
        // A destroyed source drops its polls itself.
        if (source_ && !g_source_is_destroyed(source_)) {
            for (handler *h : owners_) {
                g_source_remove_poll(source_, &h->pfd_);
            }
        }
    }

    const char *name() const noexcept override { return "poll"; }
    unsigned features() const noexcept override { return 0; }

    void update(handler *h, int old_events, int new_events) noexcept override
    {
        std::lock_guard<std::mutex> guard(mu_);
        if (old_events == 0) {
            h->mon_index_ = static_cast<int>(fds_.size());
            fds_.push_back(pollfd{h->fd_, static_cast<short>(new_events), 0});
            owners_.push_back(h);
            h->pfd_.events = static_cast<gushort>(new_events);
            if (source_ && !g_source_is_destroyed(source_)) {
                g_source_add_poll(source_, &h->pfd_);
            }
        } else if (new_events == 0) {
            size_t i = static_cast<size_t>(h->mon_index_);
            fds_[i] = fds_.back();
            owners_[i] = owners_.back();
            owners_[i]->mon_index_ = static_cast<int>(i);
            fds_.pop_back();
            owners_.pop_back();
            h->mon_index_ = -1;
            if (source_ && !g_source_is_destroyed(source_)) {
                g_source_remove_poll(source_, &h->pfd_);
            }
        } else {
            fds_[static_cast<size_t>(h->mon_index_)].events = static_cast<short>(new_events);
            h->pfd_.events = static_cast<gushort>(new_events);
        }
        dirty_ = true;
        count_.store(static_cast<int>(fds_.size()), std::memory_order_relaxed);
    }

    int wait(ready_list &ready, int64_t timeout_ns) noexcept override
    {
        {
            std::lock_guard<std::mutex> guard(mu_);
            if (dirty_) {
                wait_fds_ = fds_;
                wait_owners_ = owners_;
                dirty_ = false;
            }
        }
        int n = timer::poll_ns(wait_fds_.data(), wait_fds_.size(), timeout_ns);
        if (n <= 0) {
            return 0;  // timeout, or EINTR
        }
        int pushed = 0;
        for (size_t i = 0; i < wait_fds_.size() && pushed < n; i++) {
            if (short rev = wait_fds_[i].revents) {
                // POLLNVAL: closed behind our back, nothing to run.
                pushed++;
                if (!(rev & POLLNVAL)) {
                    ready.push(wait_owners_[i], rev);
                }
            }
        }
        return pushed;
    }

    void gsource_attach(GSource *source) noexcept override
    {
        std::lock_guard<std::mutex> guard(mu_);
        source_ = source;
        for (handler *h : owners_) {
            g_source_add_poll(source_, &h->pfd_);
        }
    }

    int gsource_check(ready_list &ready) noexcept override
    {
        std::lock_guard<std::mutex> guard(mu_);
        int pushed = 0;
        for (handler *h : owners_) {
            int rev = h->pfd_.revents & (h->pfd_.events | G_IO_HUP | G_IO_ERR);
            if (rev) {
                h->pfd_.revents = 0;
                ready.push(h, rev);
                pushed++;
            }
        }
        return pushed;
    }

    int watched() const noexcept override { return count_.load(std::memory_order_relaxed); }

private:
    std::mutex mu_;
    std::vector<pollfd> fds_;
    std::vector<handler *> owners_;
    bool dirty_ = true;
    std::atomic<int> count_{0};
    // Home thread only.
    std::vector<pollfd> wait_fds_;
    std::vector<handler *> wait_owners_;
    GSource *source_ = nullptr;
};

} // namespace

std::unique_ptr<monitor> make_poll() noexcept
{
    return std::unique_ptr<monitor>(new (std::nothrow) poll_monitor);
}

} // namespace qaio::posix
