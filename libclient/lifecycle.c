/* lifecycle.c: the public entry points for running guests — start, create, shutdown,
 * destroy, reboot, reset, suspend, resume — and the host's capabilities and native
 * formats. Thin guards around one table-driven call each; like libvirt's remote driver,
 * the handle's id follows a start (from the reply) and a destroy (back to -1). */
#include "libclient/client.h"

#include <stdlib.h>
#include <string.h>

#include "common/proc.h"

/* A call whose reply carries nothing: 0 or -1. */
static int empty_call(virDomainPtr dom, unsigned int proc, unsigned int flags, const char *fn)
{
    Modvirt__Empty *ret = mvc_domain_flags_call(dom, proc, flags, fn);
    if (!ret)
        return -1;
    mvc_reply_free(ret);
    return 0;
}

/* A call that yields a string the caller frees, or NULL (error dispatched). */
static char *string_call(virConnectPtr conn, unsigned int proc, const void *args, const char *fn)
{
    mv_error err = MV_ERROR_INIT;
    Modvirt__StringRet *ret = NULL;
    char *s = NULL;
    if (mvc_call(conn, proc, args, &ret, &err) < 0)
        goto cleanup;
    if (!(s = strdup(ret->value ? ret->value : "")))
        mv_error_set(&err, VIR_ERR_NO_MEMORY, VIR_FROM_NONE, "in %s", fn);
cleanup:
    mvc_reply_free(ret);
    if (mv_error_is_set(&err))
        mvc_dispatch_error(conn, &err);
    return s;
}

/* ---- starting ------------------------------------------------------------------------- */

static int create(virDomainPtr domain, unsigned int flags, const char *fn)
{
    Modvirt__DomainRet *ret = mvc_domain_flags_call(domain, MV_PROC_DOMAIN_CREATE, flags, fn);
    if (!ret)
        return -1;
    if (ret->dom)
        domain->id = ret->dom->id;
    mvc_reply_free(ret);
    return 0;
}

int virDomainCreate(virDomainPtr domain)
{
    return create(domain, 0, __func__);
}

int virDomainCreateWithFlags(virDomainPtr domain, unsigned int flags)
{
    return create(domain, flags, __func__);
}

virDomainPtr virDomainCreateXML(virConnectPtr conn, const char *xmlDesc, unsigned int flags)
{
    virResetLastError();
    mv_error err = MV_ERROR_INIT;
    Modvirt__DomainRet *ret = NULL;
    virDomainPtr dom = NULL;
    if (mvc_check_conn(conn, __func__, &err) < 0) {
        mvc_dispatch_error(NULL, &err);
        return NULL;
    }
    Modvirt__DomainDefineArgs args = MODVIRT__DOMAIN_DEFINE_ARGS__INIT;
    args.xml = (char *)xmlDesc;
    args.flags = flags;
    if (mvc_check_nonnull(xmlDesc, "xmlDesc", __func__, &err) < 0 ||
        mvc_check_writable(conn, MV_PROC_DOMAIN_CREATE_XML, __func__, &err) < 0 ||
        mvc_call(conn, MV_PROC_DOMAIN_CREATE_XML, &args, &ret, &err) < 0)
        goto cleanup;
    if (!ret->dom)
        mv_error_set(&err, VIR_ERR_RPC, VIR_FROM_RPC, "the daemon's reply named no domain");
    else
        dom = mvc_domain_new(conn, ret->dom->name, ret->dom->uuid.data, ret->dom->uuid.len,
                             ret->dom->id, &err);
cleanup:
    mvc_reply_free(ret);
    if (mv_error_is_set(&err))
        mvc_dispatch_error(conn, &err);
    return dom;
}

/* ---- stopping and the rest of the lifecycle -------------------------------------------- */

int virDomainShutdown(virDomainPtr domain)
{
    return empty_call(domain, MV_PROC_DOMAIN_SHUTDOWN, 0, __func__);
}

