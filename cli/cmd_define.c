/* cmd_define.c: define, undefine, dumpxml, autostart — changing and showing a domain's
 * definition, with virsh's messages. */
#include "cli/vmctl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *vmctl_read_file(const char *path, size_t max)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    size_t len = 0, cap = 8192;
    char *buf = malloc(cap + 1);
    int saved = 0;
    while (buf) {
        if (len == cap) {
            if (cap >= max) {
                saved = EFBIG;
                break;
            }
            cap = cap * 2 > max ? max : cap * 2;
            char *nb = realloc(buf, cap + 1);
            if (!nb) {
                saved = ENOMEM;
                break;
            }
            buf = nb;
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            saved = errno;
            break;
        }
        if (n == 0) {
            close(fd);
            buf[len] = '\0';
            return buf;
        }
        len += (size_t)n;
    }
    free(buf);
    close(fd);
    errno = saved ? saved : ENOMEM;
    return NULL;
}

char *vmctl_read_xml_arg(vmctl_ctx *ctx, const char *file)
{
    char *xml = vmctl_read_file(file, VMCTL_XML_MAX);
    if (!xml) {
        if (errno == EFBIG)
            vmctl_error(ctx, "file '%s' is larger than the XML limit of %u bytes", file,
                        VMCTL_XML_MAX);
        else
            vmctl_error(ctx, "Failed to open file '%s': %s", file, strerror(errno));
    }
    return xml;
}

virDomainPtr vmctl_domain_from_file(vmctl_ctx *ctx, const char *file, unsigned int flags,
                                   bool create)
{
    const char *verb = create ? "create" : "define";
    char *xml = vmctl_read_xml_arg(ctx, file);
    if (!xml)
        return NULL;
    virConnectPtr conn = vmctl_conn(ctx);
    virDomainPtr dom = NULL;
    if (conn)
        dom = create ? virDomainCreateXML(conn, xml, flags)
                     : virDomainDefineXMLFlags(conn, xml, flags);
    free(xml);
    if (!dom) {
        if (conn)
            vmctl_error(ctx, "Failed to %s domain from %s", verb, file);
        return NULL;
    }
    if (ctx->json) {
        char uuid[VIR_UUID_STRING_BUFLEN] = "";
        virDomainGetUUIDString(dom, uuid);
        json_object *doc = json_object_new_object();
        json_object_object_add(doc, "name", json_object_new_string(virDomainGetName(dom)));
        json_object_object_add(doc, "uuid", json_object_new_string(uuid));
        /* only a created domain runs, so only it has an id worth showing */
        if (create)
            json_object_object_add(doc, "id", json_object_new_int((int)virDomainGetID(dom)));
        json_object_object_add(doc, "file", json_object_new_string(file));
        vmctl_json_emit(ctx, doc);
    } else {
        fprintf(ctx->out, "Domain '%s' %sd from %s\n", virDomainGetName(dom), verb, file);
    }
    return dom;
}

int vmctl_cmd_define(vmctl_ctx *ctx, const vmctl_args *args)
{
    unsigned int flags = vmctl_arg_bool(args, "validate") ? VIR_DOMAIN_DEFINE_VALIDATE : 0;
    virDomainPtr dom = vmctl_domain_from_file(ctx, vmctl_arg_str(args, "file"), flags, false);
    if (!dom)
        return -1;
    virDomainFree(dom);
    return 0;
}

int vmctl_cmd_undefine(vmctl_ctx *ctx, const vmctl_args *args)
{
    virDomainPtr dom = vmctl_domain_arg(ctx, args);
    if (!dom)
        return -1;
    const char *name = virDomainGetName(dom);
    int rc = virDomainUndefine(dom);
    if (rc < 0) {
        vmctl_error(ctx, "Failed to undefine domain '%s'", name);
    } else if (ctx->json) {
        json_object *doc = json_object_new_object();
        json_object_object_add(doc, "name", json_object_new_string(name));
        json_object_object_add(doc, "undefined", json_object_new_boolean(1));
        vmctl_json_emit(ctx, doc);
    } else {
        fprintf(ctx->out, "Domain '%s' has been undefined\n", name);
    }
    virDomainFree(dom);
    return rc;
}

int vmctl_cmd_dumpxml(vmctl_ctx *ctx, const vmctl_args *args)
{
    unsigned int flags = 0;
    if (vmctl_arg_bool(args, "inactive"))
        flags |= VIR_DOMAIN_XML_INACTIVE;
    if (vmctl_arg_bool(args, "security-info"))
        flags |= VIR_DOMAIN_XML_SECURE;
    virDomainPtr dom = vmctl_domain_arg(ctx, args);
    if (!dom)
        return -1;
    char *xml = virDomainGetXMLDesc(dom, flags);
    if (xml) {
        if (ctx->json) {
            json_object *doc = json_object_new_object();
            json_object_object_add(doc, "name", json_object_new_string(virDomainGetName(dom)));
            json_object_object_add(doc, "xml", json_object_new_string(xml));
            vmctl_json_emit(ctx, doc);
        } else {
            fputs(xml, ctx->out);
        }
    }
    virDomainFree(dom);
    int rc = xml ? 0 : -1;
    free(xml);
    return rc;
}

int vmctl_cmd_autostart(vmctl_ctx *ctx, const vmctl_args *args)
{
    bool disable = vmctl_arg_bool(args, "disable");
    virDomainPtr dom = vmctl_domain_arg(ctx, args);
    if (!dom)
        return -1;
    const char *name = virDomainGetName(dom);
    int rc = virDomainSetAutostart(dom, !disable);
    if (rc < 0) {
        vmctl_error(ctx, disable ? "Failed to unmark domain '%s' as autostarted"
                                 : "Failed to mark domain '%s' as autostarted",
                    name);
    } else if (ctx->json) {
        json_object *doc = json_object_new_object();
        json_object_object_add(doc, "name", json_object_new_string(name));
        json_object_object_add(doc, "autostart", json_object_new_boolean(!disable));
        vmctl_json_emit(ctx, doc);
    } else {
        fprintf(ctx->out, disable ? "Domain '%s' unmarked as autostarted\n"
                                  : "Domain '%s' marked as autostarted\n",
                name);
    }
    virDomainFree(dom);
    return rc;
}
