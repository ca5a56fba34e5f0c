// SPDX-License-Identifier: MIT
// QAIO_EXPORT marks the C definitions that form the ABI.  Everything else is
// built with hidden visibility; the version script is the second fence.
#pragma once

#define QAIO_EXPORT extern "C" __attribute__((visibility("default")))
