/* Process log on stderr: one line per event with UTC time, level and message.
 * Thread safe (a single write(2) per line). The level is set once at start from the config. */
#ifndef STRATA_UTIL_LOG_H
#define STRATA_UTIL_LOG_H

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG, LOG_TRACE };

extern int log_threshold;

void log_set_level(enum log_level lvl);
/* Parses "error", "warn", "info", "debug", "trace" (case-insensitive); -1 if unknown. */
int log_level_parse(const char *s);
void log_write(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_write(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_write(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_write(LOG_INFO, __VA_ARGS__)
#define log_debug(...)                                                                             \
    do {                                                                                           \
        if (log_threshold >= LOG_DEBUG) log_write(LOG_DEBUG, __VA_ARGS__);                         \
    } while (0)

#endif
