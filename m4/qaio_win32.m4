# SPDX-License-Identifier: MIT
# The Windows build (--host=x86_64-w64-mingw32): where its glib and its
# coroutine switch come from, and the Wine that runs its tests.  Debian has
# neither a mingw glib nor a mingw Boost.Context: scripts/build-mingw-glib.sh
# and tests/win32/build-boost-fcontext.sh build them into ~/.cache/qaio/,
# outside every tree, and configure finds them there by default.

# QAIO_MINGW_GLIB: before PKG_CHECK_MODULES([GLIB], ...).  Points pkg-config
# at the mingw glib prefix (--with-mingw-glib=DIR, default the script's);
# an explicit PKG_CONFIG_LIBDIR in the environment wins.
AC_DEFUN([QAIO_MINGW_GLIB], [
  AC_ARG_WITH([mingw-glib],
    [AS_HELP_STRING([--with-mingw-glib=DIR],
      [Windows build: the glib prefix made by scripts/build-mingw-glib.sh @<:@default=~/.cache/qaio/mingw-glib-2.74.6@:>@])],
    [], [with_mingw_glib=])
  AS_IF([test "x$qaio_win32" = xyes], [
    AS_IF([test -n "$with_mingw_glib"], [qaio_mingw_glib=$with_mingw_glib],
          [test -z "$PKG_CONFIG_LIBDIR"], [qaio_mingw_glib=$HOME/.cache/qaio/mingw-glib-2.74.6],
          [qaio_mingw_glib=])
    AS_IF([test -n "$qaio_mingw_glib"], [
      AS_IF([test -f "$qaio_mingw_glib/lib/pkgconfig/glib-2.0.pc"], [],
        [AC_MSG_ERROR([no mingw glib in $qaio_mingw_glib: run scripts/build-mingw-glib.sh $qaio_mingw_glib (about 10 minutes, once) or give --with-mingw-glib=DIR])])
      PKG_CONFIG_LIBDIR=$qaio_mingw_glib/lib/pkgconfig
      export PKG_CONFIG_LIBDIR
      AC_MSG_NOTICE([glib for Windows from $qaio_mingw_glib])
    ])
  ])
])

# QAIO_MINGW_GLIB_STATIC: after PKG_CHECK_MODULES([GLIB], ...).  The mingw
# glib is a static library, so its private libraries are needed too.
AC_DEFUN([QAIO_MINGW_GLIB_STATIC], [
  AS_IF([test "x$qaio_win32" = xyes],
    [GLIB_LIBS=`$PKG_CONFIG --static --libs glib-2.0`])
])

# QAIO_WIN32_FCONTEXT: the coroutine switch on Windows, Boost.Context's
# x86-64 Windows assembly assembled into a static library
# (--with-boost-fcontext=DIR, default the script's cache).  Windows has no
# ucontext, so there is no fallback.  Sets FCONTEXT_WIN32_A.
AC_DEFUN([QAIO_WIN32_FCONTEXT], [
  AC_ARG_WITH([boost-fcontext],
    [AS_HELP_STRING([--with-boost-fcontext=DIR],
      [Windows build: the directory of libfcontext.a made by tests/win32/build-boost-fcontext.sh @<:@default=~/.cache/qaio/boost-fcontext-1.74@:>@])],
    [], [with_boost_fcontext=$HOME/.cache/qaio/boost-fcontext-1.74])
  AS_IF([test "x$qaio_win32" = xyes], [
    AS_IF([test -f "$with_boost_fcontext/libfcontext.a"], [],
      [AC_MSG_ERROR([no Boost fcontext library in $with_boost_fcontext: run tests/win32/build-boost-fcontext.sh $with_boost_fcontext or give --with-boost-fcontext=DIR])])
    AC_SUBST([FCONTEXT_WIN32_A], [$with_boost_fcontext/libfcontext.a])
    qaio_boost_context="yes (fcontext, $with_boost_fcontext)"
  ])
])

