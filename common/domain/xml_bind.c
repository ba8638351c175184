/* xml_bind.c: the generic walker behind xml_bind.h — parse, format, init, copy, clear. */
#include "common/domain/xml_bind.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/xmlsave.h>

#include "common/domain/domain_conf.h"
#include "common/uuid.h"

#define FIELD(obj, off, type) ((type *)((char *)(obj) + (off)))
#define CFIELD(obj, off, type) ((const type *)((const char *)(obj) + (off)))
#define MAX_CHILDREN 64
#define RAW_MAX_BYTES (MV_DOMAIN_XML_MAX_BYTES)

int mv_xml_parse_ll(const char *s, int base, long long *out)
{
    char *end = NULL;
    long long v;

    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    if (!*s)
        return -1;
    errno = 0;
    v = strtoll(s, &end, base);
    if (errno || end == s)
        return -1;
    while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')
        end++;
    if (*end)
        return -1;
    *out = v;
    return 0;
}

/* Unsigned, as libvirt's virStrToLong_ullp: no sign allowed. */
static int parse_ull(const char *s, unsigned long long *out)
{
    char *end = NULL;
    unsigned long long v;

    while (isspace((unsigned char)*s))
        s++;
    if (!isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno)
        return -1;
    while (isspace((unsigned char)*end))
        end++;
    if (*end)
        return -1;
    *out = v;
    return 0;
}

/* libvirt's units: b/byte/bytes; k, M, G, T, P, E alone or with iB (powers of 1024) or
 * with B (powers of 1000), case-insensitive. */
static int unit_multiplier(const char *unit, unsigned long long *mult)
{
    static const char prefixes[] = "kmgtpe";
    const char *p;
    unsigned long long base, m = 1;

    if (strcasecmp(unit, "b") == 0 || strcasecmp(unit, "byte") == 0 ||
        strcasecmp(unit, "bytes") == 0) {
        *mult = 1;
        return 0;
    }
    p = strchr(prefixes, tolower((unsigned char)unit[0]));
    if (!unit[0] || !p)
        return -1;
    if (!unit[1] || strcasecmp(unit + 1, "iB") == 0)
        base = 1024;
    else if (strcasecmp(unit + 1, "B") == 0)
        base = 1000;
    else
        return -1;
    for (long i = 0; i <= p - prefixes; i++)
        m *= base;
    *mult = m;
    return 0;
}

static void describe(char *buf, size_t n, const mv_xml_attr *a, const char *elem, bool text)
{
    if (text)
        snprintf(buf, n, "<%s>", elem);
    else
        snprintf(buf, n, "attribute '%s' of <%s>", a->name, elem);
}

static void enum_choices(const char *const *values, mv_buf *b)
{
    for (size_t i = 0; values[i]; i++) {
        if (i)
            mv_buf_add(b, ", ");
        mv_buf_add(b, values[i]);
    }
}

static int parse_mac(const char *s, char *out)
{
    unsigned int bytes[6];
    const char *p = s;

    for (int i = 0; i < 6; i++) {
        char *end;
        unsigned long v;

        if (!isxdigit((unsigned char)p[0]))
            return -1;
        errno = 0;
        v = strtoul(p, &end, 16);
        if (errno || end - p > 2 || v > 0xff)
            return -1;
        bytes[i] = (unsigned int)v;
        p = end;
        if (i < 5) {
            if (*p != ':')
                return -1;
            p++;
        }
    }
    if (*p)
        return -1;
    snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", bytes[0], bytes[1], bytes[2],
             bytes[3], bytes[4], bytes[5]);
    return 0;
}

