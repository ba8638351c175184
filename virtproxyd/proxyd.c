/* proxyd.c: virtproxyd as a service — its config keys, and the callbacks through which the
 * shared service shell hands it clients (client.c). */
#include "virtproxyd/proxy.h"

#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include "common/log.h"

/* virtproxyd.conf keys of its own (besides log_level, idle_timeout, max_clients):
 * keepalives toward driver daemons, as libvirt's keepalive_interval/keepalive_count. */
static const mv_conf_key proxy_keys[] = {
    {"keepalive_interval", MV_CONF_INT, offsetof(proxy, ka_interval), 0, 3600},
    {"keepalive_count", MV_CONF_INT, offsetof(proxy, ka_count), 1, 1000},
    MV_CONF_KEYS_END,
};

/* Tests shorten the keepalive without a config file. */
static void keepalive_from_env(proxy *px)
{
    const char *ms = getenv("MODVIRT_PROXY_KEEPALIVE_INTERVAL_MS");
    const char *count = getenv("MODVIRT_PROXY_KEEPALIVE_COUNT");
    if (ms && *ms) {
        char *end = NULL;
        long v = strtol(ms, &end, 10);
        if (*end == '\0' && v >= 0 && v <= 3600000)
            px->ka_interval_ms = (uint64_t)v;
    }
    if (count && *count) {
        char *end = NULL;
        long v = strtol(count, &end, 10);
        if (*end == '\0' && v >= 1 && v <= 1000)
            px->ka_count = v;
    }
}

static void proxy_finish(mv_service *s, void *opaque);

static int proxy_start(mv_service *s, void *opaque, mv_error *err)
{
    proxy *px = opaque;
    px->svc = s;
    px->loop = mv_service_loop(s);
    px->ka_interval_ms = (uint64_t)px->ka_interval * 1000;
    keepalive_from_env(px);

    px->starters = calloc(proxy_route_count(), sizeof(*px->starters));
    if (!px->starters) {
        mv_error_set(err, VIR_ERR_NO_MEMORY, VIR_FROM_RPC, "daemon table");
        return -1;
    }
    for (size_t i = 0; i < proxy_route_count(); i++) {
        const proxy_route *r = proxy_route_at(i);
        if (r->daemon && mv_paths_socket(mv_service_paths(s), r->daemon, false,
                                         &px->starters[i].sock_path, err) < 0) {
            proxy_finish(s, px);
            return -1;
        }
    }
    if (px->ka_interval_ms)
        MV_DEBUG("keepalive toward driver daemons: every %llu ms, %ld missed is dead",
                 (unsigned long long)px->ka_interval_ms, px->ka_count);
    return 0;
}

static int proxy_accept(mv_service *s, uv_stream_t *server, bool readonly, void *opaque)
{
    return proxy_client_accept(opaque, server, readonly);
}

static void proxy_stop(mv_service *s, void *opaque)
{
    proxy *px = opaque;
    if (px->nclients)
        MV_INFO("finishing the calls of %zu clients", px->nclients);
    proxy_clients_drain(px);
}

static void proxy_finish(mv_service *s, void *opaque)
{
    proxy *px = opaque;
    for (size_t i = 0; px->starters && i < proxy_route_count(); i++)
        free(px->starters[i].sock_path);
    free(px->starters);
    px->starters = NULL;
}

static const mv_service_ops proxy_ops = {
    .start = proxy_start,
    .accept = proxy_accept,
    .stop = proxy_stop,
    .busy = NULL,
    .finish = proxy_finish,
};

int proxy_main(int argc, char **argv)
{
    static proxy px;
    px = (proxy){.ka_interval = 5, .ka_count = 5};
    mv_conf_section conf = {proxy_keys, &px};
    mv_service_desc desc = {
        .name = "virtproxyd",
        .summary = "Routes modvirt client connections to the driver daemons.",
        .ro_socket = true,
        .conf = &conf,
        .nconf = 1,
        .ops = &proxy_ops,
        .opaque = &px,
    };
    return mv_service_main(argc, argv, &desc);
}
