// SPDX-License-Identifier: MIT
// The win32-aio block engine (QEMU's win32_aio_*): overlapped ReadFile and
// WriteFile on HANDLEs associated with the engine's completion port.  The
// shared core (lib/blockio/engine.hh) does the completion pass, attach and
// detach; requests go to Windows at once, as in QEMU: no queue, no plug.
//
// Each OVERLAPPED's hEvent is the engine's EventNotifier (manual reset),
// registered in the context as QEMU does; its handler clears it, then takes
// every packet from the port with a zero timeout.  While detached,
// completions wait in the port and the event stays set.  ReadFile and
// WriteFile reset hEvent when they start, which could hide a completion not
// yet taken, so a submission with others in flight sets it again.
//
// A request failing at once is not started (NULL: -EIO for QEMU), except a
// read at or past end of file (ERROR_HANDLE_EOF), completed zero-filled
// through a packet posted here.  Later failures complete with -EIO.
//
// Windows queues packets only for handles associated with the port, so a
// submission on another handle is refused on stderr (a closed handle whose
// value was reused is not noticed: file-win32 attaches once per file).
#include "lib/win32/aio_engine.hh"

#include "lib/blockio/engine.hh"
#include "lib/loop/context.hh"
#include "lib/support/fatal.hh"
#include "lib/win32/aio_request.hh"
#include "lib/win32/event_notifier.hh"

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <new>

namespace qaio::win32 {

const blockio::engine_kind win32_aio_kind = {
    "win32-aio", "win32_aio", "win32-aio completion",
    0,  // no limit of its own: Windows takes every request at once
};

struct notifier_link {
    EventNotifier e;
    QEMUWin32AIOState *owner;
};

} // namespace qaio::win32

struct QEMUWin32AIOState : qaio::blockio::engine<QEMUWin32AIOState> {
    using request = qaio::blockio::request;
    using aio_request = qaio::win32::aio_request;

    QEMUWin32AIOState() noexcept : engine(qaio::win32::win32_aio_kind) {}

    HANDLE port_ = nullptr;
    qaio::win32::notifier_link notifier_{};
    SRWLOCK files_lock_ = SRWLOCK_INIT;
    HANDLE *files_ = nullptr;
    size_t nfiles_ = 0;

    static QEMUWin32AIOState *create(qaio::blockio::init_failure *why) noexcept
    {
        auto *s = new (std::nothrow) QEMUWin32AIOState;
        QAIO_CHECK(s, "out of memory allocating a win32-aio engine");
        int r = qaio::win32::notifier::init(&s->notifier_.e, 0);
        if (r < 0) {
            *why = {-r, "failed to initialize event notifier"};
            delete s;
            return nullptr;
        }
        s->notifier_.owner = s;
        s->port_ = CreateIoCompletionPort(INVALID_HANDLE_VALUE, nullptr, 0, 1);
        if (!s->port_) {
            *why = {ENOMEM, "failed to create an I/O completion port"};
            qaio::win32::notifier::cleanup(&s->notifier_.e);
            delete s;
            return nullptr;
        }
        return s;
    }

    void release_kernel_side() noexcept
    {
        std::free(files_);
        CloseHandle(port_);
        qaio::win32::notifier::cleanup(&notifier_.e);
    }

    void watch(qaio::loop::context *ctx) noexcept
    {
        if (ctx) {
            ctx->backend().set_event_notifier(&notifier_.e, false, on_notifier, nullptr, nullptr);
        } else {
            ctx_->backend().set_event_notifier(&notifier_.e, false, nullptr, nullptr, nullptr);
        }
    }

    bool has_work() const noexcept { return false; }
    bool submit_queued() noexcept { return false; }

    bool next_completion(request **r, long *res) noexcept
    {
        DWORD bytes = 0;
        ULONG_PTR key;
        OVERLAPPED *ov = nullptr;
        BOOL ok = GetQueuedCompletionStatus(port_, &bytes, &key, &ov, 0);
        if (!ov) {
            return false;  // the port is empty
        }
        *r = aio_request::of(ov);
        if (ok || GetLastError() == ERROR_HANDLE_EOF) {
            *res = long(bytes);
        } else {
            *res = -EIO;
        }
        return true;
    }

    void complete(request *base, long res) noexcept
    {
        auto *r = static_cast<aio_request *>(base);
        r->complete(r->finish_io(res));
    }