/* Parses one value (an attribute's or an element's text) into obj. */
static int parse_value(const mv_xml_attr *a, bool text, const char *elem, const char *value,
                       const char *unit, void *obj, const xmlNode *node, mv_error *err)
{
    char what[160];
    long long v;
    long long lo = a->min, hi = a->max;

    describe(what, sizeof(what), a, elem, text);
    switch (a->kind) {
    case MV_XK_NONE:
    case MV_XK_UNIT:
        return 0;
    case MV_XK_IGNORED:
        if (mv_xml_parse_ll(value, 10, &v) < 0) {
            mv_xml_error(err, VIR_ERR_XML_ERROR, node,
                         "invalid value '%s' for %s: expected an integer", value, what);
            return -1;
        }
        return 0;
    case MV_XK_STRING: {
        char *dup = strdup(value);
        char **f = FIELD(obj, a->offset, char *);

        if (!dup) {
            mv_error_set(err, VIR_ERR_NO_MEMORY, VIR_FROM_DOMAIN, "parsing %s", what);
            return -1;
        }
        free(*f);
        *f = dup;
        return 0;
    }
    case MV_XK_ENUM:
        for (size_t i = 0; a->values[i]; i++) {
            if (strcmp(a->values[i], value) == 0) {
                *FIELD(obj, a->offset, const char *) = a->values[i];
                return 0;
            }
        }
        {
            mv_buf b = {0};
            char *choices;

            enum_choices(a->values, &b);
            choices = mv_buf_finish(&b, NULL);
            mv_xml_error(err, VIR_ERR_XML_ERROR, node,
                         "unsupported value '%s' for %s (supported: %s)", value, what,
                         choices ? choices : "?");
            free(choices);
        }
        return -1;
    case MV_XK_YESNO:
    case MV_XK_ONOFF: {
        const char *y = a->kind == MV_XK_YESNO ? "yes" : "on";
        const char *n = a->kind == MV_XK_YESNO ? "no" : "off";

        if (strcmp(value, y) == 0)
            *FIELD(obj, a->offset, mv_tristate) = MV_TRISTATE_YES;
        else if (strcmp(value, n) == 0)
            *FIELD(obj, a->offset, mv_tristate) = MV_TRISTATE_NO;
        else {
            mv_xml_error(err, VIR_ERR_XML_ERROR, node,
                         "invalid value '%s' for %s: expected '%s' or '%s'", value, what, y, n);
            return -1;
        }
        return 0;
    }
    case MV_XK_INT:
    case MV_XK_HEX:
    case MV_XK_SINT:
    case MV_XK_POS:
    case MV_XK_LLONG:
        if (hi == 0) {
            lo = a->kind == MV_XK_POS ? 1 : 0;
            hi = a->kind == MV_XK_LLONG ? LLONG_MAX : INT_MAX;
        }
        if (mv_xml_parse_ll(value, a->kind == MV_XK_HEX ? 0 : 10, &v) < 0 || v < lo ||
            v > hi) {
            mv_xml_error(err, VIR_ERR_XML_ERROR, node,
                         "invalid value '%s' for %s: expected an integer from %lld to %lld",
                         value, what, lo, hi);
            return -1;
        }
        if (a->kind == MV_XK_LLONG)
            *FIELD(obj, a->offset, long long) = v;
        else
            *FIELD(obj, a->offset, int) = (int)v;
        return 0;
    case MV_XK_KIB:
    case MV_XK_SCALED: {
        unsigned long long n, mult = 1024, bytes;
        const char *u = unit ? unit : (a->unit ? a->unit : "KiB");

        if (parse_ull(value, &n) < 0) {
            mv_xml_error(err, VIR_ERR_XML_ERROR, node,
                         "invalid value '%s' for %s: expected a non-negative integer", value,
                         what);
            return -1;
        }
        if (a->kind == MV_XK_SCALED && unit_multiplier(u, &mult) < 0) {
            mv_xml_error(err, VIR_ERR_XML_ERROR, node, "invalid unit '%s' for %s", u, what);
            return -1;
        }
        if (n > (unsigned long long)LLONG_MAX / mult) {
            mv_xml_error(err, VIR_ERR_OVERFLOW, node, "value '%s' %s for %s is too large",
                         value, u, what);
            return -1;
        }
        bytes = n * mult;
        *FIELD(obj, a->offset, unsigned long long) = bytes / 1024 + (bytes % 1024 != 0);
        return 0;
    }
    case MV_XK_UUID:
        if (mv_uuid_parse(value, FIELD(obj, a->offset, unsigned char)) < 0) {
            mv_xml_error(err, VIR_ERR_XML_ERROR, node, "invalid value '%s' for %s: not a UUID",
                         value, what);
            return -1;
        }
        return 0;
    case MV_XK_MAC: {
        char mac[18];
        char **f = FIELD(obj, a->offset, char *);
        unsigned long first;

        if (parse_mac(value, mac) < 0) {
            mv_xml_error(err, VIR_ERR_XML_ERROR, node,
                         "invalid value '%s' for %s: not a MAC address", value, what);
            return -1;
        }
        first = strtoul(mac, NULL, 16);
        if (first & 1) { /* libvirt refuses these at parse time too */
            mv_xml_error(err, VIR_ERR_XML_ERROR, node,
                         "expected a unicast MAC address, found multicast '%s' for %s", value,
                         what);
            return -1;
        }
        free(*f);
        *f = strdup(mac);
        if (!*f) {
            mv_error_set(err, VIR_ERR_NO_MEMORY, VIR_FROM_DOMAIN, "parsing %s", what);
            return -1;
        }
        return 0;
    }
    }
    return 0;
}

