#!/bin/sh
# SPDX-License-Identifier: MIT
# The thread pool's costs per job, which do not depend on the machine's
# load: system calls (strace -f -c), context switches (getrusage) and, with
# CALLGRIND=1, instructions (callgrind), each the difference between runs of
# 2N and N jobs divided by N, so that start-up and exit cancel out.
#   scripts/pool-costs.sh [BUILDDIR [SHAPE...]]   (default: build, every shape)
# A shape is JOB:QD:PATH, JOB empty or pread (4 KiB from /dev/shm), PATH aio
# (thread_pool_submit_aio) or co (thread_pool_submit_co).
# POOL_PROBE=PATH measures a probe built elsewhere.
set -eu
builddir=${1:-build}
[ $# -gt 0 ] && shift
shapes=${*:-empty:1:aio empty:64:aio pread:64:aio pread:64:co}
if [ -n "${POOL_PROBE:-}" ]; then
    probe=$POOL_PROBE
else
    probe=$builddir/bench/pool_probe
    make -C "$builddir" -s bench/pool_probe >/dev/null
fi
n=${N:-20000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
calls() {  # "name count" lines of one run
    strace -f -qq -c -o "$tmp/trace" "$probe" "$@" >/dev/null
    awk '$1 ~ /^[0-9.]+$/ && NF >= 5 && $NF != "total" { print $NF, $4 }' "$tmp/trace"
}
per_job() {  # per_job FILE_N FILE_2N: "name calls-per-job" for calls that grow
    awk -v n="$n" 'NR == FNR { a[$1] = $2; next }
        { d = ($2 - a[$1]) / n; if (d >= 0.005) printf "  %-16s %.3f\n", $1, d; t += d }
        END { printf "  %-16s %.3f\n", "total", t }' "$1" "$2"
}
for s in $shapes; do
    job=${s%%:*} rest=${s#*:} qd=${s#*:} qd=${qd%%:*} path=${rest#*:}
    echo "$job qd$qd $path: system calls per job"
    calls "$job" "$qd" "$n" "$path" > "$tmp/a"
    calls "$job" "$qd" $((2 * n)) "$path" > "$tmp/b"
    per_job "$tmp/a" "$tmp/b"
    "$probe" "$job" "$qd" $((2 * n)) "$path" | sed 's/^/  /'
    if [ "${CALLGRIND:-0}" = 1 ]; then
        ir() {
            valgrind --tool=callgrind --callgrind-out-file=/dev/null "$probe" "$job" "$qd" "$1" "$path" 2>&1 |
                sed -n 's/.*Collected : //p'
        }
        a=$(ir "$n") b=$(ir $((2 * n)))
        echo "  instructions per job (every thread): $(( (b - a) / n ))"
    fi
done
