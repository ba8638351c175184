/* xml_util.h: safe libxml2 parsing, errors that name line and path, and an output buffer.
 *
 * Internal to common/domain/: every XML document modvirt reads goes through
 * mv_xml_parse_safe, which refuses DOCTYPEs (so no entity can ever be declared or
 * expanded, and no DTD or external entity is ever loaded), oversized and overly deep
 * documents, and keeps libxml2 from printing anything. */
#ifndef MV_XML_UTIL_H
#define MV_XML_UTIL_H

#include <stdbool.h>
#include <stddef.h>

#include <libxml/tree.h>

#include "common/error.h"

/* Parses len bytes into a document. max_bytes and max_depth are hard limits; any
 * <!DOCTYPE> is refused. what names the document in errors ("domain XML").
 * VIR_ERR_XML_ERROR with the line on failure. */
xmlDocPtr mv_xml_parse_safe(const char *data, size_t len, size_t max_bytes, int max_depth,
                            const char *what, mv_error *err);

/* "/domain/devices/disk/target" for node (element names, prefixes kept). Caller frees. */
char *mv_xml_node_path(const xmlNode *node);

/* Sets err to code with "<detail> at line N (<path>)". node may be NULL. */
void mv_xml_error(mv_error *err, int code, const xmlNode *node, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The element's text (text and CDATA children concatenated; comments skipped), or an
 * empty string. Caller frees; NULL on ENOMEM. */
char *mv_xml_node_text(const xmlNode *node);

/* A growing string. Errors (ENOMEM) stick: mv_buf_finish reports them once. */
typedef struct mv_buf {
    char *data;
    size_t len, cap;
    bool oom;
} mv_buf;

void mv_buf_add(mv_buf *b, const char *s);
void mv_buf_addn(mv_buf *b, const char *s, size_t n);
void mv_buf_addf(mv_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mv_buf_indent(mv_buf *b, int level); /* 2 spaces per level */
/* Escapes for XML: & < > ' " always; \t \n in attribute values; \r always. Other
 * control characters, which XML 1.0 cannot carry, are dropped. */
void mv_buf_escape(mv_buf *b, const char *s, bool attribute);
/* Takes the string (NUL-terminated); NULL and VIR_ERR_NO_MEMORY after any ENOMEM. */
char *mv_buf_finish(mv_buf *b, mv_error *err);
void mv_buf_clear(mv_buf *b);

#endif
