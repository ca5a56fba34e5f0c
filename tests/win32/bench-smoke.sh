#!/bin/sh
# SPDX-License-Identifier: MIT
# qaio-bench's Windows build under Wine, as a smoke test of its suites (the
# platform-neutral ones: bh, timers, lock, coroutine): one short
# repeat of each case, exit 0, a row from every suite, and the header saying
# that figures under Wine are not Windows figures.  Nothing is judged on the
# figures themselves.  Run by make check in the Windows build.
set -eu
srcdir=${QAIO_SRCDIR:-..}
builddir=${QAIO_BUILDDIR:-.}
out=$(mktemp)
trap 'rm -f "$out"' EXIT

status=0
sh "$srcdir/tests/win32/wine-test.sh" "$builddir/qaio-bench.exe" --quick --repeat 1 \
    > "$out" 2>&1 || status=$?
cat "$out"
[ "$status" != 77 ] || exit 77
if [ "$status" != 0 ]; then
    echo "FAIL: qaio-bench exited $status"
    exit 1
fi
if ! grep -q "not Windows figures" "$out"; then
    echo "FAIL: the report does not say its figures are Wine's"
    exit 1
fi
for suite in bh timers lock coroutine; do
    if ! grep -q "^$suite " "$out"; then
        echo "FAIL: no row from the $suite suite"
        exit 1
    fi
done
echo "PASS: qaio-bench ran its Windows suites under Wine"
