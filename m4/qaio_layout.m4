# SPDX-License-Identifier: MIT
# QAIO_AIO_CONTEXT_LAYOUT: which QEMU build's AioContext layout qaio's
# headers reproduce (where `tlg` and `external_disable_cnt` sit, which QEMU's
# inline helpers read).  It is a choice of its own, not a consequence of
# --with-linux-aio / --with-io-uring: those decide code, so that builds with
# different engines can be preloaded over one another.  The default is the
# layout of a QEMU built with both engines (Debian's); a QEMU tree built
# otherwise picks its own with --enable-aio-context-layout.  The layouts
# and their numbers are the rows of include/block/aio-context-layouts.tsv
# for the API level configured (QAIO_QEMU_API, run before).
AC_DEFUN([QAIO_AIO_CONTEXT_LAYOUT], [
  AC_ARG_ENABLE([aio-context-layout],
    [AS_HELP_STRING([--enable-aio-context-layout=LAYOUT],
      [AioContext layout of the QEMU build to match: linux-aio+io_uring, io_uring, linux-aio or plain (no engine); independent of the engines built @<:@default=linux-aio+io_uring@:>@])],
    [], [enable_aio_context_layout=linux-aio+io_uring])
  qaio_layout_table="$srcdir/include/block/aio-context-layouts.tsv"
  qaio_layout_row=`awk -F '\t' -v want="$enable_aio_context_layout" -v api="$qaio_qemu_api" '
    /^#/ || NF != 7 || $(1) != api { next }
    $[2] == want || ($[3] != "-" && [index]("," $[3] ",", "," want ",")) { print $[2], $[4], $[5], $[6], $[7]; exit }' "$qaio_layout_table"`
  qaio_layout_names=`awk -F '\t' -v api="$qaio_qemu_api" '
    /^#/ || NF != 7 || $(1) != api { next }
    { printf " %s", $[2] }' "$qaio_layout_table"`
  AS_IF([test -z "$qaio_layout_row"],
    [AC_MSG_ERROR([--enable-aio-context-layout=$enable_aio_context_layout: expected one of$qaio_layout_names])])
  set dummy $qaio_layout_row; shift
  qaio_layout=$[1]; qaio_tlg_offset=$[2]; qaio_context_size=$[3]; qaio_l_aio=$[4]; qaio_l_uring=$[5]
  AC_SUBST([QAIO_AIO_CONTEXT_LAYOUT_NAME], [$qaio_layout])
  AC_SUBST([QAIO_AIO_CONTEXT_TLG_OFFSET], [$qaio_tlg_offset])
  AC_SUBST([QAIO_AIO_CONTEXT_SIZE], [$qaio_context_size])
  AC_SUBST([QAIO_AIO_CONTEXT_LAYOUT_LINUX_AIO], [$qaio_l_aio])
  AC_SUBST([QAIO_AIO_CONTEXT_LAYOUT_IO_URING], [$qaio_l_uring])
  # A changed table reconfigures.
  AC_SUBST([CONFIG_STATUS_DEPENDENCIES], ['$(top_srcdir)/include/block/aio-context-layouts.tsv'])
])