static const mv_xml_attr *find_attr(const mv_xml_elem *e, const char *name)
{
    for (const mv_xml_attr *a = e->attrs; a && a->name; a++)
        if (strcmp(a->name, name) == 0)
            return a;
    return NULL;
}

static bool has_unit_attr(const mv_xml_elem *e)
{
    for (const mv_xml_attr *a = e->attrs; a && a->name; a++)
        if (a->kind == MV_XK_UNIT)
            return true;
    return false;
}

static bool is_blank(const char *s)
{
    for (; *s; s++)
        if (!isspace((unsigned char)*s))
            return false;
    return true;
}

static char *raw_serialize(const xmlNode *node, mv_error *err)
{
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr copy = NULL;
    xmlBufferPtr xb = NULL;
    char *ret = NULL;

    if (!doc)
        goto oom;
    /* Copying into a fresh document re-declares on the copy every namespace it uses
     * that an ancestor (often <domain>) declared, so the XML stands on its own. */
    copy = xmlDocCopyNode((xmlNodePtr)node, doc, 1);
    if (!copy)
        goto oom;
    xmlDocSetRootElement(doc, copy);
    xb = xmlBufferCreate();
    if (!xb || xmlNodeDump(xb, doc, copy, 0, 1) < 0)
        goto oom;
    ret = strdup((const char *)xmlBufferContent(xb));
    if (!ret)
        goto oom;
    goto cleanup;
oom:
    mv_error_set(err, VIR_ERR_NO_MEMORY, VIR_FROM_DOMAIN, "keeping <%s>", node->name);
cleanup:
    if (xb)
        xmlBufferFree(xb);
    if (doc)
        xmlFreeDoc(doc);
    return ret;
}

static int parse_attrs(const mv_xml_elem *e, const char *name, const xmlNode *node,
                       void *obj, mv_error *err, const char **unit_out, xmlChar **unit_buf)
{
    *unit_out = NULL;
    if (has_unit_attr(e)) {
        *unit_buf = xmlGetNoNsProp(node, BAD_CAST "unit");
        *unit_out = (const char *)*unit_buf;
    }
    for (const xmlAttr *p = node->properties; p; p = p->next) {
        const mv_xml_attr *a = p->ns ? NULL : find_attr(e, (const char *)p->name);
        xmlChar *value;
        int rc;

        if (!a) {
            mv_xml_error(err, VIR_ERR_XML_ERROR, node,
                         "unsupported attribute '%s%s%s' of <%s>",
                         p->ns && p->ns->prefix ? (const char *)p->ns->prefix : "",
                         p->ns && p->ns->prefix ? ":" : "", (const char *)p->name, name);
            return -1;
        }
        value = xmlNodeGetContent((const xmlNode *)p);
        if (!value) {
            mv_error_set(err, VIR_ERR_NO_MEMORY, VIR_FROM_DOMAIN, "reading an attribute");
            return -1;
        }
        rc = parse_value(a, false, name, (const char *)value, *unit_out, obj, node, err);
        xmlFree(value);
        if (rc < 0)
            return -1;
    }
    return 0;
}

