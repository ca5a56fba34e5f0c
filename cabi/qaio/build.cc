// SPDX-License-Identifier: MIT
// qaio/build.h: which build answered.
#include "qemu/osdep.h"
#include "qaio/build.h"

#include "cabi/export.hh"

QAIO_EXPORT const char *qaio_build_description(void)
{
    return "qaio " QAIO_VERSION "; engines: threads"
#ifdef CONFIG_LINUX_AIO
           " linux-aio"
#endif
#ifdef CONFIG_LINUX_IO_URING
           " io_uring"
#endif
           "; AioContext layout: " QAIO_AIO_CONTEXT_ABI;
}
