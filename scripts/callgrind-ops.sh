#!/bin/sh
# SPDX-License-Identifier: MIT
# Instructions per operation of the hot paths (bench/cg_probe.c), counted by
# callgrind: the difference between a run of 2N and a run of N operations,
# divided by N, so that start-up and exit cancel out.  Repeatable for one
# build whatever load the machine has.
#   scripts/callgrind-ops.sh [BUILDDIR [OP...]]    (default: build, every op)
# timers10 is the timers suite's case with 10 timers pending; uv_timers10 is
# libuv's uv_timer_start+stop in the same situation, its peer there.
# CG_PROBE=PATH measures a probe built elsewhere (an older tree's library,
# linked with an rpath) instead of BUILDDIR's.
set -eu
builddir=${1:-build}
[ $# -gt 0 ] && shift
ops=${*:-enter_yield lifecycle comutex timer timers10 uv_timers10 bh bh_blocking fd}
if [ -n "${CG_PROBE:-}" ]; then
    probe=$CG_PROBE run=
else
    probe="$builddir/bench/cg_probe" run="$builddir/libtool --mode=execute"
    make -C "$builddir" -s bench/cg_probe >/dev/null
fi
n=20000
ir() {
    QAIO_FDMON=${QAIO_FDMON:-epoll} $run \
        valgrind --tool=callgrind --callgrind-out-file=/dev/null "$probe" "$1" "$2" 2>&1 |
        sed -n 's/.*Collected : //p'
}
for op in $ops; do
    a=$(ir "$op" $n)
    b=$(ir "$op" $((2 * n)))
    echo "$op: $(( (b - a) / n )) instructions per operation"
done
