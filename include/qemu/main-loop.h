/* SPDX-License-Identifier: MIT */
/*
 * The main loop: the main AioContext, the iohandler context and the big QEMU
 * lock.  qaio implements the subset marked below so far; the other
 * declarations are QEMU's API and are not exported until implemented.
 */
#ifndef QEMU_MAIN_LOOP_H
#define QEMU_MAIN_LOOP_H

#include "block/aio.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SIG_IPI SIGUSR1

int qemu_init_main_loop(Error **errp);
void main_loop_wait(int nonblocking);
AioContext *qemu_get_aio_context(void);
void qemu_notify_event(void);

typedef void IOReadHandler(void *opaque, const uint8_t *buf, int size);
typedef int IOCanReadHandler(void *opaque);

void qemu_set_fd_handler(int fd, IOHandler *fd_read, IOHandler *fd_write,
                         void *opaque);
void event_notifier_set_handler(EventNotifier *e,
                                EventNotifierHandler *handler);
GSource *iohandler_get_g_source(void);
AioContext *iohandler_get_aio_context(void);

bool qemu_mutex_iothread_locked(void);
void qemu_mutex_lock_iothread_impl(const char *file, int line);
void qemu_mutex_unlock_iothread(void);
#define qemu_mutex_lock_iothread() \
    qemu_mutex_lock_iothread_impl(__FILE__, __LINE__)

void qemu_fd_register(int fd);

QEMUBH *qemu_bh_new_full(QEMUBHFunc *cb, void *opaque, const char *name);
#define qemu_bh_new(cb, opaque) \
    qemu_bh_new_full((cb), (opaque), (stringify(cb)))
void qemu_bh_schedule_idle(QEMUBH *bh);

enum {
    MAIN_LOOP_POLL_FILL,
    MAIN_LOOP_POLL_ERR,
    MAIN_LOOP_POLL_OK,
};

typedef struct MainLoopPoll {
    int state;
    uint32_t timeout;
    GArray *pollfds;
} MainLoopPoll;

void main_loop_poll_add_notifier(Notifier *notify);
void main_loop_poll_remove_notifier(Notifier *notify);

#ifdef __cplusplus
}
#endif

#endif
