/* conf.c: the "key = value" config file parser (see conf.h); a pure parser plus a loader.
 *
 * A file is applied all or nothing: every line is checked first, and the targets change
 * only when the whole file is good, so a daemon never runs with half a config. */
#include "common/conf.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/store.h"

#define CONF_FILE_MAX (1024u * 1024u) /* bytes */
#define CONF_LINE_MAX 4096u           /* bytes, without the newline */

/* One key of one section, as the parser finds it. */
typedef struct conf_slot {
    const mv_conf_key *key;
    void *target;
    unsigned line; /* where the file set it; 0 while unset */
    long num;      /* MV_CONF_INT, MV_CONF_BOOL */
    char *str;     /* MV_CONF_STRING: malloc'd */
} conf_slot;

typedef struct conf_parser {
    const char *filename;
    unsigned line;
    conf_slot *slots;
    size_t nslots;
    mv_error *err;
} conf_parser;

static int fail(conf_parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(conf_parser *p, const char *fmt, ...)
{
    char *detail = NULL;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&detail, fmt, ap) < 0)
        detail = NULL;
    va_end(ap);
    mv_error_set(p->err, VIR_ERR_CONF_SYNTAX, VIR_FROM_CONF, "%s:%u: %s", p->filename,
                 p->line, detail ? detail : "out of memory");
    free(detail);
    return -1;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

static int is_key_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_key_char(char c)
{
    return is_key_start(c) || (c >= '0' && c <= '9');
}

static const char *skip_blanks(const char *s, const char *end)
{
    while (s < end && is_blank(*s))
        s++;
    return s;
}

/* After the value only blanks and a comment may follow. */
static int check_rest(conf_parser *p, const char *s, const char *end, const char *key)
{
    s = skip_blanks(s, end);
    if (s < end && *s != '#') {
        const char *stop = s;
        while (stop < end && !is_blank(*stop) && stop - s < 32)
            stop++;
        return fail(p, "unexpected '%.*s' after the value of '%s'", (int)(stop - s), s, key);
    }
    return 0;
}

/* A double-quoted string starting at *s (on the quote); the result is malloc'd. */
static int parse_string(conf_parser *p, const char **s, const char *end, const char *key,
                        char **out)
{
    const char *r = *s + 1;
    char *buf = malloc((size_t)(end - r) + 1);
    size_t n = 0;
    if (!buf) {
        mv_error_set(p->err, VIR_ERR_NO_MEMORY, VIR_FROM_CONF, "parsing %s", p->filename);
        return -1;
    }
    for (;;) {
        if (r >= end) {
            free(buf);
            return fail(p, "unterminated string for '%s'", key);
        }
        if (*r == '"')
            break;
        if (*r == '\\') {
            if (r + 1 >= end) {
                free(buf);
                return fail(p, "unterminated string for '%s'", key);
            }
            if (r[1] != '"' && r[1] != '\\') {
                free(buf);
                return fail(p, "unknown escape '\\%c' in the value of '%s' (only \\\" and "
                               "\\\\ are allowed)", r[1], key);
            }
            r++;
        }
        buf[n++] = *r++;
    }
    buf[n] = '\0';
    *s = r + 1;
    *out = buf;
    return 0;
}

/* A decimal integer starting at *s, range-checked against the key. */
static int parse_int(conf_parser *p, const char **s, const char *end, const mv_conf_key *k,
                     long *out)
{
    const char *r = *s;
    int neg = 0;
    unsigned long long v = 0;
    const unsigned long long limit = (unsigned long long)LONG_MAX + 1; /* |LONG_MIN| */
    if (r < end && (*r == '-' || *r == '+'))
        neg = *r++ == '-';
    const char *digits = r;
    while (r < end && *r >= '0' && *r <= '9') {
        /* saturate just past the limit: more digits cannot bring it back in range */
        unsigned d = (unsigned)(*r - '0');
        v = v > (limit - d) / 10 ? limit + 1 : v * 10 + d;
        r++;
    }
    if (r == digits || (r < end && !is_blank(*r) && *r != '#')) {
        const char *stop = *s;
        while (stop < end && !is_blank(*stop) && *stop != '#' && stop - *s < 32)
            stop++;
        if (k->type == MV_CONF_BOOL)
            return fail(p, "'%s' must be 0 or 1, not '%.*s'", k->name, (int)(stop - *s), *s);
        return fail(p, "'%s' must be an integer, not '%.*s'", k->name, (int)(stop - *s), *s);
    }
    int too_big = neg ? v > limit : v > limit - 1;
    long val = too_big ? 0 : (neg ? (long)(0 - v) : (long)v);
    if (k->type == MV_CONF_BOOL) {
        if (too_big || neg || (val != 0 && val != 1))
            return fail(p, "'%s' must be 0 or 1, not '%.*s'", k->name, (int)(r - *s), *s);
    } else if (too_big || val < k->min || val > k->max) {
        return fail(p, "value %.*s of '%s' is out of range (%ld to %ld)", (int)(r - *s), *s,
                    k->name, k->min, k->max);
    }
    *out = val;
    *s = r;
    return 0;
}

static conf_slot *find_slot(conf_parser *p, const char *name, size_t len)
{
    for (size_t i = 0; i < p->nslots; i++) {
        const char *kn = p->slots[i].key->name;
        if (strlen(kn) == len && memcmp(kn, name, len) == 0)
            return &p->slots[i];
    }
    return NULL;
}

