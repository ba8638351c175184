/* uri.c: connection URI parser and formatter (see uri.h); no I/O, every error names the part.
 *
 * Grammar (RFC 3986 restricted to what libvirt URIs use):
 *   uri       = driver [ "+" transport ] "://" [ user "@" ] [ host ] [ ":" port ] path
 *               [ "?" param *( ("&" / ";") param ) ]
 *   host      = reg-name / "[" IPv6address [ "%25" zone ] "]"
 *   param     = name [ "=" value ]
 * user, host, path, names and values may be percent-encoded; '+' is not a space. */
#include "common/uri.h"
#include "common/hex.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define URI_MAX 4096 /* bytes; no real URI comes close */

static const char *const transports[] = {"unix", "ssh", "libssh", "libssh2", "tls", "tcp", "ext"};

/* Query parameters that steer the client's transport (as libvirt's remote driver reads
 * them); they mean nothing to the daemon at the far end, so the remote form drops them. */
static const char *const transport_params[] = {
    "name",    "command",      "socket",  "netcat",    "keyfile",     "sshauth",
    "no_verify", "no_tty",     "pkipath", "known_hosts", "known_hosts_verify", "mode",
    "proxy",   "tls_priority", "auth",    "no_sanity",
};

/* The parse in progress: the input (for messages) and the error to fill. */
typedef struct uri_parser {
    const char *input;
    mv_error *err;
} uri_parser;

/* input with anything unprintable shown as \xNN, so a message is always one clean line. */
static char *show(const char *s)
{
    size_t n = strlen(s);
    char *out = malloc(n * 4 + 1), *w = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c >= 0x7f)
            w += sprintf(w, "\\x%02x", c);
        else
            *w++ = (char)c;
    }
    *w = '\0';
    return out;
}

static int fail(uri_parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(uri_parser *p, const char *fmt, ...)
{
    char *detail = NULL;
    char *shown = show(p->input);
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&detail, fmt, ap) < 0)
        detail = NULL;
    va_end(ap);
    mv_error_set(p->err, VIR_ERR_INVALID_ARG, VIR_FROM_URI, "invalid URI '%s': %s",
                 shown ? shown : "?", detail ? detail : "out of memory");
    free(detail);
    free(shown);
    return -1;
}

static int oom(uri_parser *p)
{
    mv_error_set(p->err, VIR_ERR_NO_MEMORY, VIR_FROM_URI, "parsing a URI");
    return -1;
}

/* ---- character classes ---------------------------------------------------------------- */

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_unreserved(char c)
{
    return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

static bool is_sub_delim(char c)
{
    return c != '\0' && strchr("!$&'()*+,;=", c) != NULL;
}

enum part { PART_USER, PART_HOST, PART_PATH, PART_QUERY };
static const char *const part_names[] = {"user name", "host", "path", "query"};

/* May c appear unencoded in this part? */
static bool allowed(enum part part, char c)
{
    switch (part) {
    case PART_USER:
        return is_unreserved(c) || is_sub_delim(c) || c == ':';
    case PART_HOST:
        return is_unreserved(c);
    case PART_PATH:
        return is_unreserved(c) || is_sub_delim(c) || c == ':' || c == '@' || c == '/';
    case PART_QUERY:
        return is_unreserved(c) || is_sub_delim(c) || c == ':' || c == '@' || c == '/' ||
               c == '?';
    }
    return false;
}

/* Checks and percent-decodes s[0..n) of the given part into a malloc'd string. */
static int decode(uri_parser *p, const char *s, size_t n, enum part part, char **out)
{
    char *buf = malloc(n + 1);
    size_t w = 0;
    if (!buf)
        return oom(p);
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            int hi = i + 1 < n ? mv_hex_digit(s[i + 1]) : -1;
            int lo = i + 2 < n ? mv_hex_digit(s[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                int shown = (int)(n - i < 3 ? n - i : 3);
                free(buf);
                return fail(p, "invalid percent-encoding '%.*s' in %s", shown, s + i,
                            part_names[part]);
            }
            if (hi == 0 && lo == 0) {
                free(buf);
                return fail(p, "encoded NUL byte (%%00) in %s", part_names[part]);
            }
            buf[w++] = (char)(hi << 4 | lo);
            i += 2;
            continue;
        }
        if (!allowed(part, c)) {
            free(buf);
            return fail(p, "invalid character '%c' in %s '%.*s'", c, part_names[part], (int)n,
                        s);
        }
        buf[w++] = c;
    }
    buf[w] = '\0';
    *out = buf;
    return 0;
}

