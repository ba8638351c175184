/* domain_conf.c: the public entry points — parse, format, copy, free a domain definition. */
#include "common/domain/domain_conf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/domain/domain_schema.h"
#include "common/domain/domain_validate.h"
#include "common/domain/xml_util.h"

/* Below this many input bytes the formatted XML cannot reach the limit: indenting an
 * empty element 256 levels deep, the worst case, makes it about 130 times longer. */
#define FORMAT_CHECK_BYTES (32 * 1024)

/* What we accept we must be able to read back: a definition whose formatted XML (which
 * the driver stores) would exceed the document limit is refused now, not at reload. */
static int check_formatted_size(const mv_domain_def *def, size_t len, mv_error *err)
{
    char *out;
    size_t n;

    if (len < FORMAT_CHECK_BYTES)
        return 0;
    out = mv_domain_def_format(def, -1, MV_DOMAIN_DEF_FORMAT_SECURE, err);
    if (!out)
        return -1;
    n = strlen(out);
    free(out);
    if (n > MV_DOMAIN_XML_MAX_BYTES) {
        mv_error_set(err, VIR_ERR_XML_ERROR, VIR_FROM_DOMAIN,
                     "domain '%s' would be %zu bytes of XML once formatted, more than the "
                     "limit of %d bytes",
                     def->name, n, MV_DOMAIN_XML_MAX_BYTES);
        return -1;
    }
    return 0;
}

mv_domain_def *mv_domain_def_parse(const char *xml, size_t len, unsigned int flags,
                                   mv_error *err)
{
    const unsigned int known = MV_DOMAIN_DEF_PARSE_VALIDATE | MV_DOMAIN_DEF_PARSE_LIVE;
    xmlDocPtr doc = NULL;
    xmlNodePtr root;
    mv_domain_def *def = NULL;
    mv_domain_def *ret = NULL;

    if (flags & ~known) {
        mv_error_set(err, VIR_ERR_INVALID_ARG, VIR_FROM_DOMAIN, "unsupported flags (0x%x)",
                     flags & ~known);
        goto cleanup;
    }
    doc = mv_xml_parse_safe(xml, len, MV_DOMAIN_XML_MAX_BYTES, MV_DOMAIN_XML_MAX_DEPTH,
                            "domain XML", err);
    if (!doc)
        goto cleanup;
    root = xmlDocGetRootElement(doc);
    if (root->ns || strcmp((const char *)root->name, "domain") != 0) {
        mv_xml_error(err, VIR_ERR_XML_ERROR, root, "expected <domain> as the root element, found <%s>",
                     (const char *)root->name);
        goto cleanup;
    }
    def = calloc(1, sizeof(*def));
    if (!def) {
        mv_error_set(err, VIR_ERR_NO_MEMORY, VIR_FROM_DOMAIN, "parsing domain XML");
        goto cleanup;
    }
    mv_xml_init(&mv_schema_domain, def);
    if (mv_xml_parse(&mv_schema_domain, root, def, flags, err) < 0)
        goto cleanup;
    if (mv_domain_def_check(def, err) < 0)
        goto cleanup;
    if ((flags & MV_DOMAIN_DEF_PARSE_VALIDATE) && mv_domain_def_validate(def, err) < 0)
        goto cleanup;
    if (check_formatted_size(def, len, err) < 0)
        goto cleanup;
    ret = def;
    def = NULL;

cleanup:
    mv_domain_def_free(def);
    if (doc)
        xmlFreeDoc(doc);
    return ret;
}

char *mv_domain_def_format(const mv_domain_def *def, int id, unsigned int flags, mv_error *err)
{
    const unsigned int known = MV_DOMAIN_DEF_FORMAT_SECURE | MV_DOMAIN_DEF_FORMAT_INACTIVE;
    char extra[32] = "";
    mv_buf out = {0};

    if (!def) {
        mv_error_set(err, VIR_ERR_INVALID_ARG, VIR_FROM_DOMAIN, "no domain definition given");
        return NULL;
    }
    if (flags & ~known) {
        mv_error_set(err, VIR_ERR_INVALID_ARG, VIR_FROM_DOMAIN, "unsupported flags (0x%x)",
                     flags & ~known);
        return NULL;
    }
    /* A running guest's id is runtime state: never part of the inactive definition. */
    if (id >= 0 && !(flags & MV_DOMAIN_DEF_FORMAT_INACTIVE))
        snprintf(extra, sizeof(extra), " id='%d'", id);
    mv_xml_format(&mv_schema_domain, def, 0, flags, extra[0] ? extra : NULL, true, &out);
    return mv_buf_finish(&out, err);
}

mv_domain_def *mv_domain_def_copy(const mv_domain_def *def, mv_error *err)
{
    mv_domain_def *copy;

    if (!def) {
        mv_error_set(err, VIR_ERR_INVALID_ARG, VIR_FROM_DOMAIN, "no domain definition given");
        return NULL;
    }
    copy = malloc(sizeof(*copy));
    if (!copy)
        goto oom;
    memcpy(copy, def, sizeof(*copy));
    if (mv_xml_copy(&mv_schema_domain, copy, def) < 0) {
        mv_domain_def_free(copy);
        goto oom;
    }
    return copy;
oom:
    mv_error_set(err, VIR_ERR_NO_MEMORY, VIR_FROM_DOMAIN, "copying domain '%s'", def->name);
    return NULL;
}

void mv_domain_def_free(mv_domain_def *def)
{
    if (!def)
        return;
    mv_xml_clear(&mv_schema_domain, def);
    free(def);
}
