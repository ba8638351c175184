/* qemu_handlers.c: the domain procedures — unpack the call, ask qemu_domain.c (jobs) or
 * qemu_query.c (reads), pack the reply. No driver logic lives here. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "virtqemud/qemu_driver.h"

static void set_nomem(mv_call *call)
{
    mv_error_set_errno(mv_call_error(call), ENOMEM, VIR_FROM_QEMU, "cannot build reply");
}

/* The UUID a call's domain handle carries; libvirt finds domains by it. */
static const unsigned char *handle_uuid(mv_call *call, const Modvirt__Domain *dom)
{
    if (!dom || dom->uuid.len != MV_UUID_BUFLEN) {
        mv_error_set(mv_call_error(call), VIR_ERR_INVALID_ARG, VIR_FROM_QEMU,
                     "a domain handle needs a %d-byte UUID", MV_UUID_BUFLEN);
        return NULL;
    }
    return dom->uuid.data;
}

/* The snapshot of the domain a handle names, or NULL with the call's error set. */
static qemu_domsnap *handle_snap(mv_call *call, const Modvirt__Domain *dom)
{
    const unsigned char *uuid = handle_uuid(call, dom);

    return uuid ? qemu_query_domain(qemu_state_of(call), uuid, dom->name, mv_call_error(call))
                : NULL;
}

/* A wire domain handle for snap (malloc'd, freed by the runtime with the reply). */
static Modvirt__Domain *domain_msg(const qemu_domsnap *snap)
{
    Modvirt__Domain *d = malloc(sizeof(*d));

    if (!d)
        return NULL;
    modvirt__domain__init(d);
    d->name = strdup(snap->def->name);
    d->uuid.data = malloc(MV_UUID_BUFLEN);
    if (!d->name || !d->uuid.data) {
        free(d->name);
        free(d->uuid.data);
        free(d);
        return NULL;
    }
    memcpy(d->uuid.data, snap->def->uuid, MV_UUID_BUFLEN);
    d->uuid.len = MV_UUID_BUFLEN;
    d->id = snap->id;
    return d;
}

/* Fills a DomainRet from snap and drops the caller's reference. */
static int reply_domain(mv_call *call, qemu_domsnap *snap, Modvirt__DomainRet *ret)
{
    if (!snap)
        return -1;
    ret->dom = domain_msg(snap);
    qemu_domsnap_unref(snap);
    if (!ret->dom) {
        set_nomem(call);
        return -1;
    }
    return 0;
}

/* ---- jobs ----------------------------------------------------------------------------- */

int qemu_proc_domain_define_xml(mv_call *call, const Modvirt__DomainDefineArgs *args,
                                Modvirt__DomainRet *ret)
{
    return reply_domain(call, qemu_domain_define(qemu_state_of(call), args->xml, args->flags,
                                                 mv_call_error(call)), ret);
}

int qemu_proc_domain_undefine(mv_call *call, const Modvirt__DomainFlagsArgs *args,
                              Modvirt__Empty *ret)
{
    const unsigned char *uuid = handle_uuid(call, args->dom);

    return uuid ? qemu_domain_undefine(qemu_state_of(call), uuid, args->dom->name, args->flags,
                                       mv_call_error(call))
                : -1;
}

int qemu_proc_domain_set_autostart(mv_call *call, const Modvirt__DomainSetAutostartArgs *args,
                                   Modvirt__Empty *ret)
{
    const unsigned char *uuid = handle_uuid(call, args->dom);

    return uuid ? qemu_domain_set_autostart(qemu_state_of(call), uuid, args->dom->name,
                                            args->autostart, mv_call_error(call))
                : -1;
}

/* ---- lookups -------------------------------------------------------------------------- */

int qemu_proc_domain_lookup_by_name(mv_call *call, const Modvirt__LookupByNameArgs *args,
                                    Modvirt__DomainRet *ret)
{
    return reply_domain(call, qemu_query_by_name(qemu_state_of(call), args->name,
                                                 mv_call_error(call)), ret);
}

