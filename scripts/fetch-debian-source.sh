#!/bin/bash
# Downloads Debian 12 source packages (without unpacking them) into DIR,
# through a private deb-src list and index directory under DIR/.apt, so the
# machine's own apt configuration is neither needed nor changed.
#
# Usage: scripts/fetch-debian-source.sh DIR PACKAGE[=VERSION]...
set -euo pipefail

[ $# -ge 2 ] || { echo "usage: $0 DIR PACKAGE[=VERSION]..." >&2; exit 2; }
dir=$1; shift
apt=$dir/.apt
mkdir -p "$apt/lists/partial"
cat >"$apt/sources.list" <<EOF
deb-src http://deb.debian.org/debian bookworm main
deb-src http://deb.debian.org/debian-security bookworm-security main
EOF
opts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
      -o "Dir::State::Lists=$apt/lists" -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache=)
# apt drops to the _apt user for downloads, which may not write to DIR
[ "$(id -u)" != 0 ] || opts+=(-o APT::Sandbox::User=root)

echo "fetch-debian-source: reading the deb-src indexes"
apt-get -qq "${opts[@]}" update ||
    { echo "fetch-debian-source: apt-get update of the deb-src list failed (network?)" >&2; exit 1; }
(cd "$dir" && apt-get -qq "${opts[@]}" source --download-only "$@") ||
    { echo "fetch-debian-source: apt-get source --download-only $* failed" >&2; exit 1; }
