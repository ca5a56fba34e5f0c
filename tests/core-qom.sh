#!/bin/sh
# SPDX-License-Identifier: MIT
# libqaio-core.a's "main-loop" QOM type, in a C program that brings a small
# QOM of its own (tests/core_qom.c), linked as tests/core-link.sh links.
exec sh "${QAIO_SRCDIR:-..}/tests/core-link.sh" core_qom