static int parse_named(const mv_xml_elem *e, const char *name, const xmlNode *node, void *obj,
                       unsigned int flags, mv_error *err);

static int parse_child(const mv_xml_child *c, const xmlNode *kid, void *obj,
                       unsigned int flags, mv_error *err)
{
    static const mv_xml_elem empty = {.name = NULL};

    switch (c->kind) {
    case MV_XC_FLAG:
        if (parse_named(&empty, c->name, kid, obj, flags, err) < 0)
            return -1;
        *FIELD(obj, c->offset, bool) = true;
        return 0;
    case MV_XC_TEXT: {
        mv_xml_elem text = {
            .name = c->name,
            .text = {.kind = MV_XK_STRING, .offset = c->offset, .keep_empty = true}};
        return parse_named(&text, c->name, kid, obj, flags, err);
    }
    case MV_XC_RAW: {
        char **f = FIELD(obj, c->offset, char *);

        for (const xmlAttr *p = kid->properties; p; p = p->next) {
            mv_xml_error(err, VIR_ERR_XML_ERROR, kid, "unsupported attribute '%s' of <%s>",
                         (const char *)p->name, c->name);
            return -1;
        }
        free(*f);
        *f = raw_serialize(kid, err);
        return *f ? 0 : -1;
    }
    case MV_XC_EMBED:
        if (c->has_present)
            *FIELD(obj, c->aux, bool) = true;
        return parse_named(c->elem, c->name, kid, FIELD(obj, c->offset, char), flags, err);
    case MV_XC_PTR: {
        void **f = FIELD(obj, c->offset, void *);
        void *item = calloc(1, c->elem->size);

        if (!item) {
            mv_error_set(err, VIR_ERR_NO_MEMORY, VIR_FROM_DOMAIN, "parsing <%s>", c->name);
            return -1;
        }
        mv_xml_init(c->elem, item);
        *f = item; /* owned by obj from here on, so an error below frees it with obj */
        return parse_named(c->elem, c->name, kid, item, flags, err);
    }
    case MV_XC_LIST: {
        char **arr = FIELD(obj, c->offset, char *);
        size_t *count = FIELD(obj, c->aux, size_t);
        char *grown;

        if (*count >= SIZE_MAX / c->elem->size - 1)
            return -1;
        grown = realloc(*arr, (*count + 1) * c->elem->size);
        if (!grown) {
            mv_error_set(err, VIR_ERR_NO_MEMORY, VIR_FROM_DOMAIN, "parsing <%s>", c->name);
            return -1;
        }
        *arr = grown;
        memset(grown + *count * c->elem->size, 0, c->elem->size);
        mv_xml_init(c->elem, grown + *count * c->elem->size);
        (*count)++;
        return parse_named(c->elem, c->name, kid, grown + (*count - 1) * c->elem->size, flags,
                           err);
    }
    }
    return 0;
}

