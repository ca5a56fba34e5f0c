// SPDX-License-Identifier: MIT
// The parser of the knob table (knobs.def).
#include "lib/support/knobs.hh"
#include "lib/support/fatal.hh"

#include <cerrno>
#include <climits>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace qaio::support {
namespace {

enum class kind { text, integer, flag };
enum class when {
#define QAIO_KNOB_WHEN(id, words) id,
#include "lib/support/knobs.def"
};

struct row {
    const char *name;
    kind type;
    when read;
};

constexpr row table[] = {
#define QAIO_KNOB(id, name, values, type, default_, when_, help) \
    {name, kind::type, when::when_},
#include "lib/support/knobs.def"
};
constexpr int n_knobs = int(sizeof(table) / sizeof(table[0]));

std::once_flag parsed[n_knobs];
std::optional<int64_t> kept_values[n_knobs];

const row &of(knob k, kind type) noexcept
{
    const row &r = table[int(k)];
    QAIO_CHECK(r.type == type, "%s is not read as its table type", r.name);
    return r;
}

const char *raw(const row &r) noexcept
{
    const char *v = std::getenv(r.name);
    return (v && *v) ? v : nullptr;
}

std::optional<int64_t> parse_int(const row &r) noexcept
{
    const char *v = raw(r);
    if (!v) {
        return std::nullopt;
    }
    char *end = nullptr;
    errno = 0;
    long long n = std::strtoll(v, &end, 0);
    QAIO_CHECK(errno != ERANGE || n < 0, "%s='%s' is above %lld", r.name, v, LLONG_MAX);
    QAIO_CHECK(errno == 0 && *end == '\0' && n >= 0,
               "%s='%s' is not a non-negative integer", r.name, v);
    return n;
}

std::optional<int64_t> parse_flag(const row &r) noexcept
{
    const char *v = raw(r);
    return v && !(v[0] == '0' && v[1] == '\0');
}

std::optional<int64_t> value(knob k, kind type,
                             std::optional<int64_t> (*parse)(const row &)) noexcept
{
    const row &r = of(k, type);
    if (r.read != when::once && r.read != when::load) {
        return parse(r);
    }
    std::call_once(parsed[int(k)], [&] { kept_values[int(k)] = parse(r); });
    return kept_values[int(k)];
}

std::mutex reports_lock;
void (*reports[4])();
int n_reports;

void run_reports()
{
    std::lock_guard<std::mutex> guard(reports_lock);
    for (int i = n_reports - 1; i >= 0; i--) {
        reports[i]();
    }
}

} // namespace

const char *knob_text(knob k) noexcept
{
    return raw(of(k, kind::text));
}

std::optional<int64_t> knob_int(knob k) noexcept
{
    return value(k, kind::integer, parse_int);
}

bool knob_flag(knob k) noexcept
{
    return *value(k, kind::flag, parse_flag) != 0;
}

void knob_adjusted(knob k, const char *fmt, ...) noexcept
{
    const char *v = raw(table[int(k)]);
    char why[256];
    std::va_list ap;
    va_start(ap, fmt);
    std::vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    // One call, so that the line is not interleaved with other threads'.
    std::fprintf(stderr, "qaio: %s=%s: %s\n", table[int(k)].name, v ? v : "", why);
}

void stats_report_at_exit(void (*report)()) noexcept
{
    std::lock_guard<std::mutex> guard(reports_lock);
    QAIO_CHECK(n_reports < int(sizeof(reports) / sizeof(reports[0])),
               "too many QAIO_STATS reports");
    if (n_reports++ == 0) {
        std::atexit(run_reports);
    }
    reports[n_reports - 1] = report;
}

} // namespace qaio::support
