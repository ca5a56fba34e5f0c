# SPDX-License-Identifier: MIT
# Block engines (configure-time choices): --with-linux-aio and --with-io-uring
# take auto|yes|no.  "yes" without the library is an error naming the Debian
# package; "no" leaves the engine's functions out of the library entirely.

AC_DEFUN([QAIO_WITH_LINUX_AIO], [
  AC_ARG_WITH([linux-aio],
    [AS_HELP_STRING([--with-linux-aio@<:@=auto|yes|no@:>@],
      [build the linux-aio block engine (laio_*) with libaio; defines CONFIG_LINUX_AIO @<:@default=auto@:>@])],
    [], [with_linux_aio=auto])
  qaio_linux_aio=no
  AS_IF([test "x$with_linux_aio" != xno], [
    qaio_aio_found=yes
    AC_CHECK_HEADER([libaio.h], [], [qaio_aio_found=no])
    AS_IF([test "x$qaio_aio_found" = xyes],
      [AC_CHECK_LIB([aio], [io_setup], [], [qaio_aio_found=no])])
    AS_IF([test "x$qaio_aio_found" = xyes], [
      qaio_linux_aio=yes
      AC_SUBST([LIBAIO_LIBS], [-laio])
    ], [test "x$with_linux_aio" = xyes], [
      AC_MSG_ERROR([--with-linux-aio=yes but libaio was not found: install the Debian package libaio-dev])
    ])
  ])
  QAIO_CONFIG_DEFINE([CONFIG_LINUX_AIO], [test "x$qaio_linux_aio" = xyes])
  AM_CONDITIONAL([QAIO_LINUX_AIO], [test "x$qaio_linux_aio" = xyes])
])

AC_DEFUN([QAIO_WITH_IO_URING], [
  AC_ARG_WITH([io-uring],
    [AS_HELP_STRING([--with-io-uring@<:@=auto|yes|no@:>@],
      [use liburing for the io_uring fd monitor and block engine (luring_*); defines CONFIG_LINUX_IO_URING @<:@default=auto@:>@])],
    [], [with_io_uring=auto])
  qaio_io_uring=no
  AS_IF([test "x$with_io_uring" != xno], [
    PKG_CHECK_MODULES([URING], [liburing >= 2.0], [qaio_io_uring=yes], [
      AS_IF([test "x$with_io_uring" = xyes],
        [AC_MSG_ERROR([--with-io-uring=yes but liburing was not found: install the Debian package liburing-dev])])
    ])
  ])
  QAIO_CONFIG_DEFINE([CONFIG_LINUX_IO_URING], [test "x$qaio_io_uring" = xyes])
  AM_CONDITIONAL([QAIO_IO_URING], [test "x$qaio_io_uring" = xyes])
  AS_IF([test "x$qaio_io_uring" = xyes], [QAIO_PC_REQUIRES_PRIVATE="$QAIO_PC_REQUIRES_PRIVATE liburing"])
  AC_SUBST([QAIO_PC_REQUIRES_PRIVATE])
])

# Boost.Context's fcontext, the coroutine switch (required: Boost ships it
# for every architecture Debian builds and for Windows, so the ucontext
# fallback it once had served no build).
AC_DEFUN([QAIO_WITH_BOOST_CONTEXT], [
  AC_LANG_PUSH([C++])
  qaio_save_LIBS=$LIBS
  LIBS="-lboost_context $LIBS"
  AC_MSG_CHECKING([for Boost.Context's fcontext])
  AC_LINK_IFELSE([AC_LANG_PROGRAM(
      [[#include <boost/context/detail/fcontext.hpp>]],
      [[boost::context::detail::fcontext_t f = boost::context::detail::make_fcontext(0, 0, 0); (void)f;]])],
    [AC_MSG_RESULT([yes])],
    [AC_MSG_RESULT([no])
     AC_MSG_ERROR([coroutines need Boost.Context's fcontext: install the Debian package libboost-context-dev])])
  LIBS=$qaio_save_LIBS
  AC_LANG_POP([C++])
  AC_SUBST([BOOST_CONTEXT_LIBS], [-lboost_context])
])
