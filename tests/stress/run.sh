#!/bin/sh
# SPDX-License-Identifier: MIT
# make check-stress: each stress program given as an argument for
# QAIO_STRESS_SECONDS (default 20) seconds, then the model-based test with
# QAIO_MODEL_SEEDS (default 20000) seeds, then the valgrind runs that are too
# slow for make check (tests/valgrind.sh --heavy; skipped in sanitizer
# builds).  Every program runs to its end; the status is 1 if any failed.
builddir=${QAIO_BUILDDIR:-.}
srcdir=${QAIO_SRCDIR:-.}
QAIO_STRESS_SECONDS=${QAIO_STRESS_SECONDS:-20}
QAIO_MODEL_SEEDS=${QAIO_MODEL_SEEDS:-20000}
export QAIO_STRESS_SECONDS QAIO_MODEL_SEEDS QAIO_SRCDIR QAIO_BUILDDIR

failed=
start=$(date +%s)
run() {
    name=$1
    shift
    t0=$(date +%s)
    "$@"
    rc=$?
    echo "== $name: exit $rc after $(( $(date +%s) - t0 )) s"
    if [ "$rc" != 0 ] && [ "$rc" != 77 ]; then
        failed="$failed $name"
    fi
}

for prog in "$@"; do
    run "$(basename "$prog")" "$builddir/$prog"
done
# CK_FORK=no: one process runs the seeds (the model test has one test).
[ -x "$builddir/tests/check_model" ] && run check_model env CK_FORK=no CK_DEFAULT_TIMEOUT=0 "$builddir/tests/check_model"
run valgrind-heavy "$srcdir/tests/valgrind.sh" --heavy

echo "check-stress: $(( $(date +%s) - start )) s"
if [ -n "$failed" ]; then
    echo "check-stress FAILED:$failed"
    exit 1
fi
echo "check-stress passed"
