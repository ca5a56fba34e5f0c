#!/bin/sh
# Installs what qaio needs on a fresh Debian 12 machine (as root), then
# configures and builds it in build/.  Used by both README commands.
set -eu
cd "$(dirname "$0")/.."

pkgs="build-essential autoconf automake libtool autoconf-archive pkg-config
libglib2.0-dev libaio-dev liburing-dev libboost-context-dev check
libevent-dev libuv1-dev fio valgrind"
missing=
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "setup: missing packages:$missing (run as root to install them)" >&2
        exit 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi

[ -x configure ] || autoreconf --install --force
mkdir -p build
cd build
[ -f Makefile ] || ../configure --with-linux-aio=yes --with-io-uring=yes "$@"
make -j2
