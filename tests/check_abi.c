/* SPDX-License-Identifier: MIT */
/*
 * Suite "abi": qaio against the binary interface of the QEMU API level built
 * (7.2 or 10.0; the files named below are those of that level), in three
 * layers.
 * (a) Prototypes, at compile time: every symbol of the export table
 *     (cabi/exports.tsv) is checked against its QEMU type at the level (written
 *     in the table from QEMU's headers, not copied from ours), so a drifted
 *     prototype in include/ stops the build; a test makes sure the lists the
 *     build generated and these rows name the same symbols.
 * (b) Layouts and constants: sizes and offsets asserted at compile time and
 *     again as tests, then compared row by row with tests/abi/layout-LEVEL.tsv
 *     (the compile-time rows are generated from the same file).
 * (c) Symbols, at run time: nm of libqaio.so and libqaio-core.a against the
 *     lists generated from the table and tests/abi/qemu-LEVEL-exports.txt.
 * The build passes QAIO_SRCDIR, QAIO_BUILDDIR and NM in the environment; run
 * by hand, the build directory is found from the executable's path and the
 * source directory from its Makefile.
 */
#include "qemu/osdep.h"
#include "block/aio.h"
#include "qemu/main-loop.h"
#include "block/aio-wait.h"
#include "qemu/notify.h"
#include "qemu/timer.h"
#include "qemu/thread.h"
#include "qemu/event_notifier.h"
#include "qapi/error.h"
#include "qemu/error-report.h"
#include "qemu/coroutine.h"
#include "qemu/coroutine_int.h"
#include "qemu/iov.h"
#include "block/thread-pool.h"
#include "block/raw-aio.h"
#if QAIO_QEMU_API_AT_LEAST(10, 0)
#include "qemu/defer-call.h"   /* the support runtime's stand-ins */
#endif
#include "helpers.h"

#include <stddef.h>

/* Make a mismatched function-pointer assignment an error, not a warning. */
#pragma GCC diagnostic error "-Wincompatible-pointer-types"

/* QEMU declares these in sysemu/cpu-timers.h and sysemu/replay.h, which
 * qaio does not ship. */
int64_t cpu_get_clock(void);
int64_t cpus_get_virtual_clock(void);
void qemu_timer_notify_cb(void *opaque, QEMUClockType type);
void replay_mutex_lock(void);
void replay_mutex_unlock(void);
#if QAIO_QEMU_API_AT_LEAST(10, 0)
void cpus_set_virtual_clock(int64_t new_time);
#endif

/* The QEMU API level built, and its files of measured facts. */
#define T_API QAIO_QEMU_API
#define T_LAYOUT_FILE "tests/abi/layout-" T_API ".tsv"
#define T_EXPORTS_FILE "tests/abi/qemu-" T_API "-exports.txt"

/* ====================================================================== */
/* (a) Prototypes                                                         */
/* ====================================================================== */

/*
 * F(name, return type, parameter list) for functions, D(name, type) for
 * data, with QEMU 7.2's types: generated from cabi/exports.tsv, one macro
 * per build condition.  The engines' rows count only in builds with them,
 * as their symbols exist only there.
 */
#include "abi/exports.h"

#ifdef CONFIG_LINUX_AIO
#define T_LINUX_AIO_SYMBOLS T_EXPORTS_LINUX_AIO
#else
#define T_LINUX_AIO_SYMBOLS(F, D)
#endif
#ifdef CONFIG_LINUX_IO_URING
#define T_IO_URING_SYMBOLS T_EXPORTS_IO_URING
#else
#define T_IO_URING_SYMBOLS(F, D)
#endif
#define T_CORE_SYMBOLS(F, D)                                                  \
    T_EXPORTS_ALWAYS(F, D)                                                    \
    T_LINUX_AIO_SYMBOLS(F, D)                                                 \
    T_IO_URING_SYMBOLS(F, D)
#define T_RUNTIME_SYMBOLS T_EXPORTS_RUNTIME

/* The type check: the assignment reads well in a diagnostic, the static
 * assertion makes any difference (even one C would convert) fatal. */
