/* SPDX-License-Identifier: MIT */
/*
 * The machine the figures come from, for the report's header: CPU model and
 * count, system and release, the load when the run started, and on Windows
 * whether Wine runs the program (its figures then measure Wine's Win32 on
 * Linux, not Windows).
 */
#include "config.h"

#include "bench.h"

#ifdef _WIN32
#include <windows.h>
#else
#include <sys/utsname.h>
#endif

#ifdef _WIN32
/* Wine's ntdll exports wine_get_version; Windows' does not. */
static const char *bench_wine_version(void)
{
    typedef const char *wine_version_fn(void);
    HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
    wine_version_fn *fn = ntdll ?
        (wine_version_fn *)(void (*)(void))GetProcAddress(ntdll, "wine_get_version") : NULL;

    return fn ? fn() : NULL;
}

void bench_host_get(bench_host *h)
{
    typedef LONG rtl_get_version_fn(OSVERSIONINFOW *);
    HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
    rtl_get_version_fn *get_version = ntdll ?
        (rtl_get_version_fn *)(void (*)(void))GetProcAddress(ntdll, "RtlGetVersion") : NULL;
    OSVERSIONINFOW v = { .dwOSVersionInfoSize = sizeof(v) };
    const char *cpu = getenv("PROCESSOR_IDENTIFIER");
    SYSTEM_INFO si;

    memset(h, 0, sizeof(*h));
    GetSystemInfo(&si);
    h->cpus = (long)si.dwNumberOfProcessors;
    g_strlcpy(h->cpu, cpu ? cpu : "unknown CPU", sizeof(h->cpu));
    g_strlcpy(h->system, "Windows", sizeof(h->system));
    if (get_version && get_version(&v) == 0) {
        snprintf(h->release, sizeof(h->release), "%lu.%lu.%lu", v.dwMajorVersion,
                 v.dwMinorVersion, v.dwBuildNumber);
    }
    h->wine = bench_wine_version();
}

/* Windows has no load average. */
double bench_host_load(void)
{
    return -1;
}
#else
void bench_host_get(bench_host *h)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    struct utsname u;
    char line[256];

    memset(h, 0, sizeof(*h));
    h->cpus = sysconf(_SC_NPROCESSORS_ONLN);
    g_strlcpy(h->cpu, "unknown CPU", sizeof(h->cpu));
    if (f) {
        while (fgets(line, sizeof(line), f)) {
            if (g_str_has_prefix(line, "model name")) {
                char *colon = strchr(line, ':');
                if (colon) {
                    g_strlcpy(h->cpu, g_strstrip(colon + 1), sizeof(h->cpu));
                }
                break;
            }
        }
        fclose(f);
    }
    if (uname(&u) == 0) {
        g_strlcpy(h->system, u.sysname, sizeof(h->system));
        g_strlcpy(h->release, u.release, sizeof(h->release));
    }
}

double bench_host_load(void)
{
    FILE *f = fopen("/proc/loadavg", "r");
    double load = -1;

    if (f) {
        if (fscanf(f, "%lf", &load) != 1) {
            load = -1;
        }
        fclose(f);
    }
    return load;
}
#endif
