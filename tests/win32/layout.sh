#!/bin/bash
# Prints QEMU 7.2's AioContext layout as the probe lays it out on this host
# (which must agree with ../shared/abi/layout.md's "neither engine" offsets)
# and for x86_64-w64-mingw32 against the mingw glib, run under Wine.
#
# Usage: tests/win32/layout.sh [PREFIX]   (PREFIX as for build-mingw-glib.sh)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
prefix=${1:-${QAIO_MINGW_GLIB:-$HOME/.cache/qaio/mingw-glib-2.74.6}}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
gcc -Wall -Wextra "$here/aio_layout_probe.c" $(pkg-config --cflags glib-2.0) -o "$out/probe"
"$out/probe"
flags=$(PKG_CONFIG_LIBDIR=$prefix/lib/pkgconfig PKG_CONFIG_PATH= pkg-config --static --cflags --libs glib-2.0)
x86_64-w64-mingw32-gcc-posix -Wall -Wextra -static "$here/aio_layout_probe.c" $flags -o "$out/probe.exe"
"$here/wine-run.sh" "$out/probe.exe"
