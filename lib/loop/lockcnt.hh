// SPDX-License-Identifier: MIT
// QemuLockCnt: walkers of a list run concurrently while a writer that must
// free nodes waits for the count to drop to zero (lockcnt.cc).
#pragma once

#include "qemu/lockcnt.h"

namespace qaio::loop::lockcnt {

void init(QemuLockCnt *l) noexcept;
void destroy(QemuLockCnt *l) noexcept;
void inc(QemuLockCnt *l) noexcept;
void dec(QemuLockCnt *l) noexcept;
bool dec_and_lock(QemuLockCnt *l) noexcept;
bool dec_if_lock(QemuLockCnt *l) noexcept;
void lock(QemuLockCnt *l) noexcept;
void unlock(QemuLockCnt *l) noexcept;
void inc_and_unlock(QemuLockCnt *l) noexcept;
unsigned count(QemuLockCnt *l) noexcept;

} // namespace qaio::loop::lockcnt
