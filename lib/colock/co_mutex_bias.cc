// SPDX-License-Identifier: MIT
// Biased CoMutexes: claiming and revoking (see co_mutex_bias.hh).
#include "lib/colock/co_mutex_bias.hh"

#include "lib/coroutine/coroutine.hh"
#include "lib/support/fatal.hh"
#include "lib/support/knobs.hh"
#include "lib/support/membarrier.hh"
#include "lib/support/sanitizer.hh"
#include "lib/support/signals_blocked.hh"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <mutex>
#include <pthread.h>
#include <sched.h>
#if __has_include(<sys/single_threaded.h>)
#include <sys/single_threaded.h>
#define QAIO_HAVE_SINGLE_THREADED 1
#endif

namespace qaio::colock {
namespace {

// Threads holding a slot at one time; one beyond that takes no bias.
constexpr uint32_t max_slots = 1024;

bias_slot slots[max_slots];
std::mutex slots_lock;       // guards free_ids, n_used and slot hand-out
uint32_t free_ids[max_slots];
uint32_t n_free = 0;
uint32_t n_used = 0;         // ids 1..n_used have been handed out

pthread_key_t slot_key;
bool enabled = false;        // the knob allows biasing; set by setup()

enum registration_state : int { reg_unknown, reg_pending, reg_done, reg_unavailable };
std::atomic<int> registration{reg_unknown};

void register_membarrier() noexcept
{
    bool ok = support::membarrier::register_process();
    // Release: a thread that reads reg_done gets its slot after this.
    registration.store(ok ? reg_done : reg_unavailable, std::memory_order_release);
}

void *registrar_main(void *) noexcept
{
    pthread_setname_np(pthread_self(), "qaio-membarrier");
    register_membarrier();
    return nullptr;
}

void register_in_background() noexcept
{
    int expected = reg_unknown;
    if (!registration.compare_exchange_strong(expected, reg_pending, std::memory_order_relaxed)) {
        return;
    }
    pthread_t tid;
    int r;
    {
        support::signals_blocked quiet;  // no signal handler runs there
        r = pthread_create(&tid, nullptr, registrar_main, nullptr);
    }
    if (r == 0) {
        pthread_detach(tid);
    } else {
        registration.store(reg_unavailable, std::memory_order_relaxed);
    }
}

// TSan does not see membarrier's ordering.
bool bias_allowed() noexcept
{
#if defined(QAIO_TSAN)
    return false;
#else
    return support::knob_int(support::knob::comutex_bias).value_or(1) != 0;
#endif
}

__attribute__((constructor)) void register_at_load() noexcept
{
    if (!bias_allowed()) {
        return;
    }
#if defined(QAIO_HAVE_SINGLE_THREADED)
    if (__libc_single_threaded) {
        register_membarrier();
    }
#endif
}

void release_slot(void *p) noexcept
{
    auto *s = static_cast<bias_slot *>(p);
    std::lock_guard<std::mutex> g(slots_lock);
    free_ids[n_free++] = s->id;
}

// The child's only thread is in no fast-path step; a pending registration
// was on a parent's thread the child does not have.
void after_fork_in_child() noexcept
{
    for (bias_slot &s : slots) {
        s.busy.store(nullptr, std::memory_order_relaxed);
    }
    int expected = reg_pending;
    registration.compare_exchange_strong(expected, reg_unknown, std::memory_order_relaxed);
}

void setup() noexcept
{
    enabled = bias_allowed() && pthread_key_create(&slot_key, release_slot) == 0 &&
              pthread_atfork(nullptr, nullptr, after_fork_in_child) == 0;
}

// This thread got its slot (kept in its coroutine state) or was refused one.
thread_local bool tls_slot_tried = false;

// Whether slots may be handed out; starts the registration if need be.
bool registered() noexcept
{
    int state = registration.load(std::memory_order_acquire);
    if (state == reg_unknown) {
        register_in_background();
    }
    return state == reg_done;
}

} // namespace

__attribute__((noinline)) bias_slot *bias_slot_create() noexcept
{
    static std::once_flag once;
    std::call_once(once, setup);
    // Read afresh: this runs in a coroutine that may have changed threads.
    if (!enabled || tls_slot_tried) {
        return nullptr;
    }
    if (!registered()) {
        if (registration.load(std::memory_order_relaxed) == reg_unavailable) {
            tls_slot_tried = true;
        }
        return nullptr;
    }
    tls_slot_tried = true;
    uint32_t id = 0;
    {
        std::lock_guard<std::mutex> g(slots_lock);
        if (n_free) {
            id = free_ids[--n_free];
        } else if (n_used < max_slots - 1) {
            id = ++n_used;
        }
    }
    if (!id) {
        return nullptr;
    }
    bias_slot *s = &slots[id];
    s->id = id;
    pthread_setspecific(slot_key, s);
    coroutine::set_lock_slot(s);
    return s;
}

bool bias_claim(CoMutex *m, bias_slot *me) noexcept
{
    std::atomic_ref<unsigned> bias(m->bias);
    unsigned expected = 0;
    // acq_rel: pairs with bias_revoke's CAS and lock_unbiased's acquire load.
    return bias.compare_exchange_strong(expected, me->id, std::memory_order_acq_rel,
                                        std::memory_order_relaxed) ||
           expected == me->id;
}

void bias_revoke(CoMutex *m, bias_slot *me) noexcept
{
    std::atomic_ref<unsigned> bias(m->bias);
    // Acquire and acq_rel: pair with bias_claim's CAS and other revokers'.
    unsigned b = bias.load(std::memory_order_acquire);
    while (b != bias_revoked) {
        uint32_t owner = b & ~bias_revoking;
        if (owner == 0 || (me && owner == me->id) || owner >= max_slots) {
            // Nobody's, ours, or garbage (uninitialised): no step to wait for.
            if (bias.compare_exchange_weak(b, bias_revoked, std::memory_order_acq_rel,
                                           std::memory_order_acquire)) {
                return;
            }
            continue;
        }
        if (!(b & bias_revoking) &&
            !bias.compare_exchange_weak(b, b | bias_revoking, std::memory_order_acq_rel,
                                        std::memory_order_acquire)) {
            continue;
        }
        // The owner's next step sees the mark, or its slot shows the step.
        QAIO_CHECK(support::membarrier::run_on_every_thread_registered(),
                   "CoMutex %p: membarrier failed (%s) while revoking its bias",
                   static_cast<void *>(m), strerror(errno));
        // Acquire: pairs with the release in the owner's fast_step_end.
        for (unsigned spins = 0; slots[owner].busy.load(std::memory_order_acquire) == m;
             spins++) {
            if (spins > 100) {
                sched_yield();  // the owner was preempted mid-step
            }
        }
        b = owner | bias_revoking;
        if (bias.compare_exchange_strong(b, bias_revoked, std::memory_order_acq_rel,
                                         std::memory_order_acquire)) {
            return;
        }
    }
}

} // namespace qaio::colock
