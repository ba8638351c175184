/* connect.c: the public virConnect* and virNode* entry points — thin guards around one
 * table-driven call each, plus opening and closing connections. */
#include "libclient/client.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/proc.h"

/* Every virConnectFlags bit this library understands. */
#define KNOWN_OPEN_FLAGS (VIR_CONNECT_RO | VIR_CONNECT_NO_ALIASES)

int virInitialize(void)
{
    return 0; /* nothing to set up: the library initialises itself on first use */
}

int virGetVersion(unsigned long *libVer, const char *type, unsigned long *typeVer)
{
    virResetLastError();
    mv_error err = MV_ERROR_INIT;
    if (mvc_check_nonnull(libVer, "libVer", __func__, &err) < 0) {
        mvc_dispatch_error(NULL, &err);
        return -1;
    }
    (void)type; /* every driver speaks the same API level */
    *libVer = LIBVIR_VERSION_NUMBER;
    if (typeVer)
        *typeVer = LIBVIR_VERSION_NUMBER;
    return 0;
}

/* The guard every entry point about a connection starts with: the thread's last error
 * reset, then the connection checked. An invalid one is reported without a connection
 * (there is none to record it on). 0, or -1 when the call must return at once. */
static int enter(virConnectPtr conn, const char *fn, mv_error *err)
{
    virResetLastError();
    if (mvc_check_conn(conn, fn, err) < 0) {
        mvc_dispatch_error(NULL, err);
        return -1;
    }
    return 0;
}

/* Reports err on a valid connection; returns -1 for the caller to return. */
static int fail_on(virConnectPtr conn, mv_error *err)
{
    mvc_dispatch_error(conn, err);
    return -1;
}

/* ---- opening ----------------------------------------------------------------------------- */

/* Reads an integer environment variable; -1 + err naming it when it is malformed. */
static int env_int(const char *name, int *out, mv_error *err)
{
    const char *v = getenv(name);
    if (!v || !v[0])
        return 0;
    char *end = NULL;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || *end || n < 0 || n > INT_MAX) {
        mv_error_set(err, VIR_ERR_INVALID_ARG, VIR_FROM_NONE,
                     "%s='%s' must be a number of milliseconds", name, v);
        return -1;
    }
    *out = (int)n;
    return 0;
}

/* From the reader thread, when the stream dies on its own. */
static void conn_dead(void *opaque, int reason)
{
    virConnectPtr conn = opaque;
    /* Take a reference only if the connection is not already being destroyed. */
    int refs = __atomic_load_n(&conn->refs, __ATOMIC_ACQUIRE);
    do {
        if (refs <= 0)
            return;
    } while (!__atomic_compare_exchange_n(&conn->refs, &refs, refs + 1, false, __ATOMIC_ACQ_REL,
                                          __ATOMIC_ACQUIRE));
    /* streams waiting on the loop learn of it (their callbacks see ERROR) */
    if (conn->events)
        mvc_streams_wake(conn->events);
    pthread_mutex_lock(&conn->lock);
    virConnectCloseFunc cb = conn->close_fired ? NULL : conn->close_cb;
    void *cb_opaque = conn->close_opaque;
    conn->close_fired = true;
    pthread_mutex_unlock(&conn->lock);
    if (cb)
        cb(conn, reason, cb_opaque);
    mvc_conn_unref(conn);
}

