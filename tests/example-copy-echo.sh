#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs examples/copy-echo with each block engine on a 3 MiB random file:
# it must copy, verify, and get its echo back; cmp checks the copy again
# from outside.  An engine this build or kernel lacks is reported and
# skipped (the example exits 77); if none but threads ran, that is said.
set -eu
builddir=${QAIO_BUILDDIR:-.}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

head -c 3145728 /dev/urandom > "$work/src"
for engine in threads linux-aio io_uring; do
    rm -f "$work/dst"
    status=0
    # A lost wake-up would hang the example: give it two minutes.
    timeout 120 "$builddir/examples/copy-echo" --engine "$engine" "$work/src" "$work/dst" \
        > "$work/out" 2>&1 || status=$?
    if [ "$status" = 77 ]; then
        echo "skip $engine: $(tail -n 1 "$work/out")"
        continue
    fi
    cat "$work/out"
    if [ "$status" != 0 ]; then
        echo "FAIL: copy-echo --engine $engine exited $status" >&2
        exit 1
    fi
    cmp "$work/src" "$work/dst"
    grep -q "copied and verified 3145728 bytes" "$work/out"
    grep -q "answered" "$work/out"
    echo "ok $engine"
done