static int parse_named(const mv_xml_elem *e, const char *name, const xmlNode *node, void *obj,
                       unsigned int flags, mv_error *err)
{
    unsigned int seen[MAX_CHILDREN] = {0};
    const char *unit = NULL;
    xmlChar *unit_buf = NULL;
    char *text = NULL;
    bool has_kids = false;
    int ret = -1;

    if (parse_attrs(e, name, node, obj, err, &unit, &unit_buf) < 0)
        goto cleanup;

    text = mv_xml_node_text(node);
    if (!text) {
        mv_error_set(err, VIR_ERR_NO_MEMORY, VIR_FROM_DOMAIN, "reading <%s>", name);
        goto cleanup;
    }
    for (const xmlNode *kid = node->children; kid; kid = kid->next)
        has_kids = has_kids || kid->type == XML_ELEMENT_NODE;
    if (has_kids && is_blank(text)) {
        /* indentation between child elements */
    } else if (e->text.kind == MV_XK_STRING && !e->text.keep_empty && !*text) {
        /* <loader/>: empty text means no value */
    } else if (e->text.kind != MV_XK_NONE && !has_kids) {
        if (parse_value(&e->text, true, name, text, unit, obj, node, err) < 0)
            goto cleanup;
    } else if (!is_blank(text)) {
        const char *t = text;

        while (isspace((unsigned char)*t))
            t++;
        mv_xml_error(err, VIR_ERR_XML_ERROR, node, "unexpected text '%.*s' in <%s>",
                     (int)strcspn(t, "\n\r\t <"), t, name);
        goto cleanup;
    }

    for (const xmlNode *kid = node->children; kid; kid = kid->next) {
        const mv_xml_child *c = NULL;
        size_t idx = 0;

        if (kid->type != XML_ELEMENT_NODE)
            continue;
        for (const mv_xml_child *k = e->children; !kid->ns && k && k->name; k++, idx++) {
            if (strcmp(k->name, (const char *)kid->name) == 0) {
                c = k;
                break;
            }
        }
        if (!c) {
            mv_xml_error(err, VIR_ERR_XML_ERROR, kid, "unsupported element <%s%s%s> in <%s>",
                         kid->ns && kid->ns->prefix ? (const char *)kid->ns->prefix : "",
                         kid->ns && kid->ns->prefix ? ":" : "", (const char *)kid->name,
                         name);
            goto cleanup;
        }
        if (idx < MAX_CHILDREN && c->kind != MV_XC_LIST && seen[idx]++) {
            mv_xml_error(err, VIR_ERR_XML_ERROR, kid, "element <%s> appears more than once",
                         c->name);
            goto cleanup;
        }
        if (parse_child(c, kid, obj, flags, err) < 0)
            goto cleanup;
    }
    if (e->check && e->check(obj, node, flags, err) < 0)
        goto cleanup;
    ret = 0;

cleanup:
    free(text);
    if (unit_buf)
        xmlFree(unit_buf);
    return ret;
}

int mv_xml_parse(const mv_xml_elem *e, const xmlNode *node, void *obj, unsigned int flags,
                 mv_error *err)
{
    return parse_named(e, e->name, node, obj, flags, err);
}

/* ---- formatting ---- */

/* Writes the value into b; false when it is absent. */
static bool format_value(const mv_xml_attr *a, const void *obj, mv_buf *b, bool attribute)
{
    switch (a->kind) {
    case MV_XK_NONE:
    case MV_XK_UNIT:
    case MV_XK_IGNORED:
        return false;
    case MV_XK_STRING:
    case MV_XK_ENUM:
    case MV_XK_MAC: {
        const char *s = *CFIELD(obj, a->offset, char *);

        if (!s)
            return false;
        mv_buf_escape(b, s, attribute);
        return true;
    }
    case MV_XK_YESNO:
    case MV_XK_ONOFF: {
        mv_tristate t = *CFIELD(obj, a->offset, mv_tristate);

        if (t == MV_TRISTATE_ABSENT)
            return false;
        if (a->kind == MV_XK_YESNO)
            mv_buf_add(b, t == MV_TRISTATE_YES ? "yes" : "no");
        else
            mv_buf_add(b, t == MV_TRISTATE_YES ? "on" : "off");
        return true;
    }
    case MV_XK_INT:
    case MV_XK_HEX: {
        int v = *CFIELD(obj, a->offset, int);

        if (v == MV_UNSET)
            return false;
        if (a->kind == MV_XK_HEX)
            mv_buf_addf(b, "0x%0*x", a->width, (unsigned int)v);
        else
            mv_buf_addf(b, "%d", v);
        return true;
    }
    case MV_XK_SINT:
    case MV_XK_POS: {
        int v = *CFIELD(obj, a->offset, int);

        if (v == (a->kind == MV_XK_POS ? 0 : INT_MIN))
            return false;
        mv_buf_addf(b, "%d", v);
        return true;
    }
    case MV_XK_LLONG: {
        long long v = *CFIELD(obj, a->offset, long long);

        if (v == MV_UNSET)
            return false;
        mv_buf_addf(b, "%lld", v);
        return true;
    }
    case MV_XK_KIB:
    case MV_XK_SCALED: {
        unsigned long long v = *CFIELD(obj, a->offset, unsigned long long);

        if (!v)
            return false;
        mv_buf_addf(b, "%llu", v);
        return true;
    }
    case MV_XK_UUID: {
        char s[MV_UUID_STRING_BUFLEN];

        mv_uuid_format(CFIELD(obj, a->offset, unsigned char), s);
        mv_buf_add(b, s);
        return true;
    }
    }
    return false;
}

