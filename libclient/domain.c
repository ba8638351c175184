/* domain.c: the public virDomain* entry points — thin guards around one table-driven
 * call each. */
#include "libclient/client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/proc.h"
#include "common/uuid.h"

void mvc_domain_to_wire(virDomainPtr dom, Modvirt__Domain *w)
{
    modvirt__domain__init(w);
    w->name = dom->name;
    w->uuid.data = dom->uuid;
    w->uuid.len = VIR_UUID_BUFLEN;
    w->id = dom->id;
}

/* A domain from a DomainRet reply (consumes the reply). */
static virDomainPtr domain_from_reply(virConnectPtr conn, Modvirt__DomainRet *ret, mv_error *err)
{
    virDomainPtr dom = NULL;
    if (!ret->dom)
        mv_error_set(err, VIR_ERR_RPC, VIR_FROM_RPC, "the daemon's reply named no domain");
    else
        dom = mvc_domain_new(conn, ret->dom->name, ret->dom->uuid.data, ret->dom->uuid.len,
                             ret->dom->id, err);
    mvc_reply_free(ret);
    return dom;
}

void *mvc_domain_flags_call(virDomainPtr dom, unsigned int proc, unsigned int flags, const char *fn)
{
    virResetLastError();
    mv_error err = MV_ERROR_INIT;
    void *ret = NULL;
    if (mvc_check_dom(dom, fn, &err) < 0) {
        mvc_dispatch_error(NULL, &err);
        return NULL;
    }
    Modvirt__Domain w;
    mvc_domain_to_wire(dom, &w);
    Modvirt__DomainFlagsArgs args = MODVIRT__DOMAIN_FLAGS_ARGS__INIT;
    args.dom = &w;
    args.flags = flags;
    if (mvc_check_writable(dom->conn, proc, fn, &err) < 0 ||
        mvc_call(dom->conn, proc, &args, &ret, &err) < 0) {
        mvc_dispatch_error(dom->conn, &err);
        return NULL;
    }
    return ret;
}

/* ---- define / undefine --------------------------------------------------------------------- */

/* virDomainDefineXML and virDomainDefineXMLFlags; fn names the one called. */
static virDomainPtr define_xml(virConnectPtr conn, const char *xml, unsigned int flags,
                               const char *fn)
{
    virResetLastError();
    mv_error err = MV_ERROR_INIT;
    Modvirt__DomainRet *ret = NULL;
    virDomainPtr dom = NULL;
    if (mvc_check_conn(conn, fn, &err) < 0) {
        mvc_dispatch_error(NULL, &err);
        return NULL;
    }
    Modvirt__DomainDefineArgs args = MODVIRT__DOMAIN_DEFINE_ARGS__INIT;
    args.xml = (char *)xml;
    args.flags = flags;
    if (mvc_check_nonnull(xml, "xml", fn, &err) < 0 ||
        mvc_check_writable(conn, MV_PROC_DOMAIN_DEFINE_XML, fn, &err) < 0 ||
        mvc_call(conn, MV_PROC_DOMAIN_DEFINE_XML, &args, &ret, &err) < 0 ||
        !(dom = domain_from_reply(conn, ret, &err)))
        mvc_dispatch_error(conn, &err);
    return dom;
}

virDomainPtr virDomainDefineXMLFlags(virConnectPtr conn, const char *xml, unsigned int flags)
{
    return define_xml(conn, xml, flags, __func__);
}

virDomainPtr virDomainDefineXML(virConnectPtr conn, const char *xml)
{
    return define_xml(conn, xml, 0, __func__);
}

static int undefine(virDomainPtr domain, unsigned int flags, const char *fn)
{
    virResetLastError();
    Modvirt__Empty *ret = mvc_domain_flags_call(domain, MV_PROC_DOMAIN_UNDEFINE, flags, fn);
    if (!ret)
        return -1;
    mvc_reply_free(ret);
    return 0;
}

int virDomainUndefineFlags(virDomainPtr domain, unsigned int flags)
{
    return undefine(domain, flags, __func__);
}

int virDomainUndefine(virDomainPtr domain)
{
    return undefine(domain, 0, __func__);
}

/* ---- lookups ------------------------------------------------------------------------------ */

/* One lookup call: args already filled, or err already set by a failed check. */
static virDomainPtr lookup(virConnectPtr conn, unsigned int proc, const void *args, mv_error *err)
{
    Modvirt__DomainRet *ret = NULL;
    virDomainPtr dom = NULL;
    if (mv_error_is_set(err) || mvc_call(conn, proc, args, &ret, err) < 0 ||
        !(dom = domain_from_reply(conn, ret, err)))
        mvc_dispatch_error(conn, err);
    return dom;
}

virDomainPtr virDomainLookupByName(virConnectPtr conn, const char *name)
{
    virResetLastError();
    mv_error err = MV_ERROR_INIT;
    if (mvc_check_conn(conn, __func__, &err) < 0) {
        mvc_dispatch_error(NULL, &err);
        return NULL;
    }
    Modvirt__LookupByNameArgs args = MODVIRT__LOOKUP_BY_NAME_ARGS__INIT;
    args.name = (char *)name;
    mvc_check_nonnull(name, "name", __func__, &err);
    return lookup(conn, MV_PROC_DOMAIN_LOOKUP_BY_NAME, &args, &err);
}

