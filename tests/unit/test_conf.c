/* test_conf.c: config files as golden files — tests/data/conf/NAME.conf with NAME.err (the
 * exact error) or NAME.out (every value after parsing) — plus the limits built in code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/conf.h"
#include "common/store.h"

#define DATA_DIR MODVIRT_SOURCE_DIR "/tests/data/conf"

/* Two sections, as a daemon has: the runtime's keys and the driver's. */
typedef struct runtime_cfg {
    long log_level;
    long idle_timeout;
    long max_clients;
    char *log_outputs;
    bool keepalive;
} runtime_cfg;

typedef struct driver_cfg {
    char *qemu;
    char *vnc_listen;
    long remote_display_port_min;
    long delta;
    char *user;
} driver_cfg;

static const mv_conf_key runtime_keys[] = {
    {"log_level", MV_CONF_INT, offsetof(runtime_cfg, log_level), 1, 4},
    {"idle_timeout", MV_CONF_INT, offsetof(runtime_cfg, idle_timeout), 0, 86400},
    {"max_clients", MV_CONF_INT, offsetof(runtime_cfg, max_clients), 1, 65535},
    {"log_outputs", MV_CONF_STRING, offsetof(runtime_cfg, log_outputs), 0, 0},
    {"keepalive", MV_CONF_BOOL, offsetof(runtime_cfg, keepalive), 0, 0},
    MV_CONF_KEYS_END,
};

static const mv_conf_key driver_keys[] = {
    {"qemu", MV_CONF_STRING, offsetof(driver_cfg, qemu), 0, 0},
    {"vnc_listen", MV_CONF_STRING, offsetof(driver_cfg, vnc_listen), 0, 0},
    {"remote_display_port_min", MV_CONF_INT, offsetof(driver_cfg, remote_display_port_min), 5900,
     65535},
    {"delta", MV_CONF_INT, offsetof(driver_cfg, delta), LONG_MIN, LONG_MAX},
    {"user", MV_CONF_STRING, offsetof(driver_cfg, user), 0, 0},
    MV_CONF_KEYS_END,
};

typedef struct config {
    runtime_cfg rt;
    driver_cfg drv;
    mv_conf_section sections[2];
} config;

static void config_init(config *c)
{
    memset(c, 0, sizeof(*c));
    c->rt.log_level = 3;
    c->rt.max_clients = 1024;
    c->rt.keepalive = true;
    c->drv.qemu = strdup("qemu-system-x86_64"); /* a malloc'd default, replaced by the file */
    c->drv.remote_display_port_min = 5900;
    c->sections[0] = (mv_conf_section){runtime_keys, &c->rt};
    c->sections[1] = (mv_conf_section){driver_keys, &c->drv};
}

static void config_free(config *c)
{
    free(c->rt.log_outputs);
    free(c->drv.qemu);
    free(c->drv.vnc_listen);
    free(c->drv.user);
}

static void put_string(FILE *f, const char *key, const char *v)
{
    if (!v) {
        fprintf(f, "%s = (unset)\n", key);
        return;
    }
    fprintf(f, "%s = \"", key);
    for (; *v; v++) {
        if (*v == '"' || *v == '\\')
            fputc('\\', f);
        fputc(*v, f);
    }
    fprintf(f, "\"\n");
}

/* Every value, one "key = value" line each, in the form of the .out files. */
static char *dump(const config *c)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    fprintf(f, "log_level = %ld\n", c->rt.log_level);
    fprintf(f, "idle_timeout = %ld\n", c->rt.idle_timeout);
    fprintf(f, "max_clients = %ld\n", c->rt.max_clients);
    put_string(f, "log_outputs", c->rt.log_outputs);
    fprintf(f, "keepalive = %d\n", c->rt.keepalive);
    put_string(f, "qemu", c->drv.qemu);
    put_string(f, "vnc_listen", c->drv.vnc_listen);
    fprintf(f, "remote_display_port_min = %ld\n", c->drv.remote_display_port_min);
    fprintf(f, "delta = %ld\n", c->drv.delta);
    put_string(f, "user", c->drv.user);
    fclose(f);
    return text;
}

