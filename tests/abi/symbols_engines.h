/* SPDX-License-Identifier: MIT */
/*
 * check_abi.c rows for the engines symbols: F(name, return type, (params))
 * for functions, D(name, type) for data, with QEMU 7.2's exact types.
 */
#define T_ENGINE_SYMBOLS(F, D)
