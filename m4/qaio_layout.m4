# SPDX-License-Identifier: MIT
# QAIO_AIO_CONTEXT_LAYOUT: which QEMU 7.2 build's AioContext layout qaio's
# headers reproduce (where `tlg` and `external_disable_cnt` sit, which QEMU's
# inline helpers read).  It is a choice of its own, not a consequence of
# --with-linux-aio / --with-io-uring: those decide code, so that builds with
# different engines can be preloaded over one another.  The default is the
# layout of a QEMU built with both engines (Debian's); a QEMU tree built
# otherwise picks its own with --enable-aio-context-layout.
AC_DEFUN([QAIO_AIO_CONTEXT_LAYOUT], [
  AC_ARG_ENABLE([aio-context-layout],
    [AS_HELP_STRING([--enable-aio-context-layout=LAYOUT],
      [AioContext layout of the QEMU 7.2 build to match: linux-aio+io_uring, io_uring, linux-aio or plain (no engine); independent of the engines built @<:@default=linux-aio+io_uring@:>@])],
    [], [enable_aio_context_layout=linux-aio+io_uring])
  AS_CASE([$enable_aio_context_layout],
    [linux-aio+io_uring|yes], [qaio_layout=linux-aio+io_uring; qaio_tlg_offset=480; qaio_l_aio=1; qaio_l_uring=1],
    [io_uring], [qaio_layout=io_uring; qaio_tlg_offset=472; qaio_l_aio=0; qaio_l_uring=1],
    [linux-aio], [qaio_layout=linux-aio; qaio_tlg_offset=248; qaio_l_aio=1; qaio_l_uring=0],
    [plain|no], [qaio_layout=plain; qaio_tlg_offset=240; qaio_l_aio=0; qaio_l_uring=0],
    [AC_MSG_ERROR([--enable-aio-context-layout=$enable_aio_context_layout: expected linux-aio+io_uring, io_uring, linux-aio or plain])])
  AC_SUBST([QAIO_AIO_CONTEXT_LAYOUT_NAME], [$qaio_layout])
  AC_SUBST([QAIO_AIO_CONTEXT_TLG_OFFSET], [$qaio_tlg_offset])
  AC_SUBST([QAIO_AIO_CONTEXT_LAYOUT_LINUX_AIO], [$qaio_l_aio])
  AC_SUBST([QAIO_AIO_CONTEXT_LAYOUT_IO_URING], [$qaio_l_uring])
])
