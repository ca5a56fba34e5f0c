#!/bin/bash
# Builds a static glib 2.74.6 for x86_64-w64-mingw32 from Debian 12's own
# source packages (glib2.0, libffi, pcre2) plus zlib from libz-mingw-w64-dev
# and a no-op libintl, because Debian ships no mingw glib and the Windows
# build of qaio needs one (QEMU's AioContext is a GSource on Windows too).
#
# Usage: scripts/build-mingw-glib.sh [PREFIX]
#   PREFIX defaults to $QAIO_MINGW_GLIB, else ~/.cache/qaio/mingw-glib-2.74.6:
#   outside any worktree, so every worktree and build directory shares one
#   build, `git clean` and `make distclean` keep it, and CI can cache it.
# Sources and build trees go to PREFIX.work/; the downloaded sources stay
# there, so a rerun after a failure needs no network.  A prefix holding a
# stamp with the same versions is reused as it is.  Missing Debian packages
# are installed when run as root (like scripts/setup.sh).
set -euo pipefail

host=x86_64-w64-mingw32
glib_version=2.74.6
libffi_version=3.4.4
pcre2_version=10.42
# The security update's source files were missing from the mirror once;
# the release version is known to be there.
pcre2_debian=10.42-1
stamp_text="glib $glib_version libffi $libffi_version pcre2 $pcre2_version zlib mingw-w64-dev libintl stub; $host static"

