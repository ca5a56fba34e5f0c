#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs one loop-level Check suite under one fd monitor.  make check lists
# such a suite three times, as tests/NAME-poll.fdmon, NAME-epoll.fdmon and
# NAME-io_uring.fdmon (Makefile.am, FDMON_SUITES); this runs tests/NAME with
# QAIO_FDMON set to the monitor.  The suite asserts that its contexts got
# that monitor, and exits 77 (skip) with the reason when this host cannot
# give it (io_uring configured out or refused by the kernel).
name=${1%.fdmon}
QAIO_FDMON=${name##*-}
export QAIO_FDMON
exec "${name%-*}"
