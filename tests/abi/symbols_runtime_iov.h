/* SPDX-License-Identifier: MIT */
/*
 * check_abi.c rows for the runtime_iov symbols: F(name, return type, (params))
 * for functions, D(name, type) for data, with QEMU 7.2's exact types.
 * These are QEMU's util/iov.c functions that the support runtime provides
 * for standalone programs (lib/support/runtime-exports.list).
 */
#include "qemu/iov.h"

#define T_RUNTIME_IOV_SYMBOLS(F, D)                                           \
    F(iov_size, size_t, (const struct iovec *, const unsigned int))          \
    F(iov_from_buf_full, size_t, (const struct iovec *, unsigned int,        \
                                  size_t, const void *, size_t))             \
    F(iov_to_buf_full, size_t, (const struct iovec *, const unsigned int,    \
                                size_t, void *, size_t))                     \
    F(iov_memset, size_t, (const struct iovec *, const unsigned int, size_t, \
                           int, size_t))                                     \
    F(iov_send_recv, ssize_t, (int, const struct iovec *, unsigned, size_t,  \
                               size_t, bool))                                \
    F(qemu_iovec_init, void, (QEMUIOVector *, int))                          \
    F(qemu_iovec_init_external, void, (QEMUIOVector *, struct iovec *, int)) \
    F(qemu_iovec_add, void, (QEMUIOVector *, void *, size_t))                \
    F(qemu_iovec_concat, void, (QEMUIOVector *, QEMUIOVector *, size_t,      \
                                size_t))                                     \
    F(qemu_iovec_concat_iov, size_t, (QEMUIOVector *, struct iovec *,        \
                                      unsigned int, size_t, size_t))         \
    F(qemu_iovec_reset, void, (QEMUIOVector *))                              \
    F(qemu_iovec_destroy, void, (QEMUIOVector *))                            \
    F(qemu_iovec_to_buf, size_t, (QEMUIOVector *, size_t, void *, size_t))   \
    F(qemu_iovec_from_buf, size_t, (QEMUIOVector *, size_t, const void *,    \
                                    size_t))                                 \
    F(qemu_iovec_memset, size_t, (QEMUIOVector *, size_t, int, size_t))
