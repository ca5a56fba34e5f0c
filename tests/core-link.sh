#!/bin/sh
# SPDX-License-Identifier: MIT
# Linking into a QEMU tree, checked: a C program playing the QEMU tree
# (tests/PROGRAM.c, with tests/qemu_stand_in.c for QEMU's side of the
# imports) links libqaio-core.a with exactly the flags of
# `pkg-config --libs qaio-core`, nothing else, and runs.
#   core-link.sh [PROGRAM]   PROGRAM: core_link (default; a tree without
#                            QOM), core_qom (with QOM: tests/core-qom.sh)
set -eu
srcdir=${QAIO_SRCDIR:-..}
builddir=${QAIO_BUILDDIR:-.}
cc=${QAIO_CC:-cc}
program=${1:-core_link}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The build tree's qaio-core.pc, with libdir pointing here.
sed "s|^libdir=.*|libdir=$builddir|" "$builddir/qaio-core.pc" > "$work/qaio-core.pc"
libs=$(PKG_CONFIG_PATH="$work" pkg-config --libs qaio-core)
echo "pkg-config --libs qaio-core: $libs"
# shellcheck disable=SC2086
$cc -I"$srcdir" -I"$srcdir/include" -I"$builddir/include" $(pkg-config --cflags glib-2.0) \
    ${QAIO_SANITIZER_FLAGS:-} -o "$work/$program" "$srcdir/tests/$program.c" \
    "$srcdir/tests/qemu_stand_in.c" $libs
"$work/$program"
