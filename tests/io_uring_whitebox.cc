// SPDX-License-Identifier: MIT
// The io_uring suite's look inside the engine (it links the core's
// objects), callable from C.
#include "qemu/osdep.h"
#include "lib/blockio/engines.hh"

extern "C" bool t_luring_ring_defers(void *s)
{
#ifdef CONFIG_LINUX_IO_URING
    return qaio::blockio::luring_ring_defers(static_cast<const LuringState *>(s));
#else
    return false;
#endif
}