/* ---- parsing ----------------------------------------------------------------------------- */

static int parse_scheme(uri_parser *p, mv_uri *u, const char *s, size_t n)
{
    const char *plus = memchr(s, '+', n);
    size_t dlen = plus ? (size_t)(plus - s) : n;
    if (dlen == 0)
        return fail(p, "missing driver name before '://'");
    bool ok = is_alpha(s[0]);
    for (size_t i = 0; i < dlen && ok; i++)
        ok = is_alpha(s[i]) || is_digit(s[i]);
    if (!ok)
        return fail(p, "invalid driver name '%.*s'", (int)dlen, s);
    if (!(u->driver = strndup(s, dlen)))
        return oom(p);
    /* Schemes are case-insensitive (RFC 3986); we keep them in lower case. */
    for (char *c = u->driver; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c - 'A' + 'a');
    if (!plus)
        return 0;

    const char *t = plus + 1;
    size_t tlen = n - dlen - 1;
    if (tlen == 0)
        return fail(p, "missing transport after '+'");
    if (!(u->transport = strndup(t, tlen)))
        return oom(p);
    for (char *c = u->transport; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c - 'A' + 'a');
    for (size_t i = 0; i < sizeof(transports) / sizeof(transports[0]); i++)
        if (strcmp(u->transport, transports[i]) == 0)
            return 0;
    return fail(p, "unknown transport '%.*s'", (int)tlen, t);
}

static int parse_port(uri_parser *p, mv_uri *u, const char *s, size_t n)
{
    long v = 0;
    if (n == 0)
        return fail(p, "missing port number after ':'");
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(s[i]))
            return fail(p, "port '%.*s' is not a number", (int)n, s);
        if (v <= 65535)
            v = v * 10 + (s[i] - '0');
    }
    if (v < 1 || v > 65535)
        return fail(p, "port '%.*s' out of range (1 to 65535)", (int)n, s);
    u->port = (int)v;
    return 0;
}

/* Percent-encoding in a host is for international names (UTF-8 bytes); an encoded ':'
 * or '/' would make a different URI when formatted again. */
static int check_decoded_host(uri_parser *p, const char *host)
{
    for (const char *c = host; *c; c++) {
        if (!is_unreserved(*c) && (unsigned char)*c < 0x80)
            return fail(p, "invalid encoded character '\\x%02x' in host", (unsigned char)*c);
    }
    return 0;
}

/* "[addr]" or "[addr%25zone]" starting at s (on the '['); *used gets its length. */
static int parse_ipv6(uri_parser *p, mv_uri *u, const char *s, size_t n, size_t *used)
{
    const char *close = memchr(s, ']', n);
    if (!close)
        return fail(p, "missing ']' after IPv6 address '%.*s'", (int)n, s);
    const char *addr = s + 1;
    size_t alen = (size_t)(close - addr);
    const char *zone = NULL;
    size_t zlen = 0;
    for (size_t i = 0; i + 2 < alen; i++) {
        if (addr[i] == '%' && addr[i + 1] == '2' && addr[i + 2] == '5') {
            zone = addr + i + 3;
            zlen = alen - i - 3;
            alen = i;
            break;
        }
    }
    char text[INET6_ADDRSTRLEN + 1];
    unsigned char bin[16];
    if (alen == 0 || alen >= sizeof(text))
        return fail(p, "invalid IPv6 address '%.*s'", (int)(close - addr), addr);
    memcpy(text, addr, alen);
    text[alen] = '\0';
    if (inet_pton(AF_INET6, text, bin) != 1)
        return fail(p, "invalid IPv6 address '%s'", text);
    char *zone_dec = NULL;
    if (zone) {
        if (zlen == 0)
            return fail(p, "empty zone after '%%25' in IPv6 address '%s'", text);
        if (decode(p, zone, zlen, PART_HOST, &zone_dec) < 0)
            return -1;
        if (check_decoded_host(p, zone_dec) < 0) {
            free(zone_dec);
            return -1;
        }
    }
    int rc = zone_dec ? asprintf(&u->host, "%s%%%s", text, zone_dec)
                      : asprintf(&u->host, "%s", text);
    free(zone_dec);
    if (rc < 0) {
        u->host = NULL;
        return oom(p);
    }
    *used = (size_t)(close - s) + 1;
    return 0;
}