static virConnectPtr conn_open(const char *name, unsigned int flags, const char *fn,
                               mv_error *err)
{
    mv_uri *u = NULL;
    mvc_stream st = {.fd = -1, .child = -1, .child_stderr = -1};
    char *wire_uri = NULL;
    virConnectPtr conn = NULL;
    Modvirt__ConnectOpenRet *ret = NULL;
    int ka_interval = MVC_KEEPALIVE_INTERVAL_MS;
    unsigned int ka_count = MVC_KEEPALIVE_COUNT;
    int call_timeout = 0;

    if (flags & ~KNOWN_OPEN_FLAGS) {
        mv_error_set(err, VIR_ERR_INVALID_ARG, VIR_FROM_NONE,
                     "unsupported flags (0x%x) in function %s", flags & ~KNOWN_OPEN_FLAGS, fn);
        goto fail;
    }
    if (!name || !name[0])
        name = mvc_default_uri(getenv("MODVIRT_DEFAULT_URI"), getenv("LIBVIRT_DEFAULT_URI"),
                              geteuid());
    const char *ka_env = getenv("MODVIRT_KEEPALIVE");
    if ((ka_env && ka_env[0] && mvc_keepalive_parse(ka_env, &ka_interval, &ka_count, err) < 0) ||
        env_int("MODVIRT_CALL_TIMEOUT_MS", &call_timeout, err) < 0)
        goto fail;
    if (mv_uri_parse(name, &u, err) < 0)
        goto fail;
    if (mvc_stream_open(u, flags & VIR_CONNECT_RO, &st, &wire_uri, err) < 0)
        goto fail;

    if (!(conn = calloc(1, sizeof(*conn)))) {
        mv_error_set(err, VIR_ERR_NO_MEMORY, VIR_FROM_NONE, "opening '%s'", name);
        goto fail;
    }
    conn->magic = MVC_CONN_MAGIC;
    conn->refs = 1;
    conn->flags = flags;
    conn->child = st.child;
    conn->child_stderr = st.child_stderr;
    st.child = -1;
    st.child_stderr = -1;
    conn->secure = st.secure;
    conn->encrypted = st.encrypted;
    pthread_mutex_init(&conn->lock, NULL);
    conn->rpc = mvc_rpc_new(st.fd, st.peer ? st.peer : "virtproxyd", err);
    st.fd = -1; /* mvc_rpc_new took it, even on failure */
    if (!conn->rpc)
        goto fail;
    mvc_rpc_set_keepalive(conn->rpc, ka_interval, ka_count);
    mvc_rpc_set_call_timeout(conn->rpc, call_timeout);

    Modvirt__ConnectOpenArgs args = MODVIRT__CONNECT_OPEN_ARGS__INIT;
    args.uri = (char *)(wire_uri ? wire_uri : name);
    args.flags = flags & VIR_CONNECT_RO;
    if (mvc_call(conn, MV_PROC_CONNECT_OPEN, &args, &ret, err) < 0) {
        mvc_stream_explain(conn->child_stderr, err);
        goto fail;
    }
    /* A local connection reports the daemon's canonical URI; a tunnelled one the URI
     * the application opened (with its transport and host), as libvirt does. */
    conn->uri = strdup(!wire_uri && ret->uri && ret->uri[0] ? ret->uri : name);
    if (!conn->uri) {
        mv_error_set(err, VIR_ERR_NO_MEMORY, VIR_FROM_NONE, "opening '%s'", name);
        goto fail;
    }
    /* Only now: before this, a death must not run code that could free conn. */
    if (!(conn->events = mvc_events_new(err)))
        goto fail;
    mvc_rpc_set_callbacks(conn->rpc, conn_dead, mvc_conn_on_frame, conn);
    mvc_reply_free(ret);
    mv_uri_free(u);
    free(wire_uri);
    free(st.peer);
    return conn;

fail:
    mvc_reply_free(ret);
    if (conn) {
        /* Not opened: no goodbye to send, just tear down. */
        mvc_rpc_free(conn->rpc);
        conn->rpc = NULL;
        mvc_stream_reap(conn->child, conn->child_stderr);
        pthread_mutex_destroy(&conn->lock);
        free(conn->uri);
        free(conn);
    }
    if (st.fd >= 0)
        close(st.fd);
    mvc_stream_reap(st.child, st.child_stderr);
    mv_uri_free(u);
    free(wire_uri);
    free(st.peer);
    return NULL;
}

/* The guard of the three public ways to open. */
static virConnectPtr open_public(const char *name, unsigned int flags, const char *fn)
{
    virResetLastError();
    mv_error err = MV_ERROR_INIT;
    virConnectPtr conn = conn_open(name, flags, fn, &err);
    if (!conn)
        mvc_dispatch_error(NULL, &err);
    return conn;
}

virConnectPtr virConnectOpenAuth(const char *name, virConnectAuthPtr auth, unsigned int flags)
{
    /* The local socket authenticates by peer credentials and ssh asks for its own
     * secrets, so no transport needs the callback today. */
    (void)auth;
    return open_public(name, flags, __func__);
}

virConnectPtr virConnectOpen(const char *name)
{
    return open_public(name, 0, __func__);
}

virConnectPtr virConnectOpenReadOnly(const char *name)
{
    return open_public(name, VIR_CONNECT_RO, __func__);
}

int virConnectClose(virConnectPtr conn)
{
    mv_error err = MV_ERROR_INIT;
    if (enter(conn, __func__, &err) < 0)
        return -1;
    return mvc_conn_unref(conn);
}

int virConnectRef(virConnectPtr conn)
{
    mv_error err = MV_ERROR_INIT;
    if (enter(conn, __func__, &err) < 0)
        return -1;
    mvc_conn_ref(conn);
    return 0;
}

