#!/bin/sh
# SPDX-License-Identifier: MIT
# The Windows libraries export what the export table built (exports-core.list,
# exports-runtime.list, from cabi/exports.tsv) and, beyond it, only qaio_
# names: the DLL's export table (objdump -p) against both lists, and
# libqaio-core.a's global definitions (nm) against the core list.  And the
# DLL imports only Windows' own DLLs: the C++ runtime, libgcc and winpthread
# are inside it, glib is static, so a user needs libqaio-0.dll alone.  Run on
# the build host by make check (no Wine needed); NM and OBJDUMP from configure.
set -eu
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
dll=$(ls .libs/libqaio-*.dll)
$OBJDUMP -p "$dll" |
    awk '/\[Ordinal\/Name Pointer\] Table/ { on = 1; next } on && NF == 0 { on = 0 }
         on { print $NF }' | grep -v '^qaio_' | sort > "$dir/dll"
cat exports-core.list exports-runtime.list | sort > "$dir/want-dll"
# libqaio-core.a: no other global definition at all (no C++ name, inline
# copy, emulated-TLS variable or Boost fcontext function: scripts/
# coff-core-object.sh made them local).
$NM -g --defined-only libqaio-core.a | awk 'NF == 3 { print $3 }' | grep -v '^qaio_' |
    sort -u > "$dir/core"
sort exports-core.list > "$dir/want-core"
status=0
# Windows' DLLs, as the C runtime, glib, winpthread and qaio call them.
$OBJDUMP -p "$dll" | awk '/DLL Name:/ { print $3 }' > "$dir/imports"
if grep -v -i -E '^(kernel32|user32|advapi32|shell32|ole32|ws2_32|msvcrt|api-ms-win-[a-z0-9-]+)\.dll$' \
        "$dir/imports" > "$dir/foreign"; then
    echo "FAIL: $dll imports DLLs that Windows does not ship:"
    cat "$dir/foreign"
    status=1
fi
if ! diff "$dir/want-dll" "$dir/dll" > "$dir/diff"; then
    echo "FAIL: $dll exports differ from the table (< missing, > extra):"
    cat "$dir/diff"
    status=1
fi
if ! diff "$dir/want-core" "$dir/core" > "$dir/diff"; then
    echo "FAIL: libqaio-core.a defines other globals than the table's (< missing, > extra):"
    cat "$dir/diff"
    status=1
fi
[ -s "$dir/dll" ] && [ -s "$dir/core" ] || { echo "FAIL: no export found"; status=1; }
[ $status = 0 ] && echo "PASS: $(wc -l < "$dir/dll") table names in $dll, $(wc -l < "$dir/core") in libqaio-core.a; imports: $(tr '\n' ' ' < "$dir/imports")"
exit $status
