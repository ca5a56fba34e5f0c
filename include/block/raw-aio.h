/* SPDX-License-Identifier: MIT */
/*
 * Host block I/O engines behind QEMU's raw file driver: request types and
 * flags, and the two Linux engines that a coroutine uses to read and write a
 * file descriptor without blocking its thread.  linux-aio (laio_*) drives a
 * kernel AIO context through libaio; io_uring (luring_*) drives an io_uring
 * instance through liburing.  On Windows, win32-aio (win32_aio_*) reads and
 * writes file HANDLEs with overlapped I/O and completes requests through an
 * I/O completion port, calling a BlockCompletionFunc as QEMU's raw-win32
 * driver expects.  Each exists only in builds configured with it
 * (CONFIG_LINUX_AIO, CONFIG_LINUX_IO_URING in qaio/config.h), exactly like a
 * QEMU built without the library: the functions are then neither declared
 * nor defined.
 *
 * An engine is attached to one AioContext at a time; its requests complete in
 * that context, which must be the context of the coroutines submitting to it.
 * aio_setup_linux_aio() / aio_setup_linux_io_uring() (block/aio.h) create the
 * engine of a context on first use and tie its lifetime to the context's.
 *
 * At the 10.0 level submissions go to the current context's engine, a write
 * can ask for FUA (BDRV_REQ_FUA), and plug/unplug are gone: requests made
 * inside a defer_call_begin() / defer_call_end() section (qemu/defer-call.h)
 * reach the kernel together when the section ends, or earlier once the
 * engine's batch is full.
 */
#ifndef QEMU_RAW_AIO_H
#define QEMU_RAW_AIO_H

#include "qemu/osdep.h"
#include "block/aio.h"
#include "qemu/coroutine.h"
#include "qemu/iov.h"
#if QAIO_QEMU_API_AT_LEAST(10, 0)
#include "block/block-common.h"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Request types */
#define QEMU_AIO_READ         0x0001
#define QEMU_AIO_WRITE        0x0002
#define QEMU_AIO_IOCTL        0x0004
#define QEMU_AIO_FLUSH        0x0008
#define QEMU_AIO_DISCARD      0x0010
#define QEMU_AIO_WRITE_ZEROES 0x0020
#define QEMU_AIO_COPY_RANGE   0x0040
#define QEMU_AIO_TRUNCATE     0x0080
#if QAIO_QEMU_API_AT_LEAST(10, 0)
/* Zoned block devices' requests (QEMU 8.0 and later). */
#define QEMU_AIO_ZONE_REPORT  0x0100
#define QEMU_AIO_ZONE_MGMT    0x0200
#define QEMU_AIO_ZONE_APPEND  0x0400
#define QEMU_AIO_TYPE_MASK \
        (QEMU_AIO_READ | \
         QEMU_AIO_WRITE | \
         QEMU_AIO_IOCTL | \
         QEMU_AIO_FLUSH | \
         QEMU_AIO_DISCARD | \
         QEMU_AIO_WRITE_ZEROES | \
         QEMU_AIO_COPY_RANGE | \
         QEMU_AIO_TRUNCATE | \
         QEMU_AIO_ZONE_REPORT | \
         QEMU_AIO_ZONE_MGMT | \
         QEMU_AIO_ZONE_APPEND)
#else
#define QEMU_AIO_TYPE_MASK \
        (QEMU_AIO_READ | \
         QEMU_AIO_WRITE | \
         QEMU_AIO_IOCTL | \
         QEMU_AIO_FLUSH | \
         QEMU_AIO_DISCARD | \
         QEMU_AIO_WRITE_ZEROES | \
         QEMU_AIO_COPY_RANGE | \
         QEMU_AIO_TRUNCATE)
#endif

/* AIO flags */
#define QEMU_AIO_MISALIGNED   0x1000
#define QEMU_AIO_BLKDEV       0x2000
#define QEMU_AIO_NO_FALLBACK  0x4000

/* linux-aio */
#ifdef CONFIG_LINUX_AIO
typedef struct LinuxAioState LinuxAioState;

