// SPDX-License-Identifier: MIT
// QEMU's "main-loop" QOM type (`-object main-loop,aio-max-batch=..,
// thread-pool-min=..,thread-pool-max=..`): the main context's parameters,
// set when the object is created and whenever its properties change.  Its
// parent "event-loop-base" (QEMU's) owns the properties and calls the two
// hooks set here.  QEMU 7.2's util/main-loop registers this type; this file
// does the same for a QEMU tree relinked on libqaio-core.a.  Built into
// libqaio-core.a only: the standalone libqaio has no QOM.
//
// Why weak references.  The type is registered from a constructor through
// QOM (register_module_init, then type_register_static when QEMU runs its
// QOM phase).  A system emulator or a tool links QOM, and their own objects
// reference it strongly, so the weak references here resolve and the type
// exists as in QEMU.  Other programs that link libqaio-core.a have no QOM:
// QEMU's unit tests (libqemuutil without libqom), tests/core-link.sh.  With
// strong references they would fail to link; with weak ones the names stay
// null (a weak reference never pulls an archive member in), and the
// constructor registers nothing.  The casts QEMU's QOM macros make are
// imports of the same objects and are weak for the same reason.
//
// `mloop` (the object created, one per process) is a global of
// util/main-loop in QEMU, marked internal in shared/abi/exports.txt at both
// API levels: no other object reads it, so here it is an ordinary name that
// libqaio-core.a's export list keeps local, like every name outside
// cabi/exports.tsv.  (A row there would need its type, MainLoop, in the
// installed headers.)
#include "cabi/qemu/qom.hh"

#include "block/aio.h"
#include "qapi/error.h"

#include "lib/loop/context.hh"

using namespace qaio::cabi::qom;

extern "C" {
MainLoop *mloop;
}

namespace {

constexpr const char type_main_loop[] = "main-loop";
constexpr const char type_event_loop_base[] = "event-loop-base";

// QEMU's MAIN_LOOP() and EVENT_LOOP_BASE_CLASS(): checked casts.
MainLoop *as_main_loop(EventLoopBase *base)
{
    Object *o = object_dynamic_cast_assert(&base->parent, type_main_loop, __FILE__, __LINE__,
                                           __func__);
    return reinterpret_cast<MainLoop *>(o);
}

EventLoopBaseClass *as_event_loop_base_class(ObjectClass *klass)
{
    ObjectClass *c = object_class_dynamic_cast_assert(klass, type_event_loop_base, __FILE__,
                                                      __LINE__, __func__);
    return reinterpret_cast<EventLoopBaseClass *>(c);
}

// The object's properties onto the main context, through the same entry
// points a QEMU caller uses (and their checks).
void main_loop_update_params(EventLoopBase *base, Error **errp)
{
    AioContext *ctx = qaio::loop::main_context();
    if (!ctx) {
        error_setg(errp, "the main loop's AioContext does not exist yet "
                         "(qemu_init_main_loop has not run)");
        return;
    }
#if QAIO_QEMU_API_AT_LEAST(10, 0)
    aio_context_set_aio_params(ctx, base->aio_max_batch);
#else
    Error *local_err = nullptr;
    aio_context_set_aio_params(ctx, base->aio_max_batch, &local_err);
    if (local_err) {
        error_propagate(errp, local_err);
        return;
    }
#endif
    aio_context_set_thread_pool_params(ctx, base->thread_pool_min, base->thread_pool_max, errp);
}

// Creation: a process has one main loop, so one such object.  It is
// remembered even when its parameters were refused, as QEMU does.
void main_loop_init(EventLoopBase *base, Error **errp)
{
    MainLoop *m = as_main_loop(base);
    if (mloop) {
        error_setg(errp, "only one main-loop instance allowed");
        return;
    }
    main_loop_update_params(base, errp);
    mloop = m;
}

// `mloop` keeps pointing at the object: it must never be deleted.
bool main_loop_can_be_deleted(EventLoopBase *)
{
    return false;
}

void main_loop_class_init(ObjectClass *klass, void *)
{
    EventLoopBaseClass *bc = as_event_loop_base_class(klass);
    bc->init = main_loop_init;
    bc->update_params = main_loop_update_params;
    bc->can_be_deleted = main_loop_can_be_deleted;
}

const TypeInfo main_loop_type = {
    .name = type_main_loop,
    .parent = type_event_loop_base,
    .instance_size = sizeof(MainLoop),
    .class_init = main_loop_class_init, // class_size 0: the parent's
};

void register_main_loop_type()
{
    type_register_static(&main_loop_type);
}

bool qom_linked()
{
    return register_module_init && type_register_static && object_dynamic_cast_assert &&
           object_class_dynamic_cast_assert;
}

__attribute__((constructor)) void main_loop_type_init()
{
    if (qom_linked()) {
        register_module_init(register_main_loop_type, MODULE_INIT_QOM);
    }
}

} // namespace
