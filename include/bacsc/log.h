/*
 * bacsc/log.h — levelled logging for the I/O layer, daemons and tools.
 *
 * The sans-I/O core never logs; it reports through return values and events.
 * Everything else logs through bacsc_log(), which formats a line and hands it
 * to the installed sink (by default: stderr, "LEVEL message").
 */
#ifndef BACSC_LOG_H
#define BACSC_LOG_H

#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

enum bacsc_log_level {
    BACSC_LOG_ERROR = 0,
    BACSC_LOG_WARN = 1,
    BACSC_LOG_INFO = 2,
    BACSC_LOG_DEBUG = 3,
    BACSC_LOG_TRACE = 4
};

typedef void (*bacsc_log_sink)(int level, const char *line, void *user);

/* Messages above `level` are discarded. Default BACSC_LOG_WARN. */
void bacsc_log_set_level(int level);
int bacsc_log_get_level(void);
/* Install a sink (NULL restores the stderr sink). */
void bacsc_log_set_sink(bacsc_log_sink sink, void *user);
/* Parse "error|warn|info|debug|trace"; returns the level or -1. */
int bacsc_log_level_parse(const char *name);
const char *bacsc_log_level_name(int level);

void bacsc_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void bacsc_vlog(int level, const char *fmt, va_list ap);

/* The arguments of a line above the level are not evaluated (no formatting
 * work for lines that are not printed). */
#define BACSC_LOG_AT(level, ...)                                                                  \
    do {                                                                                          \
        if ((level) <= bacsc_log_get_level())                                                     \
            bacsc_log((level), __VA_ARGS__);                                                      \
    } while (0)
#define BACSC_ERROR(...) BACSC_LOG_AT(BACSC_LOG_ERROR, __VA_ARGS__)
#define BACSC_WARN(...) BACSC_LOG_AT(BACSC_LOG_WARN, __VA_ARGS__)
#define BACSC_INFO(...) BACSC_LOG_AT(BACSC_LOG_INFO, __VA_ARGS__)
#define BACSC_DEBUG(...) BACSC_LOG_AT(BACSC_LOG_DEBUG, __VA_ARGS__)

#ifdef __cplusplus
}
#endif
#endif