virDomainPtr virDomainLookupByUUID(virConnectPtr conn, const unsigned char *uuid)
{
    virResetLastError();
    mv_error err = MV_ERROR_INIT;
    if (mvc_check_conn(conn, __func__, &err) < 0) {
        mvc_dispatch_error(NULL, &err);
        return NULL;
    }
    Modvirt__LookupByUuidArgs args = MODVIRT__LOOKUP_BY_UUID_ARGS__INIT;
    args.uuid.data = (uint8_t *)uuid;
    args.uuid.len = VIR_UUID_BUFLEN;
    mvc_check_nonnull(uuid, "uuid", __func__, &err);
    return lookup(conn, MV_PROC_DOMAIN_LOOKUP_BY_UUID, &args, &err);
}

virDomainPtr virDomainLookupByUUIDString(virConnectPtr conn, const char *uuidstr)
{
    virResetLastError();
    mv_error err = MV_ERROR_INIT;
    unsigned char uuid[VIR_UUID_BUFLEN];
    if (mvc_check_conn(conn, __func__, &err) < 0) {
        mvc_dispatch_error(NULL, &err);
        return NULL;
    }
    Modvirt__LookupByUuidArgs args = MODVIRT__LOOKUP_BY_UUID_ARGS__INIT;
    args.uuid.data = uuid;
    args.uuid.len = VIR_UUID_BUFLEN;
    if (mvc_check_nonnull(uuidstr, "uuidstr", __func__, &err) == 0 &&
        mv_uuid_parse(uuidstr, uuid) < 0)
        mv_error_set(&err, VIR_ERR_INVALID_ARG, VIR_FROM_NONE, "uuidstr in %s must be a valid UUID",
                     __func__);
    return lookup(conn, MV_PROC_DOMAIN_LOOKUP_BY_UUID, &args, &err);
}

virDomainPtr virDomainLookupByID(virConnectPtr conn, int id)
{
    virResetLastError();
    mv_error err = MV_ERROR_INIT;
    if (mvc_check_conn(conn, __func__, &err) < 0) {
        mvc_dispatch_error(NULL, &err);
        return NULL;
    }
    Modvirt__LookupByIdArgs args = MODVIRT__LOOKUP_BY_ID_ARGS__INIT;
    args.id = id;
    if (id < 0)
        mv_error_set(&err, VIR_ERR_INVALID_ARG, VIR_FROM_NONE, "id in %s must not be negative",
                     __func__);
    return lookup(conn, MV_PROC_DOMAIN_LOOKUP_BY_ID, &args, &err);
}

/* ---- what the handle knows ------------------------------------------------------------- */

const char *virDomainGetName(virDomainPtr domain)
{
    virResetLastError();
    mv_error err = MV_ERROR_INIT;
    if (mvc_check_dom(domain, __func__, &err) < 0) {
        mvc_dispatch_error(NULL, &err);
        return NULL;
    }
    return domain->name;
}

int virDomainGetUUID(virDomainPtr domain, unsigned char *uuid)
{
    virResetLastError();
    mv_error err = MV_ERROR_INIT;
    if (mvc_check_dom(domain, __func__, &err) < 0) {
        mvc_dispatch_error(NULL, &err);
        return -1;
    }
    if (mvc_check_nonnull(uuid, "uuid", __func__, &err) < 0) {
        mvc_dispatch_error(domain->conn, &err);
        return -1;
    }
    memcpy(uuid, domain->uuid, VIR_UUID_BUFLEN);
    return 0;
}

int virDomainGetUUIDString(virDomainPtr domain, char *buf)
{
    virResetLastError();
    mv_error err = MV_ERROR_INIT;
    if (mvc_check_dom(domain, __func__, &err) < 0) {
        mvc_dispatch_error(NULL, &err);
        return -1;
    }
    if (mvc_check_nonnull(buf, "buf", __func__, &err) < 0) {
        mvc_dispatch_error(domain->conn, &err);
        return -1;
    }
    mv_uuid_format(domain->uuid, buf);
    return 0;
}

unsigned int virDomainGetID(virDomainPtr domain)
{
    virResetLastError();
    mv_error err = MV_ERROR_INIT;
    if (mvc_check_dom(domain, __func__, &err) < 0) {
        mvc_dispatch_error(NULL, &err);
        return (unsigned int)-1;
    }
    return (unsigned int)domain->id;
}

virConnectPtr virDomainGetConnect(virDomainPtr domain)
{
    virResetLastError();
    mv_error err = MV_ERROR_INIT;
    if (mvc_check_dom(domain, __func__, &err) < 0) {
        mvc_dispatch_error(NULL, &err);
        return NULL;
    }
    return domain->conn;
}

/* ---- what the daemon knows -------------------------------------------------------------- */

