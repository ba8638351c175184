/* xml_bind_parse.c: the parsing half of xml_bind.h — XML into structs, refusing whatever
 * the tables do not describe. */
#include "common/domain/xml_bind.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>

#include "common/domain/domain_conf.h"
#include "common/uuid.h"

#define FIELD(obj, off, type) ((type *)((char *)(obj) + (off)))
#define MAX_CHILDREN 64 /* children one element table may list */

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
        char *grown = *arr;

        /* The capacity is the power of two at or above the count: grow when the count
         * reaches one, so that appending n items costs O(n), not O(n^2). */
        if (*count == 0 || (*count & (*count - 1)) == 0) {
            size_t cap = *count ? *count * 2 : 1;

            if (cap > SIZE_MAX / c->elem->size) {
                mv_xml_error(err, VIR_ERR_XML_ERROR, kid, "too many <%s> elements", c->name);
                return -1;
            }
            grown = realloc(*arr, cap * c->elem->size);
            if (!grown) {
                mv_error_set(err, VIR_ERR_NO_MEMORY, VIR_FROM_DOMAIN, "parsing <%s>", c->name);
                return -1;
            }
            *arr = grown;
        }
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
        for (const mv_xml_child *k = e->children; k && k->name; k++, idx++) {
            bool same_ns = kid->ns ? k->ns_href && kid->ns->href &&
                                         strcmp(k->ns_href, (const char *)kid->ns->href) == 0
                                   : !k->ns_href;

            if (same_ns && strcmp(k->name, (const char *)kid->name) == 0) {
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

