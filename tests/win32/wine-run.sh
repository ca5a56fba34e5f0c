#!/bin/bash
# Runs a Windows program under Wine the way qaio's Windows checks do: a
# private Wine prefix (never ~/.wine), Wine's own messages off, and the
# wineserver stopped afterwards so nothing is left running.  Exits with the
# program's status.
#
# Usage: tests/win32/wine-run.sh PROGRAM.exe [ARGS...]
#   WINEPREFIX defaults to ~/.cache/qaio/wineprefix; QAIO_WINE_TIMEOUT (s,
#   default 600) bounds the run.
set -uo pipefail
wine=/usr/lib/wine/wine64
[ -x "$wine" ] || { echo "wine-run: $wine not found (install wine64)" >&2; exit 77; }
export WINEPREFIX=${WINEPREFIX:-$HOME/.cache/qaio/wineprefix} WINEDEBUG=-all
mkdir -p "$WINEPREFIX"
# a hung program must not hang the caller; the server is stopped either way
timeout "${QAIO_WINE_TIMEOUT:-600}" "$wine" "$@"
status=$?
wineserver -k >/dev/null 2>&1
exit $status
