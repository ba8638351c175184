/* fuzz_conf.c: the config parser on arbitrary bytes. A refusal must leave every value as it
 * was; an accepted file, written back out as "key=value" lines, must parse to the same values. */
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/conf.h"

typedef struct cfg {
    long level;
    long timeout;
    long wide;
    bool flag;
    char *name;
    char *path;
} cfg;

static const mv_conf_key keys_a[] = {
    {"log_level", MV_CONF_INT, offsetof(cfg, level), 1, 4},
    {"idle_timeout", MV_CONF_INT, offsetof(cfg, timeout), -5, 86400},
    {"keepalive", MV_CONF_BOOL, offsetof(cfg, flag), 0, 0},
    MV_CONF_KEYS_END,
};
static const mv_conf_key keys_b[] = {
    {"qemu", MV_CONF_STRING, offsetof(cfg, name), 0, 0},
    {"log_outputs", MV_CONF_STRING, offsetof(cfg, path), 0, 0},
    {"delta", MV_CONF_INT, offsetof(cfg, wide), LONG_MIN, LONG_MAX},
    MV_CONF_KEYS_END,
};

static void cfg_init(cfg *c)
{
    memset(c, 0, sizeof(*c));
    c->level = 3;
    c->flag = true;
    c->name = strdup("default");
}

static void cfg_free(cfg *c)
{
    free(c->name);
    free(c->path);
}

static int same_str(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

static int cfg_equal(const cfg *a, const cfg *b)
{
    return a->level == b->level && a->timeout == b->timeout && a->wide == b->wide &&
           a->flag == b->flag && same_str(a->name, b->name) && same_str(a->path, b->path);
}

static void put_str(FILE *f, const char *key, const char *v)
{
    if (!v)
        return;
    fprintf(f, "%s=\"", key);
    for (; *v; v++) {
        if (*v == '"' || *v == '\\')
            fputc('\\', f);
        fputc(*v, f);
    }
    fputs("\"\n", f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cfg c, before;
    mv_error err = MV_ERROR_INIT;
    cfg_init(&c);
    cfg_init(&before);
    mv_conf_section sections[] = {{keys_a, &c}, {keys_b, &c}};

    if (mv_conf_parse((const char *)data, size, "fuzz.conf", sections, 2, &err) < 0) {
        if (err.code != VIR_ERR_CONF_SYNTAX || !err.message || !cfg_equal(&c, &before))
            __builtin_trap();
        goto cleanup;
    }
    if (c.level < 1 || c.level > 4 || c.timeout < -5 || c.timeout > 86400)
        __builtin_trap();

    /* write the values back out and parse them again */
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        goto cleanup;
    fprintf(f, "log_level=%ld\nidle_timeout=%ld\nkeepalive=%d\ndelta=%ld\n", c.level,
            c.timeout, c.flag, c.wide);
    put_str(f, "qemu", c.name);
    put_str(f, "log_outputs", c.path);
    fclose(f);
    cfg again;
    cfg_init(&again);
    mv_conf_section sections2[] = {{keys_a, &again}, {keys_b, &again}};
    if (mv_conf_parse(text, len, "again.conf", sections2, 2, &err) < 0 || !cfg_equal(&c, &again))
        __builtin_trap();
    cfg_free(&again);
    free(text);
cleanup:
    cfg_free(&c);
    cfg_free(&before);
    mv_error_clear(&err);
    return 0;
}
