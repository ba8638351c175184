/* names.c: the object-name rules of DESIGN.md, with errors that show the name safely. */
#include "common/names.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest stretch of a bad name quoted in an error; the rest is elided. */
#define SHOW_MAX 64

/* Length of the UTF-8 sequence at s (at most n bytes available) and its code point, or 0
 * when it is not valid UTF-8 (overlong forms, surrogates and values past U+10FFFF are
 * invalid, as RFC 3629 says). */
static size_t utf8_decode(const unsigned char *s, size_t n, unsigned *cp)
{
    unsigned c = s[0];
    size_t len;
    unsigned min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if ((c & 0xe0) == 0xc0) {
        len = 2, min = 0x80, c &= 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
        len = 3, min = 0x800, c &= 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
        len = 4, min = 0x10000, c &= 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return len;
}

static bool is_control(unsigned cp)
{
    return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

/* A printable rendering of name for messages: control characters and bytes that are not
 * UTF-8 become \xNN, and a long name is cut after SHOW_MAX bytes. malloc'd or NULL. */
static char *show_name(const char *name)
{
    size_t n = strlen(name);
    size_t shown = n > SHOW_MAX ? SHOW_MAX : n;
    char *out = malloc(shown * 4 + 4);
    if (!out)
        return NULL;
    char *w = out;
    const unsigned char *s = (const unsigned char *)name;
    size_t i = 0;
    while (i < shown) {
        unsigned cp;
        size_t len = utf8_decode(s + i, n - i, &cp);
        if (len == 0 || is_control(cp)) {
            /* an escaped C1 control (two bytes) shows both of them */
            size_t bytes = len ? len : 1;
            for (size_t k = 0; k < bytes; k++)
                w += sprintf(w, "\\x%02x", s[i + k]);
            i += bytes;
            continue;
        }
        if (i + len > shown)
            break; /* do not cut a character in half */
        memcpy(w, s + i, len);
        w += len;
        i += len;
    }
    if (i < n) {
        memcpy(w, "...", 3);
        w += 3;
    }
    *w = '\0';
    return out;
}

int mv_name_check(const char *kind, const char *name, mv_error *err)
{
    const char *problem = NULL;
    char detail[128];
    if (!kind)
        kind = "name";
    if (!name || !name[0]) {
        mv_error_set(err, VIR_ERR_INVALID_ARG, VIR_FROM_NONE, "%s must not be empty", kind);
        return -1;
    }

    size_t n = strlen(name);
    const unsigned char *s = (const unsigned char *)name;
    if (n > MV_NAME_MAX) {
        snprintf(detail, sizeof(detail), "is %zu bytes long; the limit is %d bytes", n,
                 MV_NAME_MAX);
        problem = detail;
    } else if (name[0] == '.') {
        problem = "must not start with '.'";
    } else {
        for (size_t i = 0; i < n;) {
            unsigned cp;
            size_t len = utf8_decode(s + i, n - i, &cp);
            if (len == 0) {
                snprintf(detail, sizeof(detail), "is not valid UTF-8 (byte %zu)", i);
                problem = detail;
                break;
            }
            if (cp == '/') {
                problem = "must not contain '/'";
                break;
            }
            if (is_control(cp)) {
                snprintf(detail, sizeof(detail), "must not contain control characters "
                         "(U+%04X at byte %zu)", cp, i);
                problem = detail;
                break;
            }
            i += len;
        }
    }
    if (!problem)
        return 0;

    char *shown = show_name(name);
    mv_error_set(err, VIR_ERR_INVALID_ARG, VIR_FROM_NONE, "%s '%s' %s", kind,
                 shown ? shown : "?", problem);
    free(shown);
    return -1;
}
