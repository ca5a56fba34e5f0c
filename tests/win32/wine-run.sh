#!/bin/bash
# Runs a Windows program under Wine the way qaio's Windows checks do: a
# private Wine prefix (never ~/.wine), Wine's own messages off.  The
# wineserver is not stopped: other programs (make check's, in parallel) may
# share the prefix, and it leaves by itself a few seconds after the last.
# Exits with the program's status.
#
# Usage: tests/win32/wine-run.sh PROGRAM.exe [ARGS...]
#   WINEPREFIX defaults to ~/.cache/qaio/wineprefix; QAIO_WINE_TIMEOUT (s,
#   default 600) bounds the run.
set -uo pipefail
wine=/usr/lib/wine/wine64
[ -x "$wine" ] || { echo "wine-run: $wine not found (install wine64)" >&2; exit 77; }
export WINEPREFIX=${WINEPREFIX:-$HOME/.cache/qaio/wineprefix} WINEDEBUG=-all
mkdir -p "$WINEPREFIX"
# a hung program must not hang the caller
exec timeout "${QAIO_WINE_TIMEOUT:-600}" "$wine" "$@"
