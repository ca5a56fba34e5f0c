# SPDX-License-Identifier: MIT
# QAIO_QEMU_API: which QEMU API level qaio speaks (--with-qemu-api): 7.2 (the
# default, Debian 12's QEMU) or 10.0 (Debian 13's).  The level selects the
# prototypes and inlines of the installed headers (through the macros of
# qaio/config.h), the C layer's per-level files (cabi/api-LEVEL/), the rows
# of the export table and the AioContext layout; lib/ is the same at both.
AC_DEFUN([QAIO_QEMU_API], [
  AC_ARG_WITH([qemu-api],
    [AS_HELP_STRING([--with-qemu-api=LEVEL],
      [QEMU API level of the headers and exports: 7.2 or 10.0 @<:@default=7.2@:>@])],
    [], [with_qemu_api=7.2])
  AS_CASE([$with_qemu_api],
    [7.2], [qaio_api_major=7 qaio_api_minor=2],
    [10.0], [qaio_api_major=10 qaio_api_minor=0],
    [AC_MSG_ERROR([--with-qemu-api=$with_qemu_api: expected 7.2 or 10.0])])
  qaio_qemu_api=$with_qemu_api
  AC_SUBST([QAIO_QEMU_API], [$qaio_qemu_api])
  AC_SUBST([QAIO_QEMU_API_MAJOR], [$qaio_api_major])
  AC_SUBST([QAIO_QEMU_API_MINOR], [$qaio_api_minor])
  AM_CONDITIONAL([QAIO_API_7_2], [test "x$qaio_qemu_api" = x7.2])
  AM_CONDITIONAL([QAIO_API_10_0], [test "x$qaio_qemu_api" = x10.0])
])