int virDomainShutdownFlags(virDomainPtr domain, unsigned int flags)
{
    return empty_call(domain, MV_PROC_DOMAIN_SHUTDOWN, flags, __func__);
}

static int destroy(virDomainPtr domain, unsigned int flags, const char *fn)
{
    if (empty_call(domain, MV_PROC_DOMAIN_DESTROY, flags, fn) < 0)
        return -1;
    domain->id = -1;
    return 0;
}

int virDomainDestroy(virDomainPtr domain)
{
    return destroy(domain, 0, __func__);
}

int virDomainDestroyFlags(virDomainPtr domain, unsigned int flags)
{
    return destroy(domain, flags, __func__);
}

int virDomainReboot(virDomainPtr domain, unsigned int flags)
{
    return empty_call(domain, MV_PROC_DOMAIN_REBOOT, flags, __func__);
}

int virDomainReset(virDomainPtr domain, unsigned int flags)
{
    return empty_call(domain, MV_PROC_DOMAIN_RESET, flags, __func__);
}

int virDomainSuspend(virDomainPtr domain)
{
    return empty_call(domain, MV_PROC_DOMAIN_SUSPEND, 0, __func__);
}

int virDomainResume(virDomainPtr domain)
{
    return empty_call(domain, MV_PROC_DOMAIN_RESUME, 0, __func__);
}

/* ---- the host's capabilities and native formats ---------------------------------------- */

char *virConnectGetCapabilities(virConnectPtr conn)
{
    virResetLastError();
    mv_error err = MV_ERROR_INIT;
    if (mvc_check_conn(conn, __func__, &err) < 0) {
        mvc_dispatch_error(NULL, &err);
        return NULL;
    }
    return string_call(conn, MV_PROC_CONNECT_GET_CAPABILITIES, NULL, __func__);
}

char *virConnectGetDomainCapabilities(virConnectPtr conn, const char *emulatorbin, const char *arch,
                                      const char *machine, const char *virttype, unsigned int flags)
{
    virResetLastError();
    mv_error err = MV_ERROR_INIT;
    if (mvc_check_conn(conn, __func__, &err) < 0) {
        mvc_dispatch_error(NULL, &err);
        return NULL;
    }
    /* NULL means "the default" for each; the wire says that with "". */
    Modvirt__DomainCapsArgs args = MODVIRT__DOMAIN_CAPS_ARGS__INIT;
    args.emulatorbin = (char *)(emulatorbin ? emulatorbin : "");
    args.arch = (char *)(arch ? arch : "");
    args.machine = (char *)(machine ? machine : "");
    args.virttype = (char *)(virttype ? virttype : "");
    args.flags = flags;
    return string_call(conn, MV_PROC_CONNECT_GET_DOMAIN_CAPABILITIES, &args, __func__);
}

char *virConnectDomainXMLToNative(virConnectPtr conn, const char *nativeFormat,
                                  const char *domainXml, unsigned int flags)
{
    virResetLastError();
    mv_error err = MV_ERROR_INIT;
    if (mvc_check_conn(conn, __func__, &err) < 0) {
        mvc_dispatch_error(NULL, &err);
        return NULL;
    }
    Modvirt__XmlToNativeArgs args = MODVIRT__XML_TO_NATIVE_ARGS__INIT;
    args.format = (char *)nativeFormat;
    args.xml = (char *)domainXml;
    args.flags = flags;
    if (mvc_check_nonnull(nativeFormat, "nativeFormat", __func__, &err) < 0 ||
        mvc_check_nonnull(domainXml, "domainXml", __func__, &err) < 0 ||
        mvc_check_writable(conn, MV_PROC_CONNECT_DOMAIN_XML_TO_NATIVE, __func__, &err) < 0) {
        mvc_dispatch_error(conn, &err);
        return NULL;
    }
    return string_call(conn, MV_PROC_CONNECT_DOMAIN_XML_TO_NATIVE, &args, __func__);
}
