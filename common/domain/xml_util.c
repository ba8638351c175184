/* xml_util.c: the one safe way to parse XML here, error messages with line and path, and
 * the string buffer formatters write into. */
#include "common/domain/xml_util.h"

#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/SAX2.h>
#include <libxml/parserInternals.h>
#include <libxml/xmlerror.h>

/* What the SAX hooks learn while libxml2 builds the tree. */
typedef struct parse_state {
    int depth, max_depth;
    int stop_line;      /* line of the DOCTYPE or of the element that was too deep */
    bool doctype, too_deep;
    char *first_error;  /* libxml2's first error message, line */
    int first_error_line;
} parse_state;

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init_libxml(void)
{
    xmlInitParser();
}

/* A DOCTYPE is where entities (bombs) and external DTDs (XXE) come from; we stop at its
 * first token, before libxml2 reads a single declaration. */
static void on_internal_subset(void *ctx, const xmlChar *name, const xmlChar *external_id,
                               const xmlChar *system_id)
{
    xmlParserCtxtPtr ctxt = ctx;
    parse_state *st = ctxt->_private;

    st->doctype = true;
    st->stop_line = xmlSAX2GetLineNumber(ctx);
    xmlStopParser(ctxt);
}

static void on_start_element(void *ctx, const xmlChar *localname, const xmlChar *prefix,
                             const xmlChar *uri, int nb_namespaces, const xmlChar **namespaces,
                             int nb_attributes, int nb_defaulted, const xmlChar **attributes)
{
    xmlParserCtxtPtr ctxt = ctx;
    parse_state *st = ctxt->_private;

    if (++st->depth > st->max_depth) {
        st->too_deep = true;
        st->stop_line = xmlSAX2GetLineNumber(ctx);
        xmlStopParser(ctxt);
        return;
    }
    xmlSAX2StartElementNs(ctx, localname, prefix, uri, nb_namespaces, namespaces,
                          nb_attributes, nb_defaulted, attributes);
}

static void on_end_element(void *ctx, const xmlChar *localname, const xmlChar *prefix,
                           const xmlChar *uri)
{
    xmlParserCtxtPtr ctxt = ctx;
    parse_state *st = ctxt->_private;

    st->depth--;
    xmlSAX2EndElementNs(ctx, localname, prefix, uri);
}

/* libxml2 would print to stderr; library code never prints, so keep the first error. */
static void on_error(void *ctx, xmlErrorPtr e)
{
    xmlParserCtxtPtr ctxt = ctx;
    parse_state *st;
    size_t n;

    if (!ctxt || !e || e->level < XML_ERR_ERROR)
        return;
    st = ctxt->_private;
    if (!st || st->first_error)
        return;
    st->first_error = strdup(e->message ? e->message : "unknown error");
    if (st->first_error) {
        n = strlen(st->first_error);
        while (n > 0 && (st->first_error[n - 1] == '\n' || st->first_error[n - 1] == ' '))
            st->first_error[--n] = '\0';
        /* Some libxml2 messages span lines ("...encoding !\nBytes: 0xE9"); an error is
         * one line wherever it is shown (vmctl prefixes each line with "error: "). */
        for (char *c = st->first_error; *c; c++)
            if (*c == '\n' || *c == '\r')
                *c = ' ';
    }
    st->first_error_line = e->line;
}

xmlDocPtr mv_xml_parse_safe(const char *data, size_t len, size_t max_bytes, int max_depth,
                            const char *what, mv_error *err)
{
    parse_state st = {.max_depth = max_depth};
    xmlParserCtxtPtr ctxt = NULL;
    xmlDocPtr doc = NULL;
    xmlDocPtr ret = NULL;

    pthread_once(&init_once, init_libxml);
    if (!data) {
        mv_error_set(err, VIR_ERR_INVALID_ARG, VIR_FROM_DOMAIN, "no %s given", what);
        goto cleanup;
    }
    if (len > max_bytes || len > INT_MAX) {
        mv_error_set(err, VIR_ERR_XML_ERROR, VIR_FROM_DOMAIN,
                     "%s is %zu bytes, more than the limit of %zu bytes", what, len, max_bytes);
        goto cleanup;
    }
    if (len == 0) {
        mv_error_set(err, VIR_ERR_XML_ERROR, VIR_FROM_DOMAIN, "%s is empty", what);
        goto cleanup;
    }
    ctxt = xmlCreateMemoryParserCtxt(data, (int)len);
    if (!ctxt) {
        mv_error_set(err, VIR_ERR_NO_MEMORY, VIR_FROM_DOMAIN, "creating an XML parser");
        goto cleanup;
    }
    /* NONET: never fetch anything; no NOENT / DTDLOAD / DTDATTR, so entities are never
     * substituted and no DTD is read; BIG_LINES: true line numbers past 65535. */
    xmlCtxtUseOptions(ctxt, XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_NOWARNING |
                                XML_PARSE_BIG_LINES | XML_PARSE_NOCDATA);
    ctxt->_private = &st;
    ctxt->sax->internalSubset = on_internal_subset;
    ctxt->sax->externalSubset = NULL;
    ctxt->sax->entityDecl = NULL;
    ctxt->sax->startElementNs = on_start_element;
    ctxt->sax->endElementNs = on_end_element;
    ctxt->sax->serror = on_error;
    ctxt->sax->error = NULL;
    ctxt->sax->warning = NULL;
    ctxt->vctxt.error = NULL;
    ctxt->vctxt.warning = NULL;

    xmlParseDocument(ctxt);
    doc = ctxt->myDoc;
    ctxt->myDoc = NULL;

    if (st.doctype) {
        mv_error_set(err, VIR_ERR_XML_ERROR, VIR_FROM_DOMAIN,
                     "%s at line %d has a DOCTYPE; document type and entity declarations "
                     "are refused",
                     what, st.stop_line);
        goto cleanup;
    }
    if (st.too_deep) {
        mv_error_set(err, VIR_ERR_XML_ERROR, VIR_FROM_DOMAIN,
                     "%s nests elements deeper than %d levels at line %d", what, max_depth,
                     st.stop_line);
        goto cleanup;
    }
    if (!ctxt->wellFormed || !doc || !xmlDocGetRootElement(doc)) {
        if (st.first_error)
            mv_error_set(err, VIR_ERR_XML_ERROR, VIR_FROM_DOMAIN,
                         "%s is not well-formed: %s at line %d", what, st.first_error,
                         st.first_error_line);
        else
            mv_error_set(err, VIR_ERR_XML_ERROR, VIR_FROM_DOMAIN, "%s is not well-formed",
                         what);
        goto cleanup;
    }
    if (doc->intSubset || doc->extSubset) { /* cannot happen: belt and braces */
        mv_error_set(err, VIR_ERR_XML_ERROR, VIR_FROM_DOMAIN, "%s has a DOCTYPE", what);
        goto cleanup;
    }
    ret = doc;
    doc = NULL;

cleanup:
    free(st.first_error);
    if (doc)
        xmlFreeDoc(doc);
    if (ctxt)
        xmlFreeParserCtxt(ctxt);
    return ret;
}