/* ---- simple queries --------------------------------------------------------------------- */

/* Shared shape of the calls that take nothing and return one string. */
static char *string_call(virConnectPtr conn, unsigned int proc, const char *fn, mv_error *err)
{
    Modvirt__StringRet *ret = NULL;
    char *value = NULL;
    if (mvc_check_conn(conn, fn, err) < 0 || mvc_call(conn, proc, NULL, &ret, err) < 0)
        return NULL;
    if (!(value = strdup(ret->value ? ret->value : "")))
        mv_error_set(err, VIR_ERR_NO_MEMORY, VIR_FROM_NONE, "in %s", fn);
    mvc_reply_free(ret);
    return value;
}

char *virConnectGetURI(virConnectPtr conn)
{
    mv_error err = MV_ERROR_INIT;
    if (enter(conn, __func__, &err) < 0)
        return NULL;
    pthread_mutex_lock(&conn->lock);
    char *uri = strdup(conn->uri);
    pthread_mutex_unlock(&conn->lock);
    if (!uri) {
        mv_error_set(&err, VIR_ERR_NO_MEMORY, VIR_FROM_NONE, "in %s", __func__);
        mvc_dispatch_error(conn, &err);
    }
    return uri;
}

const char *virConnectGetType(virConnectPtr conn)
{
    mv_error err = MV_ERROR_INIT;
    if (enter(conn, __func__, &err) < 0)
        return NULL;
    pthread_mutex_lock(&conn->lock);
    const char *type = conn->type;
    pthread_mutex_unlock(&conn->lock);
    if (type)
        return type;
    /* The answer lives as long as the connection, as libvirt's static strings do. */
    char *fetched = string_call(conn, MV_PROC_CONNECT_GET_TYPE, __func__, &err);
    if (!fetched) {
        mvc_dispatch_error(conn, &err);
        return NULL;
    }
    pthread_mutex_lock(&conn->lock);
    if (!conn->type)
        conn->type = fetched;
    else
        free(fetched);
    type = conn->type;
    pthread_mutex_unlock(&conn->lock);
    return type;
}

char *virConnectGetHostname(virConnectPtr conn)
{
    virResetLastError();
    mv_error err = MV_ERROR_INIT;
    char *host = string_call(conn, MV_PROC_CONNECT_GET_HOSTNAME, __func__, &err);
    if (!host)
        mvc_dispatch_error(mvc_conn_valid(conn) ? conn : NULL, &err);
    return host;
}

int virConnectGetVersion(virConnectPtr conn, unsigned long *hvVer)
{
    mv_error err = MV_ERROR_INIT;
    Modvirt__Uint64Ret *ret = NULL;
    if (enter(conn, __func__, &err) < 0)
        return -1;
    if (mvc_check_nonnull(hvVer, "hvVer", __func__, &err) < 0 ||
        mvc_call(conn, MV_PROC_CONNECT_GET_VERSION, NULL, &ret, &err) < 0)
        return fail_on(conn, &err);
    *hvVer = (unsigned long)ret->value;
    mvc_reply_free(ret);
    return 0;
}

int virConnectGetLibVersion(virConnectPtr conn, unsigned long *libVer)
{
    mv_error err = MV_ERROR_INIT;
    if (enter(conn, __func__, &err) < 0)
        return -1;
    if (mvc_check_nonnull(libVer, "libVer", __func__, &err) < 0)
        return fail_on(conn, &err);
    *libVer = LIBVIR_VERSION_NUMBER;
    return 0;
}

int virConnectIsAlive(virConnectPtr conn)
{
    mv_error err = MV_ERROR_INIT;
    if (enter(conn, __func__, &err) < 0)
        return -1;
    return mvc_rpc_is_alive(conn->rpc) ? 1 : 0;
}

int virConnectIsSecure(virConnectPtr conn)
{
    mv_error err = MV_ERROR_INIT;
    if (enter(conn, __func__, &err) < 0)
        return -1;
    return conn->secure ? 1 : 0;
}

int virConnectIsEncrypted(virConnectPtr conn)
{
    mv_error err = MV_ERROR_INIT;
    if (enter(conn, __func__, &err) < 0)
        return -1;
    return conn->encrypted ? 1 : 0;
}

/* ---- liveness ------------------------------------------------------------------------------ */

