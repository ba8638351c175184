/* xml_bind.c: the formatting half of xml_bind.h, and init, clear and copy, which walk the
 * same tables. */
#include "common/domain/xml_bind.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "common/domain/domain_conf.h"
#include "common/uuid.h"

#define FIELD(obj, off, type) ((type *)((char *)(obj) + (off)))
#define CFIELD(obj, off, type) ((const type *)((const char *)(obj) + (off)))

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
    xmlDocPtr doc = mv_xml_parse_safe(xml, strlen(xml), MV_DOMAIN_XML_MAX_BYTES, MV_DOMAIN_XML_MAX_DEPTH,
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
    char qname[128], decl[256];
    const char *name = c->name;
    const char *extra = NULL;

    if (c->ns_prefix) {
        snprintf(qname, sizeof(qname), "%s:%s", c->ns_prefix, c->name);
        name = qname;
    }
    if (c->ns_declare) {
        snprintf(decl, sizeof(decl), " xmlns:%s='%s'", c->ns_prefix, c->ns_href);
        extra = decl;
    }
    switch (c->kind) {
    case MV_XC_FLAG:
        if (*CFIELD(obj, c->offset, bool)) {
            mv_buf_indent(out, level);
            mv_buf_addf(out, "<%s%s/>\n", name, extra ? extra : "");
        }
        return;
    case MV_XC_TEXT: {
        const char *s = *CFIELD(obj, c->offset, char *);

        if (s) {
            mv_buf_indent(out, level);
            mv_buf_addf(out, "<%s%s>", name, extra ? extra : "");
            mv_buf_escape(out, s, false);
            mv_buf_addf(out, "</%s>\n", name);
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
        format_named(c->elem, name, CFIELD(obj, c->offset, char), level, flags, extra,
                     c->always || (c->has_present && *CFIELD(obj, c->aux, bool)), out);
        return;
    case MV_XC_PTR: {
        const void *p = *CFIELD(obj, c->offset, void *);

        if (p)
            format_named(c->elem, name, p, level, flags, extra, true, out);
        return;
    }
    case MV_XC_LIST: {
        const char *arr = *CFIELD(obj, c->offset, char *);
        size_t n = *CFIELD(obj, c->aux, size_t);

        for (size_t i = 0; i < n; i++)
            format_named(c->elem, name, arr + i * c->elem->size, level, flags, extra, true,
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
        bool written;

        if (a->omit && a->omit(obj, flags))
            continue;
        mv_buf_addf(&attrs, " %s='", a->name);
        if (a->kind == MV_XK_UNIT) { /* sizes are always written in KiB */
            written = has_scaled_value(e, obj);
            if (written)
                mv_buf_add(&attrs, "KiB");
        } else {
            written = format_value(a, obj, &attrs, true);
        }
        if (written) {
            mv_buf_add(&attrs, "'");
            if (first && extra_attrs)
                mv_buf_add(&attrs, extra_attrs);
            first = false;
        } else { /* take back " name='" */
            attrs.len = mark;
            if (attrs.data)
                attrs.data[mark] = '\0';
        }
    }
    has_text = e->text.kind != MV_XK_NONE && format_value(&e->text, obj, &text, false);
    for (const mv_xml_child *c = e->children; c && c->name; c++)
        format_child(c, obj, level + 1, flags, &kids);
    /* extra attributes (an id, a namespace) never make an empty element worth writing */
    if (attrs.len || has_text || kids.len || always) {
        if (first && extra_attrs)
            mv_buf_add(&attrs, extra_attrs);
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
    if (attrs.oom || text.oom || kids.oom)
        out->oom = true;
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