char *virDomainGetXMLDesc(virDomainPtr domain, unsigned int flags)
{
    virResetLastError();
    /* Secrets in the XML are for read-write connections only, as in libvirt. */
    if (mvc_dom_valid(domain) && (domain->conn->flags & VIR_CONNECT_RO) &&
        (flags & VIR_DOMAIN_XML_SECURE)) {
        mv_error err = MV_ERROR_INIT;
        mv_error_set(&err, VIR_ERR_OPERATION_DENIED, VIR_FROM_DOMAIN,
                     "virDomainGetXMLDesc with secure flag");
        mvc_dispatch_error(domain->conn, &err);
        return NULL;
    }
    Modvirt__StringRet *ret =
        mvc_domain_flags_call(domain, MV_PROC_DOMAIN_GET_XML_DESC, flags, __func__);
    if (!ret)
        return NULL;
    char *xml = strdup(ret->value ? ret->value : "");
    mvc_reply_free(ret);
    if (!xml) {
        mv_error err = MV_ERROR_INIT;
        mv_error_set(&err, VIR_ERR_NO_MEMORY, VIR_FROM_DOMAIN, "in %s", __func__);
        mvc_dispatch_error(domain->conn, &err);
    }
    return xml;
}

int virDomainGetInfo(virDomainPtr domain, virDomainInfoPtr info)
{
    virResetLastError();
    if (mvc_dom_valid(domain) && !info) {
        mv_error err = MV_ERROR_INIT;
        mvc_check_nonnull(info, "info", __func__, &err);
        mvc_dispatch_error(domain->conn, &err);
        return -1;
    }
    Modvirt__DomainInfoRet *ret =
        mvc_domain_flags_call(domain, MV_PROC_DOMAIN_GET_INFO, 0, __func__);
    if (!ret)
        return -1;
    memset(info, 0, sizeof(*info));
    info->state = (unsigned char)ret->state;
    info->maxMem = (unsigned long)ret->max_mem;
    info->memory = (unsigned long)ret->memory;
    info->nrVirtCpu = (unsigned short)ret->nr_virt_cpu;
    info->cpuTime = ret->cpu_time;
    mvc_reply_free(ret);
    return 0;
}

int virDomainGetState(virDomainPtr domain, int *state, int *reason, unsigned int flags)
{
    virResetLastError();
    if (mvc_dom_valid(domain) && !state) {
        mv_error err = MV_ERROR_INIT;
        mvc_check_nonnull(state, "state", __func__, &err);
        mvc_dispatch_error(domain->conn, &err);
        return -1;
    }
    Modvirt__DomainStateRet *ret =
        mvc_domain_flags_call(domain, MV_PROC_DOMAIN_GET_STATE, flags, __func__);
    if (!ret)
        return -1;
    *state = ret->state;
    if (reason)
        *reason = ret->reason;
    mvc_reply_free(ret);
    return 0;
}

int virDomainGetAutostart(virDomainPtr domain, int *autostart)
{
    virResetLastError();
    if (mvc_dom_valid(domain) && !autostart) {
        mv_error err = MV_ERROR_INIT;
        mvc_check_nonnull(autostart, "autostart", __func__, &err);
        mvc_dispatch_error(domain->conn, &err);
        return -1;
    }
    Modvirt__BoolRet *ret =
        mvc_domain_flags_call(domain, MV_PROC_DOMAIN_GET_AUTOSTART, 0, __func__);
    if (!ret)
        return -1;
    *autostart = ret->value ? 1 : 0;
    mvc_reply_free(ret);
    return 0;
}

int virDomainSetAutostart(virDomainPtr domain, int autostart)
{
    virResetLastError();
    mv_error err = MV_ERROR_INIT;
    Modvirt__Empty *ret = NULL;
    if (mvc_check_dom(domain, __func__, &err) < 0) {
        mvc_dispatch_error(NULL, &err);
        return -1;
    }
    Modvirt__Domain w;
    mvc_domain_to_wire(domain, &w);
    Modvirt__DomainSetAutostartArgs args = MODVIRT__DOMAIN_SET_AUTOSTART_ARGS__INIT;
    args.dom = &w;
    args.autostart = autostart != 0;
    if (mvc_check_writable(domain->conn, MV_PROC_DOMAIN_SET_AUTOSTART, __func__, &err) < 0 ||
        mvc_call(domain->conn, MV_PROC_DOMAIN_SET_AUTOSTART, &args, &ret, &err) < 0) {
        mvc_dispatch_error(domain->conn, &err);
        return -1;
    }
    mvc_reply_free(ret);
    return 0;
}

/* IsActive and IsPersistent: a yes/no question about the domain. */
static int bool_call(virDomainPtr domain, unsigned int proc, const char *fn)
{
    virResetLastError();
    Modvirt__BoolRet *ret = mvc_domain_flags_call(domain, proc, 0, fn);
    if (!ret)
        return -1;
    int v = ret->value ? 1 : 0;
    mvc_reply_free(ret);
    return v;
}

int virDomainIsActive(virDomainPtr domain)
{
    return bool_call(domain, MV_PROC_DOMAIN_IS_ACTIVE, __func__);
}

int virDomainIsPersistent(virDomainPtr domain)
{
    return bool_call(domain, MV_PROC_DOMAIN_IS_PERSISTENT, __func__);
}
