/* cmd_info.c: dominfo, domstate, domuuid, domid, domname — one domain, as virsh shows it. */
#include "cli/vmctl.h"

#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* The <os><type> of a domain's XML ("hvm"), which virsh's dominfo shows; NULL if the
 * XML has none. The XML comes from the daemon; it is parsed without network access
 * or entity expansion all the same. */
static char *os_type_of(const char *xml)
{
    char *out = NULL;
    xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    xmlXPathContextPtr xp = doc ? xmlXPathNewContext(doc) : NULL;
    xmlXPathObjectPtr res = xp ? xmlXPathEvalExpression(BAD_CAST "string(/domain/os/type)", xp)
                               : NULL;
    if (res && res->type == XPATH_STRING && res->stringval && res->stringval[0])
        out = strdup((const char *)res->stringval);
    xmlXPathFreeObject(res);
    xmlXPathFreeContext(xp);
    xmlFreeDoc(doc);
    return out;
}

int vmctl_cmd_dominfo(vmctl_ctx *ctx, const vmctl_args *args)
{
    virDomainPtr dom = vmctl_domain_arg(ctx, args);
    if (!dom)
        return -1;
    int rc = -1;
    char uuid[VIR_UUID_STRING_BUFLEN];
    virDomainInfo info;
    vmctl_rec *r = vmctl_rec_new(15);

    unsigned int id = virDomainGetID(dom);
    if (id == (unsigned int)-1)
        vmctl_rec_null(r, "Id:", "id", "-");
    else
        vmctl_rec_int(r, "Id:", "id", (long long)id, NULL);
    vmctl_rec_str(r, "Name:", "name", virDomainGetName(dom));
    if (virDomainGetUUIDString(dom, uuid) == 0)
        vmctl_rec_str(r, "UUID:", "uuid", uuid);
    char *xml = virDomainGetXMLDesc(dom, 0);
    char *os = xml ? os_type_of(xml) : NULL;
    if (os)
        vmctl_rec_str(r, "OS Type:", "os_type", os);
    free(os);
    free(xml);
    if (virDomainGetInfo(dom, &info) < 0) {
        vmctl_error(ctx, "failed to get domain information");
        goto cleanup;
    }
    vmctl_rec_str(r, "State:", "state", vmctl_state_word(info.state));
    vmctl_rec_uint(r, "CPU(s):", "cpus", info.nrVirtCpu, NULL);
    if (info.cpuTime != 0)
        vmctl_rec_double(r, "CPU time:", "cpu_time", (double)info.cpuTime / 1e9, "%.1lfs");
    if (info.maxMem != UINT_MAX)
        vmctl_rec_uint(r, "Max memory:", "max_memory", info.maxMem, " KiB");
    else
        vmctl_rec_str(r, "Max memory:", "max_memory", "no limit");
    vmctl_rec_uint(r, "Used memory:", "used_memory", info.memory, " KiB");
    int persistent = virDomainIsPersistent(dom);
    if (persistent < 0)
        vmctl_rec_null(r, "Persistent:", "persistent", "unknown");
    else
        vmctl_rec_bool(r, "Persistent:", "persistent", persistent, "yes", "no");
    int autostart = 0;
    if (virDomainGetAutostart(dom, &autostart) == 0)
        vmctl_rec_bool(r, "Autostart:", "autostart", autostart, "enable", "disable");
    /* modvirt has no managed save: the honest answer is always no. */
    vmctl_rec_bool(r, "Managed save:", "managed_save", false, "yes", "no");
    virResetLastError(); /* optional lines that failed are left out, as virsh does */
    vmctl_rec_emit(ctx, r);
    r = NULL;
    rc = 0;

cleanup:
    vmctl_rec_free(r);
    virDomainFree(dom);
    return rc;
}

int vmctl_cmd_domstate(vmctl_ctx *ctx, const vmctl_args *args)
{
    virDomainPtr dom = vmctl_domain_arg(ctx, args);
    if (!dom)
        return -1;
    int state, reason;
    int rc = virDomainGetState(dom, &state, &reason, 0);
    if (rc == 0) {
        if (ctx->json) {
            json_object *doc = json_object_new_object();
            json_object_object_add(doc, "state", json_object_new_string(vmctl_state_word(state)));
            json_object_object_add(doc, "reason",
                                   json_object_new_string(vmctl_reason_word(state, reason)));
            vmctl_json_emit(ctx, doc);
        } else if (vmctl_arg_bool(args, "reason")) {
            fprintf(ctx->out, "%s (%s)\n", vmctl_state_word(state),
                    vmctl_reason_word(state, reason));
        } else {
            fprintf(ctx->out, "%s\n", vmctl_state_word(state));
        }
    }
    virDomainFree(dom);
    return rc;
}

int vmctl_cmd_domuuid(vmctl_ctx *ctx, const vmctl_args *args)
{
    virDomainPtr dom = vmctl_domain_arg(ctx, args);
    if (!dom)
        return -1;
    char uuid[VIR_UUID_STRING_BUFLEN];
    int rc = virDomainGetUUIDString(dom, uuid);
    if (rc < 0) {
        vmctl_error(ctx, "failed to get domain UUID");
    } else if (ctx->json) {
        json_object *doc = json_object_new_object();
        json_object_object_add(doc, "uuid", json_object_new_string(uuid));
        vmctl_json_emit(ctx, doc);
    } else {
        fprintf(ctx->out, "%s\n", uuid);
    }
    virDomainFree(dom);
    return rc;
}

int vmctl_cmd_domid(vmctl_ctx *ctx, const vmctl_args *args)
{
    virDomainPtr dom = vmctl_domain_arg(ctx, args);
    if (!dom)
        return -1;
    unsigned int id = virDomainGetID(dom);
    if (ctx->json) {
        json_object *doc = json_object_new_object();
        json_object_object_add(doc, "id",
                               id == (unsigned int)-1 ? NULL : json_object_new_int64(id));
        vmctl_json_emit(ctx, doc);
    } else if (id == (unsigned int)-1) {
        fprintf(ctx->out, "-\n");
    } else {
        fprintf(ctx->out, "%u\n", id);
    }
    virDomainFree(dom);
    return 0;
}

int vmctl_cmd_domname(vmctl_ctx *ctx, const vmctl_args *args)
{
    virDomainPtr dom = vmctl_domain_arg(ctx, args);
    if (!dom)
        return -1;
    const char *name = virDomainGetName(dom);
    if (ctx->json) {
        json_object *doc = json_object_new_object();
        json_object_object_add(doc, "name", json_object_new_string(name));
        vmctl_json_emit(ctx, doc);
    } else {
        fprintf(ctx->out, "%s\n", name);
    }
    virDomainFree(dom);
    return 0;
}
