/* SPDX-License-Identifier: MIT */
/*
 * Intrusive list macros with QEMU's names (the BSD <sys/queue.h> family):
 * QLIST (doubly linked), QSLIST (singly linked), QSIMPLEQ (singly linked with a
 * tail pointer) and QTAILQ (doubly linked with a tail).  Only what public
 * structures and their users need is provided.
 */
#ifndef QEMU_SYS_QUEUE_H
#define QEMU_SYS_QUEUE_H

/* QLIST */
#define QLIST_HEAD(name, type) struct name { struct type *lh_first; }
#define QLIST_HEAD_INITIALIZER(head) { NULL }
#define QLIST_ENTRY(type) struct { struct type *le_next; struct type **le_prev; }
#define QLIST_INIT(head) do { (head)->lh_first = NULL; } while (0)
#define QLIST_EMPTY(head) ((head)->lh_first == NULL)
#define QLIST_FIRST(head) ((head)->lh_first)
#define QLIST_NEXT(elm, field) ((elm)->field.le_next)
#define QLIST_INSERT_HEAD(head, elm, field) do {                         \
        if (((elm)->field.le_next = (head)->lh_first) != NULL)           \
            (head)->lh_first->field.le_prev = &(elm)->field.le_next;     \
        (head)->lh_first = (elm);                                        \
        (elm)->field.le_prev = &(head)->lh_first;                        \
} while (0)
#define QLIST_REMOVE(elm, field) do {                                    \
        if ((elm)->field.le_next != NULL)                                \
            (elm)->field.le_next->field.le_prev = (elm)->field.le_prev;  \
        *(elm)->field.le_prev = (elm)->field.le_next;                    \
        (elm)->field.le_next = NULL;                                     \
        (elm)->field.le_prev = NULL;                                     \
} while (0)
#define QLIST_IS_INSERTED(elm, field) ((elm)->field.le_prev != NULL)
#define QLIST_FOREACH(var, head, field)                                  \
        for ((var) = ((head)->lh_first); (var); (var) = ((var)->field.le_next))
#define QLIST_FOREACH_SAFE(var, head, field, next_var)                   \
        for ((var) = ((head)->lh_first);                                 \
             (var) && ((next_var) = ((var)->field.le_next), 1);          \
             (var) = (next_var))

/* QSLIST */
#define QSLIST_HEAD(name, type) struct name { struct type *slh_first; }
#define QSLIST_HEAD_INITIALIZER(head) { NULL }
#define QSLIST_ENTRY(type) struct { struct type *sle_next; }
#define QSLIST_INIT(head) do { (head)->slh_first = NULL; } while (0)
#define QSLIST_EMPTY(head) ((head)->slh_first == NULL)
#define QSLIST_FIRST(head) ((head)->slh_first)
#define QSLIST_NEXT(elm, field) ((elm)->field.sle_next)
#define QSLIST_INSERT_HEAD(head, elm, field) do {                        \
        (elm)->field.sle_next = (head)->slh_first;                       \
        (head)->slh_first = (elm);                                       \
} while (0)
#define QSLIST_REMOVE_HEAD(head, field) do {                             \
        __typeof__((head)->slh_first) elm_ = (head)->slh_first;          \
        (head)->slh_first = elm_->field.sle_next;                        \
        elm_->field.sle_next = NULL;                                     \
} while (0)
#define QSLIST_FOREACH(var, head, field)                                 \
        for ((var) = (head)->slh_first; (var); (var) = (var)->field.sle_next)
#define QSLIST_FOREACH_SAFE(var, head, field, tvar)                      \
        for ((var) = QSLIST_FIRST((head));                               \
             (var) && ((tvar) = QSLIST_NEXT((var), field), 1);           \
             (var) = (tvar))

