# SPDX-License-Identifier: MIT
# --enable-sanitizers=address,undefined|thread adds the sanitizer flags to the
# library, the tests and the benchmark alike.
AC_DEFUN([QAIO_ENABLE_SANITIZERS], [
  AC_ARG_ENABLE([sanitizers],
    [AS_HELP_STRING([--enable-sanitizers=LIST],
      [build with sanitizers: address,undefined or thread])],
    [qaio_sanitizers=$enableval], [qaio_sanitizers=])
  AS_CASE([$qaio_sanitizers],
    [""|no], [qaio_sanitizers=],
    [address,undefined|undefined,address|address|undefined|thread], [],
    [AC_MSG_ERROR([--enable-sanitizers takes address,undefined or thread, not '$qaio_sanitizers'])])
  QAIO_SANITIZER_FLAGS=
  AS_IF([test -n "$qaio_sanitizers"],
    [QAIO_SANITIZER_FLAGS="-fsanitize=$qaio_sanitizers -fno-omit-frame-pointer -fno-sanitize-recover=all"
     AC_DEFINE([QAIO_SANITIZERS], [1], [built with sanitizers])])
  AM_CONDITIONAL([QAIO_SANITIZERS], [test -n "$qaio_sanitizers"])
  AC_SUBST([QAIO_SANITIZER_FLAGS])
])

# Hidden visibility for the C++ core; cabi/ marks the exports explicitly.
AC_DEFUN([QAIO_VISIBILITY], [
  QAIO_VISIBILITY_CXXFLAGS="-fvisibility=hidden -fvisibility-inlines-hidden"
  AC_SUBST([QAIO_VISIBILITY_CXXFLAGS])
])
