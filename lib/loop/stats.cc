// SPDX-License-Identifier: MIT
// QAIO_STATS=1: counters printed when a context is finalized, or at exit.
#include "lib/loop/stats.hh"

#include "lib/loop/context.hh"
#include "lib/support/knobs.hh"

#include <cinttypes>
#include <cstdio>
#include <mutex>

namespace qaio::loop {

namespace {

std::mutex registry_lock;
context *registry_head;
bool atexit_installed;

} // namespace

void stats_print(context *ctx) noexcept
{
    const stats &s = ctx->stats_;
    const char *unhonoured = ctx->backend().unhonoured();
    std::fprintf(stderr, "qaio-stats: ctx=%p fdmon=%s aio_poll=%" PRIu64 " blocking_waits=%" PRIu64
                 " notify_writes=%" PRIu64 " notify_writes_avoided=%" PRIu64
                 " bhs_run=%" PRIu64 " fd_events=%" PRIu64 " poll_hits=%" PRIu64
                 " gsource_dispatches=%" PRIu64 " fdmon_fallbacks=%" PRIu64
                 " fdmon_upgrades=%" PRIu64 "%s%s\n",
                 static_cast<void *>(ctx->c()), ctx->backend().name(), s.aio_poll_calls,
                 s.blocking_waits, s.notify_writes.load(), s.notify_writes_avoided.load(),
                 s.bhs_run, s.fd_events, s.poll_hits, s.gsource_dispatches,
                 s.fdmon_fallbacks, s.fdmon_upgrades,
                 unhonoured ? " fdmon_forced_unavailable=" : "", unhonoured ? unhonoured : "");
}

void stats_print_all_at_exit()
{
    std::lock_guard<std::mutex> guard(registry_lock);
    for (context *c = registry_head; c; c = c->stats_next_) {
        stats_print(c);
    }
}

void stats_register(context *ctx) noexcept
{
    if (!support::knob_flag(support::knob::stats)) {
        return;
    }
    stats_on.store(true, std::memory_order_relaxed);
    std::lock_guard<std::mutex> guard(registry_lock);
    ctx->stats_next_ = registry_head;
    registry_head = ctx;
    if (!atexit_installed) {
        atexit_installed = true;
        support::stats_report_at_exit(stats_print_all_at_exit);
    }
}

void stats_unregister(context *ctx) noexcept
{
    std::lock_guard<std::mutex> guard(registry_lock);
    for (context **link = &registry_head; *link; link = &(*link)->stats_next_) {
        if (*link == ctx) {
            *link = ctx->stats_next_;
            stats_print(ctx);
            return;
        }
    }
}

} // namespace qaio::loop
