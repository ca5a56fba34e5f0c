#!/bin/bash
# Prints QEMU 7.2's and 10.0's AioContext layouts as the probe lays them
# out on this host (which must agree with the "neither engine" offsets of
# ../shared/abi/layout.md and tests/abi/layout-10.0.tsv) and for
# x86_64-w64-mingw32 against the mingw glib, run under Wine.
#
# Usage: tests/win32/layout.sh [PREFIX]   (PREFIX as for build-mingw-glib.sh)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
prefix=${1:-${QAIO_MINGW_GLIB:-$HOME/.cache/qaio/mingw-glib-2.74.6}}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
flags=$(PKG_CONFIG_LIBDIR=$prefix/lib/pkgconfig PKG_CONFIG_PATH= pkg-config --static --cflags --libs glib-2.0)
# QEMU 7.2's, then 10.0's (-DPROBE_QEMU_10_0)
for level in "" -DPROBE_QEMU_10_0; do
    gcc -Wall -Wextra $level "$here/aio_layout_probe.c" $(pkg-config --cflags glib-2.0) -o "$out/probe"
    "$out/probe"
    x86_64-w64-mingw32-gcc-posix -Wall -Wextra $level -static "$here/aio_layout_probe.c" $flags \
        -o "$out/probe.exe"
    "$here/wine-run.sh" "$out/probe.exe"
done
