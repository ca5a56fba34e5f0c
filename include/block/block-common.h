/* SPDX-License-Identifier: MIT */
/*
 * The part of QEMU 10.0's block/block-common.h that block/raw-aio.h needs:
 * the request flags laio_co_submit() and luring_co_submit() take.  Only the
 * flag the engines act on is defined here; inside a QEMU tree, QEMU's own
 * header (with every flag) is used instead.
 */
#ifndef BLOCK_COMMON_H
#define BLOCK_COMMON_H

typedef enum {
    /* The write is on stable storage when it completes (forced unit access). */
    BDRV_REQ_FUA = 0x10,
} BdrvRequestFlags;

#endif