    static void on_notifier(EventNotifier *e)
    {
        QEMUWin32AIOState *s = reinterpret_cast<qaio::win32::notifier_link *>(e)->owner;
        qaio::win32::notifier::test_and_clear(e);
        s->process();
    }

    bool is_attached(HANDLE file) noexcept
    {
        AcquireSRWLockShared(&files_lock_);
        bool found = std::find(files_, files_ + nfiles_, file) != files_ + nfiles_;
        ReleaseSRWLockShared(&files_lock_);
        return found;
    }

    int attach_file(HANDLE file) noexcept
    {
        AcquireSRWLockExclusive(&files_lock_);
        // Room first: an associated handle is always remembered.
        auto *grown = static_cast<HANDLE *>(std::realloc(files_, (nfiles_ + 1) * sizeof(HANDLE)));
        int ret = -ENOMEM;
        if (grown) {
            files_ = grown;
            ret = -EINVAL;
            if (CreateIoCompletionPort(file, port_, 0, 0)) {
                files_[nfiles_++] = file;
                ret = 0;
            }
        }
        ReleaseSRWLockExclusive(&files_lock_);
        return ret;
    }

    BlockAIOCB *submit(BlockDriverState *bs, HANDLE file, uint64_t offset, uint64_t bytes,
                       QEMUIOVector *qiov, BlockCompletionFunc *cb, void *opaque,
                       qaio::blockio::op kind) noexcept
    {
        if (!is_attached(file)) {
            std::fprintf(stderr, "qaio: win32_aio_submit: HANDLE %p is not attached to "
                         "win32-aio engine %p (win32_aio_attach); request refused\n",
                         static_cast<void *>(file), static_cast<void *>(this));
            return nullptr;
        }
        if (bytes > qiov->size || bytes > MAXDWORD) {
            std::fprintf(stderr, "qaio: win32_aio_submit: %" PRIu64 " bytes for a vector of "
                         "%zu (at most 4 GiB - 1 per request); request refused\n",
                         bytes, qiov->size);
            return nullptr;
        }
        aio_request *r = aio_request::create(bs, kind, qiov, DWORD(bytes), cb, opaque);
        if (!r) {
            return nullptr;
        }
        OVERLAPPED *ov = &r->io_.ov;
        ov->Offset = DWORD(offset);
        ov->OffsetHigh = DWORD(offset >> 32);
        ov->hEvent = qaio::win32::notifier::handle(&notifier_.e);
        bool others = in_flight_ > 0;
        in_flight_++;
        BOOL ok = kind == qaio::blockio::op::read
                      ? ReadFile(file, r->buf_, r->nbytes_, nullptr, ov)
                      : WriteFile(file, r->buf_, r->nbytes_, nullptr, ov);
        DWORD err = ok ? ERROR_SUCCESS : GetLastError();
        if (err == ERROR_HANDLE_EOF && kind == qaio::blockio::op::read &&
            PostQueuedCompletionStatus(port_, 0, 0, ov)) {
            qaio::win32::notifier::set(&notifier_.e);
        } else if (err != ERROR_SUCCESS && err != ERROR_IO_PENDING) {
            in_flight_--;
            r->discard();
            r = nullptr;
        }
        if (others) {
            qaio::win32::notifier::set(&notifier_.e);
        }
        return r ? r->acb() : nullptr;
    }
};

namespace qaio::blockio {

template QEMUWin32AIOState *engine_new<QEMUWin32AIOState>(init_failure *) noexcept;
template void engine_free<QEMUWin32AIOState>(QEMUWin32AIOState *) noexcept;
template void engine_attach<QEMUWin32AIOState>(QEMUWin32AIOState *, loop::context *) noexcept;
template void engine_detach<QEMUWin32AIOState>(QEMUWin32AIOState *, loop::context *) noexcept;

} // namespace qaio::blockio

namespace qaio::win32 {

int aio_attach_file(QEMUWin32AIOState *s, HANDLE file) noexcept
{
    return s->attach_file(file);
}

BlockAIOCB *aio_submit(QEMUWin32AIOState *s, BlockDriverState *bs, HANDLE file,
                       uint64_t offset, uint64_t bytes, QEMUIOVector *qiov,
                       BlockCompletionFunc *cb, void *opaque, blockio::op kind) noexcept
{
    return s->submit(bs, file, offset, bytes, qiov, cb, opaque, kind);
}

} // namespace qaio::win32
