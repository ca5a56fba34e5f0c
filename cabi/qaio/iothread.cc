// SPDX-License-Identifier: MIT
// qaio/iothread.h: IOThreads for standalone programs.
#include "qaio/iothread.h"

#include "cabi/export.hh"
#include "lib/mainloop/iothread.hh"

QAIO_EXPORT QaioIOThread *qaio_iothread_new(const char *name, Error **errp)
{
    int err = 0;
    QaioIOThread *t = qaio::mainloop::iothread_new(name, &err);
    if (!t) {
        error_setg_errno(errp, err, "cannot start IOThread '%s'", name);
    }
    return t;
}

QAIO_EXPORT AioContext *qaio_iothread_get_aio_context(QaioIOThread *iothread)
{
    return iothread->ctx_;
}

QAIO_EXPORT void qaio_iothread_join(QaioIOThread *iothread)
{
    qaio::mainloop::iothread_join(iothread);
}

QAIO_EXPORT void qaio_iothread_free(QaioIOThread *iothread)
{
    qaio::mainloop::iothread_free(iothread);
}
