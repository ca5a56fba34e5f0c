// SPDX-License-Identifier: MIT
// The few QOM types that QEMU's "main-loop" object touches, laid out as a
// QEMU 7.2 (and 10.0) x86-64 build lays them out, and QOM's entry points,
// which a QEMU tree provides (qom/object.c, util/module.c).  Private to
// cabi/qemu/main-loop-object.cc: QOM is QEMU's, never part of qaio's
// installed headers.  Only the fields this object reads or writes are
// spelled out; the rest are opaque bytes of the right size.
#pragma once

#include "qapi/error.h"

#include <cstddef>
#include <cstdint>

namespace qaio::cabi::qom {

struct Object;
struct ObjectClass;

// ObjectClass (96 bytes): type, interfaces, two cast caches, unparent,
// properties.  The object only ever receives one to fill in a subclass.
struct ObjectClass {
    unsigned char opaque[96];
};

// Object (40 bytes): class, free, properties, ref, parent.
struct Object {
    unsigned char opaque[40];
};

// system/event-loop-base.h: the parent type of "main-loop" and "iothread".
struct EventLoopBase;
struct EventLoopBaseClass {
    ObjectClass parent_class;
    void (*init)(EventLoopBase *base, Error **errp);
    void (*update_params)(EventLoopBase *base, Error **errp);
    bool (*can_be_deleted)(EventLoopBase *base);
};

struct EventLoopBase {
    Object parent;
    int64_t aio_max_batch;
    int64_t thread_pool_min;
    int64_t thread_pool_max;
};

// include/qemu/main-loop.h
struct MainLoop {
    EventLoopBase parent_obj;
};

struct InterfaceInfo;

// qom/object.h's static description of a type.
struct TypeInfo {
    const char *name;
    const char *parent;
    size_t instance_size;
    size_t instance_align;
    void (*instance_init)(Object *obj);
    void (*instance_post_init)(Object *obj);
    void (*instance_finalize)(Object *obj);
    bool abstract;
    size_t class_size;
    void (*class_init)(ObjectClass *klass, void *data);
    void (*class_base_init)(ObjectClass *klass, void *data);
    void *class_data;
    InterfaceInfo *interfaces;
};

// qemu/module.h: the initialisation phase in which types are registered.
enum module_init_type { MODULE_INIT_QOM = 3 };

static_assert(sizeof(EventLoopBaseClass) == 120 &&
                  offsetof(EventLoopBaseClass, init) == 96 &&
                  offsetof(EventLoopBaseClass, update_params) == 104 &&
                  offsetof(EventLoopBaseClass, can_be_deleted) == 112,
              "EventLoopBaseClass as QEMU 7.2 lays it out");
static_assert(sizeof(EventLoopBase) == 64 && offsetof(EventLoopBase, aio_max_batch) == 40 &&
                  offsetof(EventLoopBase, thread_pool_min) == 48 &&
                  offsetof(EventLoopBase, thread_pool_max) == 56,
              "EventLoopBase as QEMU 7.2 lays it out");
static_assert(sizeof(MainLoop) == 64, "MainLoop is an EventLoopBase");
static_assert(sizeof(TypeInfo) == 104 && offsetof(TypeInfo, abstract) == 56 &&
                  offsetof(TypeInfo, class_size) == 64 &&
                  offsetof(TypeInfo, class_init) == 72 &&
                  offsetof(TypeInfo, interfaces) == 96,
              "TypeInfo as QEMU 7.2 lays it out");

} // namespace qaio::cabi::qom

// QOM's entry points (shared/abi/imports.txt, "QOM"), weak: see
// main-loop-object.cc for why.
extern "C" {
__attribute__((weak)) void register_module_init(void (*fn)(void),
                                                qaio::cabi::qom::module_init_type type);
__attribute__((weak)) void *type_register_static(const qaio::cabi::qom::TypeInfo *info);
__attribute__((weak)) qaio::cabi::qom::Object *
object_dynamic_cast_assert(qaio::cabi::qom::Object *obj, const char *type_name, const char *file,
                           int line, const char *func);
__attribute__((weak)) qaio::cabi::qom::ObjectClass *
object_class_dynamic_cast_assert(qaio::cabi::qom::ObjectClass *klass, const char *type_name,
                                 const char *file, int line, const char *func);
}
