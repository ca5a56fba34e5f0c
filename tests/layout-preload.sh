#!/bin/sh
# SPDX-License-Identifier: MIT
# LD_PRELOAD experiments, as README promises them:
# 1. tests/layout_probe.c, built against this build's headers, runs with a
#    second qaio build preloaded that was configured with other engines
#    (--with-linux-aio=no --with-io-uring=no, the same --with-qemu-api; kept
#    in alt-build/ and
#    rebuilt incrementally): the header inlines arm a timer on
#    AioContext.tlg, which must fire, and the preloaded build must be the
#    one that answers (its description names no engine but threads).
# 2. The probe compiled for another AioContext layout (a copy of
#    qaio/config.h saying io_uring, tlg at 472) must be refused at start by
#    this build, with a message naming both layouts.
# Skipped in sanitizer builds (the preloaded build has no sanitizer runtime).
set -eu
srcdir=${QAIO_SRCDIR:-..}
builddir=${QAIO_BUILDDIR:-.}
cc=${QAIO_CC:-cc}
if grep -q '^#define QAIO_SANITIZERS 1' "$builddir/config.h" 2>/dev/null; then
    echo "SKIP: sanitizer build"
    exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
glib_cflags=$(pkg-config --cflags glib-2.0)
glib_libs=$(pkg-config --libs glib-2.0)
# This build's QEMU API level (the preloaded build has the same) and the
# layout-and-level string a program and the library must agree on.
config="$builddir/include/qaio/config.h"
api=$(sed -n 's/^#define QAIO_QEMU_API "\(.*\)"/\1/p' "$config")
abi=$(sed -n 's/^#define QAIO_AIO_CONTEXT_ABI "\(.*\)"/\1/p' "$config")

build_probe() {  # $1: output, $2: extra include dir searched first (or "")
    # shellcheck disable=SC2086
    $cc ${2:+-I"$2"} -I"$srcdir/include" -I"$builddir/include" $glib_cflags \
        -o "$1" "$srcdir/tests/layout_probe.c" -L"$builddir/.libs" -lqaio \
        -Wl,-rpath,"$builddir/.libs" $glib_libs
}

build_probe "$work/probe" ""
own=$("$work/probe")
echo "this build:     $own"

# 1. Another build, other engines, same layout, preloaded.
alt="$builddir/alt-build"
mkdir -p "$alt"
if [ ! -f "$alt/Makefile" ]; then
    (cd "$alt" && "$srcdir/configure" --with-linux-aio=no --with-io-uring=no \
        --with-qemu-api="$api" --disable-static > configure.log 2>&1) ||
        { cat "$alt/configure.log"; exit 1; }
fi
make -C "$alt" -j2 libqaio.la > "$alt/make.log" 2>&1 || { tail -n 30 "$alt/make.log"; exit 1; }
preloaded=$(LD_PRELOAD="$alt/.libs/libqaio.so.0" "$work/probe")
echo "with alt-build: $preloaded"
case $preloaded in
*"engines: threads; AioContext layout: $abi"*) ;;
*) echo "FAIL: the preloaded build did not answer" >&2; exit 1 ;;
esac
[ "$preloaded" != "$own" ] || { echo "FAIL: same answer with and without preload" >&2; exit 1; }

# 2. A program built for another layout is refused, naming both.
mkdir -p "$work/other/qaio"
sed -e 's/^#define QAIO_AIO_CONTEXT_ABI ".*"/#define QAIO_AIO_CONTEXT_ABI "io_uring"/' \
    -e 's/^#define QAIO_AIO_CONTEXT_TLG_OFFSET .*/#define QAIO_AIO_CONTEXT_TLG_OFFSET 472/' \
    "$config" > "$work/other/qaio/config.h"
build_probe "$work/probe-other" "$work/other"
if "$work/probe-other" > "$work/out" 2> "$work/err"; then
    echo "FAIL: a program built for layout io_uring ran on this build" >&2
    exit 1
fi
cat "$work/err"
grep -q '"io_uring"' "$work/err"
grep -q "\"$abi\"" "$work/err"
echo "PASS: preloaded build answered; other layout refused"
