/* cmd_devices.c: vncdisplay, domiflist, domblklist — read from the domain's XML with
 * XPath, as virsh does — and capabilities, domcapabilities, domxml-to-native. */
#include "cli/vmctl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xpath.h>

/* A parsed domain description and its XPath context. */
typedef struct dom_doc {
    xmlDocPtr doc;
    xmlXPathContextPtr xp;
} dom_doc;

static void dom_doc_free(dom_doc *d)
{
    xmlXPathFreeContext(d->xp);
    xmlFreeDoc(d->doc);
}

/* The XML of dom (flags as virDomainGetXMLDesc) parsed; -1 after printing why. */
static int dom_doc_load(vmctl_ctx *ctx, virDomainPtr dom, unsigned int flags, dom_doc *d)
{
    d->doc = NULL;
    d->xp = NULL;
    char *xml = virDomainGetXMLDesc(dom, flags);
    if (!xml)
        return -1;
    d->doc = xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL,
                           XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    free(xml);
    if (!d->doc || !(d->xp = xmlXPathNewContext(d->doc))) {
        vmctl_error(ctx, "failed to parse the domain's XML");
        dom_doc_free(d);
        return -1;
    }
    return 0;
}

/* string(expr) relative to node (NULL: the document); malloc'd, NULL when empty. */
static char *xpath_str(dom_doc *d, xmlNodePtr node, const char *expr)
{
    d->xp->node = node ? node : xmlDocGetRootElement(d->doc);
    xmlXPathObjectPtr o = xmlXPathEvalExpression(BAD_CAST expr, d->xp);
    char *s = NULL;
    if (o && o->type == XPATH_STRING && o->stringval && o->stringval[0])
        s = strdup((const char *)o->stringval);
    xmlXPathFreeObject(o);
    return s;
}

/* The nodes expr selects from the root; NULL when none (free with xmlXPathFreeObject). */
static xmlXPathObjectPtr xpath_nodes(dom_doc *d, const char *expr)
{
    d->xp->node = xmlDocGetRootElement(d->doc);
    return xmlXPathEvalExpression(BAD_CAST expr, d->xp);
}

static const char *or_minus(const char *s)
{
    return s ? s : "-";
}

/* Prints a table of rows: text as virsh's table, JSON as an array of objects keyed by
 * the given keys. cells holds nrows * ncols strings (NULL shown as "-" / null). */
static void emit_rows(vmctl_ctx *ctx, size_t ncols, const char *const *headers,
                      const char *const *keys, char **cells, size_t nrows)
{
    if (ctx->json) {
        json_object *arr = json_object_new_array();
        for (size_t r = 0; r < nrows; r++) {
            json_object *o = json_object_new_object();
            for (size_t c = 0; c < ncols; c++) {
                const char *v = cells[r * ncols + c];
                json_object_object_add(o, keys[c], v ? json_object_new_string(v) : NULL);
            }
            json_object_array_add(arr, o);
        }
        vmctl_json_emit(ctx, arr);
        return;
    }
    vmctl_table *t = vmctl_table_new(ncols, headers);
    for (size_t r = 0; t && r < nrows; r++) {
        const char *row[8];
        for (size_t c = 0; c < ncols; c++)
            row[c] = or_minus(cells[r * ncols + c]);
        vmctl_table_add(t, row);
    }
    if (t)
        vmctl_table_print(t, ctx->out);
    vmctl_table_free(t);
}

/* Builds rows from every node `nodes_expr` selects, each cell the string of one of
 * the relative expressions in cols, and prints them. */
