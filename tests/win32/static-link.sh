#!/bin/sh
# SPDX-License-Identifier: MIT
# The Windows static archives are self-sufficient: a program links each one
# with nothing but the documented flags, then runs under Wine.
#  - libqaio.a: tests/win32/static_link.c with `-static` and
#    `pkg-config --static --libs qaio` (README's Windows lines);
#  - libqaio-core.a: tests/core_link.c (a tree without QOM) and
#    tests/core_qom.c (a tree with QOM: the "main-loop" type registers
#    through the archive's weak references), each with tests/qemu_stand_in.c
#    (QEMU's side of the link) and `pkg-config --libs qaio-core`, as
#    tests/core-link.sh does on Linux, plus --static and -static: the mingw
#    glib is an archive, and the program should need no mingw DLL to run.
# Neither names Boost's fcontext: the archives carry it.  Run by make check
# in the Windows build (CC, WINE, PKG_CONFIG, PKG_CONFIG_LIBDIR from it).
set -eu
srcdir=${QAIO_SRCDIR:-..}
builddir=${QAIO_BUILDDIR:-.}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The build tree's .pc files, with libdir pointing at its archives; glib's
# from the mingw prefix (PKG_CONFIG_LIBDIR).
sed "s|^libdir=.*|libdir=$builddir/.libs|" "$builddir/qaio.pc" > "$work/qaio.pc"
sed "s|^libdir=.*|libdir=$builddir|" "$builddir/qaio-core.pc" > "$work/qaio-core.pc"
pc() { PKG_CONFIG_PATH="$work" "$PKG_CONFIG" "$@"; }
cflags="-I$srcdir -I$srcdir/include -I$builddir/include $(pc --cflags glib-2.0)"

libs=$(pc --static --libs qaio)
echo "-static \`pkg-config --static --libs qaio\`: -static $libs"
# shellcheck disable=SC2086
$CC $cflags -o "$work/static_link.exe" "$srcdir/tests/win32/static_link.c" -static $libs
libs=$(pc --static --libs qaio-core)
echo "-static \`pkg-config --static --libs qaio-core\`: -static $libs"
for exe in core_link core_qom; do
    # shellcheck disable=SC2086
    $CC $cflags -o "$work/$exe.exe" "$srcdir/tests/$exe.c" \
        "$srcdir/tests/qemu_stand_in.c" -static $libs
done

# What each program imports: Windows' own DLLs only.
for exe in static_link core_link core_qom; do
    $OBJDUMP -p "$work/$exe.exe" | awk '/DLL Name:/ { print $3 }' > "$work/$exe.imports"
    if grep -v -i -E '^(kernel32|user32|advapi32|shell32|ole32|ws2_32|msvcrt|api-ms-win-[a-z0-9-]+)\.dll$' \
            "$work/$exe.imports"; then
        echo "FAIL: $exe.exe imports the DLLs above"
        exit 1
    fi
done
runner="$srcdir/tests/win32/wine-test.sh"
sh "$runner" "$work/static_link.exe"
sh "$runner" "$work/core_link.exe"
sh "$runner" "$work/core_qom.exe"
