#!/bin/bash
# Builds Boost.Context's fcontext switch (Boost 1.74's x86-64 Windows
# assembly, from Debian 12's boost1.74 source package) into a static
# library for x86_64-w64-mingw32, in a cache directory outside the tree:
# Boost's code is fetched, never committed.  Reuses the library when present.
#
# Usage: tests/win32/build-boost-fcontext.sh [DIR]   (prints DIR)
#   DIR defaults to ~/.cache/qaio/boost-fcontext-1.74
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:-$HOME/.cache/qaio/boost-fcontext-1.74}
lib=$dir/libfcontext.a
if [ -f "$lib" ]; then echo "$dir"; exit 0; fi

src=$dir/src
mkdir -p "$src"
orig=$(ls "$src"/boost1.74_*.orig.tar.xz 2>/dev/null | tail -1 || true)
if [ -z "$orig" ]; then
    "$here/../../scripts/fetch-debian-source.sh" "$src" boost1.74 >&2
    orig=$(ls "$src"/boost1.74_*.orig.tar.xz | tail -1)
fi
# Only the three Windows x86-64 GAS files and the licence are needed.
tar -xJf "$orig" -C "$src" --strip-components=1 --wildcards \
    'boost/LICENSE_1_0.txt' 'boost/libs/context/src/asm/*_x86_64_ms_pe_gas.asm'
for op in jump make ontop; do
    x86_64-w64-mingw32-gcc-posix -c -x assembler-with-cpp \
        "$src/libs/context/src/asm/${op}_x86_64_ms_pe_gas.asm" -o "$dir/$op.o"
done
x86_64-w64-mingw32-ar rcs "$lib" "$dir"/jump.o "$dir"/make.o "$dir"/ontop.o
cp "$src/LICENSE_1_0.txt" "$dir/"
rm -f "$src"/boost1.74_*   # the 60 MB tarball is not needed any more
echo "$dir"