/* [user@][host][:port] in s[0..n). */
static int parse_authority(uri_parser *p, mv_uri *u, const char *s, size_t n)
{
    const char *at = memchr(s, '@', n);
    if (at) {
        size_t ulen = (size_t)(at - s);
        if (ulen == 0)
            return fail(p, "empty user name before '@'");
        if (decode(p, s, ulen, PART_USER, &u->user) < 0)
            return -1;
        n -= ulen + 1;
        s = at + 1;
    }
    if (n == 0)
        return 0;

    size_t hlen;
    if (s[0] == '[') {
        size_t used = 0;
        if (parse_ipv6(p, u, s, n, &used) < 0)
            return -1;
        if (used < n && s[used] != ':')
            return fail(p, "unexpected '%.*s' after IPv6 address", (int)(n - used), s + used);
        hlen = used;
    } else {
        const char *colon = memchr(s, ':', n);
        hlen = colon ? (size_t)(colon - s) : n;
        if (colon && memchr(colon + 1, ':', n - hlen - 1))
            return fail(p, "IPv6 address '%.*s' must be enclosed in '[' and ']'", (int)n, s);
        if (hlen > 0 && decode(p, s, hlen, PART_HOST, &u->host) < 0)
            return -1;
        if (u->host && check_decoded_host(p, u->host) < 0)
            return -1;
    }
    if (hlen < n && parse_port(p, u, s + hlen + 1, n - hlen - 1) < 0)
        return -1;
    if (u->host && u->transport && strcmp(u->transport, "unix") == 0)
        return fail(p, "transport 'unix' does not take a host ('%s')", u->host);
    return 0;
}

static int add_param(uri_parser *p, mv_uri *u, const char *s, size_t n)
{
    const char *eq = memchr(s, '=', n);
    size_t nlen = eq ? (size_t)(eq - s) : n;
    if (nlen == 0)
        return fail(p, "empty parameter name in '%.*s'", (int)n, s);
    mv_uri_param *np = realloc(u->params, (u->nparams + 1) * sizeof(*np));
    if (!np)
        return oom(p);
    u->params = np;
    mv_uri_param *param = &u->params[u->nparams];
    param->name = param->value = NULL;
    if (decode(p, s, nlen, PART_QUERY, &param->name) < 0)
        return -1;
    u->nparams++; /* from here on mv_uri_free owns the name */
    if (eq)
        return decode(p, eq + 1, n - nlen - 1, PART_QUERY, &param->value);
    if (!(param->value = strdup("")))
        return oom(p);
    return 0;
}

static int parse_query(uri_parser *p, mv_uri *u, const char *s, size_t n)
{
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && s[i] != '&' && s[i] != ';')
            continue;
        /* empty pieces ("a=1&&b=2", a trailing '&') are harmless and skipped */
        if (i > start && add_param(p, u, s + start, i - start) < 0)
            return -1;
        start = i + 1;
    }
    return 0;
}

int mv_uri_parse(const char *s, mv_uri **out, mv_error *err)
{
    uri_parser p = {.input = s ? s : "", .err = err};
    mv_uri *u = NULL;
    int ret = -1;

    *out = NULL;
    if (!s || !s[0]) {
        mv_error_set(err, VIR_ERR_INVALID_ARG, VIR_FROM_URI, "empty URI");
        return -1;
    }
    size_t len = strnlen(s, URI_MAX + 1);
    if (len > URI_MAX) {
        /* not quoted: a megabyte of URI helps nobody in a message */
        mv_error_set(err, VIR_ERR_INVALID_ARG, VIR_FROM_URI,
                     "invalid URI: longer than the limit of %d bytes", URI_MAX);
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c >= 0x7f)
            return fail(&p, "invalid character '\\x%02x' at offset %zu", c, i);
    }
    if (!(u = calloc(1, sizeof(*u))))
        return oom(&p);

    const char *sep = strstr(s, "://");
    const char *colon = strchr(s, ':');
    if (!sep || colon != sep) {
        fail(&p, "missing '://' after the driver name");
        goto cleanup;
    }
    if (parse_scheme(&p, u, s, (size_t)(sep - s)) < 0)
        goto cleanup;

    const char *auth = sep + 3;
    size_t alen = strcspn(auth, "/?#");
    if (parse_authority(&p, u, auth, alen) < 0)
        goto cleanup;

    const char *rest = auth + alen;
    if (*rest == '#' || strchr(rest, '#')) {
        fail(&p, "unexpected fragment '%s'", strchr(rest, '#'));
        goto cleanup;
    }
    size_t plen = strcspn(rest, "?");
    if (decode(&p, rest, plen, PART_PATH, &u->path) < 0)
        goto cleanup;
    if (rest[plen] == '?' && parse_query(&p, u, rest + plen + 1, strlen(rest + plen + 1)) < 0)
        goto cleanup;

    *out = u;
    u = NULL;
    ret = 0;
