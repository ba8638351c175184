/* route.c: virtproxyd's decisions as pure functions — which daemon serves a URI, and
 * what to do with each frame a client sends. No I/O, so tests feed them values. */
#include "virtproxyd/proxy.h"

#include <string.h>
#include "common/uri.h"

/* Scheme -> driver daemon. A NULL daemon: the scheme is ours, its daemon does not exist
 * yet. Adding a driver daemon is one line here. */
static const proxy_route routes[] = {
    {"qemu", "virtqemud"},
    {"lxc", NULL},
    {"xen", NULL},
    {"test", NULL},
};
#define N_ROUTES (sizeof(routes) / sizeof(routes[0]))

size_t proxy_route_count(void)
{
    return N_ROUTES;
}

const proxy_route *proxy_route_at(size_t i)
{
    return i < N_ROUTES ? &routes[i] : NULL;
}

int proxy_route_open(const char *uri, size_t *route_index, mv_error *err)
{
    mv_uri *u = NULL;
    int ret = -1;

    if (mv_uri_parse(uri, &u, err) < 0)
        return -1;
    if (!mv_uri_is_local(u)) {
        /* remote URIs are the client library's business: it tunnels to that host's proxy
         * and sends the local form there */
        mv_error_set(err, VIR_ERR_NO_CONNECT, VIR_FROM_RPC,
                     "%s: a remote URI cannot be opened through the local virtproxyd", uri);
        goto cleanup;
    }
    for (size_t i = 0; i < N_ROUTES; i++) {
        if (strcmp(routes[i].scheme, u->driver) == 0 && routes[i].daemon) {
            *route_index = i;
            ret = 0;
            goto cleanup;
        }
    }
    mv_error_set(err, VIR_ERR_NO_CONNECT, VIR_FROM_RPC, "%s: no driver for scheme '%s'", uri,
                 u->driver);

cleanup:
    mv_uri_free(u);
    return ret;
}

enum proxy_action proxy_classify(const mv_envelope_head *h, enum proxy_open_state open,
                                 bool readonly, bool has_upstream, mv_error *err)
{
    if (h->serial == 0 || (h->serial & PROXY_SERIAL_BIT)) {
        mv_error_set(err, VIR_ERR_RPC, VIR_FROM_RPC,
                     "serial %u is not a client serial (1 to 2147483647)", h->serial);
        return PROXY_REFUSE;
    }
    const mv_proc_info *p = mv_proc_lookup(h->proc);

    if (p && p->num == MV_PROC_CONNECT_KEEPALIVE)
        return PROXY_KEEPALIVE;
    if (p && p->route == MV_ROUTE_INTERNAL) {
        mv_error_set(err, VIR_ERR_ACCESS_DENIED, VIR_FROM_RPC,
                     "%s is reserved for virtproxyd itself", p->name);
        return PROXY_REFUSE;
    }
    if (p && p->num == MV_PROC_CONNECT_OPEN) {
        if (open != OPEN_NONE) {
            mv_error_set(err, VIR_ERR_OPERATION_INVALID, VIR_FROM_RPC, "connection already open");
            return PROXY_REFUSE;
        }
        return PROXY_OPEN;
    }
    if (p && p->num == MV_PROC_CONNECT_CLOSE) {
        /* with no daemon behind the connection there is nobody else to tell */
        if (open == OPEN_NONE || (open == OPEN_DONE && !has_upstream))
            return PROXY_CLOSE;
        return PROXY_FORWARD;
    }
    if (open == OPEN_NONE) {
        mv_error_set(err, VIR_ERR_OPERATION_INVALID, VIR_FROM_RPC,
                     "connection not open: %s needs connect_open first", mv_proc_name(h->proc));
        return PROXY_REFUSE;
    }
    if (readonly && p && p->access == MV_ACCESS_RW) {
        mv_error_set(err, VIR_ERR_OPERATION_DENIED, VIR_FROM_RPC, "read only access prevents %s",
                     p->name);
        return PROXY_REFUSE;
    }
    /* Unknown procedures too: the daemon answers them (a newer client, an older proxy). */
    return PROXY_FORWARD;
}
