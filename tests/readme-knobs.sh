#!/bin/sh
# SPDX-License-Identifier: MIT
# README.md's knob table is the one lib/support/knobs.def generates (`make
# update-readme` rewrites it).
set -eu
srcdir=${QAIO_SRCDIR:-..}
current=$(mktemp)
trap 'rm -f "$current"' EXIT
sh "$srcdir/scripts/gen-knob-table.sh" "$srcdir/lib/support/knobs.def" \
    "$srcdir/README.md" > "$current"
if ! cmp -s "$srcdir/README.md" "$current"; then
    diff -u "$srcdir/README.md" "$current" || true
    echo "FAIL: README.md's knob table differs from lib/support/knobs.def: run make update-readme" >&2
    exit 1
fi
echo "PASS: README.md's knob table is lib/support/knobs.def's"
