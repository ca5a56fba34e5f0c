#!/bin/bash
# Builds tests/win32/glib_smoke.c static against a mingw glib prefix with
# pkg-config --static and runs it under Wine.
#
# Usage: tests/win32/glib-smoke.sh [PREFIX]
#   PREFIX as for scripts/build-mingw-glib.sh (the same default).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
prefix=${1:-${QAIO_MINGW_GLIB:-$HOME/.cache/qaio/mingw-glib-2.74.6}}
[ -f "$prefix/lib/pkgconfig/glib-2.0.pc" ] ||
    { echo "glib-smoke: no mingw glib in $prefix (run scripts/build-mingw-glib.sh)" >&2; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
flags=$(PKG_CONFIG_LIBDIR=$prefix/lib/pkgconfig PKG_CONFIG_PATH= pkg-config --static --cflags --libs glib-2.0)
x86_64-w64-mingw32-gcc-posix -O2 -Wall -Wextra -static "$here/glib_smoke.c" $flags -o "$out/glib_smoke.exe"
QAIO_WINE_TIMEOUT=300 "$here/wine-run.sh" "$out/glib_smoke.exe"