/*
 * laio_init: a new engine with its own kernel AIO context and completion
 * notifier, not yet attached to any AioContext.
 * Returns: the engine, or NULL with @errp set when the notifier or the AIO
 * context cannot be created (for example at the system-wide AIO limit).
 */
LinuxAioState *laio_init(Error **errp);
/*
 * laio_cleanup: destroy a detached engine.  As in QEMU, requests still outstanding
 * are left to the kernel and their coroutines never resume (said on stderr).
 */
void laio_cleanup(LinuxAioState *s);
/*
 * laio_co_submit: in coroutine context, issue a vectored read or write of
 * @qiov at @offset of @fd and wait for it.  @dev_max_batch (0: none) caps how
 * many requests a plugged engine queues before submitting.
 * Returns: 0 on success (a read ending at end of file is zero-filled),
 * -ENOSPC for a short write, -EIO for an unsupported @type (at 7.2 any but
 * QEMU_AIO_READ and QEMU_AIO_WRITE, with a message), or the kernel's -errno.
 */
#if QAIO_QEMU_API_AT_LEAST(10, 0)
/*
 * At 10.0: on the current context's engine; a write with BDRV_REQ_FUA in
 * @flags is on stable storage when it completes (RWF_DSYNC); a flush goes
 * as IO_CMD_FDSYNC (see laio_has_fdsync()); @dev_max_batch caps how many
 * requests wait for the end of a defer_call section.
 */
int coroutine_fn laio_co_submit(int fd, uint64_t offset, QEMUIOVector *qiov,
                                int type, BdrvRequestFlags flags,
                                uint64_t dev_max_batch);
#else
int coroutine_fn laio_co_submit(BlockDriverState *bs, LinuxAioState *s, int fd,
                                uint64_t offset, QEMUIOVector *qiov, int type,
                                uint64_t dev_max_batch);
#endif
/* laio_detach_aio_context: stop completing requests in @old_context. */
void laio_detach_aio_context(LinuxAioState *s, AioContext *old_context);
/* laio_attach_aio_context: complete requests in @new_context from now on. */
void laio_attach_aio_context(LinuxAioState *s, AioContext *new_context);
#if !QAIO_QEMU_API_AT_LEAST(10, 0)
/* laio_io_plug: open a (nestable) batch; submissions are queued. */
void laio_io_plug(BlockDriverState *bs, LinuxAioState *s);
/*
 * laio_io_unplug: close one batch level; the queue is submitted when it
 * reached the batch limit or the last level closes.
 */
void laio_io_unplug(BlockDriverState *bs, LinuxAioState *s,
                    uint64_t dev_max_batch);
#else
/* laio_has_fdsync: whether the kernel flushes @fd through linux-aio. */
bool laio_has_fdsync(int fd);
/* laio_has_fua: whether writes can carry BDRV_REQ_FUA. */
bool laio_has_fua(void);
#endif
#elif QAIO_QEMU_API_AT_LEAST(10, 0)
static inline bool laio_has_fua(void)
{
    return false;
}
#endif

/* io_uring */
#ifdef CONFIG_LINUX_IO_URING
typedef struct LuringState LuringState;

/*
 * luring_init: a new engine with its own 128-entry io_uring, not yet
 * attached to any AioContext.  The ring may be created in one thread and
 * used from another.
 * Returns: the engine, or NULL with @errp set when the ring cannot be set up.
 */
LuringState *luring_init(Error **errp);
/*
 * luring_cleanup: destroy a detached engine.  As in QEMU, requests still outstanding
 * are left to the kernel and their coroutines never resume (said on stderr).
 */
void luring_cleanup(LuringState *s);
/*
 * luring_co_submit: in coroutine context, issue a vectored read or write of
 * @qiov at @offset of @fd, or an fdatasync (QEMU_AIO_FLUSH, @qiov unused),
 * and wait for it.  Short reads are continued at the advanced offset,
 * -EAGAIN and -EINTR completions are retried.  Any other @type aborts.
 * Returns: 0 on success (a read ending at end of file is zero-filled),
 * -ENOSPC for a short write, or the kernel's -errno.
 */
#if QAIO_QEMU_API_AT_LEAST(10, 0)
/*
 * At 10.0: on the current context's engine; a write with BDRV_REQ_FUA in
 * @flags is on stable storage when it completes (RWF_DSYNC); @bs is unused.
 */
