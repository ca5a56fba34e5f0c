/* SPDX-License-Identifier: MIT */
/*
 * check_abi.c rows for the colock symbols: F(name, return type, (params))
 * for functions, D(name, type) for data, with QEMU 7.2's exact types
 * (util/qemu-coroutine-lock, -sleep, -io and util/qemu-co-timeout).
 */
#include "qemu/coroutine.h"

#define T_COLOCK_SYMBOLS(F, D)                                                \
    F(qemu_co_queue_init, void, (CoQueue *))                                  \
    F(qemu_co_queue_wait_impl, void, (CoQueue *, QemuLockable *,              \
                                      CoQueueWaitFlags))                      \
    F(qemu_co_queue_next, bool, (CoQueue *))                                  \
    F(qemu_co_queue_restart_all, void, (CoQueue *))                           \
    F(qemu_co_enter_next_impl, bool, (CoQueue *, QemuLockable *))             \
    F(qemu_co_enter_all_impl, void, (CoQueue *, QemuLockable *))              \
    F(qemu_co_queue_empty, bool, (CoQueue *))                                 \
    F(qemu_co_mutex_init, void, (CoMutex *))                                  \
    F(qemu_co_mutex_lock, void, (CoMutex *))                                  \
    F(qemu_co_mutex_unlock, void, (CoMutex *))                                \
    F(qemu_co_rwlock_init, void, (CoRwlock *))                                \
    F(qemu_co_rwlock_rdlock, void, (CoRwlock *))                              \
    F(qemu_co_rwlock_wrlock, void, (CoRwlock *))                              \
    F(qemu_co_rwlock_unlock, void, (CoRwlock *))                              \
    F(qemu_co_rwlock_upgrade, void, (CoRwlock *))                             \
    F(qemu_co_rwlock_downgrade, void, (CoRwlock *))                           \
    F(qemu_co_sleep_ns_wakeable, void, (QemuCoSleep *, QEMUClockType,         \
                                        int64_t))                             \
    F(qemu_co_sleep, void, (QemuCoSleep *))                                   \
    F(qemu_co_sleep_wake, void, (QemuCoSleep *))                              \
    F(qemu_co_timeout, int, (CoroutineEntry *, void *, uint64_t,              \
                             CleanupFunc *))                                  \
    F(yield_until_fd_readable, void, (int))                                   \
    F(qemu_co_sendv_recvv, ssize_t, (int, struct iovec *, unsigned, size_t,   \
                                     size_t, bool))                           \
    F(qemu_co_send_recv, ssize_t, (int, void *, size_t, bool))

/*
 * S(type, size), O(type, field, offset): the layouts callers embed, as in
 * layout.tsv (x86-64).  check_abi.c adds them to its T_LAYOUTS table.
 */
#define T_COLOCK_LAYOUTS(S, O)                                                \
    S(CoQueue, 16)                                                            \
    O(CoQueue, entries, 0)                                                    \
    S(CoMutex, 48)                                                            \
    O(CoMutex, locked, 0)                                                     \
    O(CoMutex, ctx, 8)                                                        \
    O(CoMutex, from_push, 16)                                                 \
    O(CoMutex, to_pop, 24)                                                    \
    O(CoMutex, handoff, 32)                                                   \
    O(CoMutex, sequence, 36)                                                  \
    O(CoMutex, holder, 40)                                                    \
    S(CoRwlock, 72)                                                           \
    O(CoRwlock, mutex, 0)                                                     \
    O(CoRwlock, owners, 48)                                                   \
    O(CoRwlock, tickets, 56)                                                  \
    S(QemuCoSleep, 8)                                                         \
    O(QemuCoSleep, to_wake, 0)