static int parse_line(conf_parser *p, const char *s, const char *end)
{
    s = skip_blanks(s, end);
    if (s == end || *s == '#')
        return 0;
    if (!is_key_start(*s)) {
        return fail(p, "expected a key name, found '%c'", *s);
    }
    const char *key = s;
    while (s < end && is_key_char(*s))
        s++;
    int klen = (int)(s - key);
    conf_slot *slot = find_slot(p, key, (size_t)klen);
    if (!slot)
        return fail(p, "unknown key '%.*s'", klen, key);
    const mv_conf_key *k = slot->key;
    if (slot->line)
        return fail(p, "duplicate key '%s' (first set on line %u)", k->name, slot->line);
    s = skip_blanks(s, end);
    if (s == end || *s != '=')
        return fail(p, "missing '=' after '%s'", k->name);
    s = skip_blanks(s + 1, end);
    if (s == end || *s == '#')
        return fail(p, "missing value for '%s'", k->name);

    if (k->type == MV_CONF_STRING) {
        if (*s != '"')
            return fail(p, "'%s' must be a \"quoted string\"", k->name);
        char *str = NULL;
        if (parse_string(p, &s, end, k->name, &str) < 0)
            return -1;
        if (check_rest(p, s, end, k->name) < 0) {
            free(str);
            return -1;
        }
        slot->str = str;
    } else {
        if (*s == '"')
            return fail(p, "'%s' must be %s, not a string", k->name,
                        k->type == MV_CONF_BOOL ? "0 or 1" : "an integer");
        if (parse_int(p, &s, end, k, &slot->num) < 0 || check_rest(p, s, end, k->name) < 0)
            return -1;
    }
    slot->line = p->line;
    return 0;
}

static void apply(const conf_slot *slot)
{
    char *field = (char *)slot->target + slot->key->offset;
    switch (slot->key->type) {
    case MV_CONF_INT:
        *(long *)(void *)field = slot->num;
        break;
    case MV_CONF_BOOL:
        *(bool *)(void *)field = slot->num != 0;
        break;
    case MV_CONF_STRING: {
        char **dst = (char **)(void *)field;
        free(*dst);
        *dst = slot->str;
        break;
    }
    }
}

int mv_conf_parse(const char *text, size_t len, const char *filename,
                  const mv_conf_section *sections, size_t nsections, mv_error *err)
{
    conf_parser p = {.filename = filename ? filename : "<config>", .line = 0, .err = err};
    int ret = -1;

    if (len > CONF_FILE_MAX) {
        mv_error_set(err, VIR_ERR_CONF_SYNTAX, VIR_FROM_CONF,
                     "%s: file is %zu bytes, larger than the limit of %u bytes", p.filename,
                     len, CONF_FILE_MAX);
        return -1;
    }
    for (size_t i = 0; i < nsections; i++)
        for (const mv_conf_key *k = sections[i].keys; k && k->name; k++)
            p.nslots++;
    p.slots = calloc(p.nslots ? p.nslots : 1, sizeof(*p.slots));
    if (!p.slots) {
        mv_error_set(err, VIR_ERR_NO_MEMORY, VIR_FROM_CONF, "parsing %s", p.filename);
        return -1;
    }
    size_t n = 0;
    for (size_t i = 0; i < nsections; i++) {
        for (const mv_conf_key *k = sections[i].keys; k && k->name; k++) {
            p.slots[n].key = k;
            p.slots[n].target = sections[i].target;
            n++;
        }
    }

    const char *s = text, *end = text + len;
    while (s < end) {
        p.line++;
        const char *eol = memchr(s, '\n', (size_t)(end - s));
        if (!eol)
            eol = end;
        const char *nul = memchr(s, '\0', (size_t)(eol - s));
        if (nul) {
            fail(&p, "NUL byte at column %zu", (size_t)(nul - s) + 1);
            goto cleanup;
        }
        if ((size_t)(eol - s) > CONF_LINE_MAX) {
            fail(&p, "line is %zu bytes long, more than the limit of %u", (size_t)(eol - s),
                 CONF_LINE_MAX);
            goto cleanup;
        }
        if (parse_line(&p, s, eol) < 0)
            goto cleanup;
        s = eol < end ? eol + 1 : end;
    }

    for (size_t i = 0; i < p.nslots; i++) {
        if (p.slots[i].line) {
            apply(&p.slots[i]);
            p.slots[i].str = NULL; /* the target owns it now */
        }
    }
    ret = 0;
cleanup:
    for (size_t i = 0; i < p.nslots; i++)
        free(p.slots[i].str);
    free(p.slots);
    return ret;
}

int mv_conf_load(const char *path, const mv_conf_section *sections, size_t nsections,
                 mv_error *err)
{
    char *text = NULL;
    size_t len = 0;
    mv_error read_err = MV_ERROR_INIT;
    int ret = -1;

    if (mv_file_read(path, CONF_FILE_MAX, &text, &len, &read_err) < 0) {
        if (errno == ENOENT) {
            ret = 0; /* no file: every default stays */
        } else if (errno == EFBIG) {
            mv_error_set(err, VIR_ERR_CONF_SYNTAX, VIR_FROM_CONF,
                         "%s: file is larger than the limit of %u bytes", path, CONF_FILE_MAX);
        } else {
            mv_error_move(err, &read_err);
        }
        goto cleanup;
    }
    ret = mv_conf_parse(text, len, path, sections, nsections, err);
cleanup:
    mv_error_clear(&read_err);
    free(text);
    return ret;
}
