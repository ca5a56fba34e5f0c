// SPDX-License-Identifier: MIT
// EventNotifier on POSIX: a non-blocking close-on-exec eventfd, or a pipe pair
// where eventfd is unavailable.  Functions return 0 / -errno like QEMU's.
#pragma once

#include "qemu/event_notifier.h"

namespace qaio::posix::notifier {

int init(EventNotifier *e, int active) noexcept;
void init_fd(EventNotifier *e, int fd) noexcept;
void cleanup(EventNotifier *e) noexcept;
int set(EventNotifier *e) noexcept;
// Drains the notifier; true if it was signalled.
bool test_and_clear(EventNotifier *e) noexcept;

inline int read_fd(const EventNotifier *e) noexcept { return e->rfd; }
inline int write_fd(const EventNotifier *e) noexcept { return e->wfd; }

} // namespace qaio::posix::notifier