static bool has_scaled_value(const mv_xml_elem *e, const void *obj)
{
    if (e->text.kind == MV_XK_SCALED && *CFIELD(obj, e->text.offset, unsigned long long))
        return true;
    for (const mv_xml_attr *a = e->attrs; a && a->name; a++)
        if (a->kind == MV_XK_SCALED && *CFIELD(obj, a->offset, unsigned long long))
            return true;
    return false;
}

static void format_named(const mv_xml_elem *e, const char *name, const void *obj, int level,
                         unsigned int flags, const char *extra_attrs, bool always,
                         mv_buf *out);

static void format_raw(const char *xml, int level, mv_buf *out)
{
    xmlDocPtr doc = mv_xml_parse_safe(xml, strlen(xml), RAW_MAX_BYTES, MV_DOMAIN_XML_MAX_DEPTH,
                                      "kept XML", NULL);
    xmlBufferPtr xb = NULL;

    if (!doc) { /* we serialised it ourselves; it parses */
        out->oom = true;
        return;
    }
    xb = xmlBufferCreate();
    if (!xb || xmlNodeDump(xb, doc, xmlDocGetRootElement(doc), level, 1) < 0) {
        out->oom = true;
    } else {
        mv_buf_indent(out, level);
        mv_buf_add(out, (const char *)xmlBufferContent(xb));
        mv_buf_add(out, "\n");
    }
    if (xb)
        xmlBufferFree(xb);
    xmlFreeDoc(doc);
}

static void format_child(const mv_xml_child *c, const void *obj, int level, unsigned int flags,
                         mv_buf *out)
{
    switch (c->kind) {
    case MV_XC_FLAG:
        if (*CFIELD(obj, c->offset, bool)) {
            mv_buf_indent(out, level);
            mv_buf_addf(out, "<%s/>\n", c->name);
        }
        return;
    case MV_XC_TEXT: {
        const char *s = *CFIELD(obj, c->offset, char *);

        if (s) {
            mv_buf_indent(out, level);
            mv_buf_addf(out, "<%s>", c->name);
            mv_buf_escape(out, s, false);
            mv_buf_addf(out, "</%s>\n", c->name);
        }
        return;
    }
    case MV_XC_RAW: {
        const char *s = *CFIELD(obj, c->offset, char *);

        if (s)
            format_raw(s, level, out);
        return;
    }
    case MV_XC_EMBED:
        format_named(c->elem, c->name, CFIELD(obj, c->offset, char), level, flags, NULL,
                     c->always || (c->has_present && *CFIELD(obj, c->aux, bool)), out);
        return;
    case MV_XC_PTR: {
        const void *p = *CFIELD(obj, c->offset, void *);

        if (p)
            format_named(c->elem, c->name, p, level, flags, NULL, true, out);
        return;
    }
    case MV_XC_LIST: {
        const char *arr = *CFIELD(obj, c->offset, char *);
        size_t n = *CFIELD(obj, c->aux, size_t);

        for (size_t i = 0; i < n; i++)
            format_named(c->elem, c->name, arr + i * c->elem->size, level, flags, NULL, true,
                         out);
        return;
    }
    }
}

