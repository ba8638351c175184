/* qemu_connect.c: connection-level handlers — open, type, version, host name, URI and
 * node info — and what a connection's close does (auto-destroy). All run on the event
 * loop; none blocks (the version was probed at init). */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include "common/daemon/daemon.h"
#include "common/uri.h"
#include "virtqemud/qemu_driver.h"
#include "virtqemud/qemu_host.h"
#include "virtqemud/qemu_process.h"

/* A client connection's driver state (the runtime's per-connection data). The id, never
 * reused, names the connection in the runs' auto-destroy marks. */
typedef struct qemu_conn {
    char *uri; /* canonical */
    mv_daemon *d;
    uint64_t id;
} qemu_conn;

static atomic_uint_fast64_t qemu_conn_next_id = 1;

/* The connection closed (its client went, or the proxy's connection for it): guests it
 * started with VIR_DOMAIN_START_AUTODESTROY go, as in libvirt. Not when the daemon
 * itself stops and closes every connection: guests outlive the daemon, and behind the
 * proxy the client's connection lives on. */
static void qemu_conn_free(void *opaque)
{
    qemu_conn *c = opaque;
    qemu_state *s = mv_daemon_driver_data(c->d);

    if (s && !mv_daemon_stopping(c->d))
        qemu_process_conn_closed(s, c->id);
    free(c->uri);
    free(c);
}

uint64_t qemu_connect_id(mv_call *call)
{
    const qemu_conn *c = mv_call_conn_data(call);

    return c ? c->id : 0;
}

/* virConnectFlags a client may open with. */
#define QEMU_OPEN_FLAGS (VIR_CONNECT_RO | VIR_CONNECT_NO_ALIASES)

char *qemu_connect_canonical_uri(const char *uri, mv_error *err)
{
    mv_uri *u = NULL;
    char *canonical = NULL;

    if (mv_uri_parse(uri, &u, err) < 0)
        goto cleanup;
    if (strcmp(u->driver, "qemu") != 0) {
        mv_error_set(err, VIR_ERR_INVALID_ARG, VIR_FROM_QEMU,
                     "URI '%s' is not for the QEMU driver (scheme '%s')", uri, u->driver);
        goto cleanup;
    }
    /* Both modes are served by one daemon: its MODVIRT_ROOT or XDG layout decides where
     * things live, the path only names which one the client meant. */
    if (strcmp(u->path, "/system") != 0 && strcmp(u->path, "/session") != 0) {
        mv_error_set(err, VIR_ERR_INVALID_ARG, VIR_FROM_QEMU,
                     "unexpected QEMU URI path '%s', try qemu:///system or qemu:///session",
                     u->path);
        goto cleanup;
    }
    if (!(canonical = malloc(strlen("qemu://") + strlen(u->path) + 1))) {
        mv_error_set_errno(err, ENOMEM, VIR_FROM_QEMU, "cannot open '%s'", uri);
        goto cleanup;
    }
    strcpy(canonical, "qemu://");
    strcat(canonical, u->path);

cleanup:
    mv_uri_free(u);
    return canonical;
}

qemu_state *qemu_state_of(mv_call *call)
{
    return mv_daemon_driver_data(mv_call_daemon(call));
}

/* malloc'd copy for a reply field; the runtime frees replies. */
static char *reply_strdup(mv_call *call, const char *s)
{
    char *copy = strdup(s);

    if (!copy)
        mv_error_set_errno(mv_call_error(call), ENOMEM, VIR_FROM_QEMU, "cannot build reply");
    return copy;
}

int qemu_proc_connect_open(mv_call *call, const Modvirt__ConnectOpenArgs *args,
                           Modvirt__ConnectOpenRet *ret)
{
    mv_error *err = mv_call_error(call);
    qemu_conn *c = NULL;

    if (qemu_check_flags(args->flags, QEMU_OPEN_FLAGS, "virConnectOpen", err) < 0)
        return -1;
    if (!(c = calloc(1, sizeof(*c)))) {
        mv_error_set_errno(err, ENOMEM, VIR_FROM_QEMU, "cannot open '%s'", args->uri);
        return -1;
    }
    if (!(c->uri = qemu_connect_canonical_uri(args->uri, err)) ||
        !(ret->uri = reply_strdup(call, c->uri))) {
        free(c->uri);
        free(c);
        return -1;
    }
    c->d = mv_call_daemon(call);
    c->id = atomic_fetch_add(&qemu_conn_next_id, 1);
    mv_call_set_conn_data(call, c, qemu_conn_free);
    return 0;
}

int qemu_proc_connect_get_type(mv_call *call, const Modvirt__Empty *args, Modvirt__StringRet *ret)
{
    return (ret->value = reply_strdup(call, qemu_driver.name)) ? 0 : -1;
}

int qemu_proc_connect_get_version(mv_call *call, const Modvirt__Empty *args,
                                  Modvirt__Uint64Ret *ret)
{
    qemu_state *s = qemu_state_of(call);

    if (!s->version) {
        if (mv_error_is_set(&s->probe_err))
            mv_error_set_raw(mv_call_error(call), s->probe_err.code, s->probe_err.domain,
                             s->probe_err.message);
        else
            mv_error_set(mv_call_error(call), VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU,
                         "the QEMU version is unknown");
        return -1;
    }
    ret->value = s->version;
    return 0;
}

int qemu_proc_connect_get_hostname(mv_call *call, const Modvirt__Empty *args,
                                   Modvirt__StringRet *ret)
{
    return (ret->value = qemu_host_hostname(mv_call_error(call))) ? 0 : -1;
}

int qemu_proc_connect_get_uri(mv_call *call, const Modvirt__Empty *args, Modvirt__StringRet *ret)
{
    const qemu_conn *c = mv_call_conn_data(call);

    if (!c) {
        mv_error_set(mv_call_error(call), VIR_ERR_INVALID_CONN, VIR_FROM_QEMU, "virConnectGetURI");
        return -1;
    }
    return (ret->value = reply_strdup(call, c->uri)) ? 0 : -1;
}

int qemu_proc_node_get_info(mv_call *call, const Modvirt__Empty *args, Modvirt__NodeInfoRet *ret)
{
    qemu_nodeinfo info;

    if (qemu_host_nodeinfo(QEMU_HOST_SYSFS_CPU_ROOT, QEMU_HOST_PROC_ROOT, &info,
                           mv_call_error(call)) < 0)
        return -1;
    if (!(ret->model = reply_strdup(call, info.model)))
        return -1;
    ret->memory = info.memory;
    ret->cpus = info.cpus;
    ret->mhz = info.mhz;
    ret->nodes = info.nodes;
    ret->sockets = info.sockets;
    ret->cores = info.cores;
    ret->threads = info.threads;
    return 0;
}
