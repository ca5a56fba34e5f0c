/* SPDX-License-Identifier: MIT */
/*
 * Notifier: a callback with a list link, embedded by its owner (24 bytes on
 * x86-64, QEMU 7.2's layout).  qaio's headers need only the type, for the
 * main loop's poll notifiers; QEMU's notifier-list functions are util code
 * outside this subsystem and are not declared here.
 */
#ifndef QEMU_NOTIFY_H
#define QEMU_NOTIFY_H

#include "qemu/osdep.h"
#include "qemu/queue.h"

#ifdef __cplusplus
extern "C" {
#endif

struct Notifier {
    void (*notify)(Notifier *notifier, void *data);
    QLIST_ENTRY(Notifier) node;
};

#ifdef __cplusplus
}
#endif

#endif
