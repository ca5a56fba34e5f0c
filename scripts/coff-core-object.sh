#!/bin/sh
# SPDX-License-Identifier: MIT
# libqaio-core.a's one object on Windows (COFF), as on POSIX: every core
# object merged by ld -r, every global outside KEEP (the table's names and
# qaio_*) made local, so that nothing can clash with a QEMU tree's names.
#   coff-core-object.sh OUT KEEP INPUT...   (LD, OBJCOPY from the environment)
# Three COFF quirks shape it (checked with binutils 2.40; see tests/win32/
# exports.sh for what the result must satisfy):
#  - ld -r turns the debug relocations against the COMDAT copies it discards
#    into section-less static symbols named like the kept section, and
#    objcopy then points the kept copy's .pdata at them ("relocation
#    truncated to fit: IMAGE_REL_AMD64_ADDR32NB"): the inputs lose their
#    DWARF first (the DLL and libqaio.a keep theirs);
#  - ld -r leaves each discarded copy's symbol behind as an undefined
#    reference: a second ld -r resolves them to the one definition, else
#    they would stay undefined once that definition is local;
#  - a COMDAT section takes part in the linker's choice of one copy per
#    name even once its symbol is local, and the program's other copies
#    would then lose their definition: the kept copies (one of each now)
#    become ordinary sections, private to the object, before their symbols
#    are localized.
set -eu
out=$1 keep=$2
shift 2
work=$out.work
rm -rf "$work"
mkdir "$work"
trap 'rm -rf "$work"' EXIT
n=0
for input in "$@"; do
    n=$((n + 1))
    case $input in
    *.a) $OBJCOPY --strip-debug "$input" "$work/$n.a" ;;
    *) $OBJCOPY --strip-debug "$input" "$work/$n.o" ;;
    esac
done
# shellcheck disable=SC2046
$LD -r --whole-archive $(ls "$work"/*.a "$work"/*.o 2>/dev/null) -o "$work/merged.o"
$LD -r "$work/merged.o" -o "$work/one.o"
$OBJCOPY \
    --set-section-flags '.text$*=alloc,load,readonly,code,contents' \
    --set-section-flags '.rdata$*=alloc,load,readonly,data,contents' \
    --set-section-flags '.data$*=alloc,load,data,contents' \
    --set-section-flags '.pdata$*=alloc,load,readonly,data,contents' \
    --set-section-flags '.xdata$*=alloc,load,readonly,data,contents' \
    --set-section-flags '.bss$*=alloc' \
    --wildcard --keep-global-symbols="$keep" "$work/one.o" "$out"
