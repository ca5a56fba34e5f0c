#!/bin/bash
# Links tests/win32/check_notifier_lockcnt.c with the Windows objects of the
# event notifier and QemuLockCnt (from a build-win32/ tree, before the
# Windows libraries link) and runs it under Wine.
#
# Usage: tests/win32/notifier-smoke.sh BUILDDIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
b=$(cd "${1:?usage: $0 BUILDDIR}" && pwd)
prefix=${QAIO_MINGW_GLIB:-$HOME/.cache/qaio/mingw-glib-2.74.6}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
flags=$(PKG_CONFIG_LIBDIR=$prefix/lib/pkgconfig PKG_CONFIG_PATH= pkg-config --static --cflags --libs glib-2.0)
objs="cabi/qemu/.libs/libqaio_core_objs_la-event_notifier-win32.o
lib/win32/.libs/libqaio_core_objs_la-event_notifier.o
cabi/qemu/.libs/libqaio_core_objs_la-lockcnt.o
lib/loop/.libs/libqaio_core_objs_la-lockcnt.o
lib/support/.libs/libqaio_core_objs_la-fatal.o"
x86_64-w64-mingw32-g++-posix -O2 -Wall -static -x c "$here/check_notifier_lockcnt.c" -x none \
    -D__USE_MINGW_ANSI_STDIO=1 -I"$src" -I"$src/include" -I"$b/include" \
    $(for o in $objs; do echo "$b/$o"; done) $flags -lsynchronization -o "$out/check.exe"
QAIO_WINE_TIMEOUT=120 "$here/wine-run.sh" "$out/check.exe"