prefix=${1:-${QAIO_MINGW_GLIB:-$HOME/.cache/qaio/mingw-glib-$glib_version}}
case $prefix in /*) ;; *) prefix=$PWD/$prefix ;; esac
stamp=$prefix/qaio-mingw-glib.stamp
work=$prefix.work

scripts=$(cd "$(dirname "$0")" && pwd)
die() { echo "build-mingw-glib: $*" >&2; exit 1; }
say() { echo "build-mingw-glib: $*"; }

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$stamp_text" ]; then
    say "reusing $prefix ($stamp_text)"
    exit 0
fi

pkgs="dpkg-dev patch xz-utils make pkg-config python3 meson ninja-build
gcc-mingw-w64-x86-64-posix g++-mingw-w64-x86-64-posix libz-mingw-w64-dev wine64"
missing=
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    [ "$(id -u)" = 0 ] || die "missing packages:$missing (run as root to install them)"
    say "installing$missing"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi

cc=$host-gcc-posix
cxx=$host-g++-posix
wine=/usr/lib/wine/wine64
[ -x "$wine" ] || die "$wine not found (package wine64)"
jobs=$(nproc 2>/dev/null || echo 2)

src=$work/src
build=$work/build
log=$work/log
mkdir -p "$src" "$build" "$prefix/include" "$prefix/lib/pkgconfig"

# A private Wine prefix: meson runs its cross checks through Wine.
export WINEPREFIX=$work/wine WINEDEBUG=-all
trap 'wineserver -k >/dev/null 2>&1 || true' EXIT

# --- sources (a private deb-src list: the machine's apt setup is untouched)
fetch_sources() {
    "$scripts/fetch-debian-source.sh" "$src" glib2.0 libffi "pcre2=$pcre2_debian" ||
        die "could not download the sources of glib2.0 libffi pcre2=$pcre2_debian"
}

# unpack NAME UPSTREAM-VERSION: dpkg-source -x of the newest .dsc of NAME
unpack() {
    local dsc
    dsc=$(ls "$src"/"$1"_"$2"-*.dsc 2>/dev/null | sort -V | tail -1)
    [ -n "$dsc" ] || die "no source package of $1 $2 in $src"
    rm -rf "$build/$1"
    dpkg-source -q -x "$dsc" "$build/$1" >/dev/null 2>&1 || die "dpkg-source -x $dsc failed"
}

have_sources() {
    ls "$src"/glib2.0_${glib_version}-*.dsc "$src"/libffi_${libffi_version}-*.dsc \
        "$src"/pcre2_${pcre2_version}-*.dsc >/dev/null 2>&1
}
have_sources || fetch_sources
have_sources || die "sources of glib2.0 $glib_version, libffi $libffi_version, pcre2 $pcre2_version not in $src"

# A part installed by an earlier run that failed later is not built again.
# (The build_* functions run in `||` context, where set -e is off: every
# step there ends in `|| die`.)
built() { [ "$(cat "$prefix/.qaio-built-$1" 2>/dev/null)" = "$2" ]; }
mark_built() { echo "$2" >"$prefix/.qaio-built-$1"; }
autotools() {  # NAME CONFIGURE-ARGS...
    local name=$1; shift
    say "building $name"
    (cd "$build/$name" &&
     ./configure --host=$host --prefix="$prefix" --enable-static --disable-shared \
         CC=$cc CXX=$cxx "$@" >"$log.$name" 2>&1) || die "configure of $name failed, see $log.$name"
}

# --- libffi
build_libffi() {
    unpack libffi $libffi_version
    autotools libffi --disable-docs --disable-multi-os-directory
    make -C "$build/libffi" -j"$jobs" >>"$log.libffi" 2>&1 || die "make of libffi failed, see $log.libffi"
    make -C "$build/libffi" install >>"$log.libffi" 2>&1 || die "install of libffi failed, see $log.libffi"
    mark_built libffi $libffi_version
}
built libffi $libffi_version || build_libffi

# --- pcre2: the 8-bit library is all glib needs
build_pcre2() {
    unpack pcre2 $pcre2_version
    autotools pcre2 --enable-pcre2-8 --disable-pcre2-16 --disable-pcre2-32 --enable-unicode \
        --disable-jit --disable-pcre2grep-libz --disable-pcre2grep-libbz2 \
        --disable-pcre2test-libedit --disable-pcre2test-libreadline
    make -C "$build/pcre2" -j"$jobs" libpcre2-8.la >>"$log.pcre2" 2>&1 ||
        die "make of pcre2 failed, see $log.pcre2"
    make -C "$build/pcre2" install-libLTLIBRARIES install-includeHEADERS install-nodist_includeHEADERS \
        install-pkgconfigDATA >>"$log.pcre2" 2>&1 || die "install of pcre2 failed, see $log.pcre2"
    [ -f "$prefix/lib/pkgconfig/libpcre2-8.pc" ] || die "libpcre2-8.pc not installed, see $log.pcre2"
    mark_built pcre2 $pcre2_version
}
built pcre2 $pcre2_version || build_pcre2

# --- zlib: copied, with our own .pc so that the static library is linked
say "installing zlib from libz-mingw-w64-dev"
cp /usr/$host/lib/libz.a "$prefix/lib/"
cp /usr/$host/include/zlib.h /usr/$host/include/zconf.h "$prefix/include/"
cat >"$prefix/lib/pkgconfig/zlib.pc" <<EOF
prefix=$prefix
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: zlib
Description: zlib compression library (static, from libz-mingw-w64-dev)
Version: 1.2.13
Libs: -L\${libdir} -lz
Cflags: -I\${includedir}
EOF

# --- libintl: translations are off (-Dnls=disabled) but glib still links
# against gettext's names; these return the message unchanged.
say "building the libintl stub"
cat >"$prefix/include/libintl.h" <<'EOF'
/* No-op gettext for the mingw glib of qaio: messages are not translated. */
#ifndef QAIO_LIBINTL_STUB_H
#define QAIO_LIBINTL_STUB_H
#include <locale.h>
#include <wchar.h>
/* Windows has no LC_MESSAGES; glib queries it with setlocale(), whose CRT
 * rejects unknown categories, so the whole locale stands in for it. */
