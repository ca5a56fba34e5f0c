/* SPDX-License-Identifier: MIT */
/*
 * Which qaio build a program is running on, for experiments that preload
 * one build over another (README, "LD_PRELOAD experiments").
 */
#ifndef QAIO_BUILD_H
#define QAIO_BUILD_H

#ifdef __cplusplus
extern "C" {
#endif

/*
 * qaio_build_description: one line naming the version, the block engines
 * and fd monitors compiled in, and the AioContext layout of the libqaio
 * actually loaded, e.g. "qaio 0.1.0; engines: linux-aio io_uring;
 * AioContext layout: linux-aio+io_uring".
 *
 * Returns: a static string.
 */
const char *qaio_build_description(void);

#ifdef __cplusplus
}
#endif

#endif
