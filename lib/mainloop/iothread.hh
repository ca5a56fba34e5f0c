// SPDX-License-Identifier: MIT
// qaio_iothread (include/qaio/iothread.h); the C handle is this object.
#pragma once

#include "qaio/iothread.h"

#include <pthread.h>

struct QaioIOThread {
    AioContext *ctx_ = nullptr;
    pthread_t thread_{};
    bool joinable_ = false;   // started and not yet joined (caller's side)
    bool running_ = true;     // the thread's own: cleared by the stop BH
};

namespace qaio::mainloop {

// nullptr with *err set to an errno value on failure.
QaioIOThread *iothread_new(const char *name, int *err) noexcept;
void iothread_join(QaioIOThread *t) noexcept;
void iothread_free(QaioIOThread *t) noexcept;

} // namespace qaio::mainloop