static void format_named(const mv_xml_elem *e, const char *name, const void *obj, int level,
                         unsigned int flags, const char *extra_attrs, bool always, mv_buf *out)
{
    mv_buf attrs = {0}, text = {0}, kids = {0};
    bool first = true;
    bool has_text;

    for (const mv_xml_attr *a = e->attrs; a && a->name; a++) {
        size_t mark = attrs.len;

        if (a->omit && a->omit(obj, flags))
            continue;
        mv_buf_addf(&attrs, " %s='", a->name);
        if (a->kind == MV_XK_UNIT ? has_scaled_value(e, obj) && (mv_buf_add(&attrs, "KiB"), 1)
                                  : format_value(a, obj, &attrs, true)) {
            mv_buf_add(&attrs, "'");
            if (first && extra_attrs)
                mv_buf_add(&attrs, extra_attrs);
            first = false;
        } else {
            attrs.len = mark;
            if (attrs.data)
                attrs.data[mark] = '\0';
        }
    }
    if (first && extra_attrs)
        mv_buf_add(&attrs, extra_attrs);
    has_text = e->text.kind != MV_XK_NONE && format_value(&e->text, obj, &text, false);
    for (const mv_xml_child *c = e->children; c && c->name; c++)
        format_child(c, obj, level + 1, flags, &kids);

    if (attrs.oom || text.oom || kids.oom)
        out->oom = true;
    if (attrs.len || has_text || kids.len || always) {
        mv_buf_indent(out, level);
        mv_buf_addf(out, "<%s", name);
        if (attrs.len)
            mv_buf_add(out, attrs.data);
        if (has_text) {
            mv_buf_add(out, ">");
            mv_buf_add(out, text.data);
            if (kids.len) { /* text and elements together: never produced by our tables */
                mv_buf_add(out, "\n");
                mv_buf_add(out, kids.data);
                mv_buf_indent(out, level);
            }
            mv_buf_addf(out, "</%s>\n", name);
        } else if (kids.len) {
            mv_buf_add(out, ">\n");
            mv_buf_add(out, kids.data);
            mv_buf_indent(out, level);
            mv_buf_addf(out, "</%s>\n", name);
        } else {
            mv_buf_add(out, "/>\n");
        }
    }
    mv_buf_clear(&attrs);
    mv_buf_clear(&text);
    mv_buf_clear(&kids);
}

void mv_xml_format(const mv_xml_elem *e, const void *obj, int level, unsigned int flags,
                   const char *extra_attrs, bool always, mv_buf *out)
{
    format_named(e, e->name, obj, level, flags, extra_attrs, always, out);
}

/* ---- init, clear, copy ---- */

static void init_value(const mv_xml_attr *a, void *obj)
{
    switch (a->kind) {
    case MV_XK_INT:
    case MV_XK_HEX:
        *FIELD(obj, a->offset, int) = MV_UNSET;
        break;
    case MV_XK_SINT:
        *FIELD(obj, a->offset, int) = INT_MIN;
        break;
    case MV_XK_LLONG:
        *FIELD(obj, a->offset, long long) = MV_UNSET;
        break;
    default:
        break;
    }
}

void mv_xml_init(const mv_xml_elem *e, void *obj)
{
    for (const mv_xml_attr *a = e->attrs; a && a->name; a++)
        init_value(a, obj);
    init_value(&e->text, obj);
    for (const mv_xml_child *c = e->children; c && c->name; c++)
        if (c->kind == MV_XC_EMBED)
            mv_xml_init(c->elem, FIELD(obj, c->offset, char));
}

static bool owns_string(mv_xml_kind k)
{
    return k == MV_XK_STRING || k == MV_XK_MAC;
}