/* QSIMPLEQ */
#define QSIMPLEQ_HEAD(name, type)                                        \
struct name { struct type *sqh_first; struct type **sqh_last; }
#define QSIMPLEQ_HEAD_INITIALIZER(head) { NULL, &(head).sqh_first }
#define QSIMPLEQ_ENTRY(type) struct { struct type *sqe_next; }
#define QSIMPLEQ_INIT(head) do {                                         \
        (head)->sqh_first = NULL;                                        \
        (head)->sqh_last = &(head)->sqh_first;                           \
} while (0)
#define QSIMPLEQ_EMPTY(head) ((head)->sqh_first == NULL)
#define QSIMPLEQ_FIRST(head) ((head)->sqh_first)
#define QSIMPLEQ_NEXT(elm, field) ((elm)->field.sqe_next)
#define QSIMPLEQ_INSERT_HEAD(head, elm, field) do {                      \
        if (((elm)->field.sqe_next = (head)->sqh_first) == NULL)         \
            (head)->sqh_last = &(elm)->field.sqe_next;                   \
        (head)->sqh_first = (elm);                                       \
} while (0)
#define QSIMPLEQ_INSERT_TAIL(head, elm, field) do {                      \
        (elm)->field.sqe_next = NULL;                                    \
        *(head)->sqh_last = (elm);                                       \
        (head)->sqh_last = &(elm)->field.sqe_next;                       \
} while (0)
#define QSIMPLEQ_REMOVE_HEAD(head, field) do {                           \
        __typeof__((head)->sqh_first) elm_ = (head)->sqh_first;          \
        if (((head)->sqh_first = elm_->field.sqe_next) == NULL)          \
            (head)->sqh_last = &(head)->sqh_first;                       \
        elm_->field.sqe_next = NULL;                                     \
} while (0)
#define QSIMPLEQ_FOREACH(var, head, field)                               \
        for ((var) = ((head)->sqh_first); (var); (var) = ((var)->field.sqe_next))
#define QSIMPLEQ_FOREACH_SAFE(var, head, field, next)                    \
        for ((var) = ((head)->sqh_first);                                \
             (var) && ((next) = ((var)->field.sqe_next), 1);             \
             (var) = (next))

/* QTAILQ */
typedef struct QTailQLink { void *tql_next; struct QTailQLink *tql_prev; } QTailQLink;
#define QTAILQ_HEAD(name, type) union name { struct type *tqh_first; QTailQLink tqh_circ; }
#define QTAILQ_HEAD_INITIALIZER(head) { .tqh_circ = { NULL, &(head).tqh_circ } }
#define QTAILQ_ENTRY(type) union { struct type *tqe_next; QTailQLink tqe_circ; }
#define QTAILQ_INIT(head) do {                                           \
        (head)->tqh_first = NULL;                                        \
        (head)->tqh_circ.tql_prev = &(head)->tqh_circ;                   \
} while (0)
#define QTAILQ_EMPTY(head) ((head)->tqh_first == NULL)
#define QTAILQ_FIRST(head) ((head)->tqh_first)
#define QTAILQ_NEXT(elm, field) ((elm)->field.tqe_next)
#define QTAILQ_INSERT_TAIL(head, elm, field) do {                        \
        (elm)->field.tqe_next = NULL;                                    \
        (elm)->field.tqe_circ.tql_prev = (head)->tqh_circ.tql_prev;      \
        (head)->tqh_circ.tql_prev->tql_next = (elm);                     \
        (head)->tqh_circ.tql_prev = &(elm)->field.tqe_circ;              \
} while (0)
#define QTAILQ_REMOVE(head, elm, field) do {                             \
        if (((elm)->field.tqe_next) != NULL)                             \
            (elm)->field.tqe_next->field.tqe_circ.tql_prev =             \
                (elm)->field.tqe_circ.tql_prev;                          \
        else                                                             \
            (head)->tqh_circ.tql_prev = (elm)->field.tqe_circ.tql_prev;  \
        (elm)->field.tqe_circ.tql_prev->tql_next = (elm)->field.tqe_next; \
        (elm)->field.tqe_circ.tql_prev = NULL;                           \
        (elm)->field.tqe_circ.tql_next = NULL;                           \
} while (0)
#define QTAILQ_FOREACH(var, head, field)                                 \
        for ((var) = ((head)->tqh_first); (var); (var) = ((var)->field.tqe_next))

#endif
