// SPDX-License-Identifier: MIT
// The POSIX wait backend: fd handlers and notifier (handlers.cc), the fd
// monitor and its choice (fd_monitor.hh), aio_poll and glib (aio_poll.cc).
#pragma once

#include "lib/loop/context.hh"
#include "lib/loop/lockcnt.hh"
#include "lib/posix/event_notifier.hh"
#include "lib/posix/fd_monitor.hh"

#include <atomic>
#include <memory>
#include <vector>

namespace qaio::posix {

namespace lockcnt = loop::lockcnt;

class fd_backend final : public loop::wait_backend {
public:
    fd_backend(const EventNotifier &n) noexcept : notifier_(n) {}
    ~fd_backend() override;

    void attach(loop::context *ctx) noexcept override;
    void setup() noexcept override;
    void destroy() noexcept override
    {
        monitor_.reset();
        monitor_may_grow_ = false;
    }
    bool poll(bool blocking) noexcept override;
    void wake() noexcept override { notifier::set(&notifier_); }
    void set_fd_handler(int fd, bool is_external, IOHandler *io_read, IOHandler *io_write,
                        AioPollFn *io_poll, IOHandler *io_poll_ready, void *opaque) noexcept override
    {
        set_handler(fd, is_external, io_read, io_write, io_poll, io_poll_ready, opaque, false);
    }
    void set_fd_poll(int fd, IOHandler *begin, IOHandler *end) noexcept override;
    void set_poll_params(int64_t max_ns, int64_t grow, int64_t shrink) noexcept override;
    void use_g_source() noexcept override;
    void gs_prepare() noexcept override;
    bool prepare() noexcept override;
    void gs_check() noexcept override;
    bool gs_pending() noexcept override { return gs_ready_.size() > 0; }
    bool poll_disabled() const noexcept override
    {
        return poll_disable_cnt_.load(std::memory_order_relaxed) > 0;
    }
    void gs_dispatch(bool collect) noexcept override;
    const char *name() const noexcept override { return monitor_ ? monitor_->name() : "none"; }
    const char *unhonoured() const noexcept override
    {
        return monitor_choice_ ? monitor_choice_->unhonoured() : nullptr;
    }

private:
    // handlers.cc
    void set_handler(int fd, bool is_external, IOHandler *io_read, IOHandler *io_write,
                     AioPollFn *io_poll, IOHandler *io_poll_ready, void *opaque,
                     bool is_ctx_notifier) noexcept;
    void retire(handler *h) noexcept;
    void free_deleted() noexcept;
    int effective_events(const handler *h) const noexcept;
    void visit_begin() noexcept { lockcnt::inc(&list_lock_); }
    void visit_end() noexcept;
    void sync_external() noexcept;   // follow aio_disable/enable_external
    void maybe_upgrade_monitor() noexcept
    {
        if (__builtin_expect(monitor_may_grow_, 0)) {
            upgrade_monitor();
        }
    }
    void upgrade_monitor() noexcept;
    void choose_monitor_under_glib() noexcept;
    void switch_monitor(std::unique_ptr<fd_monitor> next) noexcept;
    // aio_poll.cc
    bool dispatch_ready(ready_list &ready) noexcept;
    void poll_set_started(ready_list &ready, bool started) noexcept;
    bool run_poll_handlers_once(ready_list &ready, int64_t now) noexcept;
    bool remove_idle_poll_handlers(ready_list &ready, int64_t now) noexcept;
    bool try_poll_mode(ready_list &ready, int64_t *timeout) noexcept;
    void adapt_poll_time(int64_t block_ns) noexcept;

    loop::context *ctx_ = nullptr;
    EventNotifier notifier_;  // aio_notify writes it

    QemuLockCnt list_lock_{};
    std::vector<handler *> by_fd_;
    std::atomic<handler *> deleted_{nullptr};  // see handlers.cc
    std::vector<handler *> poll_list_;
    int external_count_ = 0;
    std::atomic<int> poll_disable_cnt_{0};  // written under the lock, peeked without
    bool external_disabled_seen_ = false;

    std::unique_ptr<monitor_choice> monitor_choice_;
    std::unique_ptr<fd_monitor> monitor_;
    bool monitor_may_grow_ = false;  // monitor_choice_->may_grow(*monitor_)
    bool gsource_mode_ = false;
    ready_list gs_ready_;  // found by glib's check(), run by dispatch()

    int64_t poll_max_ns_ = 0;
    int64_t poll_grow_ = 0;
    int64_t poll_shrink_ = 0;
    int64_t poll_ns_ = 0;
    bool poll_started_ = false;
};

} // namespace qaio::posix
