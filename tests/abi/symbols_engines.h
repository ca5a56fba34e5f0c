/* SPDX-License-Identifier: MIT */
/*
 * check_abi.c rows for the engines symbols: F(name, return type, (params))
 * for functions, D(name, type) for data, with QEMU 7.2's exact types.
 * Each engine's rows exist only in builds configured with it, as its
 * symbols do (cabi/exports-linux-aio.list, cabi/exports-io-uring.list).
 */
#include "block/aio.h"
#include "block/raw-aio.h"

#ifdef CONFIG_LINUX_AIO
#define T_ENGINE_LINUX_AIO_SYMBOLS(F, D)                                      \
    /* block/linux-aio, util/async */                                         \
    F(aio_get_linux_aio, struct LinuxAioState *, (AioContext *))             \
    F(aio_setup_linux_aio, struct LinuxAioState *, (AioContext *, Error **)) \
    F(laio_attach_aio_context, void, (LinuxAioState *, AioContext *))        \
    F(laio_cleanup, void, (LinuxAioState *))                                 \
    F(laio_co_submit, int, (BlockDriverState *, LinuxAioState *, int,        \
                            uint64_t, QEMUIOVector *, int, uint64_t))        \
    F(laio_detach_aio_context, void, (LinuxAioState *, AioContext *))        \
    F(laio_init, LinuxAioState *, (Error **))                                \
    F(laio_io_plug, void, (BlockDriverState *, LinuxAioState *))             \
    F(laio_io_unplug, void, (BlockDriverState *, LinuxAioState *, uint64_t))
#else
#define T_ENGINE_LINUX_AIO_SYMBOLS(F, D)
#endif

#ifdef CONFIG_LINUX_IO_URING
#define T_ENGINE_IO_URING_SYMBOLS(F, D)                                       \
    /* block/io_uring, util/async */                                          \
    F(aio_get_linux_io_uring, struct LuringState *, (AioContext *))          \
    F(aio_setup_linux_io_uring, struct LuringState *, (AioContext *,         \
                                                       Error **))            \
    F(luring_attach_aio_context, void, (LuringState *, AioContext *))        \
    F(luring_cleanup, void, (LuringState *))                                 \
    F(luring_co_submit, int, (BlockDriverState *, LuringState *, int,        \
                              uint64_t, QEMUIOVector *, int))                \
    F(luring_detach_aio_context, void, (LuringState *, AioContext *))        \
    F(luring_init, LuringState *, (Error **))                                \
    F(luring_io_plug, void, (BlockDriverState *, LuringState *))             \
    F(luring_io_unplug, void, (BlockDriverState *, LuringState *))
#else
#define T_ENGINE_IO_URING_SYMBOLS(F, D)
#endif

#define T_ENGINE_SYMBOLS(F, D)                                                \
    T_ENGINE_LINUX_AIO_SYMBOLS(F, D)                                          \
    T_ENGINE_IO_URING_SYMBOLS(F, D)