#ifndef LC_MESSAGES
#define LC_MESSAGES LC_ALL
#endif
#ifdef __cplusplus
extern "C" {
#endif
#define QAIO_FMT(n) __attribute__((__format_arg__(n)))
char *gettext(const char *msgid) QAIO_FMT(1);
char *dgettext(const char *domain, const char *msgid) QAIO_FMT(2);
char *dcgettext(const char *domain, const char *msgid, int category) QAIO_FMT(2);
char *ngettext(const char *msgid, const char *plural, unsigned long n) QAIO_FMT(1) QAIO_FMT(2);
char *dngettext(const char *domain, const char *msgid, const char *plural,
                unsigned long n) QAIO_FMT(2) QAIO_FMT(3);
char *dcngettext(const char *domain, const char *msgid, const char *plural,
                 unsigned long n, int category) QAIO_FMT(2) QAIO_FMT(3);
char *textdomain(const char *domain);
char *bindtextdomain(const char *domain, const char *dir);
char *bind_textdomain_codeset(const char *domain, const char *codeset);
wchar_t *wbindtextdomain(const char *domain, const wchar_t *dir);
#undef QAIO_FMT
#ifdef __cplusplus
}
#endif
#endif
EOF
cat >"$build/libintl.c" <<'EOF'
#include <libintl.h>
char *gettext(const char *m) { return (char *)m; }
char *dgettext(const char *d, const char *m) { (void)d; return (char *)m; }
char *dcgettext(const char *d, const char *m, int c) { (void)d; (void)c; return (char *)m; }
char *ngettext(const char *m, const char *p, unsigned long n) { return (char *)(n == 1 ? m : p); }
char *dngettext(const char *d, const char *m, const char *p, unsigned long n)
{ (void)d; return (char *)(n == 1 ? m : p); }
char *dcngettext(const char *d, const char *m, const char *p, unsigned long n, int c)
{ (void)d; (void)c; return (char *)(n == 1 ? m : p); }
char *textdomain(const char *d) { return (char *)(d ? d : "messages"); }
char *bindtextdomain(const char *d, const char *dir) { (void)d; return (char *)dir; }
char *bind_textdomain_codeset(const char *d, const char *c) { (void)d; return (char *)c; }
wchar_t *wbindtextdomain(const char *d, const wchar_t *dir) { (void)d; return (wchar_t *)dir; }
EOF
$cc -O2 -c -I"$prefix/include" "$build/libintl.c" -o "$build/libintl.o"
rm -f "$prefix/lib/libintl.a"
$host-ar rcs "$prefix/lib/libintl.a" "$build/libintl.o"

# --- glib: meson, cross file pointing at the prefix only
unpack glib2.0 $glib_version
rm -rf "$build/glib-build"
say "configuring glib (checks run under Wine)"
cross=$build/cross.ini
cat >"$cross" <<EOF
[binaries]
c = '$cc'
cpp = '$cxx'
ar = '$host-ar'
strip = '$host-strip'
windres = '$host-windres'
pkgconfig = 'pkg-config'
exe_wrapper = '$wine'

[host_machine]
system = 'windows'
cpu_family = 'x86_64'
cpu = 'x86_64'
endian = 'little'

[built-in options]
c_args = ['-I$prefix/include']
c_link_args = ['-L$prefix/lib']
cpp_args = ['-I$prefix/include']
cpp_link_args = ['-L$prefix/lib']
EOF
export PKG_CONFIG_LIBDIR=$prefix/lib/pkgconfig PKG_CONFIG_PATH=
meson setup "$build/glib-build" "$build/glib2.0" --cross-file "$cross" --prefix "$prefix" \
    --buildtype=release --default-library=static --wrap-mode=nodownload \
    -Dtests=false -Dinstalled_tests=false -Dnls=disabled -Dlibmount=disabled \
    -Dselinux=disabled -Dxattr=false -Dman=false -Dgtk_doc=false -Dsysprof=disabled \
    -Dlibelf=disabled >"$log.glib" 2>&1 || die "meson setup of glib failed, see $log.glib"
say "building glib"
ninja -C "$build/glib-build" -j"$jobs" >>"$log.glib" 2>&1 || die "ninja of glib failed, see $log.glib"
ninja -C "$build/glib-build" install >>"$log.glib" 2>&1 || die "install of glib failed, see $log.glib"
[ -f "$prefix/lib/pkgconfig/glib-2.0.pc" ] || die "glib-2.0.pc missing after install, see $log.glib"

echo "$stamp_text" >"$stamp"
# The build tree and the Wine prefix (about 700 MB) are not needed any more.
wineserver -k >/dev/null 2>&1 || true
rm -rf "$build" "$WINEPREFIX"
say "done: $prefix (use PKG_CONFIG_LIBDIR=$prefix/lib/pkgconfig pkg-config --static)"