int coroutine_fn luring_co_submit(BlockDriverState *bs, int fd, uint64_t offset,
                                  QEMUIOVector *qiov, int type,
                                  BdrvRequestFlags flags);
#else
int coroutine_fn luring_co_submit(BlockDriverState *bs, LuringState *s, int fd,
                                  uint64_t offset, QEMUIOVector *qiov, int type);
#endif
/* luring_detach_aio_context: stop completing requests in @old_context. */
void luring_detach_aio_context(LuringState *s, AioContext *old_context);
/* luring_attach_aio_context: complete requests in @new_context from now on. */
void luring_attach_aio_context(LuringState *s, AioContext *new_context);
#if !QAIO_QEMU_API_AT_LEAST(10, 0)
/* luring_io_plug: open a (nestable) batch; submissions are queued. */
void luring_io_plug(BlockDriverState *bs, LuringState *s);
/* luring_io_unplug: close one batch level; the last one submits the queue. */
void luring_io_unplug(BlockDriverState *bs, LuringState *s);
#else
/* luring_has_fua: whether writes can carry BDRV_REQ_FUA. */
bool luring_has_fua(void);
#endif
#elif QAIO_QEMU_API_AT_LEAST(10, 0)
static inline bool luring_has_fua(void)
{
    return false;
}
#endif

/* Windows host AIO */
#ifdef _WIN32
typedef struct QEMUWin32AIOState QEMUWin32AIOState;

/*
 * win32_aio_init: a new engine with its own I/O completion port and
 * completion notifier, not yet attached to any AioContext.
 * Returns: the engine, or NULL when Windows refuses the port or the event.
 */
QEMUWin32AIOState *win32_aio_init(void);
/*
 * win32_aio_cleanup: destroy a detached engine.  As in QEMU, requests still
 * outstanding never complete (said on stderr).
 */
void win32_aio_cleanup(QEMUWin32AIOState *aio);
/*
 * win32_aio_attach: associate @hfile with the engine's completion port, so
 * that requests on it complete through the engine.  @hfile must have been
 * opened with FILE_FLAG_OVERLAPPED, and a handle belongs to one port for
 * its whole life.
 * Returns: 0, or -EINVAL when Windows refuses the association (a handle not
 * opened for overlapped I/O, or already associated).
 */
int win32_aio_attach(QEMUWin32AIOState *aio, HANDLE hfile);
/*
 * win32_aio_submit: start an overlapped read (@type QEMU_AIO_READ) or write
 * (QEMU_AIO_WRITE) of @bytes at @offset of @hfile, into or from @qiov; a
 * vector of several elements goes through a bounce buffer.  @cb(@opaque,
 * ret) runs once, in the engine's AioContext, when the request completes:
 * ret is 0 (a read ending at or beyond end of file is zero-filled), -EINVAL
 * for a short write, or -EIO for a request Windows failed.  Call it in the
 * thread of the engine's AioContext.
 * Returns: the request, or NULL (and @cb never runs) when it cannot start:
 * another @type (QEMU_AIO_FLUSH included: flush with FlushFileBuffers), a
 * handle not attached with win32_aio_attach (said on stderr), @bytes beyond
 * @qiov's size or 4 GiB, no memory for a bounce buffer, or Windows failing
 * the request at once.
 */
BlockAIOCB *win32_aio_submit(BlockDriverState *bs, QEMUWin32AIOState *aio,
                             HANDLE hfile, uint64_t offset, uint64_t bytes,
                             QEMUIOVector *qiov, BlockCompletionFunc *cb,
                             void *opaque, int type);
/* win32_aio_detach_aio_context: stop completing requests in @old_context. */
void win32_aio_detach_aio_context(QEMUWin32AIOState *aio,
                                  AioContext *old_context);
/*
 * win32_aio_attach_aio_context: complete requests in @new_context from now
 * on, those that finished while the engine was detached included.
 */
void win32_aio_attach_aio_context(QEMUWin32AIOState *aio,
                                  AioContext *new_context);
#endif

#ifdef __cplusplus
}
#endif

#endif
