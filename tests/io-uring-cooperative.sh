#!/bin/sh
# SPDX-License-Identifier: MIT
# The io_uring engine suite again with QAIO_IO_URING_DEFER=0: every ring
# cooperative, the kind the engine otherwise keeps for QEMU's main context
# and for threads that have not bound their context.
builddir=${QAIO_BUILDDIR:-.}

QAIO_IO_URING_DEFER=0
export QAIO_IO_URING_DEFER
exec "$builddir/tests/check_io_uring"
