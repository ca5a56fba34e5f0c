# SPDX-License-Identifier: MIT
# QAIO_CONFIG_DEFINE(MACRO, TEST)
# Substitutes @QAIO_DEFINE_MACRO@ in include/qaio/config.h.in with a #define
# when TEST succeeds and a comment otherwise, so the installed public header
# carries only the configuration macros that public layouts depend on.
AC_DEFUN([QAIO_CONFIG_DEFINE], [
  AS_IF([$2],
    [AC_SUBST([QAIO_DEFINE_$1], ["#define $1 1"])],
    [AC_SUBST([QAIO_DEFINE_$1], ["/* #undef $1 */"])])
])