static int list_devices(vmctl_ctx *ctx, const vmctl_args *args, const char *nodes_expr,
                        size_t ncols, const char *const *cols, const char *const *headers,
                        const char *const *keys)
{
    unsigned int flags = vmctl_arg_bool(args, "inactive") ? VIR_DOMAIN_XML_INACTIVE : 0;
    virDomainPtr dom = vmctl_domain_arg(ctx, args);
    dom_doc d = {NULL, NULL};
    xmlXPathObjectPtr set = NULL;
    char **cells = NULL;
    size_t n = 0;
    int rc = -1;
    if (!dom || dom_doc_load(ctx, dom, flags, &d) < 0)
        goto cleanup;
    set = xpath_nodes(&d, nodes_expr);
    if (set && set->nodesetval)
        n = (size_t)set->nodesetval->nodeNr;
    cells = calloc(n * ncols + 1, sizeof(*cells));
    if (!cells) {
        vmctl_error(ctx, "out of memory");
        goto cleanup;
    }
    for (size_t r = 0; r < n; r++)
        for (size_t c = 0; c < ncols; c++)
            cells[r * ncols + c] = xpath_str(&d, set->nodesetval->nodeTab[r], cols[c]);
    emit_rows(ctx, ncols, headers, keys, cells, n);
    rc = 0;
cleanup:
    for (size_t i = 0; cells && i < n * ncols; i++)
        free(cells[i]);
    free(cells);
    xmlXPathFreeObject(set);
    if (d.doc)
        dom_doc_free(&d);
    if (dom)
        virDomainFree(dom);
    return rc;
}

int vmctl_cmd_domiflist(vmctl_ctx *ctx, const vmctl_args *args)
{
    static const char *const cols[] = {
        "string(./target/@dev)", "string(./@type)",
        "string(./source/@bridge|./source/@dev|./source/@network|./source/@name|"
        "./source/@path)",
        "string(./model/@type)", "string(./mac/@address)"};
    static const char *const headers[] = {"Interface", "Type", "Source", "Model", "MAC"};
    static const char *const keys[] = {"interface", "type", "source", "model", "mac"};
    return list_devices(ctx, args, "/domain/devices/interface", 5, cols, headers, keys);
}

int vmctl_cmd_domblklist(vmctl_ctx *ctx, const vmctl_args *args)
{
    static const char *const cols[] = {
        "string(./@type)", "string(./@device)", "string(./target/@dev)",
        "string(./source/@file|./source/@dev|./source/@dir|./source/@name|"
        "./source/@volume)"};
    static const char *const headers[] = {"Type", "Device", "Target", "Source"};
    static const char *const keys[] = {"type", "device", "target", "source"};
    if (vmctl_arg_bool(args, "details"))
        return list_devices(ctx, args, "/domain/devices/disk", 4, cols, headers, keys);
    /* without --details only the last two columns */
    return list_devices(ctx, args, "/domain/devices/disk", 2, cols + 2, headers + 2, keys + 2);
}

int vmctl_cmd_vncdisplay(vmctl_ctx *ctx, const vmctl_args *args)
{
    virDomainPtr dom = vmctl_domain_arg(ctx, args);
    dom_doc d = {NULL, NULL};
    char *port = NULL, *listen = NULL;
    int rc = -1;
    if (!dom)
        return -1;
    int active = virDomainIsActive(dom);
    if (active < 0) {
        vmctl_error(ctx, "Unable to get domain status");
        goto cleanup;
    }
    if (!active) {
        vmctl_error(ctx, "Domain is not running");
        goto cleanup;
    }
    if (dom_doc_load(ctx, dom, 0, &d) < 0)
        goto cleanup;
    port = xpath_str(&d, NULL, "string(/domain/devices/graphics[@type='vnc']/@port)");
    char *end = NULL;
    long p = port ? strtol(port, &end, 10) : -1;
    if (!port || *end || p < 5900) {
        vmctl_error(ctx, "Failed to get VNC port. Is this domain using VNC?");
        goto cleanup;
    }
    listen = xpath_str(&d, NULL, "string(/domain/devices/graphics[@type='vnc']/@listen)");
    if (!listen)
        listen = xpath_str(&d, NULL,
                           "string(/domain/devices/graphics[@type='vnc']/listen/@address)");
    /* A wildcard address prints as nothing before the colon, as virsh does. */
    bool wildcard = !listen || strcmp(listen, "0.0.0.0") == 0 || strcmp(listen, "::") == 0;
    bool v6 = !wildcard && strchr(listen, ':');
    if (ctx->json) {
        json_object *doc = json_object_new_object();
        json_object_object_add(doc, "listen",
                               wildcard ? NULL : json_object_new_string(listen));
        json_object_object_add(doc, "display", json_object_new_int((int)(p - 5900)));
        json_object_object_add(doc, "port", json_object_new_int((int)p));
        vmctl_json_emit(ctx, doc);
    } else {
        fprintf(ctx->out, "%s%s%s:%ld\n", v6 ? "[" : "", wildcard ? "" : listen, v6 ? "]" : "",
                p - 5900);
    }
    rc = 0;
cleanup:
    free(port);
    free(listen);
    if (d.doc)
        dom_doc_free(&d);
    virDomainFree(dom);
    return rc;
}

