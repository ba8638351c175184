/* log.h: daemon logging. Library code never logs to stdio; daemons log here. */
#ifndef MV_LOG_H
#define MV_LOG_H

/* libvirt's levels: 1 debug, 2 info, 3 warning, 4 error. */
enum mv_log_level { MV_LOG_DEBUG = 1, MV_LOG_INFO = 2, MV_LOG_WARN = 3, MV_LOG_ERROR = 4 };

/* ident prefixes every line ("virtqemud"); lines at or above level go to fd (which the
 * logger does not own). Until called, warnings and errors go to stderr. Thread-safe. */
void mv_log_init(const char *ident, int level, int fd);
void mv_log_set_level(int level);
int mv_log_get_level(void);

/* "debug", "info", "warning", "error" or "1".."4". -1 on anything else. */
int mv_log_level_parse(const char *s);

void mv_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define MV_DEBUG(...) mv_log(MV_LOG_DEBUG, __VA_ARGS__)
#define MV_INFO(...) mv_log(MV_LOG_INFO, __VA_ARGS__)
#define MV_WARN(...) mv_log(MV_LOG_WARN, __VA_ARGS__)
#define MV_ERROR(...) mv_log(MV_LOG_ERROR, __VA_ARGS__)

#endif
