/* SPDX-License-Identifier: MIT */
/*
 * libqaio-core.a's "main-loop" QOM type, as a QEMU tree sees it: this
 * program plays QEMU with a small QOM of its own (register_module_init and
 * type_register_static record what they are given; the checked casts
 * record the type asked for), links libqaio-core.a as tests/core-link.sh
 * links it (tests/core-qom.sh), and then does what QEMU does for
 * `-object main-loop,...`: runs the QOM phase, initialises the class, and
 * creates the object.  The layouts below are QEMU 7.2's (x86-64), written
 * from the ABI facts independently of the library's own declarations.
 * Exit 0 on success; a failed check names itself.
 */
#include "tests/qemu_stand_in.h"
#include "block/thread-pool.h"

#include <stddef.h>
#include <string.h>
#ifdef _WIN32
#include <windows.h>
#include <tlhelp32.h>
#else
#include <dirent.h>
#endif

/* ---- QEMU's QOM, the part the type touches -------------------------------- */

typedef struct Object {
    void *klass, *free, *properties;
    uint32_t ref;
    void *parent;
} Object;

typedef struct ObjectClass {
    void *type, *interfaces;
    const char *object_cast_cache[4], *class_cast_cache[4];
    void *unparent, *properties;
} ObjectClass;

typedef struct EventLoopBase {
    Object parent;
    int64_t aio_max_batch, thread_pool_min, thread_pool_max;
} EventLoopBase;

typedef struct EventLoopBaseClass {
    ObjectClass parent_class;
    void (*init)(EventLoopBase *base, Error **errp);
    void (*update_params)(EventLoopBase *base, Error **errp);
    bool (*can_be_deleted)(EventLoopBase *base);
} EventLoopBaseClass;

typedef struct TypeInfo {
    const char *name, *parent;
    size_t instance_size, instance_align;
    void (*instance_init)(Object *), (*instance_post_init)(Object *),
        (*instance_finalize)(Object *);
    bool abstract;
    size_t class_size;
    void (*class_init)(ObjectClass *, void *), (*class_base_init)(ObjectClass *, void *);
    void *class_data;
    void *interfaces;
} TypeInfo;

_Static_assert(sizeof(Object) == 40 && sizeof(ObjectClass) == 96, "QOM base types");
_Static_assert(offsetof(EventLoopBase, aio_max_batch) == 40 &&
               offsetof(EventLoopBase, thread_pool_max) == 56 && sizeof(EventLoopBase) == 64,
               "EventLoopBase");
_Static_assert(offsetof(EventLoopBaseClass, init) == 96 &&
               offsetof(EventLoopBaseClass, update_params) == 104 &&
               sizeof(EventLoopBaseClass) == 120, "EventLoopBaseClass");
_Static_assert(sizeof(TypeInfo) == 104, "TypeInfo");

enum { MODULE_INIT_QOM = 3 };

static struct {
    void (*fn)(void);
    int type;
} module_inits[8];
static int n_module_inits;
static const TypeInfo *registered[8];
static int n_registered;
static const char *last_object_cast, *last_class_cast;

void register_module_init(void (*fn)(void), int type)
{
    if (n_module_inits < 8) {
        module_inits[n_module_inits].fn = fn;
        module_inits[n_module_inits].type = type;
    }
    n_module_inits++;
}

void *type_register_static(const TypeInfo *info)
{
    if (n_registered < 8) {
        registered[n_registered] = info;
    }
    n_registered++;
    return (void *)info;
}

/* This QOM knows one class and one kind of object: the casts succeed and
 * remember the type name they were asked to check. */
Object *object_dynamic_cast_assert(Object *obj, const char *type_name, const char *file,
                                   int line, const char *func)
{
    last_object_cast = type_name;
    return obj;
}

ObjectClass *object_class_dynamic_cast_assert(ObjectClass *klass, const char *type_name,
                                              const char *file, int line, const char *func)
{
    last_class_cast = type_name;
    return klass;
}

/* ---- checks ----------------------------------------------------------------- */

static int failures;

#define CHECK(cond, ...)                                                  \
    do {                                                                  \
        if (!(cond)) {                                                    \
            fprintf(stderr, "core_qom: FAIL (line %d): ", __LINE__);     \
            fprintf(stderr, __VA_ARGS__);                                 \
            fputc('\n', stderr);                                          \
            failures++;                                                   \
        }                                                                 \
    } while (0)

#ifdef _WIN32
/* The process's threads, from a Toolhelp snapshot of the system's. */
static int thread_count(void)
{
    HANDLE snap = CreateToolhelp32Snapshot(TH32CS_SNAPTHREAD, 0);
    THREADENTRY32 te = { .dwSize = sizeof(te) };
    int n = 0;

    if (snap == INVALID_HANDLE_VALUE) {
        return -1;
    }
    for (BOOL more = Thread32First(snap, &te); more; more = Thread32Next(snap, &te)) {
        n += te.th32OwnerProcessID == GetCurrentProcessId();
    }
    CloseHandle(snap);
    return n;
}
#else
static int thread_count(void)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    int n = 0;

    if (!d) {
        return -1;
    }
    while ((e = readdir(d))) {
        n += e->d_name[0] != '.';
    }
    closedir(d);
    return n;
}
#endif

