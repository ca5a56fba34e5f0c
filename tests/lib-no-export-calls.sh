#!/bin/sh
# SPDX-License-Identifier: MIT
# lib/ reaches the core's own services through C++ calls, never through a
# name the core exports: inside libqaio.so such a call goes through the PLT
# and a program defining the same name would take it over.  Fails, naming
# the object and the name, when an object compiled from lib/ has an
# undefined reference to a global symbol of libqaio-core.a (whose globals
# are exactly the core's exports).  The QEMU imports the support runtime
# stands in for (error_*, iov_*, ...) are not core exports and stay allowed.
set -eu
builddir=${QAIO_BUILDDIR:-.}
nm=${NM:-nm}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

$nm -g --defined-only "$builddir/libqaio-core.a" 2>/dev/null |
    awk 'NF >= 3 { print $NF }' | sort -u > "$work/exports"
count=$(wc -l < "$work/exports")
if [ "$count" -lt 100 ]; then
    echo "FAIL: only $count global symbols in $builddir/libqaio-core.a" >&2
    exit 1
fi

objects=$(find "$builddir/lib" -name 'libqaio_core_objs_la-*.o' -o \
    -name 'libqaio_runtime_la-*.o' | sort)
if [ -z "$objects" ]; then
    echo "FAIL: no object of lib/ under $builddir/lib" >&2
    exit 1
fi

status=0
for o in $objects; do
    $nm -u "$o" | awk '{ print $NF }' | sort -u > "$work/undefined"
    hits=$(comm -12 "$work/exports" "$work/undefined" | tr '\n' ' ')
    if [ -n "$hits" ]; then
        echo "FAIL: ${o#"$builddir"/} calls exported names: $hits"
        status=1
    fi
done
[ "$status" = 0 ] && echo "PASS: $(echo "$objects" | wc -l) objects of lib/, none calls one of $count exported names"
exit $status
