#!/bin/sh
# SPDX-License-Identifier: MIT
# Generates what the build needs from the export table (cabi/exports.tsv,
# whose header comment says what each column means).
#   gen-exports.sh MODE TABLE API PLATFORM CONDITIONS
#     MODE        names   the symbols, one a line
#                 map     an anonymous version script for libqaio.so
#                 header  check_abi.c's prototype rows, T_EXPORTS_<CONDITION>(F, D)
#     API         the QEMU API level built (7.2)
#     PLATFORM    posix or win32: rows of that platform and "all"
#     CONDITIONS  the conditions built, separated by commas or blanks;
#                 the header ignores them and writes a macro per condition
# Only implemented rows ("done") are ever written.  A malformed table fails.
set -eu
[ $# -eq 5 ] || { echo "usage: $0 names|map|header TABLE API PLATFORM CONDITIONS" >&2; exit 2; }
mode=$1 table=$2 api=$3 platform=$4 conditions=$5

exec awk -F '\t' -v mode="$mode" -v api="$api" -v platform="$platform" \
    -v conditions="$conditions" -v table="$table" '
function fail(why) {
    printf "%s:%d: %s\n", table, NR, why > "/dev/stderr"
    failed = 1
    exit 1
}
function member(word, list) {
    return index("," list ",", "," word ",") > 0
}
BEGIN {
    known_conditions = "always,linux-aio,io_uring,runtime"
    gsub(/[ \t]+/, ",", conditions)
    n = 0
}
/^#/ || /^[ \t]*$/ { next }
{
    if (NF != 9) fail("expected 9 tab-separated columns, found " NF)
    name = $1; kind = $2; platform_col = $4; api_col = $5
    condition = $6; state = $7; ret = $8; params = $9
    if (kind !~ /^[TDB]$/) fail(name ": kind must be T, D or B")
    if (platform_col !~ /^(posix|win32|all)$/) fail(name ": platform must be posix, win32 or all")
    if (!member(condition, known_conditions)) fail(name ": unknown condition " condition)
    if (state !~ /^(done|todo)$/) fail(name ": state must be done or todo")
    if (state == "done" && ret == "-") fail(name ": an implemented row needs its type")
    if (state == "done" && (kind == "T") != (params != "-")) fail(name ": a function needs a parameter list, data none")
    if (state != "done" || !member(api, api_col)) next
    if (platform_col != "all" && platform_col != platform) next
    key = name
    if (key in seen) fail(name ": listed twice for API " api " on " platform)
    seen[key] = 1
    n++
    names[n] = name; conds[n] = condition
    rows[n] = (kind == "T") ? sprintf("F(%s, %s, %s)", name, ret, params) \
                            : sprintf("D(%s, %s)", name, ret)
}
END {
    if (failed) exit 1
    if (n == 0) { print table ": no row for API " api " on " platform > "/dev/stderr"; exit 1 }
    if (mode == "names") {
        for (i = 1; i <= n; i++) if (member(conds[i], conditions)) print names[i]
    } else if (mode == "map") {
        # An anonymous version node: it only decides what is exported, and
        # the names stay unversioned, as QEMU'"'"'s own objects define them.
        print "{"; print "  global:"
        for (i = 1; i <= n; i++) if (member(conds[i], conditions)) print "    " names[i] ";"
        print "    qaio_*;"; print "  local: *;"; print "};"
    } else if (mode == "header") {
        print "/* Generated from " table " by scripts/gen-exports.sh: do not edit. */"
        print "/* F(name, return type, (parameters)) for functions, D(name, type) for"
        print " * data: QEMU " api "'"'"'s types of the symbols built on " platform ". */"
        split(known_conditions, order, ",")
        for (c = 1; c in order; c++) {
            macro = toupper(order[c]); gsub(/[^A-Z0-9]/, "_", macro)
            printf "#define T_EXPORTS_%s(F, D)", macro
            for (i = 1; i <= n; i++) if (conds[i] == order[c]) printf " \\\n    %s", rows[i]
            printf "\n"
        }
    } else {
        print "unknown mode " mode > "/dev/stderr"; exit 2
    }
}' "$table"