/* The contents of DATA_DIR/name, or NULL when it does not exist. */
static char *read_data(const char *name, size_t *len)
{
    char *path = NULL, *text = NULL;
    assert_true(asprintf(&path, "%s/%s", DATA_DIR, name) > 0);
    if (mv_file_read(path, 1 << 20, &text, len, NULL) < 0)
        text = NULL;
    free(path);
    return text;
}

static void chomp(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && s[n - 1] == '\n')
        s[--n] = '\0';
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_golden(const char *conf_name)
{
    size_t stem = strlen(conf_name) - strlen(".conf");
    char *err_name = NULL, *out_name = NULL;
    assert_true(asprintf(&err_name, "%.*s.err", (int)stem, conf_name) > 0);
    assert_true(asprintf(&out_name, "%.*s.out", (int)stem, conf_name) > 0);
    size_t len, ignored;
    char *text = read_data(conf_name, &len);
    char *want_err = read_data(err_name, &ignored);
    char *want_out = read_data(out_name, &ignored);
    assert_non_null(text);
    if ((want_err == NULL) == (want_out == NULL))
        fail_msg("%s needs exactly one of %s and %s", conf_name, err_name, out_name);

    config c, defaults;
    mv_error err = MV_ERROR_INIT;
    config_init(&c);
    config_init(&defaults);
    int rc = mv_conf_parse(text, len, conf_name, c.sections, 2, &err);
    char *got = dump(&c);
    if (want_err) {
        chomp(want_err);
        if (rc == 0)
            fail_msg("%s: parsed, expected: %s", conf_name, want_err);
        assert_int_equal(err.code, VIR_ERR_CONF_SYNTAX);
        assert_int_equal(err.domain, VIR_FROM_CONF);
        if (strcmp(err.message, want_err) != 0)
            fail_msg("%s:\n  got      %s\n  expected %s", conf_name, err.message, want_err);
        /* all or nothing: a bad file leaves every value as it was */
        char *before = dump(&defaults);
        if (strcmp(got, before) != 0)
            fail_msg("%s: failed but changed values:\n%s", conf_name, got);
        free(before);
    } else {
        if (rc < 0)
            fail_msg("%s: %s", conf_name, err.message);
        if (strcmp(got, want_out) != 0)
            fail_msg("%s: values\n%s\nexpected\n%s", conf_name, got, want_out);
    }
    free(got);
    config_free(&c);
    config_free(&defaults);
    mv_error_clear(&err);
    free(text);
    free(want_err);
    free(want_out);
    free(err_name);
    free(out_name);
}

static void test_golden(void **state)
{
    DIR *d = opendir(DATA_DIR);
    assert_non_null(d);
    char *names[256];
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (len > 5 && strcmp(de->d_name + len - 5, ".conf") == 0) {
            assert_true(n < 256);
            names[n++] = strdup(de->d_name);
        }
    }
    closedir(d);
    qsort(names, n, sizeof(names[0]), compare_names);
    assert_true(n >= 20);
    for (size_t i = 0; i < n; i++) {
        run_golden(names[i]);
        free(names[i]);
    }
}

static void expect_error(const char *text, size_t len, const char *message)
{
    config c;
    mv_error err = MV_ERROR_INIT;
    config_init(&c);
    assert_int_equal(mv_conf_parse(text, len, "gen.conf", c.sections, 2, &err), -1);
    assert_int_equal(err.code, VIR_ERR_CONF_SYNTAX);
    if (strcmp(err.message, message) != 0)
        fail_msg("got '%s', expected '%s'", err.message, message);
    mv_error_clear(&err);
    config_free(&c);
}