int virConnectSetKeepAlive(virConnectPtr conn, int interval, unsigned int count)
{
    mv_error err = MV_ERROR_INIT;
    if (enter(conn, __func__, &err) < 0)
        return -1;
    if (interval > INT_MAX / 1000) {
        mv_error_set(&err, VIR_ERR_INVALID_ARG, VIR_FROM_NONE,
                     "interval in %s is too large: %d seconds", __func__, interval);
        return fail_on(conn, &err);
    }
    mvc_rpc_set_keepalive(conn->rpc, interval > 0 ? interval * 1000 : 0, count);
    return 0;
}

int modvirtConnectSetCallTimeout(virConnectPtr conn, int ms)
{
    mv_error err = MV_ERROR_INIT;
    if (enter(conn, __func__, &err) < 0)
        return -1;
    if (ms < 0) {
        mv_error_set(&err, VIR_ERR_INVALID_ARG, VIR_FROM_NONE,
                     "ms in %s must not be negative", __func__);
        return fail_on(conn, &err);
    }
    mvc_rpc_set_call_timeout(conn->rpc, ms);
    return 0;
}

int virConnectRegisterCloseCallback(virConnectPtr conn, virConnectCloseFunc cb, void *opaque,
                                    virFreeCallback freecb)
{
    mv_error err = MV_ERROR_INIT;
    if (enter(conn, __func__, &err) < 0)
        return -1;
    if (mvc_check_nonnull((const void *)cb, "cb", __func__, &err) < 0)
        return fail_on(conn, &err);
    pthread_mutex_lock(&conn->lock);
    if (conn->close_cb) {
        pthread_mutex_unlock(&conn->lock);
        mv_error_set(&err, VIR_ERR_OPERATION_INVALID, VIR_FROM_NONE,
                     "A close callback is already registered");
        return fail_on(conn, &err);
    }
    conn->close_cb = cb;
    conn->close_opaque = opaque;
    conn->close_free = freecb;
    pthread_mutex_unlock(&conn->lock);
    return 0;
}

int virConnectUnregisterCloseCallback(virConnectPtr conn, virConnectCloseFunc cb)
{
    mv_error err = MV_ERROR_INIT;
    if (enter(conn, __func__, &err) < 0)
        return -1;
    pthread_mutex_lock(&conn->lock);
    if (!cb || conn->close_cb != cb) {
        pthread_mutex_unlock(&conn->lock);
        mv_error_set(&err, VIR_ERR_OPERATION_INVALID, VIR_FROM_NONE,
                     "A different callback was requested");
        return fail_on(conn, &err);
    }
    virFreeCallback freecb = conn->close_free;
    void *opaque = conn->close_opaque;
    conn->close_cb = NULL;
    conn->close_free = NULL;
    conn->close_opaque = NULL;
    pthread_mutex_unlock(&conn->lock);
    if (freecb)
        freecb(opaque);
    return 0;
}

/* ---- the host ------------------------------------------------------------------------------ */

int virNodeGetInfo(virConnectPtr conn, virNodeInfoPtr info)
{
    mv_error err = MV_ERROR_INIT;
    Modvirt__NodeInfoRet *ret = NULL;
    if (enter(conn, __func__, &err) < 0)
        return -1;
    if (mvc_check_nonnull(info, "info", __func__, &err) < 0 ||
        mvc_call(conn, MV_PROC_NODE_GET_INFO, NULL, &ret, &err) < 0)
        return fail_on(conn, &err);
    memset(info, 0, sizeof(*info));
    snprintf(info->model, sizeof(info->model), "%s", ret->model ? ret->model : "");
    info->memory = (unsigned long)ret->memory;
    info->cpus = ret->cpus;
    info->mhz = ret->mhz;
    info->nodes = ret->nodes;
    info->sockets = ret->sockets;
    info->cores = ret->cores;
    info->threads = ret->threads;
    mvc_reply_free(ret);
    return 0;
}

/* ---- listing domains ------------------------------------------------------------------------ */

