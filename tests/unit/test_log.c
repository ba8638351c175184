/* test_log.c: the line format, level filtering, and whole lines under concurrency. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"

/* A fresh unlinked temp file as the log; returns its fd. */
static int log_file(void)
{
    char path[] = "/tmp/mv-test-log-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    /* O_APPEND as a daemon opens its log, so writes from threads land whole at the end */
    assert_int_equal(fcntl(fd, F_SETFL, O_APPEND), 0);
    return fd;
}

/* Everything written to fd so far (malloc'd, NUL-terminated). */
static char *slurp(int fd)
{
    off_t size = lseek(fd, 0, SEEK_END);
    char *buf = malloc((size_t)size + 1);
    assert_int_equal(pread(fd, buf, (size_t)size, 0), size);
    buf[size] = '\0';
    return buf;
}

static void match_line(const char *line, const char *level, const char *message)
{
    regex_t re;
    char *pattern = NULL;
    assert_true(asprintf(&pattern,
                         "^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}"
                         "\\+0000: testd\\[%ld\\]: %s : %s$",
                         (long)getpid(), level, message) > 0);
    assert_int_equal(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
    if (regexec(&re, line, 0, NULL, 0) != 0)
        fail_msg("line '%s' does not match '%s'", line, pattern);
    regfree(&re);
    free(pattern);
}

static void test_format_and_levels(void **state)
{
    int fd = log_file();
    mv_log_init("testd", MV_LOG_INFO, fd);
    assert_int_equal(mv_log_get_level(), MV_LOG_INFO);
    MV_DEBUG("hidden %d", 1);
    MV_INFO("shown %d", 2);
    MV_WARN("careful");
    MV_ERROR("broken: %s", "disk");
    mv_log_set_level(MV_LOG_ERROR);
    MV_WARN("hidden too");
    MV_ERROR("still shown");

    char *text = slurp(fd);
    char *save = NULL;
    const char *want[][2] = {
        {"info", "shown 2"}, {"warning", "careful"}, {"error", "broken: disk"},
        {"error", "still shown"}};
    size_t n = 0;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        assert_true(n < 4);
        match_line(line, want[n][0], want[n][1]);
        n++;
    }
    assert_int_equal(n, 4);
    free(text);
    close(fd);
}

/* A message is always one line: embedded newlines cannot forge another entry. */
static void test_one_line(void **state)
{
    int fd = log_file();
    mv_log_init("testd", MV_LOG_DEBUG, fd);
    MV_INFO("first\nfake-entry: error : forged\r\n");
    char *text = slurp(fd);
    assert_int_equal(strchr(text, '\n') - text, (long)strlen(text) - 1);
    text[strlen(text) - 1] = '\0';
    match_line(text, "info", "first fake-entry: error : forged");
    free(text);

    /* an over-long message is cut, marked, and still ends with one newline */
    char *big = malloc(20000);
    memset(big, 'x', 19999);
    big[19999] = '\0';
    assert_int_equal(ftruncate(fd, 0), 0);
    MV_INFO("%s", big);
    text = slurp(fd);
    size_t len = strlen(text);
    assert_true(len <= 8192);
    assert_int_equal(text[len - 1], '\n');
    assert_memory_equal(text + len - 4, "...\n", 4);
    assert_null(memchr(text, '\n', len - 1));
    free(text);
    free(big);
    close(fd);
}

static void test_errno_kept(void **state)
{
    int fd = log_file();
    mv_log_init("testd", MV_LOG_DEBUG, fd);
    errno = ENOENT;
    MV_ERROR("open failed: %m");
    assert_int_equal(errno, ENOENT);
    mv_log_set_level(MV_LOG_ERROR);
    errno = EPERM;
    MV_DEBUG("filtered");
    assert_int_equal(errno, EPERM);
    char *text = slurp(fd);
    text[strlen(text) - 1] = '\0';
    match_line(text, "error", "open failed: No such file or directory");
    free(text);
    close(fd);
}

static void test_level_parse(void **state)
{
    assert_int_equal(mv_log_level_parse("debug"), MV_LOG_DEBUG);
    assert_int_equal(mv_log_level_parse("info"), MV_LOG_INFO);
    assert_int_equal(mv_log_level_parse("warning"), MV_LOG_WARN);
    assert_int_equal(mv_log_level_parse("error"), MV_LOG_ERROR);
    assert_int_equal(mv_log_level_parse("ERROR"), MV_LOG_ERROR);
    assert_int_equal(mv_log_level_parse("1"), 1);
    assert_int_equal(mv_log_level_parse("4"), 4);
    assert_int_equal(mv_log_level_parse("0"), -1);
    assert_int_equal(mv_log_level_parse("5"), -1);
    assert_int_equal(mv_log_level_parse("11"), -1);
    assert_int_equal(mv_log_level_parse(""), -1);
    assert_int_equal(mv_log_level_parse("verbose"), -1);
    assert_int_equal(mv_log_level_parse(NULL), -1);
    /* out-of-range levels are clamped rather than disabling logging */
    mv_log_set_level(0);
    assert_int_equal(mv_log_get_level(), MV_LOG_DEBUG);
    mv_log_set_level(9);
    assert_int_equal(mv_log_get_level(), MV_LOG_ERROR);
}

enum { THREADS = 8, LINES = 2000 };

static void *spam(void *arg)
{
    long id = (long)(intptr_t)arg;
    for (int i = 0; i < LINES; i++)
        MV_INFO("thread %ld line %d %s", id, i, "padding-padding-padding-padding-padding");
    return NULL;
}

/* 8 threads x 2,000 lines: every line arrives whole, none is lost. */
static void test_threads(void **state)
{
    int fd = log_file();
    mv_log_init("testd", MV_LOG_INFO, fd);
    pthread_t t[THREADS];
    for (long i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, spam, (void *)(intptr_t)i), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);

    char *text = slurp(fd);
    int next[THREADS] = {0};
    regex_t re;
    regmatch_t m[3];
    assert_int_equal(regcomp(&re,
                             "^[0-9-]{10} [0-9:.]{12}\\+0000: testd\\[[0-9]+\\]: info : "
                             "thread ([0-9]+) line ([0-9]+) padding-padding-padding-padding-"
                             "padding$",
                             REG_EXTENDED),
                     0);
    size_t count = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (regexec(&re, line, 3, m, 0) != 0)
            fail_msg("mangled line: '%s'", line);
        int id = atoi(line + m[1].rm_so), n = atoi(line + m[2].rm_so);
        assert_true(id >= 0 && id < THREADS);
        assert_int_equal(n, next[id]); /* each thread's lines in its own order */
        next[id]++;
        count++;
    }
    assert_int_equal(count, THREADS * LINES);
    regfree(&re);
    free(text);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_and_levels),
        cmocka_unit_test(test_one_line),
        cmocka_unit_test(test_errno_kept),
        cmocka_unit_test(test_level_parse),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
