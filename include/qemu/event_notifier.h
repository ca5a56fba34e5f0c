/* SPDX-License-Identifier: MIT */
/*
 * EventNotifier: a level-triggered wake-up object.  On POSIX an eventfd (or a
 * pipe pair where eventfd is missing); callers embed the struct.
 */
#ifndef QEMU_EVENT_NOTIFIER_H
#define QEMU_EVENT_NOTIFIER_H

#include "qemu/osdep.h"

#ifdef __cplusplus
extern "C" {
#endif

struct EventNotifier {
#ifdef _WIN32
    void *event;
#else
    int rfd;
    int wfd;
    bool initialized;
#endif
};

typedef void EventNotifierHandler(EventNotifier *);

int event_notifier_init(EventNotifier *, int active);
void event_notifier_cleanup(EventNotifier *);
int event_notifier_set(EventNotifier *);
int event_notifier_test_and_clear(EventNotifier *);

#ifdef CONFIG_POSIX
void event_notifier_init_fd(EventNotifier *, int fd);
int event_notifier_get_fd(const EventNotifier *);
int event_notifier_get_wfd(const EventNotifier *);
#else
void *event_notifier_get_handle(EventNotifier *);
#endif

#ifdef __cplusplus
}
#endif

#endif
