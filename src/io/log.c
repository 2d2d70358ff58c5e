/* log.c — levelled logging with a replaceable sink (bacsc/log.h). */
#include "bacsc/log.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static int g_level = BACSC_LOG_WARN;
static bacsc_log_sink g_sink;
static void *g_sink_user;

static const char *const level_names[] = {"error", "warn", "info", "debug", "trace"};

void bacsc_log_set_level(int level)
{
    if (level < BACSC_LOG_ERROR)
        level = BACSC_LOG_ERROR;
    if (level > BACSC_LOG_TRACE)
        level = BACSC_LOG_TRACE;
    g_level = level;
}

int bacsc_log_get_level(void) { return g_level; }

void bacsc_log_set_sink(bacsc_log_sink sink, void *user)
{
    g_sink = sink;
    g_sink_user = user;
}

int bacsc_log_level_parse(const char *name)
{
    for (int i = 0; i <= BACSC_LOG_TRACE; i++)
        if (strcasecmp(name, level_names[i]) == 0)
            return i;
    if (strcasecmp(name, "warning") == 0)
        return BACSC_LOG_WARN;
    return -1;
}

const char *bacsc_log_level_name(int level)
{
    if (level < BACSC_LOG_ERROR || level > BACSC_LOG_TRACE)
        return "?";
    return level_names[level];
}

void bacsc_vlog(int level, const char *fmt, va_list ap)
{
    if (level > g_level)
        return;
    char line[1024];
    vsnprintf(line, sizeof line, fmt, ap);
    if (g_sink) {
        g_sink(level, line, g_sink_user);
        return;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s %s\n", tm.tm_year + 1900,
            tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
            level_names[level], line);
}

void bacsc_log(int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    bacsc_vlog(level, fmt, ap);
    va_end(ap);
}