# QAIO_WINE: the Wine that runs the Windows tests (make check); none found
# means the tests report SKIP with the reason.
AC_DEFUN([QAIO_WINE], [
  AC_ARG_VAR([WINE], [Wine command that runs the Windows tests])
  AS_IF([test "x$qaio_win32" = xyes],
    [AC_PATH_PROGS([WINE], [wine64 wine], [], [/usr/lib/wine$PATH_SEPARATOR$PATH])])
])

# QAIO_WIN32_LAYOUT: after QAIO_AIO_CONTEXT_LAYOUT.  The Windows build has
# one AioContext layout per QEMU API level, QEMU's as mingw lays it out
# (measured with tests/win32/layout.sh: docs/win32-layout.md); it replaces
# the row configure took from include/block/aio-context-layouts.tsv, whose
# rows are Linux builds'.  10.0 adds bdrv_graph (8 bytes) before tlg and
# drops two fields after it.
AC_DEFUN([QAIO_WIN32_LAYOUT], [
  AS_IF([test "x$qaio_win32" = xyes], [
    AS_CASE([$qaio_qemu_api],
      [7.2], [qaio_tlg_offset=264 qaio_context_size=368
              QAIO_AIO_CONTEXT_ABI=win32],
      [10.0], [qaio_tlg_offset=272 qaio_context_size=368
               QAIO_AIO_CONTEXT_ABI=qemu-10.0:win32],
      [AC_MSG_ERROR([no Windows AioContext layout known for QEMU $qaio_qemu_api])])
    qaio_layout=win32
    QAIO_AIO_CONTEXT_LAYOUT_NAME=$qaio_layout
    QAIO_AIO_CONTEXT_TLG_OFFSET=$qaio_tlg_offset
    QAIO_AIO_CONTEXT_SIZE=$qaio_context_size
    QAIO_AIO_CONTEXT_LAYOUT_LINUX_AIO=0
    QAIO_AIO_CONTEXT_LAYOUT_IO_URING=0
  ])
])

# QAIO_MINGW_POSIX_COMPILERS: before AC_PROG_CC.  For a mingw host, the
# -posix compilers by default: the -win32 ones' libstdc++ has no std::thread.
AC_DEFUN([QAIO_MINGW_POSIX_COMPILERS], [
  AS_CASE([$host_os], [mingw*], [
    AS_IF([test -z "$CC" && command -v "$host_alias-gcc-posix" >/dev/null 2>&1],
      [CC=$host_alias-gcc-posix])
    AS_IF([test -z "$CXX" && command -v "$host_alias-g++-posix" >/dev/null 2>&1],
      [CXX=$host_alias-g++-posix])
  ])
])

# QAIO_MINGW_STATIC_LIBGCC: after LT_INIT.  libtool links the DLL with
# -nostdlib and its own list of the C++ runtime's libraries, in which
# -lgcc_s is libgcc_s_seh-1.dll's import library (-static does not change
# that); libgcc and its unwinder as archives instead, as g++'s
# -static-libgcc would, so a Windows user needs only libqaio-0.dll.
AC_DEFUN([QAIO_MINGW_STATIC_LIBGCC], [
  AS_IF([test "x$qaio_win32" = xyes], [
    postdeps_CXX=`echo " $postdeps_CXX " | sed 's/ -lgcc_s -lgcc / -lgcc -lgcc_eh /g'`
    AS_CASE([" $postdeps_CXX "], [*" -lgcc_s "*],
      [AC_MSG_ERROR([libtool's C++ link still names -lgcc_s ($postdeps_CXX): libqaio-0.dll would need libgcc_s_seh-1.dll])])
  ])
])

# QAIO_WIN32_SYSTEM_LIBS: what libqaio needs of Windows beyond the C
# runtime: Windows 8's WaitOnAddress (lib/support/futex.hh) and Winsock.
# QAIO_SYSTEM_LIBS, empty elsewhere, also goes into qaio.pc and qaio-core.pc.
AC_DEFUN([QAIO_WIN32_SYSTEM_LIBS], [
  AS_IF([test "x$qaio_win32" = xyes], [QAIO_SYSTEM_LIBS="-lsynchronization -lws2_32"],
    [QAIO_SYSTEM_LIBS=])
  AC_SUBST([QAIO_SYSTEM_LIBS])
])
