#!/bin/sh
# SPDX-License-Identifier: MIT
# Check suites under valgrind's memcheck, with tests/valgrind.supp.
#   tests/valgrind.sh            the BH and coroutine suites, run by make
#                                check (every coroutine stack is registered
#                                with valgrind: switching stacks must raise
#                                no error)
#   tests/valgrind.sh --heavy    the timer, coroutine-scheduling,
#                                lock, thread-pool and engine suites (several
#                                minutes), run by make check-stress
# Contexts use QAIO_FDMON=epoll, whose system calls memcheck models fully;
# the suites that loop over every monitor (fd_handler, gsource) are left
# out, and so is check_notify, which did not finish in 7 minutes under
# valgrind (not investigated yet).  Skipped
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
        check_linux_aio check_io_uring"
else
    suites="check_bh check_coroutine"
fi

# Valgrind runs everything several times slower: stretch Check's timeouts.
CK_TIMEOUT_MULTIPLIER=${CK_TIMEOUT_MULTIPLIER:-10}
QAIO_FDMON=epoll
export CK_TIMEOUT_MULTIPLIER QAIO_FDMON
status=0
for suite in $suites; do
    start=$(date +%s)
    "$builddir/libtool" --mode=execute \
        valgrind --error-exitcode=1 --leak-check=no --quiet \
        --suppressions="$srcdir/tests/valgrind.supp" \
        "$builddir/tests/$suite" || status=1
    echo "valgrind $suite: $(( $(date +%s) - start )) s"
done
exit $status
