// SPDX-License-Identifier: MIT
// QEMU 10.0's generic ThreadPool (thread_pool.hh's pool is its
// ThreadPoolAio): items run on the pool's threads, nothing completes in an
// AioContext, any thread may use it.  A new pool has no thread until its
// maximum is raised (set_max_threads or adjust_max_threads_to_work).
#pragma once

namespace qaio::pool {

class work_pool;

using work_fn = int (*)(void *opaque);
using work_destroy_fn = void (*)(void *opaque);

work_pool *work_pool_new() noexcept;
// Waits for every submitted item to finish, then frees the pool.
void work_pool_free(work_pool *p) noexcept;
// Queues fn(opaque); destroy(opaque), if set, runs on the worker after it.
void work_pool_submit(work_pool *p, work_fn fn, void *opaque, work_destroy_fn destroy) noexcept;
// Returns when every item submitted before the call has finished.
void work_pool_wait(work_pool *p) noexcept;
// At most max (> 0) threads; false if the threads could not be started.
bool work_pool_set_max_threads(work_pool *p, int max) noexcept;
// As many threads as items are queued or running (at least one).
bool work_pool_adjust_max_threads_to_work(work_pool *p) noexcept;

} // namespace qaio::pool
