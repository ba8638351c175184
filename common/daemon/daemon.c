/* daemon.c: mv_daemon_main() — a driver table run as a daemon on the shared service shell. */
#include "common/daemon/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include "common/log.h"

static int daemon_start(mv_service *s, void *opaque, mv_error *err)
{
    mv_daemon *d = opaque;
    d->svc = s;
    if (mv_events_start(d, err) < 0)
        return -1;
    if (d->driver->init && d->driver->init(d, err) < 0) {
        if (!mv_error_is_set(err))
            mv_error_set(err, VIR_ERR_INTERNAL_ERROR, d->driver->error_domain,
                         "the %s driver failed to start", d->driver->name);
        return -1;
    }
    uv_timer_init(mv_service_loop(s), &d->reaper);
    d->reaper.data = d;
    d->reaper_ok = true;
    return 0;
}

static int daemon_accept(mv_service *s, uv_stream_t *server, bool readonly, void *opaque)
{
    return mv_conn_accept(opaque, server);
}

static void daemon_stop(mv_service *s, void *opaque)
{
    mv_daemon *d = opaque;
    d->stopping = true;
    mv_events_stopping(d);
    if (d->nconns || d->jobs)
        MV_INFO("finishing %zu connections and %u running calls", d->nconns, d->jobs);
    mv_conns_drain_all(d);
}

static bool daemon_busy(mv_service *s, void *opaque)
{
    mv_daemon *d = opaque;
    return d->jobs > 0 || (d->driver->busy && d->driver->busy(d));
}

static void daemon_finish(mv_service *s, void *opaque)
{
    mv_daemon *d = opaque;
    if (d->driver->shutdown)
        d->driver->shutdown(d);
    mv_events_finish(d);
}

static const mv_service_ops daemon_ops = {
    .start = daemon_start,
    .accept = daemon_accept,
    .stop = daemon_stop,
    .busy = daemon_busy,
    .finish = daemon_finish,
};

int mv_daemon_main(int argc, char **argv, const mv_driver *driver)
{
    mv_daemon d = {.driver = driver};
    mv_conf_section conf = {driver->conf_keys, driver->conf_target};
    char summary[128];
    snprintf(summary, sizeof(summary), "The %s driver daemon of modvirt.", driver->name);
    mv_service_desc desc = {
        .name = driver->daemon_name,
        .summary = summary,
        .ro_socket = false,
        .conf = driver->conf_keys ? &conf : NULL,
        .nconf = driver->conf_keys ? 1 : 0,
        .ops = &daemon_ops,
        .opaque = &d,
    };
    return mv_service_main(argc, argv, &desc);
}

/* ---- what the driver may ask of its daemon ---- */

typedef struct posted {
    void (*fn)(mv_daemon *d, void *opaque);
    void *opaque;
} posted;

static void run_posted(void *ctx, void *opaque)
{
    posted *p = opaque;
    p->fn(ctx, p->opaque);
    free(p);
}

int mv_daemon_post(mv_daemon *d, void (*fn)(mv_daemon *d, void *opaque), void *opaque)
{
    posted *p = malloc(sizeof(*p));
    if (!p || !d->svc)
        goto fail;
    p->fn = fn;
    p->opaque = opaque;
    if (mv_service_post(d->svc, run_posted, d, p) < 0)
        goto fail;
    return 0;
fail:
    free(p);
    return -1;
}

struct uv_loop_s *mv_daemon_loop(mv_daemon *d)
{
    return mv_service_loop(d->svc);
}

const mv_paths *mv_daemon_paths(const mv_daemon *d)
{
    return mv_service_paths(d->svc);
}

const mv_driver *mv_daemon_driver(const mv_daemon *d)
{
    return d->driver;
}

bool mv_daemon_stopping(const mv_daemon *d)
{
    return d->stopping;
}

void *mv_daemon_driver_data(const mv_daemon *d)
{
    return d->driver_data;
}

void mv_daemon_set_driver_data(mv_daemon *d, void *data)
{
    d->driver_data = data;
}
