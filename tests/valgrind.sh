#!/bin/sh
# SPDX-License-Identifier: MIT
# Check suites under valgrind's memcheck, with tests/valgrind.supp.
#   tests/valgrind.sh            the BH, coroutine and notify suites, run by
#                                make check (every coroutine stack is
#                                registered with valgrind: switching stacks
#                                must raise no error)
#   tests/valgrind.sh --heavy    the timer, coroutine-scheduling, lock,
#                                thread-pool, engine, fd-handler, GSource and
#                                fd-lifetime suites (several minutes), run by
#                                make check-stress
# Contexts use QAIO_FDMON=epoll, whose system calls memcheck models fully
# (the suites run once, with that monitor).  Memcheck holds freed blocks
# back (20 MB by default) to catch late uses; that shows as resident memory
# to the suites that assert it stays flat, so the queue is cut to 1 MB.
# Skipped
# (77) without valgrind and in sanitizer builds, whose instrumented binaries
# valgrind cannot run.  Check forks every test; the children run under
# valgrind too and fail their test on an error (--error-exitcode).
builddir=${QAIO_BUILDDIR:-.}
srcdir=${QAIO_SRCDIR:-.}

if ! command -v valgrind >/dev/null 2>&1; then
    echo "SKIP: valgrind is not installed"
    exit 77
fi
if grep -q '^#define QAIO_SANITIZERS 1' "$builddir/config.h" 2>/dev/null; then
    echo "SKIP: sanitizer build"
    exit 77
fi

if [ "$1" = --heavy ]; then
    suites="check_timer check_aio_co check_co_queue check_co_mutex
        check_co_rwlock check_co_sleep check_co_io check_thread_pool
        check_linux_aio check_io_uring check_fd_handler check_gsource
        check_fd_lifetime"
else
    suites="check_bh check_coroutine check_notify"
fi

# Valgrind runs everything several times slower: stretch Check's timeouts.
CK_TIMEOUT_MULTIPLIER=${CK_TIMEOUT_MULTIPLIER:-10}
QAIO_FDMON=epoll
export CK_TIMEOUT_MULTIPLIER QAIO_FDMON
status=0
for suite in $suites; do
    start=$(date +%s)
    "$builddir/libtool" --mode=execute \
        valgrind --error-exitcode=1 --leak-check=no --quiet --freelist-vol=1000000 \
        --suppressions="$srcdir/tests/valgrind.supp" \
        "$builddir/tests/$suite" || status=1
    echo "valgrind $suite: $(( $(date +%s) - start )) s"
done
exit $status
