#!/bin/sh
# SPDX-License-Identifier: MIT
# Generates check_abi's layout rows from a measured QEMU layout table
# (tests/abi/layout-LEVEL.tsv: struct, field, offset, size, rule).
#   gen-layouts.sh TABLE
# Writes, for every struct with "exact" rows:
#   #define T_LAYOUT_<struct>(S, O)  S(struct, size) O(struct, field, offset)...
# and T_LAYOUT_TABLE_TYPES(X), X(struct) once per struct, so that the test
# instantiates the rows of the structs qaio's headers declare.  AioContext's
# offsets from tlg on depend on the engines of the QEMU build matched
# (include/block/aio-context-layouts.tsv): they are written relative to
# T_TLG_OFFSET, the configured layout's.  A malformed table fails.
set -eu
[ $# -eq 1 ] || { echo "usage: $0 TABLE" >&2; exit 2; }
table=$1

exec awk -F '\t' -v table="$table" '
function fail(why) {
    printf "%s:%d: %s\n", table, NR, why > "/dev/stderr"
    failed = 1
    exit 1
}
/^#/ || /^[ \t]*$/ { next }
{
    if (NF < 5) fail("expected 5 tab-separated columns, found " NF)
    type = $1; field = $2; offset = $3; size = $4; rule = $5
    if (rule !~ /^(exact|free|grow-ok)$/) fail(type "." field ": unknown rule " rule)
    if (rule != "exact" || type == "(const)") next
    if (!(type in rows)) { order[++n] = type; rows[type] = "" }
    if (field == "(sizeof)") {
        if (size !~ /^[0-9]+$/) fail(type ": size must be a number")
        row = sprintf("S(%s, %s)", type, size)
    } else {
        if (offset !~ /^[0-9]+$/) fail(type "." field ": offset must be a number")
        if (type == "AioContext") {
            ctx_field[++n_ctx] = field; ctx_offset[n_ctx] = offset
            if (field == "tlg") tlg = offset
            next
        }
        row = sprintf("O(%s, %s, %s)", type, field, offset)
    }
    rows[type] = rows[type] " \\\n    " row
}
END {
    if (failed) exit 1
    if (n == 0) { print table ": no exact row" > "/dev/stderr"; exit 1 }
    if (n_ctx && tlg == "") { print table ": no exact AioContext tlg row" > "/dev/stderr"; exit 1 }
    for (i = 1; i <= n_ctx; i++) {
        d = ctx_offset[i] - tlg
        at = d < 0 ? ctx_offset[i] : d == 0 ? "T_TLG_OFFSET" : "T_TLG_OFFSET + " d
        rows["AioContext"] = rows["AioContext"] " \\\n    O(AioContext, " ctx_field[i] ", " at ")"
    }
    print "/* Generated from " table " by scripts/gen-layouts.sh: do not edit. */"
    printf "#define T_LAYOUT_TABLE_TYPES(X)"
    for (i = 1; i <= n; i++) printf " \\\n    X(%s)", order[i]
    printf "\n"
    for (i = 1; i <= n; i++) printf "#define T_LAYOUT_%s(S, O)%s\n", order[i], rows[order[i]]
}' "$table"