/* The main context's pool starts its minimum of workers from BHs: run the
 * main context until they exist, for at most 10 s. */
static bool wait_for_threads(int at_least)
{
    int64_t deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;

    while (thread_count() < at_least) {
        if (g_get_monotonic_time() > deadline) {
            return false;
        }
        aio_poll(qemu_get_aio_context(), false);
        g_usleep(1000);
    }
    return true;
}

static EventLoopBase *new_object(int64_t max_batch, int64_t min, int64_t max)
{
    EventLoopBase *o = g_new0(EventLoopBase, 1);

    o->aio_max_batch = max_batch;
    o->thread_pool_min = min;
    o->thread_pool_max = max;
    return o;
}

int main(void)
{
    static EventLoopBaseClass klass;   /* zeroed, as QOM allocates it */
    const TypeInfo *info;
    EventLoopBase *first, *second, *bad;
    Error *err = NULL;
    int before;

    /* The module-init constructor asked for the QOM phase; run it. */
    CHECK(n_module_inits == 1, "%d module-init registrations, expected 1", n_module_inits);
    if (n_module_inits != 1) {
        return 1;
    }
    CHECK(module_inits[0].type == MODULE_INIT_QOM, "registered for phase %d, not QOM (3)",
          module_inits[0].type);
    module_inits[0].fn();
    CHECK(n_registered == 1, "%d types registered, expected 1", n_registered);
    if (n_registered != 1) {
        return 1;
    }
    info = registered[0];
    CHECK(strcmp(info->name, "main-loop") == 0, "type name '%s'", info->name);
    CHECK(strcmp(info->parent, "event-loop-base") == 0, "parent '%s'", info->parent);
    CHECK(info->instance_size == sizeof(EventLoopBase), "instance_size %zu, expected %zu",
          info->instance_size, sizeof(EventLoopBase));
    CHECK(info->class_size == 0 || info->class_size == sizeof(EventLoopBaseClass),
          "class_size %zu", info->class_size);
    CHECK(!info->abstract && info->class_init && !info->interfaces,
          "abstract %d, class_init %p, interfaces %p", info->abstract,
          (void *)info->class_init, info->interfaces);

    info->class_init((ObjectClass *)&klass, info->class_data);
    CHECK(last_class_cast && strcmp(last_class_cast, "event-loop-base") == 0,
          "class_init cast to '%s'", last_class_cast ? last_class_cast : "(none)");
    CHECK(klass.init && klass.update_params, "class_init left init %p, update_params %p",
          (void *)klass.init, (void *)klass.update_params);
    if (!klass.init || !klass.update_params) {
        return 1;
    }
    CHECK(!klass.can_be_deleted || !klass.can_be_deleted(NULL),
          "the main-loop object may be deleted while remembered");

    /* Before the main loop exists, its parameters cannot be applied. */
    first = new_object(7, 3, 5);
    klass.update_params(first, &err);
    CHECK(err != NULL, "update_params without a main loop reported no error");
    error_free(err);
    err = NULL;

    big_lock();
    if (qemu_init_main_loop(&err) < 0) {
        fprintf(stderr, "core_qom: qemu_init_main_loop: %s\n", error_get_pretty(err));
        return 1;
    }

    /* Creation applies the parameters: the main context's pool keeps at
     * least thread-pool-min workers. */
    before = thread_count();
    klass.init(first, &err);
    CHECK(err == NULL, "init failed: %s", err ? error_get_pretty(err) : "");
    CHECK(last_object_cast && strcmp(last_object_cast, "main-loop") == 0,
          "init cast to '%s'", last_object_cast ? last_object_cast : "(none)");
    aio_get_thread_pool(qemu_get_aio_context());
    CHECK(before > 0 && wait_for_threads(before + 3),
          "thread-pool-min=3 did not reach the main context's pool: %d threads, "
          "%d before", thread_count(), before);

    /* A property change goes through update_params, and the pool's own
     * checks answer through errp. */
    bad = new_object(0, 5, 2);
    klass.update_params(bad, &err);
    CHECK(err && strstr(error_get_pretty(err), "thread-pool"),
          "thread-pool-min > thread-pool-max accepted (%s)",
          err ? error_get_pretty(err) : "no error");
    error_free(err);
    err = NULL;

    /* One main loop per process. */
    second = new_object(0, 0, 64);
    klass.init(second, &err);
    CHECK(err && strcmp(error_get_pretty(err), "only one main-loop instance allowed") == 0,
          "a second main-loop object: %s", err ? error_get_pretty(err) : "no error");
    error_free(err);

    big_unlock();
    g_free(bad);
    g_free(second);
    if (failures) {
        return 1;
    }
    printf("core_qom: the main-loop type registered through QOM, applied its "
           "parameters and refused a second instance\n");
    return 0;
}