void mv_xml_clear(const mv_xml_elem *e, void *obj)
{
    if (!obj)
        return;
    for (const mv_xml_attr *a = e->attrs; a && a->name; a++)
        if (owns_string(a->kind)) {
            free(*FIELD(obj, a->offset, char *));
            *FIELD(obj, a->offset, char *) = NULL;
        }
    if (owns_string(e->text.kind)) {
        free(*FIELD(obj, e->text.offset, char *));
        *FIELD(obj, e->text.offset, char *) = NULL;
    }
    for (const mv_xml_child *c = e->children; c && c->name; c++) {
        switch (c->kind) {
        case MV_XC_FLAG:
            break;
        case MV_XC_TEXT:
        case MV_XC_RAW:
            free(*FIELD(obj, c->offset, char *));
            *FIELD(obj, c->offset, char *) = NULL;
            break;
        case MV_XC_EMBED:
            mv_xml_clear(c->elem, FIELD(obj, c->offset, char));
            break;
        case MV_XC_PTR: {
            void **p = FIELD(obj, c->offset, void *);

            mv_xml_clear(c->elem, *p);
            free(*p);
            *p = NULL;
            break;
        }
        case MV_XC_LIST: {
            char **arr = FIELD(obj, c->offset, char *);
            size_t *n = FIELD(obj, c->aux, size_t);

            for (size_t i = 0; *arr && i < *n; i++)
                mv_xml_clear(c->elem, *arr + i * c->elem->size);
            free(*arr);
            *arr = NULL;
            *n = 0;
            break;
        }
        }
    }
}

static int copy_string(char **dst, const char *src)
{
    *dst = NULL;
    if (!src)
        return 0;
    *dst = strdup(src);
    return *dst ? 0 : -1;
}

int mv_xml_copy(const mv_xml_elem *e, void *dst, const void *src)
{
    int ret = 0;

    for (const mv_xml_attr *a = e->attrs; a && a->name; a++)
        if (owns_string(a->kind) &&
            copy_string(FIELD(dst, a->offset, char *), *CFIELD(src, a->offset, char *)) < 0)
            ret = -1;
    if (owns_string(e->text.kind) &&
        copy_string(FIELD(dst, e->text.offset, char *), *CFIELD(src, e->text.offset, char *)) <
            0)
        ret = -1;
    for (const mv_xml_child *c = e->children; c && c->name; c++) {
        switch (c->kind) {
        case MV_XC_FLAG:
            break;
        case MV_XC_TEXT:
        case MV_XC_RAW:
            if (copy_string(FIELD(dst, c->offset, char *), *CFIELD(src, c->offset, char *)) < 0)
                ret = -1;
            break;
        case MV_XC_EMBED:
            if (mv_xml_copy(c->elem, FIELD(dst, c->offset, char), CFIELD(src, c->offset, char)) <
                0)
                ret = -1;
            break;
        case MV_XC_PTR: {
            void **d = FIELD(dst, c->offset, void *);
            const void *s = *CFIELD(src, c->offset, void *);

            *d = NULL;
            if (!s)
                break;
            *d = malloc(c->elem->size);
            if (!*d) {
                ret = -1;
                break;
            }
            memcpy(*d, s, c->elem->size);
            if (mv_xml_copy(c->elem, *d, s) < 0)
                ret = -1;
            break;
        }
        case MV_XC_LIST: {
            char **d = FIELD(dst, c->offset, char *);
            size_t *dn = FIELD(dst, c->aux, size_t);
            const char *s = *CFIELD(src, c->offset, char *);
            size_t n = *CFIELD(src, c->aux, size_t);

            *d = NULL;
            *dn = 0;
            if (!s || !n)
                break;
            *d = malloc(n * c->elem->size);
            if (!*d) {
                ret = -1;
                break;
            }
            memcpy(*d, s, n * c->elem->size);
            *dn = n;
            for (size_t i = 0; i < n; i++)
                if (mv_xml_copy(c->elem, *d + i * c->elem->size, s + i * c->elem->size) < 0)
                    ret = -1;
            break;
        }
        }
    }
    return ret;
}