static void test_long_line(void **state)
{
    /* a comment of exactly 4096 bytes is fine; one byte more is not */
    char *text = malloc(8192);
    memset(text, '#', 4096);
    memcpy(text + 4096, "\nlog_level = 2\n", 15);
    config c;
    config_init(&c);
    assert_int_equal(mv_conf_parse(text, 4096 + 15, "gen.conf", c.sections, 2, NULL), 0);
    assert_int_equal(c.rt.log_level, 2);
    config_free(&c);

    memcpy(text, "log_level = 1\n", 14);
    memset(text + 14, '#', 4097);
    text[14 + 4097] = '\n';
    expect_error(text, 14 + 4098,
                 "configuration file syntax error: gen.conf:2: line is 4097 bytes long, more "
                 "than the limit of 4096");
    free(text);
}

static void test_too_large(void **state)
{
    size_t len = 1024 * 1024 + 1;
    char *text = malloc(len);
    memset(text, '\n', len);
    expect_error(text, len, "configuration file syntax error: gen.conf: file is 1048577 bytes, "
                            "larger than the limit of 1048576 bytes");
    /* exactly 1 MiB of blank lines parses */
    config c;
    config_init(&c);
    assert_int_equal(mv_conf_parse(text, len - 1, "gen.conf", c.sections, 2, NULL), 0);
    config_free(&c);
    free(text);
}

/* The parser never reads past len, and a missing trailing newline is fine. */
static void test_not_nul_terminated(void **state)
{
    const char text[] = {'l', 'o', 'g', '_', 'l', 'e', 'v', 'e', 'l', '=', '4', '2'};
    config c;
    config_init(&c);
    /* "log_level=4" then '2' excluded by len */
    assert_int_equal(mv_conf_parse(text, sizeof(text) - 1, "gen.conf", c.sections, 2, NULL), 0);
    assert_int_equal(c.rt.log_level, 4);
    config_free(&c);
}

static void test_load(void **state)
{
    config c;
    mv_error err = MV_ERROR_INIT;
    config_init(&c);
    /* no file: not an error, defaults stay */
    assert_int_equal(mv_conf_load("/nonexistent/virtqemud.conf", c.sections, 2, &err), 0);
    assert_int_equal(c.rt.log_level, 3);
    /* a real file: values land, messages name the path given */
    assert_int_equal(mv_conf_load(DATA_DIR "/good-basic.conf", c.sections, 2, &err), 0);
    assert_int_equal(c.rt.log_level, 1);
    assert_string_equal(c.drv.qemu, "/usr/bin/qemu-system-x86_64");
    assert_int_equal(mv_conf_load(DATA_DIR "/bad-range.conf", c.sections, 2, &err), -1);
    assert_string_equal(err.message, "configuration file syntax error: " DATA_DIR
                                     "/bad-range.conf:1: value 5 of 'log_level' is out of "
                                     "range (1 to 4)");
    /* a folder where the file should be */
    assert_int_equal(mv_conf_load(DATA_DIR, c.sections, 2, &err), -1);
    assert_non_null(strstr(err.message, "Is a directory"));

    /* a file over the limit, through the loader */
    char path[] = "/tmp/mv-test-conf-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, 1024 * 1024 + 1), 0);
    close(fd);
    assert_int_equal(mv_conf_load(path, c.sections, 2, &err), -1);
    assert_int_equal(err.code, VIR_ERR_CONF_SYNTAX);
    assert_non_null(strstr(err.message, "file is larger than the limit of 1048576 bytes"));
    unlink(path);
    mv_error_clear(&err);
    config_free(&c);
}

/* No sections at all: every key is unknown. */
static void test_no_sections(void **state)
{
    mv_error err = MV_ERROR_INIT;
    assert_int_equal(mv_conf_parse("# nothing\n", 10, "x.conf", NULL, 0, &err), 0);
    assert_int_equal(mv_conf_parse("a = 1\n", 6, "x.conf", NULL, 0, &err), -1);
    assert_string_equal(err.message, "configuration file syntax error: x.conf:1: unknown key 'a'");
    mv_error_clear(&err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden),     cmocka_unit_test(test_long_line),
        cmocka_unit_test(test_too_large),  cmocka_unit_test(test_not_nul_terminated),
        cmocka_unit_test(test_load),       cmocka_unit_test(test_no_sections),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