cleanup:
    mv_uri_free(u);
    return ret;
}

void mv_uri_free(mv_uri *u)
{
    if (!u)
        return;
    free(u->driver);
    free(u->transport);
    free(u->user);
    free(u->host);
    free(u->path);
    for (size_t i = 0; i < u->nparams; i++) {
        free(u->params[i].name);
        free(u->params[i].value);
    }
    free(u->params);
    free(u);
}

const char *mv_uri_param_get(const mv_uri *u, const char *name)
{
    for (size_t i = u->nparams; i > 0; i--) {
        if (strcmp(u->params[i - 1].name, name) == 0)
            return u->params[i - 1].value;
    }
    return NULL;
}

int mv_uri_is_local(const mv_uri *u)
{
    if (u->transport)
        return strcmp(u->transport, "unix") == 0;
    /* "qemu://host/system" is remote (libvirt's default transport is tls) */
    return u->host == NULL || u->host[0] == '\0';
}

/* ---- formatting ---------------------------------------------------------------------------- */

/* A growing output string; on ENOMEM `failed` is set and the rest is ignored. */
typedef struct strbuf {
    char *s;
    size_t len, cap;
    bool failed;
} strbuf;

static void put(strbuf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *ns = realloc(b->s, cap);
        if (!ns) {
            b->failed = true;
            return;
        }
        b->s = ns;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void puts_(strbuf *b, const char *s)
{
    put(b, s, strlen(s));
}

/* Appends s, percent-encoding what may not appear raw in part (and '%' itself). In a
 * query, the separators '&', ';' and '=' are encoded too, so they survive a round trip. */
static void put_encoded(strbuf *b, const char *s, enum part part)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        char c = *s;
        bool raw = allowed(part, c) &&
                   !(part == PART_QUERY && (c == '&' || c == ';' || c == '='));
        if (raw) {
            put(b, s, 1);
        } else {
            char e[3] = {'%', hex[(unsigned char)c >> 4], hex[(unsigned char)c & 15]};
            put(b, e, 3);
        }
    }
}

static bool is_transport_param(const char *name)
{
    for (size_t i = 0; i < sizeof(transport_params) / sizeof(transport_params[0]); i++)
        if (strcmp(name, transport_params[i]) == 0)
            return true;
    return false;
}

static void put_host(strbuf *b, const char *host)
{
    if (!strchr(host, ':')) {
        put_encoded(b, host, PART_HOST);
        return;
    }
    /* an IPv6 literal, maybe with a zone: "[addr%25zone]" */
    const char *pct = strchr(host, '%');
    puts_(b, "[");
    put(b, host, pct ? (size_t)(pct - host) : strlen(host));
    if (pct) {
        puts_(b, "%25");
        put_encoded(b, pct + 1, PART_HOST);
    }
    puts_(b, "]");
}

char *mv_uri_format(const mv_uri *u, int with_transport_and_host)
{
    strbuf b = {0};
    char port[16];

    puts_(&b, u->driver ? u->driver : "");
    if (with_transport_and_host && u->transport) {
        puts_(&b, "+");
        puts_(&b, u->transport);
    }
    puts_(&b, "://");
    if (with_transport_and_host) {
        if (u->user) {
            put_encoded(&b, u->user, PART_USER);
            puts_(&b, "@");
        }
        if (u->host)
            put_host(&b, u->host);
        if (u->port > 0) {
            snprintf(port, sizeof(port), ":%d", u->port);
            puts_(&b, port);
        }
    }
    if (u->path && u->path[0]) {
        if (u->path[0] != '/')
            puts_(&b, "/");
        put_encoded(&b, u->path, PART_PATH);
    }
    bool first = true;
    for (size_t i = 0; i < u->nparams; i++) {
        const mv_uri_param *param = &u->params[i];
        if (!with_transport_and_host && is_transport_param(param->name))
            continue;
        puts_(&b, first ? "?" : "&");
        first = false;
        put_encoded(&b, param->name, PART_QUERY);
        if (param->value && param->value[0]) {
            puts_(&b, "=");
            put_encoded(&b, param->value, PART_QUERY);
        }
    }
    if (b.failed || !b.s) {
        free(b.s);
        return NULL;
    }
    return b.s;
}