/* Prints a document the daemon produced: as is (with a final newline), or in JSON. */
static void emit_doc(vmctl_ctx *ctx, const char *key, const char *text)
{
    if (ctx->json) {
        json_object *doc = json_object_new_object();
        json_object_object_add(doc, key, json_object_new_string(text));
        vmctl_json_emit(ctx, doc);
        return;
    }
    fputs(text, ctx->out);
    size_t n = strlen(text);
    if (n == 0 || text[n - 1] != '\n')
        fputc('\n', ctx->out);
}

int vmctl_cmd_capabilities(vmctl_ctx *ctx, const vmctl_args *args)
{
    (void)args;
    virConnectPtr conn = vmctl_conn(ctx);
    if (!conn)
        return -1;
    char *caps = virConnectGetCapabilities(conn);
    if (!caps) {
        vmctl_error(ctx, "failed to get capabilities");
        return -1;
    }
    emit_doc(ctx, "xml", caps);
    free(caps);
    return 0;
}

int vmctl_cmd_domcapabilities(vmctl_ctx *ctx, const vmctl_args *args)
{
    virConnectPtr conn = vmctl_conn(ctx);
    if (!conn)
        return -1;
    char *caps = virConnectGetDomainCapabilities(
        conn, vmctl_arg_str(args, "emulatorbin"), vmctl_arg_str(args, "arch"),
        vmctl_arg_str(args, "machine"), vmctl_arg_str(args, "virttype"), 0);
    if (!caps) {
        vmctl_error(ctx, "failed to get emulator capabilities");
        return -1;
    }
    emit_doc(ctx, "xml", caps);
    free(caps);
    return 0;
}

int vmctl_cmd_domxml_to_native(vmctl_ctx *ctx, const vmctl_args *args)
{
    const char *format = vmctl_arg_str(args, "format");
    const char *file = vmctl_arg_str(args, "xml");
    const char *domref = vmctl_arg_str(args, "domain");
    char *xml = NULL, *native = NULL;
    int rc = -1;
    if (!file == !domref) {
        vmctl_error(ctx, "Exactly one of --xml and --domain is required");
        return -1;
    }
    if (file) {
        if (!(xml = vmctl_read_xml_arg(ctx, file)))
            return -1;
    } else {
        virDomainPtr dom = vmctl_domain(ctx, domref);
        if (!dom)
            return -1;
        xml = virDomainGetXMLDesc(dom, 0);
        virDomainFree(dom);
        if (!xml)
            return -1;
    }
    virConnectPtr conn = vmctl_conn(ctx);
    if (!conn || !(native = virConnectDomainXMLToNative(conn, format, xml, 0)))
        goto cleanup;
    emit_doc(ctx, "native", native);
    rc = 0;
cleanup:
    free(xml);
    free(native);
    return rc;
}
