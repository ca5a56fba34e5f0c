#!/bin/bash
# Builds the two coroutine-switch ping-pongs for Windows (fibers, Boost's
# fcontext), runs each RUNS times under Wine and prints the median
# ns/switch.  A measurement aid for choosing the Win32 coroutine backend,
# not a test.  Figures under Wine are not Windows figures.
#
# Usage: tests/win32/switch-bench.sh [RUNS] [ROUNDS]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
runs=${1:-5}
rounds=${2:-200000}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cc="x86_64-w64-mingw32-gcc-posix -O2 -static -Wall -Wextra"

fcontext=$("$here/build-boost-fcontext.sh")
$cc "$here/fiber_switch_bench.c" -o "$out/fiber.exe"
$cc "$here/fcontext_switch_bench.c" "$fcontext/libfcontext.a" -o "$out/fcontext.exe"

for prog in fiber fcontext; do
    for ((i = 0; i < runs; i++)); do
        "$here/wine-run.sh" "$out/$prog.exe" "$rounds" 2>/dev/null | tee -a "$out/$prog.txt"
    done
    median=$(awk '{print $2}' "$out/$prog.txt" | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')
    echo "$prog: median $median ns/switch (best burst of each run) over $runs runs"
done
