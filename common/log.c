/* log.c: the daemons' line logger; one write(2) per line so lines never interleave. */
#include "common/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* A line longer than this is cut (and marked so); the stack buffer keeps logging free of
 * allocation, which matters when the reason for logging is an allocation failure. */
#define LOG_LINE_MAX 8192
#define IDENT_MAX 64

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int log_level = MV_LOG_WARN;
static int log_fd = STDERR_FILENO;
static char log_ident[IDENT_MAX];

static const char *const level_names[] = {
    [MV_LOG_DEBUG] = "debug",
    [MV_LOG_INFO] = "info",
    [MV_LOG_WARN] = "warning",
    [MV_LOG_ERROR] = "error",
};

static int clamp_level(int level)
{
    if (level < MV_LOG_DEBUG)
        return MV_LOG_DEBUG;
    if (level > MV_LOG_ERROR)
        return MV_LOG_ERROR;
    return level;
}

void mv_log_init(const char *ident, int level, int fd)
{
    pthread_mutex_lock(&log_lock);
    snprintf(log_ident, sizeof(log_ident), "%s", ident ? ident : "");
    log_fd = fd;
    atomic_store(&log_level, clamp_level(level));
    pthread_mutex_unlock(&log_lock);
}

void mv_log_set_level(int level)
{
    atomic_store(&log_level, clamp_level(level));
}

int mv_log_get_level(void)
{
    return atomic_load(&log_level);
}

int mv_log_level_parse(const char *s)
{
    if (!s)
        return -1;
    for (int i = MV_LOG_DEBUG; i <= MV_LOG_ERROR; i++) {
        if (strcasecmp(s, level_names[i]) == 0)
            return i;
    }
    if (s[0] >= '1' && s[0] <= '4' && s[1] == '\0')
        return s[0] - '0';
    return -1;
}

/* Rewrites control characters in the message so that one call is one line: a newline in
 * a message (say, qemu's stderr) must not forge the start of another entry. */
static size_t sanitize(char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n' || c == '\r' || (c < 0x20 && c != '\t') || c == 0x7f)
            s[i] = ' ';
    }
    while (n > 0 && s[n - 1] == ' ')
        n--;
    return n;
}

static void write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return; /* nowhere left to report a failing log */
        }
        buf += n;
        len -= (size_t)n;
    }
}

void mv_log(int level, const char *fmt, ...)
{
    if (level < atomic_load(&log_level))
        return;
    int saved_errno = errno; /* callers log between a failure and reading errno */
    char line[LOG_LINE_MAX];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);

    pthread_mutex_lock(&log_lock);
    const char *ident = log_ident[0] ? log_ident : program_invocation_short_name;
    int head = snprintf(line, sizeof(line), "%04d-%02d-%02d %02d:%02d:%02d.%03ld+0000: %s[%ld]: %s : ",
                        tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                        tm.tm_sec, ts.tv_nsec / 1000000L, ident, (long)getpid(),
                        level_names[clamp_level(level)]);
    if (head < 0 || (size_t)head >= sizeof(line) - 2)
        head = 0;
    /* The room left keeps one byte for '\n' besides vsnprintf's NUL. */
    size_t room = sizeof(line) - (size_t)head - 1;
    va_list ap;
    va_start(ap, fmt);
    errno = saved_errno; /* so %m works */
    int n = vsnprintf(line + head, room, fmt, ap);
    va_end(ap);
    size_t body = n < 0 ? 0 : ((size_t)n >= room ? room - 1 : (size_t)n);
    body = sanitize(line + head, body);
    if (n > 0 && (size_t)n >= room && body >= 3)
        memcpy(line + head + body - 3, "...", 3);
    line[head + body] = '\n';
    /* One write while holding the lock: our own threads cannot interleave, and other
     * processes appending to the same file get whole lines (O_APPEND, or PIPE_BUF). */
    write_all(log_fd, line, (size_t)head + body + 1);
    pthread_mutex_unlock(&log_lock);
    errno = saved_errno;
}