int qemu_proc_domain_lookup_by_uuid(mv_call *call, const Modvirt__LookupByUuidArgs *args,
                                    Modvirt__DomainRet *ret)
{
    if (args->uuid.len != MV_UUID_BUFLEN) {
        mv_error_set(mv_call_error(call), VIR_ERR_INVALID_ARG, VIR_FROM_QEMU,
                     "a UUID has %d bytes, not %zu", MV_UUID_BUFLEN, args->uuid.len);
        return -1;
    }
    return reply_domain(call, qemu_query_by_uuid(qemu_state_of(call), args->uuid.data,
                                                 mv_call_error(call)), ret);
}

int qemu_proc_domain_lookup_by_id(mv_call *call, const Modvirt__LookupByIdArgs *args,
                                  Modvirt__DomainRet *ret)
{
    return reply_domain(call, qemu_query_by_id(qemu_state_of(call), args->id,
                                               mv_call_error(call)), ret);
}

/* ---- lists ---------------------------------------------------------------------------- */

int qemu_proc_connect_list_all_domains(mv_call *call, const Modvirt__ListAllDomainsArgs *args,
                                       Modvirt__DomainListRet *ret)
{
    qemu_domsnap **snaps = NULL;
    size_t count = 0;
    int rc = -1;

    if (qemu_query_list_all(qemu_state_of(call), args->flags, &snaps, &count,
                            mv_call_error(call)) < 0)
        return -1;
    if (count && !(ret->domains = calloc(count, sizeof(*ret->domains)))) {
        set_nomem(call);
        goto cleanup;
    }
    for (size_t i = 0; i < count; i++) {
        if (!(ret->domains[i] = domain_msg(snaps[i]))) {
            set_nomem(call);
            goto cleanup;
        }
        ret->n_domains++;
    }
    rc = 0;

cleanup:
    qemu_domsnap_list_free(snaps, count);
    return rc;
}

/* maxids / maxnames as libvirt checks them. */
static int check_max(mv_call *call, int max, const char *what, const char *function)
{
    if (max < 0) {
        mv_error_set(mv_call_error(call), VIR_ERR_INVALID_ARG, VIR_FROM_QEMU,
                     "%s in %s must be zero or greater", what, function);
        return -1;
    }
    return 0;
}

int qemu_proc_connect_list_domains(mv_call *call, const Modvirt__ListDomainsArgs *args,
                                   Modvirt__IdListRet *ret)
{
    qemu_domsnap **snaps = NULL;
    size_t count = 0;
    int rc = -1;

    if (check_max(call, args->maxids, "maxids", "virConnectListDomains") < 0 ||
        qemu_query_list_state(qemu_state_of(call), true, (size_t)args->maxids, &snaps, &count,
                              mv_call_error(call)) < 0)
        return -1;
    if (count && !(ret->ids = calloc(count, sizeof(*ret->ids)))) {
        set_nomem(call);
        goto cleanup;
    }
    for (size_t i = 0; i < count; i++)
        ret->ids[i] = snaps[i]->id;
    ret->n_ids = count;
    rc = 0;

cleanup:
    qemu_domsnap_list_free(snaps, count);
    return rc;
}

int qemu_proc_connect_list_defined_domains(mv_call *call, const Modvirt__ListDomainsArgs *args,
                                           Modvirt__NameListRet *ret)
{
    qemu_domsnap **snaps = NULL;
    size_t count = 0;
    int rc = -1;

    if (check_max(call, args->maxids, "maxnames", "virConnectListDefinedDomains") < 0 ||
        qemu_query_list_state(qemu_state_of(call), false, (size_t)args->maxids, &snaps, &count,
                              mv_call_error(call)) < 0)
        return -1;
    if (count && !(ret->names = calloc(count, sizeof(*ret->names)))) {
        set_nomem(call);
        goto cleanup;
    }
    for (size_t i = 0; i < count; i++) {
        if (!(ret->names[i] = strdup(snaps[i]->def->name))) {
            set_nomem(call);
            goto cleanup;
        }
        ret->n_names++;
    }
    rc = 0;

cleanup:
    qemu_domsnap_list_free(snaps, count);
    return rc;
}

int qemu_proc_connect_num_of_domains(mv_call *call, const Modvirt__Empty *args,
                                     Modvirt__Int64Ret *ret)
{
    ret->value = (int64_t)qemu_query_count(qemu_state_of(call), true);
    return 0;
}