int virConnectListAllDomains(virConnectPtr conn, virDomainPtr **domains, unsigned int flags)
{
    mv_error err = MV_ERROR_INIT;
    Modvirt__DomainListRet *ret = NULL;
    virDomainPtr *list = NULL;
    size_t n = 0;
    if (domains)
        *domains = NULL;
    if (enter(conn, __func__, &err) < 0)
        return -1;
    Modvirt__ListAllDomainsArgs args = MODVIRT__LIST_ALL_DOMAINS_ARGS__INIT;
    args.flags = flags;
    if (mvc_call(conn, MV_PROC_CONNECT_LIST_ALL_DOMAINS, &args, &ret, &err) < 0)
        goto fail;
    if (ret->n_domains > INT_MAX) {
        mv_error_set(&err, VIR_ERR_RPC, VIR_FROM_RPC, "too many domains in a reply");
        goto fail;
    }
    if (domains) {
        /* NULL-terminated, as libvirt hands it out */
        if (!(list = calloc(ret->n_domains + 1, sizeof(*list)))) {
            mv_error_set(&err, VIR_ERR_NO_MEMORY, VIR_FROM_NONE, "in %s", __func__);
            goto fail;
        }
        for (n = 0; n < ret->n_domains; n++) {
            const Modvirt__Domain *w = ret->domains[n];
            if (!(list[n] = mvc_domain_new(conn, w->name, w->uuid.data, w->uuid.len, w->id,
                                          &err)))
                goto fail;
        }
        *domains = list;
    }
    int count = (int)ret->n_domains;
    mvc_reply_free(ret);
    return count;

fail:
    for (size_t i = 0; list && i < n; i++)
        virDomainFree(list[i]);
    free(list);
    mvc_reply_free(ret);
    mvc_dispatch_error(conn, &err);
    return -1;
}

/* The two counting calls share one shape. */
static int count_call(virConnectPtr conn, unsigned int proc, const char *fn)
{
    mv_error err = MV_ERROR_INIT;
    Modvirt__Int64Ret *ret = NULL;
    if (enter(conn, fn, &err) < 0)
        return -1;
    if (mvc_call(conn, proc, NULL, &ret, &err) < 0)
        return fail_on(conn, &err);
    int n = ret->value > INT_MAX ? INT_MAX : (int)ret->value;
    mvc_reply_free(ret);
    return n;
}

int virConnectNumOfDomains(virConnectPtr conn)
{
    return count_call(conn, MV_PROC_CONNECT_NUM_OF_DOMAINS, __func__);
}

int virConnectNumOfDefinedDomains(virConnectPtr conn)
{
    return count_call(conn, MV_PROC_CONNECT_NUM_OF_DEFINED_DOMAINS, __func__);
}

/* Checks the (array, max) argument pair of the old listing calls, libvirt style. */
static int check_array(const void *array, const char *array_name, int max, const char *max_name,
                       const char *fn, mv_error *err)
{
    if (max < 0) {
        mv_error_set(err, VIR_ERR_INVALID_ARG, VIR_FROM_NONE, "%s in %s must not be negative",
                     max_name, fn);
        return -1;
    }
    if (max > 0 && !array)
        return mvc_check_nonnull(array, array_name, fn, err);
    return 0;
}

int virConnectListDomains(virConnectPtr conn, int *ids, int maxids)
{
    mv_error err = MV_ERROR_INIT;
    Modvirt__IdListRet *ret = NULL;
    if (enter(conn, __func__, &err) < 0)
        return -1;
    Modvirt__ListDomainsArgs args = MODVIRT__LIST_DOMAINS_ARGS__INIT;
    args.maxids = maxids;
    if (check_array(ids, "ids", maxids, "maxids", __func__, &err) < 0 ||
        mvc_call(conn, MV_PROC_CONNECT_LIST_DOMAINS, &args, &ret, &err) < 0)
        return fail_on(conn, &err);
    int n = 0;
    for (; n < maxids && (size_t)n < ret->n_ids; n++)
        ids[n] = ret->ids[n];
    mvc_reply_free(ret);
    return n;
}

int virConnectListDefinedDomains(virConnectPtr conn, char **const names, int maxnames)
{
    mv_error err = MV_ERROR_INIT;
    Modvirt__NameListRet *ret = NULL;
    if (enter(conn, __func__, &err) < 0)
        return -1;
    Modvirt__ListDomainsArgs args = MODVIRT__LIST_DOMAINS_ARGS__INIT;
    args.maxids = maxnames;
    if (check_array(names, "names", maxnames, "maxnames", __func__, &err) < 0 ||
        mvc_call(conn, MV_PROC_CONNECT_LIST_DEFINED_DOMAINS, &args, &ret, &err) < 0)
        return fail_on(conn, &err);
    int n = 0;
    for (; n < maxnames && (size_t)n < ret->n_names; n++) {
        if (!(names[n] = strdup(ret->names[n]))) {
            while (n > 0)
                free(names[--n]);
            mvc_reply_free(ret);
            mv_error_set(&err, VIR_ERR_NO_MEMORY, VIR_FROM_NONE, "in %s", __func__);
            return fail_on(conn, &err);
        }
    }
    mvc_reply_free(ret);
    return n;
}
