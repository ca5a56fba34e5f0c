// SPDX-License-Identifier: MIT
// Choosing a context's fd monitor by measured cost (qaio-bench fd):
// QAIO_FDMON forces one; else epoll, the cheapest at every fd count under
// aio_poll (io_uring re-arms a one-shot poll per dispatch, 1.3x epoll);
// without epoll, poll(2), upgraded to epoll at epoll_threshold fds.  Under
// glib, where epoll costs two system calls (glib's poll, then epoll_wait):
// poll(2) below glib_threshold fds (glib polls them itself), then io_uring,
// whose iteration is glib's poll alone at any fd count (io_uring.cc); without
// io_uring, poll(2) grows to epoll as without glib.
// A refused backend is a fallback, counted, never an error; a forced one is
// also said once on stderr and in QAIO_STATS, not to mislead its tester.
#include "lib/posix/fd_monitor.hh"
#include "lib/support/fatal.hh"
#include "lib/support/knobs.hh"

#include <atomic>
#include <cstdio>
#include <cstring>
#include <string_view>

namespace qaio::posix {

#ifndef CONFIG_EPOLL
std::unique_ptr<monitor> make_epoll(int &error) noexcept { error = -ENOSYS; return nullptr; }
#endif
#ifndef CONFIG_LINUX_IO_URING
std::unique_ptr<monitor> make_io_uring(int &error) noexcept { error = -ENOSYS; return nullptr; }
#endif

namespace {

enum class kind { automatic, poll, epoll, io_uring };

// Registered fds at which an automatically chosen poll monitor becomes epoll.
constexpr int epoll_threshold = 64;
// Registered fds (the notifier included) at which a glib-driven poll
// monitor becomes io_uring: below it poll(2) costs the same or less.
constexpr int glib_threshold = 8;

kind from_knob() noexcept
{
    const char *v = support::knob_text(support::knob::fdmon);
    if (!v) {
        return kind::automatic;
    }
    std::string_view s(v);
    if (s == "poll") {
        return kind::poll;
    }
    if (s == "epoll") {
        return kind::epoll;
    }
    if (s == "io_uring") {
        return kind::io_uring;
    }
    QAIO_FATAL("QAIO_FDMON='%s': expected poll, epoll or io_uring", v);
}

// Once per process and backend, not once per context.
void report_forced_fallback(kind forced, const char *name, int error) noexcept
{
    static std::atomic<bool> said[2];
    if (said[forced == kind::io_uring].exchange(true, std::memory_order_relaxed)) {
        return;
    }
    std::fprintf(stderr, "qaio: QAIO_FDMON=%s, but %s cannot be set up here (%s); "
                 "using poll instead\n",
                 name, name, std::strerror(-error));
}

class choice final : public monitor_choice {
public:
    explicit choice(kind k) noexcept : kind_(k) {}

    std::unique_ptr<monitor> first(loop::stats &s) noexcept override
    {
        int error = 0;
        std::unique_ptr<monitor> m;
        const char *forced = nullptr;
        switch (kind_) {
        case kind::io_uring:
            forced = "io_uring";
            m = make_io_uring(error);
            break;
        case kind::epoll:
            forced = "epoll";
            [[fallthrough]];
        case kind::automatic:
            m = make_epoll(error);
            break;
        case kind::poll:
            break;
        }
        if (!m) {
            if (kind_ != kind::poll) {
                s.fdmon_fallbacks++;
            }
            if (forced) {
                unhonoured_ = forced;
                report_forced_fallback(kind_, forced, error);
            }
            m = make_poll();
        }
        QAIO_CHECK(m, "out of memory creating an fd monitor");
        return m;
    }

    std::unique_ptr<monitor> grown(const monitor &current, loop::stats &s) noexcept override
    {
        if (kind_ != kind::automatic || (current.features() & monitor::watches_many)) {
            return nullptr;
        }
        if (glib_ && !glib_io_uring_refused_ && current.watched() >= glib_threshold) {
            int error = 0;
            if (std::unique_ptr<monitor> next = make_io_uring(error)) {
                s.fdmon_upgrades++;
                return next;
            }
            glib_io_uring_refused_ = true;  // do not try again
        }
        if (current.watched() < epoll_threshold) {
            return nullptr;
        }
        int error = 0;
        std::unique_ptr<monitor> next = make_epoll(error);
        if (!next) {
            kind_ = kind::poll;  // do not try again
            s.fdmon_fallbacks++;
            return nullptr;
        }
        s.fdmon_upgrades++;
        return next;
    }

    bool may_grow(const monitor &current) const noexcept override
    {
        return kind_ == kind::automatic && !(current.features() & monitor::watches_many);
    }

    std::unique_ptr<monitor> under_glib(const monitor &current) noexcept override
    {
        glib_ = true;
        if (kind_ != kind::automatic || (current.features() & monitor::glib_polls_alone)) {
            return nullptr;
        }
        if (current.watched() >= glib_threshold) {
            int error = 0;
            if (std::unique_ptr<monitor> m = make_io_uring(error)) {
                return m;
            }
            glib_io_uring_refused_ = true;
        }
        // Few fds, or no io_uring: poll(2), which grows as said on top.
        if (current.watched() >= epoll_threshold || !(current.features() & monitor::watches_many)) {
            return nullptr;
        }
        return make_poll();
    }

    const char *unhonoured() const noexcept override { return unhonoured_; }

private:
    kind kind_;
    const char *unhonoured_ = nullptr;
    bool glib_ = false;                   // the context is driven by glib
    bool glib_io_uring_refused_ = false;  // the kernel refused io_uring there
};

} // namespace

std::unique_ptr<monitor_choice> make_monitor_choice() noexcept
{
    auto *c = new (std::nothrow) choice(from_knob());
    QAIO_CHECK(c, "out of memory choosing an fd monitor");
    return std::unique_ptr<monitor_choice>(c);
}

} // namespace qaio::posix
