// SPDX-License-Identifier: MIT
// Biased CoMutexes: claiming and revoking (see co_mutex_bias.hh).
#include "lib/colock/co_mutex_bias.hh"

#include "lib/coroutine/coroutine.hh"
#include "lib/coroutine/switch.hh"
#include "lib/support/fatal.hh"
#include "lib/support/knobs.hh"

#include <cerrno>
#include <cstring>

#include <linux/membarrier.h>
#include <mutex>
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace qaio::colock {
namespace {

// Threads holding a slot at one time (a slot is reused after its thread
// exits); a thread beyond that takes no bias.  64 KiB of slots.
constexpr uint32_t max_slots = 1024;

bias_slot slots[max_slots];
std::mutex slots_lock;       // guards free_ids, n_used and slot hand-out
uint32_t free_ids[max_slots];
uint32_t n_free = 0;
uint32_t n_used = 0;         // ids 1..n_used have been handed out

pthread_key_t slot_key;
bool enabled = false;

int membarrier(int cmd) noexcept
{
    return int(syscall(__NR_membarrier, cmd, 0, 0));
}

void release_slot(void *p) noexcept
{
    auto *s = static_cast<bias_slot *>(p);
    std::lock_guard<std::mutex> g(slots_lock);
    free_ids[n_free++] = s->id;
}

// In a child of fork() only the forking thread is left, and it is in no
// fast-path step: no slot may keep naming a mutex.
void after_fork_in_child() noexcept
{
    for (bias_slot &s : slots) {
        s.busy.store(nullptr, std::memory_order_relaxed);
    }
}

void setup() noexcept
{
#if defined(QAIO_TSAN)
    return;
#else
    if (support::knob_int("QAIO_COMUTEX_BIAS").value_or(1) == 0) {
        return;
    }
    if (membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) != 0) {
        return;
    }
    if (pthread_key_create(&slot_key, release_slot) != 0 ||
        pthread_atfork(nullptr, nullptr, after_fork_in_child) != 0) {
        return;
    }
    enabled = true;
#endif
}

// Whether this thread asked for a slot already (it keeps one in its
// coroutine state once it has one; this covers the threads that got none).
thread_local bool tls_slot_tried = false;

} // namespace

__attribute__((noinline)) bias_slot *bias_slot_create() noexcept
{
    static std::once_flag once;
    std::call_once(once, setup);
    // Read afresh: this runs in a coroutine that may have changed threads.
    if (!enabled || tls_slot_tried) {
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
    return bias.compare_exchange_strong(expected, me->id, std::memory_order_acq_rel,
                                        std::memory_order_relaxed) ||
           expected == me->id;
}

void bias_revoke(CoMutex *m, bias_slot *me) noexcept
{
    std::atomic_ref<unsigned> bias(m->bias);
    unsigned b = bias.load(std::memory_order_acquire);
    while (b != bias_revoked) {
        uint32_t owner = b & ~bias_revoking;
        if (owner == 0 || (me && owner == me->id) || owner >= max_slots) {
            // Nobody's, ours (we are not in a fast-path step of it), or not
            // a live id (a CoMutex left uninitialised): no step to wait for.
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
        // Registration is per address space and survives fork(); should it
        // be missing anyway, register again rather than go on unordered.
        if (membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0) {
            int err = errno;
            QAIO_CHECK(membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0 &&
                           membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0,
                       "CoMutex %p: membarrier failed (%s) while revoking its bias",
                       static_cast<void *>(m), strerror(err));
        }
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