int qemu_proc_connect_num_of_defined_domains(mv_call *call, const Modvirt__Empty *args,
                                             Modvirt__Int64Ret *ret)
{
    ret->value = (int64_t)qemu_query_count(qemu_state_of(call), false);
    return 0;
}

/* ---- one domain's state --------------------------------------------------------------- */

int qemu_proc_domain_get_xml_desc(mv_call *call, const Modvirt__DomainFlagsArgs *args,
                                  Modvirt__StringRet *ret)
{
    qemu_domsnap *snap = handle_snap(call, args->dom);

    if (!snap)
        return -1;
    ret->value = qemu_query_xml(snap, args->flags, mv_call_identity(call)->readonly,
                                mv_call_error(call));
    qemu_domsnap_unref(snap);
    return ret->value ? 0 : -1;
}

int qemu_proc_domain_get_info(mv_call *call, const Modvirt__DomainFlagsArgs *args,
                              Modvirt__DomainInfoRet *ret)
{
    qemu_domsnap *snap;
    unsigned long long max_mem, mem, cpu_time;
    unsigned int vcpus;
    int state;

    if (qemu_check_flags(args->flags, 0, "virDomainGetInfo", mv_call_error(call)) < 0 ||
        !(snap = handle_snap(call, args->dom)))
        return -1;
    qemu_query_info(snap, &state, &max_mem, &mem, &vcpus, &cpu_time);
    qemu_domsnap_unref(snap);
    ret->state = state;
    ret->max_mem = max_mem;
    ret->memory = mem;
    ret->nr_virt_cpu = vcpus;
    ret->cpu_time = cpu_time;
    return 0;
}

int qemu_proc_domain_get_state(mv_call *call, const Modvirt__DomainFlagsArgs *args,
                               Modvirt__DomainStateRet *ret)
{
    qemu_domsnap *snap;

    if (qemu_check_flags(args->flags, 0, "virDomainGetState", mv_call_error(call)) < 0 ||
        !(snap = handle_snap(call, args->dom)))
        return -1;
    ret->state = snap->state;
    ret->reason = snap->reason;
    qemu_domsnap_unref(snap);
    return 0;
}

/* The boolean questions about one domain share their shape. */
static int answer_bool(mv_call *call, const Modvirt__DomainFlagsArgs *args, const char *function,
                       bool (*ask)(const qemu_domsnap *), Modvirt__BoolRet *ret)
{
    qemu_domsnap *snap;

    if (qemu_check_flags(args->flags, 0, function, mv_call_error(call)) < 0 ||
        !(snap = handle_snap(call, args->dom)))
        return -1;
    ret->value = ask(snap);
    qemu_domsnap_unref(snap);
    return 0;
}

static bool ask_autostart(const qemu_domsnap *snap) { return snap->autostart; }
static bool ask_active(const qemu_domsnap *snap) { return qemu_domsnap_is_active(snap); }
static bool ask_persistent(const qemu_domsnap *snap) { return snap->persistent; }

int qemu_proc_domain_get_autostart(mv_call *call, const Modvirt__DomainFlagsArgs *args,
                                   Modvirt__BoolRet *ret)
{
    return answer_bool(call, args, "virDomainGetAutostart", ask_autostart, ret);
}

int qemu_proc_domain_is_active(mv_call *call, const Modvirt__DomainFlagsArgs *args,
                               Modvirt__BoolRet *ret)
{
    return answer_bool(call, args, "virDomainIsActive", ask_active, ret);
}

int qemu_proc_domain_is_persistent(mv_call *call, const Modvirt__DomainFlagsArgs *args,
                                   Modvirt__BoolRet *ret)
{
    return answer_bool(call, args, "virDomainIsPersistent", ask_persistent, ret);
}

/* ---- for the other handler files (qemu_lifecycle.c) ------------------------------------ */

const unsigned char *qemu_handler_uuid(mv_call *call, const Modvirt__Domain *dom)
{
    return handle_uuid(call, dom);
}

int qemu_handler_reply_domain(mv_call *call, qemu_domsnap *snap, Modvirt__DomainRet *ret)
{
    return reply_domain(call, snap, ret);
}
