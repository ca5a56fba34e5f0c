// SPDX-License-Identifier: MIT
// EventNotifier on Windows: a manual-reset event, signalled until
// test_and_clear, so level-triggered like the POSIX eventfd.
#pragma once

#include "qemu/event_notifier.h"

namespace qaio::win32::notifier {

// 0, or -ENOMEM (errno too).
int init(EventNotifier *e, int active) noexcept;
void cleanup(EventNotifier *e) noexcept;
int set(EventNotifier *e) noexcept;
int test_and_clear(EventNotifier *e) noexcept;

inline HANDLE handle(EventNotifier *e) noexcept
{
    return static_cast<HANDLE>(e->event);
}

} // namespace qaio::win32::notifier
