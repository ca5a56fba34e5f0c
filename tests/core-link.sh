#!/bin/sh
# SPDX-License-Identifier: MIT
# Linking into a QEMU tree, checked: tests/core_link.c plays the QEMU tree
# (it defines QEMU's side of the imports) and links libqaio-core.a with
# exactly the flags of `pkg-config --libs qaio-core`, nothing else; then it
# runs the main loop with a coroutine, a BH and a timer.
set -eu
srcdir=${QAIO_SRCDIR:-..}
builddir=${QAIO_BUILDDIR:-.}
cc=${QAIO_CC:-cc}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The build tree's qaio-core.pc, with libdir pointing here.
sed "s|^libdir=.*|libdir=$builddir|" "$builddir/qaio-core.pc" > "$work/qaio-core.pc"
libs=$(PKG_CONFIG_PATH="$work" pkg-config --libs qaio-core)
echo "pkg-config --libs qaio-core: $libs"
# shellcheck disable=SC2086
$cc -I"$srcdir/include" -I"$builddir/include" $(pkg-config --cflags glib-2.0) \
    ${QAIO_SANITIZER_FLAGS:-} -o "$work/core_link" "$srcdir/tests/core_link.c" $libs
"$work/core_link"
