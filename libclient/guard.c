/* guard.c: what every public entry point shares — argument checks, the read-only
 * refusal, the one table-driven call, and reference counting of the objects. */
#include "libclient/client.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/proc.h"

/* ---- validity and checks ----------------------------------------------------------------- */

bool mvc_conn_valid(virConnectPtr conn)
{
    return conn && conn->magic == MVC_CONN_MAGIC &&
           __atomic_load_n(&conn->refs, __ATOMIC_ACQUIRE) > 0;
}

bool mvc_dom_valid(virDomainPtr dom)
{
    return dom && dom->magic == MVC_DOM_MAGIC &&
           __atomic_load_n(&dom->refs, __ATOMIC_ACQUIRE) > 0 && mvc_conn_valid(dom->conn);
}

int mvc_check_conn(virConnectPtr conn, const char *fn, mv_error *err)
{
    if (mvc_conn_valid(conn))
        return 0;
    mv_error_set(err, VIR_ERR_INVALID_CONN, VIR_FROM_NONE, "%s", fn);
    return -1;
}

int mvc_check_dom(virDomainPtr dom, const char *fn, mv_error *err)
{
    if (mvc_dom_valid(dom))
        return 0;
    mv_error_set(err, VIR_ERR_INVALID_DOMAIN, VIR_FROM_DOMAIN, "%s", fn);
    return -1;
}

int mvc_check_nonnull(const void *arg, const char *argname, const char *fn, mv_error *err)
{
    if (arg)
        return 0;
    mv_error_set(err, VIR_ERR_INVALID_ARG, VIR_FROM_NONE, "%s in %s must not be NULL", argname,
                 fn);
    return -1;
}

int mvc_check_writable(virConnectPtr conn, unsigned int proc, const char *fn, mv_error *err)
{
    const mv_proc_info *info = mv_proc_lookup(proc);
    if (!(conn->flags & VIR_CONNECT_RO) || (info && info->access == MV_ACCESS_RO))
        return 0;
    mv_error_set(err, VIR_ERR_OPERATION_DENIED, VIR_FROM_NONE, "read only access prevents %s",
                 fn);
    return -1;
}

/* ---- the call ---------------------------------------------------------------------------- */

int mvc_call(virConnectPtr conn, unsigned int proc, const void *args, void *ret, mv_error *err)
{
    return mvc_rpc_call(conn->rpc, proc, args, (ProtobufCMessage **)ret, err);
}

void mvc_reply_free(void *ret)
{
    if (ret)
        protobuf_c_message_free_unpacked(ret, NULL);
}

/* ---- connections ------------------------------------------------------------------------- */

void mvc_conn_ref(virConnectPtr conn)
{
    __atomic_add_fetch(&conn->refs, 1, __ATOMIC_ACQ_REL);
}

/* Tells the daemon goodbye, then releases everything. Runs once, at the last unref. */
static void conn_destroy(virConnectPtr conn)
{
    if (conn->rpc && mvc_rpc_is_alive(conn->rpc)) {
        /* Bounded: a hung driver must not make closing hang. */
        mvc_rpc_set_call_timeout(conn->rpc, 5000);
        Modvirt__Empty *ret = NULL;
        mv_error ignored = MV_ERROR_INIT;
        if (mvc_call(conn, MV_PROC_CONNECT_CLOSE, NULL, &ret, &ignored) == 0)
            mvc_reply_free(ret);
        mv_error_clear(&ignored);
    }
    /* libvirt drops the close callback before an explicit close: only its free
     * function runs. */
    if (conn->close_free)
        conn->close_free(conn->close_opaque);
    mvc_rpc_free(conn->rpc);
    mvc_events_free(conn->events); /* after the reader, which queues into it, stopped */
    if (conn->child > 0)
        mvc_stream_reap(conn->child, conn->child_stderr);
    else if (conn->child_stderr >= 0)
        close(conn->child_stderr);
    free(conn->uri);
    free(conn->type);
    virResetError(&conn->last_error);
    pthread_mutex_destroy(&conn->lock);
    conn->magic = 0;
    free(conn);
}

int mvc_conn_unref(virConnectPtr conn)
{
    int left = __atomic_sub_fetch(&conn->refs, 1, __ATOMIC_ACQ_REL);
    if (left == 0)
        conn_destroy(conn);
    return left;
}

/* ---- domains ----------------------------------------------------------------------------- */

virDomainPtr mvc_domain_new(virConnectPtr conn, const char *name, const unsigned char *uuid,
                           size_t uuid_len, int id, mv_error *err)
{
    if (!name || uuid_len != VIR_UUID_BUFLEN) {
        mv_error_set(err, VIR_ERR_RPC, VIR_FROM_RPC,
                     "the daemon described a domain without a name or a 16-byte UUID");
        return NULL;
    }
    virDomainPtr dom = calloc(1, sizeof(*dom));
    if (!dom || !(dom->name = strdup(name))) {
        free(dom);
        mv_error_set(err, VIR_ERR_NO_MEMORY, VIR_FROM_DOMAIN, "domain '%s'", name);
        return NULL;
    }
    dom->magic = MVC_DOM_MAGIC;
    dom->refs = 1;
    memcpy(dom->uuid, uuid, VIR_UUID_BUFLEN);
    dom->id = id;
    mvc_conn_ref(conn);
    dom->conn = conn;
    return dom;
}

int virDomainRef(virDomainPtr domain)
{
    virResetLastError();
    mv_error err = MV_ERROR_INIT;
    if (mvc_check_dom(domain, __func__, &err) < 0) {
        mvc_dispatch_error(NULL, &err);
        return -1;
    }
    __atomic_add_fetch(&domain->refs, 1, __ATOMIC_ACQ_REL);
    return 0;
}

int virDomainFree(virDomainPtr domain)
{
    virResetLastError();
    mv_error err = MV_ERROR_INIT;
    if (mvc_check_dom(domain, __func__, &err) < 0) {
        mvc_dispatch_error(NULL, &err);
        return -1;
    }
    if (__atomic_sub_fetch(&domain->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        virConnectPtr conn = domain->conn;
        domain->magic = 0;
        free(domain->name);
        free(domain);
        mvc_conn_unref(conn);
    }
    return 0;
}