#define T_CHECK_FN(name, ret, params)                                         \
    _Static_assert(__builtin_types_compatible_p(__typeof__(name),             \
                                                ret params),                  \
                   #name " differs from QEMU " T_API "'s prototype");         \
    static ret (*const p_##name) params __attribute__((unused)) = name;
#define T_CHECK_DATA(name, type)                                              \
    _Static_assert(__builtin_types_compatible_p(__typeof__(name), type),      \
                   #name " differs from QEMU " T_API "'s type");              \
    static type *const p_##name __attribute__((unused)) = &name;

T_CORE_SYMBOLS(T_CHECK_FN, T_CHECK_DATA)
T_RUNTIME_SYMBOLS(T_CHECK_FN, T_CHECK_DATA)

typedef struct {
    const char *name;
    const void *addr;
} Checked;

#define T_ENTRY_FN(name, ret, params) { #name, (const void *)name },
#define T_ENTRY_DATA(name, type) { #name, (const void *)&name },

static const Checked t_checked_core[] = {
    T_CORE_SYMBOLS(T_ENTRY_FN, T_ENTRY_DATA)
};
static const Checked t_checked_runtime[] = {
    T_RUNTIME_SYMBOLS(T_ENTRY_FN, T_ENTRY_DATA)
};

/* ====================================================================== */
/* (b) Layouts                                                            */
/* ====================================================================== */

/* The layout is configure's --enable-aio-context-layout, a row of
 * include/block/aio-context-layouts.tsv (the level's numbers for the engine
 * choices of the QEMU build matched), not this build's engines; the test
 * layout_table_agrees_with_layout_tsv ties every row to layout.tsv. */
#define T_TLG_OFFSET QAIO_AIO_CONTEXT_TLG_OFFSET
#define T_AIO_CONTEXT_MIN_SIZE QAIO_AIO_CONTEXT_SIZE

/* S(type, size), O(type, field, offset): the x86-64 LP64 facts of the
 * level's layout file, generated from it (tests/abi/layouts.h, by
 * scripts/gen-layouts.sh), for the structs qaio's headers declare.
 * AioContext's offsets from tlg on are relative to T_TLG_OFFSET. */
#include "abi/layouts.h"

#define T_LAYOUTS(S, O)                                                       \
    T_LAYOUT_QEMUTimer(S, O)                                                  \
    T_LAYOUT_QEMUTimerListGroup(S, O)                                         \
    T_LAYOUT_EventNotifier(S, O)                                              \
    T_LAYOUT_QemuLockCnt(S, O)                                                \
    T_LAYOUT_GSource(S, O)                                                    \
    T_LAYOUT_AioContext(S, O)                                                 \
    T_LAYOUT_BlockAIOCB(S, O)                                                 \
    T_LAYOUT_AIOCBInfo(S, O)                                                  \
    T_LAYOUT_MainLoopPoll(S, O)                                               \
    T_LAYOUT_AioWait(S, O)                                                    \
    T_LAYOUT_Notifier(S, O)                                                   \
    T_LAYOUT_QemuLockable(S, O)                                               \
    T_LAYOUT_QEMUIOVector(S, O)                                               \
    T_LAYOUT_Coroutine(S, O)                                                  \
    T_LAYOUT_CoQueue(S, O)                                                    \
    T_LAYOUT_CoMutex(S, O)                                                    \
    T_LAYOUT_CoRwlock(S, O)                                                   \
    T_LAYOUT_QemuCoSleep(S, O)                                                \
    T_LAYOUT_MemReentrancyGuard(S, O)

/* The ones that embed glibc's pthread types. */
#define T_LAYOUTS_GLIBC(S, O)                                                 \
    T_LAYOUT_QemuMutex(S, O)                                                  \
    T_LAYOUT_QemuRecMutex(S, O)                                               \
    T_LAYOUT_QemuCond(S, O)

#define T_SA_SIZE(T, n) \
    _Static_assert(sizeof(T) == (n), "sizeof(" #T ") must be " #n);
#define T_SA_OFFSET(T, f, n) \
    _Static_assert(offsetof(T, f) == (n), "offsetof(" #T ", " #f ") must be " #n);

#if defined(__x86_64__) && defined(__LP64__)
#define T_HAVE_LAYOUTS 1
T_LAYOUTS(T_SA_SIZE, T_SA_OFFSET)
_Static_assert(sizeof(AioContext) >= T_AIO_CONTEXT_MIN_SIZE,
               "AioContext is smaller than QEMU's");
#if defined(__GLIBC__) && defined(CONFIG_POSIX)
#define T_HAVE_GLIBC_LAYOUTS 1
T_LAYOUTS_GLIBC(T_SA_SIZE, T_SA_OFFSET)
#endif
#endif

typedef struct {
    const char *type;
    const char *field;      /* "(sizeof)" for a size */
    long actual;
    long expected;
} LayoutFact;

#define T_FACT_SIZE(T, n) { #T, "(sizeof)", (long)sizeof(T), (n) },
#define T_FACT_OFFSET(T, f, n) { #T, #f, (long)offsetof(T, f), (n) },

static const LayoutFact t_layouts[] = {
#ifdef T_HAVE_LAYOUTS
    T_LAYOUTS(T_FACT_SIZE, T_FACT_OFFSET)
#endif
#ifdef T_HAVE_GLIBC_LAYOUTS
    T_LAYOUTS_GLIBC(T_FACT_SIZE, T_FACT_OFFSET)
#endif
    { NULL, NULL, 0, 0 }
};

/* The "(const)" rows of layout.tsv that our headers declare, with the
 * value the header gives them. */
typedef struct {
    const char *name;
    long long value;
} ConstFact;

static const ConstFact t_consts[] = {
    { "QEMU_CLOCK_REALTIME", QEMU_CLOCK_REALTIME },
    { "QEMU_CLOCK_VIRTUAL", QEMU_CLOCK_VIRTUAL },
    { "QEMU_CLOCK_HOST", QEMU_CLOCK_HOST },
    { "QEMU_CLOCK_VIRTUAL_RT", QEMU_CLOCK_VIRTUAL_RT },
    { "QEMU_CLOCK_MAX", QEMU_CLOCK_MAX },
    { "SCALE_MS", SCALE_MS },
    { "SCALE_US", SCALE_US },
    { "SCALE_NS", SCALE_NS },
    { "QEMU_TIMER_ATTR_EXTERNAL", QEMU_TIMER_ATTR_EXTERNAL },
    { "QEMU_TIMER_ATTR_ALL", QEMU_TIMER_ATTR_ALL },
    { "MAIN_LOOP_POLL_FILL", MAIN_LOOP_POLL_FILL },
    { "MAIN_LOOP_POLL_ERR", MAIN_LOOP_POLL_ERR },
    { "MAIN_LOOP_POLL_OK", MAIN_LOOP_POLL_OK },
    { "COROUTINE_YIELD", COROUTINE_YIELD },
    { "COROUTINE_TERMINATE", COROUTINE_TERMINATE },
    { "COROUTINE_ENTER", COROUTINE_ENTER },
    /* Macros of headers qaio does not ship yet join by themselves. */
#ifdef QEMU_AIO_READ
    { "QEMU_AIO_READ", QEMU_AIO_READ },
    { "QEMU_AIO_WRITE", QEMU_AIO_WRITE },
    { "QEMU_AIO_IOCTL", QEMU_AIO_IOCTL },
    { "QEMU_AIO_FLUSH", QEMU_AIO_FLUSH },
    { "QEMU_AIO_DISCARD", QEMU_AIO_DISCARD },
    { "QEMU_AIO_WRITE_ZEROES", QEMU_AIO_WRITE_ZEROES },
    { "QEMU_AIO_COPY_RANGE", QEMU_AIO_COPY_RANGE },
    { "QEMU_AIO_TRUNCATE", QEMU_AIO_TRUNCATE },
    { "QEMU_AIO_MISALIGNED", QEMU_AIO_MISALIGNED },
    { "QEMU_AIO_BLKDEV", QEMU_AIO_BLKDEV },
    { "QEMU_AIO_NO_FALLBACK", QEMU_AIO_NO_FALLBACK },
#endif
#ifdef COROUTINE_STACK_SIZE
    { "COROUTINE_STACK_SIZE", COROUTINE_STACK_SIZE },
#endif
#ifdef QEMU_AIO_ZONE_REPORT
    { "QEMU_AIO_ZONE_REPORT", QEMU_AIO_ZONE_REPORT },
    { "QEMU_AIO_ZONE_MGMT", QEMU_AIO_ZONE_MGMT },
    { "QEMU_AIO_ZONE_APPEND", QEMU_AIO_ZONE_APPEND },
#endif
#if QAIO_QEMU_API_AT_LEAST(10, 0)
    /* in 7.2 too, but 7.2's layout file does not list them */
    { "QEMU_AIO_TYPE_MASK", QEMU_AIO_TYPE_MASK },
    { "CO_QUEUE_WAIT_FRONT", CO_QUEUE_WAIT_FRONT },
#endif
    { NULL, 0 }
};

/* ====================================================================== */
/* Files, lists and nm                                                    */
/* ====================================================================== */

static char *t_builddir_cache;
static char *t_srcdir_cache;

/* The directory holding libqaio.la, searched upward from the executable
 * (libtool runs it from tests/.libs/). */
static char *guess_builddir(void)
{
    char *exe = g_file_read_link("/proc/self/exe", NULL);
    char *dir = exe ? g_path_get_dirname(exe) : g_get_current_dir();

    g_free(exe);
    while (dir && strcmp(dir, "/") != 0) {
        char *la = g_build_filename(dir, "libqaio.la", NULL);
        bool found = g_file_test(la, G_FILE_TEST_EXISTS);
        char *parent;

        g_free(la);
        if (found) {
            return dir;
        }
        parent = g_path_get_dirname(dir);
        g_free(dir);
        dir = parent;
    }
    g_free(dir);
    return g_strdup(".");
}

/* abs_top_srcdir from the build directory's Makefile. */
static char *guess_srcdir(const char *builddir)
{
    char *makefile = g_build_filename(builddir, "Makefile", NULL);
    char *text = NULL;
    char *result = NULL;

    if (g_file_get_contents(makefile, &text, NULL, NULL)) {
        char **lines = g_strsplit(text, "\n", -1);
        int i;

        for (i = 0; lines[i] && !result; i++) {
            if (g_str_has_prefix(lines[i], "abs_top_srcdir = ")) {
                result = g_strstrip(g_strdup(lines[i] + strlen("abs_top_srcdir = ")));
            }
        }
        g_strfreev(lines);
    }
    g_free(text);
    g_free(makefile);
    return result ? result : g_strdup(builddir);
}

static const char *builddir(void)
{
    if (!t_builddir_cache) {
        const char *env = getenv("QAIO_BUILDDIR");
        t_builddir_cache = env && *env ? g_strdup(env) : guess_builddir();
    }
    return t_builddir_cache;
}

static const char *srcdir(void)
{
    if (!t_srcdir_cache) {
        const char *env = getenv("QAIO_SRCDIR");
        t_srcdir_cache = env && *env ? g_strdup(env) : guess_srcdir(builddir());
    }
    return t_srcdir_cache;
}

static char *src_path(const char *rel)
{
    return g_build_filename(srcdir(), rel, NULL);
}

static char *build_path(const char *rel)
{
    return g_build_filename(builddir(), rel, NULL);
}

/* Lines of a text file (the path is freed), comments ('#' to end of line)
 * removed, blank lines dropped, each stripped; the test fails if the file
 * cannot be read. */
static char **read_lines_at(char *path)
{
    char *text = NULL;
    GError *err = NULL;
    GPtrArray *out = g_ptr_array_new();
    char **lines;
    int i;

    ck_assert_msg(g_file_get_contents(path, &text, NULL, &err),
                  "cannot read %s: %s (set QAIO_SRCDIR and QAIO_BUILDDIR)", path,
                  err ? err->message : "?");
    lines = g_strsplit(text, "\n", -1);
    for (i = 0; lines[i]; i++) {
        char *hash = strchr(lines[i], '#');
        if (hash) {
            *hash = '\0';
        }
        g_strstrip(lines[i]);
        if (*lines[i]) {
            g_ptr_array_add(out, g_strdup(lines[i]));
        }
    }
    g_ptr_array_add(out, NULL);
    g_strfreev(lines);
    g_free(text);
    g_free(path);
    return (char **)g_ptr_array_free(out, FALSE);
}

/* Lines of a file of the source tree. */
static char **read_lines(const char *rel)
{
    return read_lines_at(src_path(rel));
}

/* The set of names in a generated list of the build tree, one a line. */
static GHashTable *read_name_list(const char *rel)
{
    GHashTable *set = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    char **lines = read_lines_at(build_path(rel));
    int i;

    for (i = 0; lines[i]; i++) {
        char **words = g_strsplit_set(lines[i], " \t", 2);
        g_hash_table_add(set, g_strdup(words[0]));
        g_strfreev(words);
    }
    g_strfreev(lines);
    return set;
}

/* The names the build generated from cabi/exports.tsv for libqaio-core.a
 * (the conditions this build configured) and for the support runtime. */
static GHashTable *core_list(void)
{
    return read_name_list("exports-core.list");
}

static GHashTable *runtime_list(void)
{
    return read_name_list("exports-runtime.list");
}

/* Global defined symbols that `$NM <flags> <file>` reports, version
 * suffixes (@QAIO_0, @@QAIO_0) removed; absolute symbols (the version node)
 * skipped. */
static GHashTable *nm_defined(const char *flags, const char *rel)
{
    const char *nm = getenv("NM");
    char *file = build_path(rel);
    char *cmd;
    FILE *p;
    char line[1024];
    GHashTable *set = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    int status;

    ck_assert_msg(g_file_test(file, G_FILE_TEST_EXISTS),
                  "%s does not exist (build it, or set QAIO_BUILDDIR)", file);
    cmd = g_strdup_printf("%s %s '%s' 2>/dev/null", nm && *nm ? nm : "nm",
                          flags, file);
    p = popen(cmd, "r");
    ck_assert_msg(p != NULL, "cannot run %s", cmd);
    while (fgets(line, sizeof(line), p)) {
        char addr[64], type[8], name[512];
        char *at;

        /* "addr type name"; archive member headers and blanks do not fit */
        if (sscanf(line, "%63s %7s %511s", addr, type, name) != 3) {
            continue;
        }
        if (strcmp(type, "A") == 0) {
            continue;
        }
        at = strchr(name, '@');
        if (at) {
            *at = '\0';
        }
        g_hash_table_add(set, g_strdup(name));
    }
    status = pclose(p);
    ck_assert_msg(status == 0, "'%s' failed (status %d)", cmd, status);
    g_free(cmd);
    g_free(file);
    return set;
}

static GHashTable *so_symbols(void)
{
    return nm_defined("-D --defined-only", ".libs/libqaio.so");
}

static GHashTable *core_symbols(void)
{
    return nm_defined("--defined-only -g", "libqaio-core.a");
}

/* Sorted keys, so that reports are stable. */
static GPtrArray *sorted_names(GHashTable *set)
{
    GPtrArray *out = g_ptr_array_new();
    GHashTableIter it;
    gpointer key;

    g_hash_table_iter_init(&it, set);
    while (g_hash_table_iter_next(&it, &key, NULL)) {
        g_ptr_array_add(out, key);
    }
    g_ptr_array_sort(out, (GCompareFunc)g_ascii_strcasecmp);
    return out;
}

/* Fails the test naming every member of `set` that `ok` rejects. */
typedef bool NamePredicate(const char *name, void *opaque);

static void assert_all(GHashTable *set, NamePredicate *ok, void *opaque,
                       const char *what)
{
    GPtrArray *names = sorted_names(set);
    GString *bad = g_string_new("");
    unsigned i, n = 0;

    for (i = 0; i < names->len; i++) {
        const char *name = g_ptr_array_index(names, i);
        if (!ok(name, opaque)) {
            g_string_append_printf(bad, " %s", name);
            n++;
        }
    }
    ck_assert_msg(n == 0, "%u %s:%s", n, what, bad->str);
    g_string_free(bad, TRUE);
    g_ptr_array_free(names, TRUE);
}

static bool in_set(const char *name, void *opaque)
{
    return g_hash_table_contains(opaque, name);
}

static bool not_in_set(const char *name, void *opaque)
{
    return !g_hash_table_contains(opaque, name);
}

/* One row of qemu-7.2-exports.txt: symbol kind object platform [note]. */
typedef struct {
    char *symbol, *kind, *object, *platform, *note;
} ExportRow;

static GPtrArray *read_qemu_exports(void)
{
    char **lines = read_lines(T_EXPORTS_FILE);
    GPtrArray *rows = g_ptr_array_new();
    int i;

    for (i = 0; lines[i]; i++) {
        char **w = g_strsplit_set(lines[i], " \t", -1);
        ExportRow *r;
        int n = g_strv_length(w);

        ck_assert_msg(n >= 4, "malformed row in %s: %s", T_EXPORTS_FILE, lines[i]);
        r = g_new0(ExportRow, 1);
        r->symbol = g_strdup(w[0]);
        r->kind = g_strdup(w[1]);
        r->object = g_strdup(w[2]);
        r->platform = g_strdup(w[3]);
        r->note = g_strdup(n >= 5 ? w[4] : "");
        g_ptr_array_add(rows, r);
        g_strfreev(w);
    }
    g_strfreev(lines);
    return rows;
}

static bool row_is_required(const ExportRow *r)
{
    return strcmp(r->platform, "win32") != 0 && strcmp(r->note, "internal") != 0;
}

/* ====================================================================== */
/* Tests: (a) prototypes                                                  */
/* ====================================================================== */

static bool in_checked(const char *name, const Checked *table, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (strcmp(table[i].name, name) == 0) {
            return true;
        }
    }
    return false;
}

static bool in_checked_core(const char *name, void *opaque)
{
    return in_checked(name, t_checked_core, G_N_ELEMENTS(t_checked_core));
}

static bool in_checked_runtime(const char *name, void *opaque)
{
    return in_checked(name, t_checked_runtime, G_N_ELEMENTS(t_checked_runtime));
}

START_TEST(every_listed_symbol_has_a_prototype_check)
{
    GHashTable *core = core_list();
    GHashTable *runtime = runtime_list();

    assert_all(core, in_checked_core, NULL,
               "core names the build exports lack a prototype row "
               "(generated from cabi/exports.tsv)");
    assert_all(runtime, in_checked_runtime, NULL,
               "runtime names the build exports lack a prototype row "
               "(generated from cabi/exports.tsv)");
    g_hash_table_unref(core);
    g_hash_table_unref(runtime);
}
END_TEST

START_TEST(every_prototype_check_names_a_listed_symbol)
{
    GHashTable *core = core_list();
    GHashTable *runtime = runtime_list();
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(t_checked_core); i++) {
        ck_assert_msg(g_hash_table_contains(core, t_checked_core[i].name),
                      "%s is checked but not in the build's exports-core.list",
                      t_checked_core[i].name);
        ck_assert_ptr_nonnull(t_checked_core[i].addr);
    }
    for (i = 0; i < G_N_ELEMENTS(t_checked_runtime); i++) {
        ck_assert_msg(g_hash_table_contains(runtime, t_checked_runtime[i].name),
                      "%s is checked but not in the build's exports-runtime.list",
                      t_checked_runtime[i].name);
        ck_assert_ptr_nonnull(t_checked_runtime[i].addr);
    }
    g_hash_table_unref(core);
    g_hash_table_unref(runtime);
}
END_TEST

/* ====================================================================== */
/* Tests: (b) layouts and constants                                       */
/* ====================================================================== */

START_TEST(fixed_layouts_match_qemu)
{
    const LayoutFact *f;

#ifndef T_HAVE_LAYOUTS
    fprintf(stderr, "SKIP layouts: layout.tsv describes x86-64 only\n");
    return;
#endif
    for (f = t_layouts; f->type; f++) {
        ck_assert_msg(f->actual == f->expected, "%s %s is %ld, QEMU %s has %ld",
                      f->type, f->field, f->actual, T_API, f->expected);
    }
}
END_TEST

#define T_CK_SIZE(T, n)
#define T_CK_OFFSET(T, f, n) ck_assert_uint_eq(offsetof(T, f), (n));

START_TEST(aio_context_keeps_qemu_offsets_and_may_only_grow)
{
    T_LAYOUT_AioContext(T_CK_SIZE, T_CK_OFFSET)
    ck_assert_uint_ge(sizeof(AioContext), T_AIO_CONTEXT_MIN_SIZE);
}
END_TEST

/* A number of layout.tsv's AioContext rows: the offset of `field`, its
 * size, or with "(sizeof)" the struct's size. */
static long tsv_aio_context(const char *field, bool size)
{
    char **lines = read_lines(T_LAYOUT_FILE);
    long value = -1;
    int i;

    for (i = 0; lines[i] && value < 0; i++) {
        char **w = g_strsplit(lines[i], "\t", -1);

        if (g_strv_length(w) >= 4 && strcmp(w[0], "AioContext") == 0 &&
            strcmp(w[1], field) == 0) {
            value = strtol(size ? w[3] : w[2], NULL, 10);
        }
        g_strfreev(w);
    }
    g_strfreev(lines);
    ck_assert_msg(value >= 0, "%s has no AioContext %s row", T_LAYOUT_FILE, field);
    return value;
}

/* Every row of the layout table is layout.tsv's build (both engines) less
 * the fields of the engines its QEMU build lacked, and the configured
 * layout is one of them. */
START_TEST(layout_table_agrees_with_layout_tsv)
{
    char **lines = read_lines("include/block/aio-context-layouts.tsv");
    long tlg = tsv_aio_context("tlg", false);
    long tail = tsv_aio_context("(sizeof)", true) - tlg;
    long linux_aio = tsv_aio_context("linux_aio", true);
    long io_uring = tsv_aio_context("linux_io_uring", true) +
                    tsv_aio_context("fdmon_io_uring", true) +
                    tsv_aio_context("submit_list", true);
    int i, rows = 0, configured = 0;

    for (i = 0; lines[i]; i++) {
        char **w = g_strsplit(lines[i], "\t", -1);
        long row_tlg, row_size, expected;

        ck_assert_msg(g_strv_length(w) == 7, "malformed layout row: %s", lines[i]);
        if (strcmp(w[0], T_API) != 0) {     /* another level's row */
            g_strfreev(w);
            continue;
        }
        row_tlg = strtol(w[3], NULL, 10);
        row_size = strtol(w[4], NULL, 10);
        expected = tlg - (strcmp(w[5], "1") == 0 ? 0 : linux_aio) -
                   (strcmp(w[6], "1") == 0 ? 0 : io_uring);
        ck_assert_msg(row_tlg == expected, "layout %s: tlg at %ld, QEMU %s has %ld",
                      w[1], row_tlg, T_API, expected);
        ck_assert_msg(row_size == row_tlg + tail, "layout %s: %ld bytes, QEMU %s has %ld",
                      w[1], row_size, T_API, row_tlg + tail);
        if (strcmp(w[1], QAIO_AIO_CONTEXT_LAYOUT) == 0) {
            ck_assert_int_eq(row_tlg, T_TLG_OFFSET);
            ck_assert_int_eq(row_size, T_AIO_CONTEXT_MIN_SIZE);
            configured++;
        }
        rows++;
        g_strfreev(w);
    }
    ck_assert_int_eq(rows, 4);
    ck_assert_int_eq(configured, 1);
    g_strfreev(lines);
}
END_TEST

static const LayoutFact *find_fact(const char *type, const char *field)
{
    const LayoutFact *f;

    for (f = t_layouts; f->type; f++) {
        if (strcmp(f->type, type) == 0 && strcmp(f->field, field) == 0) {
            return f;
        }
    }
    return NULL;
}

static bool type_is_checked(const char *type)
{
    const LayoutFact *f;

    for (f = t_layouts; f->type; f++) {
        if (strcmp(f->type, type) == 0) {
            return true;
        }
    }
    return false;
}

START_TEST(layouts_agree_with_layout_tsv)
{
    char **lines;
    GHashTable *unchecked = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    GPtrArray *names;
    int i, compared = 0;
    long tsv_tlg;
    unsigned j;

#ifndef T_HAVE_LAYOUTS
    fprintf(stderr, "SKIP layout.tsv: it describes x86-64 only\n");
    return;
#endif
    /* The file's build had both engines: tlg where it says. */
    tsv_tlg = tsv_aio_context("tlg", false);
    lines = read_lines(T_LAYOUT_FILE);
    for (i = 0; lines[i]; i++) {
        char **w = g_strsplit(lines[i], "\t", -1);
        const char *type = w[0], *field = w[1], *rule = w[4];
        const LayoutFact *f;
        long expected;

        ck_assert_msg(g_strv_length(w) >= 5, "malformed layout.tsv row: %s", lines[i]);
        if (strcmp(type, "(const)") == 0 || strcmp(rule, "free") == 0) {
            g_strfreev(w);
            continue;
        }
        expected = strtol(strcmp(field, "(sizeof)") == 0 ? w[3] : w[2], NULL, 10);
        if (!type_is_checked(type)) {
            g_hash_table_add(unchecked, g_strdup(type));
            g_strfreev(w);
            continue;
        }
        if (strcmp(type, "AioContext") == 0 &&
            (strcmp(field, "(sizeof)") == 0 || expected >= tsv_tlg)) {
            /* The file's build had both engines; ours may differ, and
             * everything from tlg on moves with it. */
            expected += T_TLG_OFFSET - tsv_tlg;
            if (strcmp(field, "(sizeof)") == 0) {
                ck_assert_msg((long)sizeof(AioContext) >= expected,
                              "AioContext is %zu bytes, QEMU %s has %ld",
                              sizeof(AioContext), T_API, expected);
                compared++;
                g_strfreev(w);
                continue;
            }
        }
        f = find_fact(type, field);
        ck_assert_msg(f != NULL, "%s row %s %s is not checked by check_abi.c",
                      T_LAYOUT_FILE, type, field);
        ck_assert_msg(f->actual == expected, "%s %s is %ld, %s says %ld",
                      type, field, f->actual, T_LAYOUT_FILE, expected);
        compared++;
        g_strfreev(w);
    }
    ck_assert_int_gt(compared, 0);

    names = sorted_names(unchecked);
    printf("abi: %d %s rows compared; types not declared by qaio's "
           "headers yet (%u):", compared, T_LAYOUT_FILE, names->len);
    for (j = 0; j < names->len; j++) {
        printf(" %s", (const char *)g_ptr_array_index(names, j));
    }
    printf("\n");
    g_ptr_array_free(names, TRUE);
    g_hash_table_unref(unchecked);
    g_strfreev(lines);
}
END_TEST

START_TEST(constants_agree_with_layout_tsv)
{
    char **lines = read_lines(T_LAYOUT_FILE);
    GString *undeclared = g_string_new("");
    int i, compared = 0, n_undeclared = 0;
    const ConstFact *c;

    for (i = 0; lines[i]; i++) {
        char **w = g_strsplit(lines[i], "\t", -1);
        bool found = false;

        if (g_strv_length(w) < 3 || strcmp(w[0], "(const)") != 0) {
            g_strfreev(w);
            continue;
        }
        for (c = t_consts; c->name; c++) {
            if (strcmp(c->name, w[1]) == 0) {
                long long expected = strtoll(w[2], NULL, 10);
                ck_assert_msg(c->value == expected, "%s is %lld, QEMU %s has %lld",
                              c->name, c->value, T_API, expected);
                found = true;
                compared++;
            }
        }
        if (!found) {
            g_string_append_printf(undeclared, " %s", w[1]);
            n_undeclared++;
        }
        g_strfreev(w);
    }
    /* Every constant we declare must be one the file knows. */
    ck_assert_int_eq(compared, (int)(G_N_ELEMENTS(t_consts) - 1));
    printf("abi: %d constants compared; not declared by qaio's headers yet "
           "(%d):%s\n", compared, n_undeclared, undeclared->str);
    g_string_free(undeclared, TRUE);
    g_strfreev(lines);
}
END_TEST

/* ====================================================================== */
/* Tests: (c) symbols                                                     */
/* ====================================================================== */

START_TEST(so_exports_every_listed_symbol)
{
    GHashTable *list = core_list();
    GHashTable *so = so_symbols();

    assert_all(list, in_set, so,
               "core names of cabi/exports.tsv are not exported by libqaio.so");
    g_hash_table_unref(list);
    g_hash_table_unref(so);
}
END_TEST

START_TEST(so_exports_every_runtime_symbol)
{
    GHashTable *list = runtime_list();
    GHashTable *so = so_symbols();

    assert_all(list, in_set, so,
               "runtime names of cabi/exports.tsv are not exported by libqaio.so");
    g_hash_table_unref(list);
    g_hash_table_unref(so);
}
END_TEST

START_TEST(core_archive_defines_every_listed_symbol)
{
    GHashTable *list = core_list();
    GHashTable *core = core_symbols();

    assert_all(list, in_set, core,
               "core names of cabi/exports.tsv are not defined by libqaio-core.a");
    g_hash_table_unref(list);
    g_hash_table_unref(core);
}
END_TEST

typedef struct {
    GHashTable *core, *runtime;
} Contract;

static bool core_symbol_allowed(const char *name, void *opaque)
{
    Contract *c = opaque;

    return g_hash_table_contains(c->core, name) ||
           g_str_has_prefix(name, "qaio_") ||
           g_str_has_prefix(name, "_ZN4qaio");
}

static bool so_symbol_allowed(const char *name, void *opaque)
{
    Contract *c = opaque;

    return g_hash_table_contains(c->core, name) ||
           g_hash_table_contains(c->runtime, name) ||
           g_str_has_prefix(name, "qaio_") ||
           strcmp(name, "QAIO_0") == 0;
}

START_TEST(core_archive_defines_nothing_else)
{
    Contract c = { core_list(), NULL };
    GHashTable *core = core_symbols();

    assert_all(core, core_symbol_allowed, &c,
               "global symbols of libqaio-core.a are outside the contract");
    g_hash_table_unref(c.core);
    g_hash_table_unref(core);
}
END_TEST

START_TEST(core_archive_leaves_the_runtime_to_qemu)
{
    GHashTable *runtime = runtime_list();
    GHashTable *core = core_symbols();

    assert_all(runtime, not_in_set, core,
               "support-runtime symbols are defined by libqaio-core.a, where "
               "they would collide with QEMU's");
    g_hash_table_unref(runtime);
    g_hash_table_unref(core);
}
END_TEST

START_TEST(so_exports_nothing_outside_contract)
{
    Contract c = { core_list(), runtime_list() };
    GHashTable *so = so_symbols();

    assert_all(so, so_symbol_allowed, &c,
               "dynamic symbols of libqaio.so are outside the contract");
    g_hash_table_unref(c.core);
    g_hash_table_unref(c.runtime);
    g_hash_table_unref(so);
}
END_TEST

static bool is_posix_qemu_export(const char *name, void *opaque)
{
    GPtrArray *rows = opaque;
    unsigned i;

    for (i = 0; i < rows->len; i++) {
        const ExportRow *r = g_ptr_array_index(rows, i);
        if (strcmp(r->symbol, name) == 0 && strcmp(r->platform, "win32") != 0) {
            return true;
        }
    }
    return false;
}

static void free_row(gpointer p)
{
    ExportRow *r = p;

    g_free(r->symbol);
    g_free(r->kind);
    g_free(r->object);
    g_free(r->platform);
    g_free(r->note);
    g_free(r);
}

START_TEST(listed_symbols_are_qemu_exports)
{
    GHashTable *list = core_list();
    GPtrArray *rows = read_qemu_exports();

    assert_all(list, is_posix_qemu_export, rows,
               "core names of cabi/exports.tsv are not POSIX exports of QEMU "
               T_API " (" T_EXPORTS_FILE ")");
    g_ptr_array_set_free_func(rows, free_row);
    g_ptr_array_free(rows, TRUE);
    g_hash_table_unref(list);
}
END_TEST

START_TEST(report_missing_qemu_exports)
{
    GPtrArray *rows = read_qemu_exports();
    GHashTable *so = so_symbols();
    GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);
    GString *missing = g_string_new("");
    unsigned i, n_missing = 0, n_required = 0;

    for (i = 0; i < rows->len; i++) {
        const ExportRow *r = g_ptr_array_index(rows, i);

        if (!row_is_required(r) || g_hash_table_contains(seen, r->symbol)) {
            continue;
        }
        g_hash_table_add(seen, r->symbol);
        n_required++;
        if (!g_hash_table_contains(so, r->symbol)) {
            g_string_append_printf(missing, "  %-36s %s %s%s%s\n", r->symbol,
                                   r->kind, r->object, *r->note ? " " : "",
                                   r->note);
            n_missing++;
        }
    }
    /* Informational: the honest state of the port, never a failure. */
    printf("abi: libqaio.so exports %u of the %u POSIX, non-internal symbols "
           "of QEMU " T_API "'s subsystem; %u missing:\n%s", n_required - n_missing,
           n_required, n_missing, missing->str);
    fflush(stdout);

    g_string_free(missing, TRUE);
    g_hash_table_unref(seen);
    g_hash_table_unref(so);
    g_ptr_array_set_free_func(rows, free_row);
    g_ptr_array_free(rows, TRUE);
}
END_TEST

static Suite *abi_suite(void)
{
    Suite *s = suite_create("abi");
    TCase *tc;

    tc = tcase_create("prototypes");
    tcase_add_test(tc, every_listed_symbol_has_a_prototype_check);
    tcase_add_test(tc, every_prototype_check_names_a_listed_symbol);
    suite_add_tcase(s, tc);

    tc = tcase_create("layout");
    tcase_add_test(tc, fixed_layouts_match_qemu);
    tcase_add_test(tc, aio_context_keeps_qemu_offsets_and_may_only_grow);
    tcase_add_test(tc, layout_table_agrees_with_layout_tsv);
    tcase_add_test(tc, layouts_agree_with_layout_tsv);
    tcase_add_test(tc, constants_agree_with_layout_tsv);
    suite_add_tcase(s, tc);

    tc = tcase_create("symbols");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, so_exports_every_listed_symbol);
    tcase_add_test(tc, so_exports_every_runtime_symbol);
    tcase_add_test(tc, core_archive_defines_every_listed_symbol);
    tcase_add_test(tc, core_archive_defines_nothing_else);
    tcase_add_test(tc, core_archive_leaves_the_runtime_to_qemu);
    tcase_add_test(tc, so_exports_nothing_outside_contract);
    tcase_add_test(tc, listed_symbols_are_qemu_exports);
    tcase_add_test(tc, report_missing_qemu_exports);
    suite_add_tcase(s, tc);

    return s;
}

int main(void)
{
    return t_run_suite(abi_suite());
}
