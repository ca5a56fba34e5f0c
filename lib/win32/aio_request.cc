// SPDX-License-Identifier: MIT
#include "lib/win32/aio_request.hh"

#include "lib/pool/thread_pool.hh"

#include <cerrno>
#include <cstring>
#include <malloc.h>
#include <new>

namespace qaio::win32 {
namespace {

constexpr size_t header_size =
    (sizeof(BlockAIOCB) + alignof(aio_request) - 1) / alignof(aio_request) * alignof(aio_request);

// No cancel_async, no get_aio_context, as QEMU's.
const AIOCBInfo aio_request_info =
    QAIO_AIOCB_INFO(nullptr, nullptr, header_size + sizeof(aio_request));

// Sector-aligned and more (a page), as FILE_FLAG_NO_BUFFERING wants.
constexpr size_t bounce_alignment = 4096;

} // namespace

aio_request *aio_request::create(BlockDriverState *bs, blockio::op kind, QEMUIOVector *qiov,
                                 DWORD nbytes, BlockCompletionFunc *cb, void *opaque) noexcept
{
    void *buf = nullptr;
    bool bounced = qiov->niov > 1;
    if (bounced) {
        buf = _aligned_malloc(nbytes ? nbytes : 1, bounce_alignment);
        if (!buf) {
            return nullptr;
        }
        if (kind == blockio::op::write) {
            iov_to_buf(qiov->iov, qiov->niov, 0, buf, nbytes);
        }
    } else if (qiov->niov == 1) {
        buf = qiov->iov[0].iov_base;
    }
    char *acb = static_cast<char *>(pool::aiocb_get(&aio_request_info, bs, cb, opaque));
    auto *r = new (acb + header_size) aio_request(kind);
    r->qiov_ = qiov;
    r->buf_ = buf;
    r->nbytes_ = nbytes;
    r->bounced_ = bounced;
    r->io_.owner = r;
    return r;
}

BlockAIOCB *aio_request::acb() noexcept
{
    return reinterpret_cast<BlockAIOCB *>(reinterpret_cast<char *>(this) - header_size);
}

int aio_request::finish_io(long transferred) noexcept
{
    int ret = 0;
    if (transferred < 0) {
        ret = int(transferred);
    } else if (DWORD(transferred) < nbytes_) {
        if (kind_ == blockio::op::read) {
            std::memset(static_cast<char *>(buf_) + transferred, 0, nbytes_ - DWORD(transferred));
        } else {
            ret = -EINVAL;  // what QEMU 7.2 reports for a short write
        }
    }
    if (bounced_) {
        if (ret == 0 && kind_ == blockio::op::read) {
            iov_from_buf(qiov_->iov, qiov_->niov, 0, buf_, nbytes_);
        }
        _aligned_free(buf_);
        buf_ = nullptr;
        bounced_ = false;
    }
    return ret;
}

void aio_request::complete(int ret) noexcept
{
    BlockAIOCB *a = acb();
    a->cb(a->opaque, ret);
    pool::aiocb_unref(a);
}

void aio_request::discard() noexcept
{
    if (bounced_) {
        _aligned_free(buf_);
    }
    pool::aiocb_unref(acb());
}

} // namespace qaio::win32