static void path_prepend(const xmlNode *node, mv_buf *b)
{
    if (!node || node->type != XML_ELEMENT_NODE)
        return;
    path_prepend(node->parent, b);
    mv_buf_add(b, "/");
    if (node->ns && node->ns->prefix) {
        mv_buf_add(b, (const char *)node->ns->prefix);
        mv_buf_add(b, ":");
    }
    mv_buf_add(b, (const char *)node->name);
}

char *mv_xml_node_path(const xmlNode *node)
{
    mv_buf b = {0};

    path_prepend(node, &b);
    if (b.len == 0)
        mv_buf_add(&b, "/");
    return mv_buf_finish(&b, NULL);
}

void mv_xml_error(mv_error *err, int code, const xmlNode *node, const char *fmt, ...)
{
    va_list ap;
    char *detail = NULL;
    char *path = NULL;

    if (!err)
        return;
    va_start(ap, fmt);
    if (vasprintf(&detail, fmt, ap) < 0)
        detail = NULL;
    va_end(ap);
    if (!detail) {
        mv_error_set(err, VIR_ERR_NO_MEMORY, VIR_FROM_DOMAIN, "formatting an XML error");
        return;
    }
    if (node) {
        path = mv_xml_node_path(node);
        mv_error_set(err, code, VIR_FROM_DOMAIN, "%s at line %ld (%s)", detail,
                     xmlGetLineNo(node), path ? path : "?");
    } else {
        mv_error_set(err, code, VIR_FROM_DOMAIN, "%s", detail);
    }
    free(path);
    free(detail);
}

char *mv_xml_node_text(const xmlNode *node)
{
    mv_buf b = {0};

    mv_buf_add(&b, "");
    for (const xmlNode *c = node->children; c; c = c->next)
        if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && c->content)
            mv_buf_add(&b, (const char *)c->content);
    return mv_buf_finish(&b, NULL);
}

static bool buf_grow(mv_buf *b, size_t extra)
{
    size_t want;
    char *p;

    if (b->oom)
        return false;
    if (b->len + extra + 1 <= b->cap)
        return true;
    want = b->cap ? b->cap : 256;
    while (want < b->len + extra + 1)
        want *= 2;
    p = realloc(b->data, want);
    if (!p) {
        b->oom = true;
        return false;
    }
    b->data = p;
    b->cap = want;
    return true;
}

void mv_buf_addn(mv_buf *b, const char *s, size_t n)
{
    if (!buf_grow(b, n))
        return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void mv_buf_add(mv_buf *b, const char *s)
{
    mv_buf_addn(b, s, strlen(s));
}

void mv_buf_addf(mv_buf *b, const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = true;
        return;
    }
    mv_buf_addn(b, s, (size_t)n);
    free(s);
}

void mv_buf_indent(mv_buf *b, int level)
{
    for (int i = 0; i < level; i++)
        mv_buf_addn(b, "  ", 2);
}

void mv_buf_escape(mv_buf *b, const char *s, bool attribute)
{
    const char *start = s;

    for (; *s; s++) {
        const char *rep = NULL;
        unsigned char c = (unsigned char)*s;

        switch (c) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '\'': rep = "&apos;"; break;
        case '"': rep = "&quot;"; break;
        case '\r': rep = "&#13;"; break;
        case '\n': rep = attribute ? "&#10;" : NULL; break;
        case '\t': rep = attribute ? "&#9;" : NULL; break;
        default:
            if (c < 0x20)
                rep = "";
            break;
        }
        if (rep) {
            mv_buf_addn(b, start, (size_t)(s - start));
            mv_buf_add(b, rep);
            start = s + 1;
        }
    }
    mv_buf_addn(b, start, (size_t)(s - start));
}

char *mv_buf_finish(mv_buf *b, mv_error *err)
{
    char *ret;

    if (!b->oom && !b->data)
        buf_grow(b, 0);
    if (b->oom) {
        mv_buf_clear(b);
        mv_error_set(err, VIR_ERR_NO_MEMORY, VIR_FROM_DOMAIN, "formatting XML");
        return NULL;
    }
    b->data[b->len] = '\0';
    ret = b->data;
    b->data = NULL;
    b->len = b->cap = 0;
    return ret;
}

void mv_buf_clear(mv_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->oom = false;
}
