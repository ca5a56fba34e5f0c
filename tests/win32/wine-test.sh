#!/bin/sh
# make check's runner for the Windows build's tests (LOG_COMPILER): runs
# PROGRAM.exe under $WINE (configure's) in the private prefix of
# tests/win32/wine-run.sh, or skips (77) saying why when there is no Wine.
# No `wineserver -k` here: tests run in parallel in one prefix, and the
# server leaves by itself a few seconds after its last program.  A shell
# script (a check of the build's files on the build host) runs without Wine.
case $1 in
*.sh) exec sh "$@" ;;
esac
if [ -z "${WINE:-}" ] || ! command -v "$WINE" >/dev/null 2>&1; then
    echo "SKIP: no Wine to run Windows programs (install wine64; configure looks for wine64 or wine, also in /usr/lib/wine)"
    exit 77
fi
WINEPREFIX=${WINEPREFIX:-$HOME/.cache/qaio/wineprefix}
WINEDEBUG=-all
export WINEPREFIX WINEDEBUG
mkdir -p "$WINEPREFIX"
exec timeout "${QAIO_WINE_TIMEOUT:-600}" "$WINE" "$@"
