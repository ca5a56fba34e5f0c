#!/bin/sh
# SPDX-License-Identifier: MIT
# README.md's knob table from the knob table (lib/support/knobs.def).
#   gen-knob-table.sh KNOBS.DEF            the table, in Markdown
#   gen-knob-table.sh KNOBS.DEF README.md  README.md with the table between
#                                          its knob markers replaced
# tests/readme-knobs.sh checks that README.md is current; `make
# update-readme` rewrites it.
set -eu
[ $# -ge 1 ] && [ $# -le 2 ] || { echo "usage: $0 KNOBS.DEF [README.md]" >&2; exit 2; }
def=$1
begin='<!-- knobs: generated from lib/support/knobs.def by scripts/gen-knob-table.sh -->'
end='<!-- end of knobs -->'

table() {
    awk '
    # The quoted and bare arguments of one QAIO_KNOB(...) line.
    function fields(line,    n, c, s, i) {
        sub(/^QAIO_KNOB\(/, "", line); sub(/\)[ \t]*$/, "", line)
        n = 0
        while (length(line) > 0) {
            sub(/^[ \t,]+/, "", line)
            if (line == "") break
            if (substr(line, 1, 1) == "\"") {
                s = ""
                for (i = 2; i <= length(line); i++) {
                    c = substr(line, i, 1)
                    if (c == "\\") { i++; s = s substr(line, i, 1); continue }
                    if (c == "\"") break
                    s = s c
                }
                line = substr(line, i + 1)
            } else {
                i = index(line, ",")
                if (i == 0) i = length(line) + 1
                s = substr(line, 1, i - 1); sub(/[ \t]+$/, "", s)
                line = substr(line, i)
            }
            f[++n] = s
        }
        return n
    }
    function cell(s) { gsub(/\|/, "\\|", s); return s }
    BEGIN {
        print "| variable | read | default | effect |"
        print "|---|---|---|---|"
    }
    # The moments come first in the table: QAIO_KNOB_WHEN(id, words).
    /^QAIO_KNOB_WHEN\(/ {
        sub(/^QAIO_KNOB_WHEN\(/, "QAIO_KNOB(")
        if (fields($0) != 2) {
            printf "%s:%d: malformed row\n", FILENAME, FNR > "/dev/stderr"; exit 1
        }
        when[f[1]] = f[2]
        next
    }
    /^QAIO_KNOB\(/ {
        if (fields($0) != 7 || !(f[6] in when)) {
            printf "%s:%d: malformed row\n", FILENAME, FNR > "/dev/stderr"; exit 1
        }
        printf "| `%s=%s` | %s | %s | %s |\n", f[2], cell(f[3]), when[f[6]], cell(f[5]), cell(f[7])
    }' "$def"
}

if [ $# -eq 1 ]; then
    table
    exit 0
fi
readme=$2
grep -qxF "$begin" "$readme" && grep -qxF "$end" "$readme" ||
    { echo "$readme: no knob markers" >&2; exit 1; }
generated=$(table)
# Through the environment: awk -v would take the table's backslashes as escapes.
QAIO_KNOB_TABLE=$generated QAIO_BEGIN=$begin QAIO_END=$end awk '
    BEGIN { begin = ENVIRON["QAIO_BEGIN"]; end = ENVIRON["QAIO_END"] }
    $0 == begin { print; print ENVIRON["QAIO_KNOB_TABLE"]; skip = 1; next }
    $0 == end { skip = 0 }
    !skip' "$readme"
