#!/bin/sh
# SPDX-License-Identifier: MIT
# Every function that qaio's installed headers declare is defined by
# libqaio: gcc -aux-info lists the extern declarations of every header under
# include/, a generated program takes the address of each one, and it must
# link against libqaio.so alone.  A declaration without a definition makes
# the link fail and names the function.
set -eu
srcdir=${QAIO_SRCDIR:-..}
builddir=${QAIO_BUILDDIR:-.}
cc=${QAIO_CC:-cc}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cflags="-I$srcdir/include -I$builddir/include $(pkg-config --cflags glib-2.0) ${QAIO_SANITIZER_FLAGS:-}"

# One translation unit including every public header.
(cd "$srcdir/include" && find . -name '*.h' | sed 's|^\./||' | sort) |
    awk '{ printf "#include \"%s\"\n", $0 }' > "$work/all.c"
$cc $cflags -fsyntax-only -aux-info "$work/decls" "$work/all.c"

# "/* $srcdir/include/x/y.h:NN:NC */ extern T name (args);" -> name; only
# our headers' lines, not glib's or libc's.
awk -v p="/* $srcdir/include/" 'index($0, p) == 1 && / \*\/ extern /' "$work/decls" |
    sed -E 's|^/\* [^*]*\*/ extern ||' |
    grep '(' |
    sed -E 's/^[^(]*[^A-Za-z0-9_(]([A-Za-z_][A-Za-z0-9_]*) \(.*/\1/' |
    sort -u > "$work/names"
n=$(wc -l < "$work/names")
if [ "$n" -lt 100 ]; then
    echo "FAIL: only $n declared functions found; the extraction is broken" >&2
    exit 1
fi

{
    cat "$work/all.c"
    echo "static void (*const declared[])(void) = {"
    sed 's/.*/    (void (*)(void))\&&,/' "$work/names"
    echo "};"
    echo "int main(void) { return declared[0] == 0; }"
} > "$work/prog.c"

if ! $cc $cflags -o "$work/prog" "$work/prog.c" -L"$builddir/.libs" -lqaio \
        -Wl,-rpath,"$builddir/.libs" $(pkg-config --libs glib-2.0) 2> "$work/err"; then
    echo "FAIL: declared in include/ but not defined by libqaio:" >&2
    grep -o "undefined reference to \`[^']*'" "$work/err" | sort -u >&2 || cat "$work/err" >&2
    exit 1
fi
echo "PASS: all $n functions declared in include/ link against libqaio"
