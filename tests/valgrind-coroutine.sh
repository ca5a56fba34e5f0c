#!/bin/sh
# SPDX-License-Identifier: MIT
# The coroutine suite under valgrind's memcheck (trap 19): every coroutine
# stack is registered with valgrind, so switching stacks must raise no
# error.  Skipped (77) without valgrind, and in sanitizer builds, whose
# instrumented binaries valgrind cannot run.  Check forks every test; the
# children run under valgrind too and fail their test on an error.
builddir=${QAIO_BUILDDIR:-.}

if ! command -v valgrind >/dev/null 2>&1; then
    echo "SKIP: valgrind is not installed"
    exit 77
fi
if grep -q '^#define QAIO_SANITIZERS 1' "$builddir/config.h" 2>/dev/null; then
    echo "SKIP: sanitizer build"
    exit 77
fi

# Valgrind runs everything several times slower: stretch Check's timeouts.
CK_TIMEOUT_MULTIPLIER=${CK_TIMEOUT_MULTIPLIER:-10}
export CK_TIMEOUT_MULTIPLIER
exec "$builddir/libtool" --mode=execute \
    valgrind --error-exitcode=1 --leak-check=no --quiet \
    "$builddir/tests/check_coroutine"
