/* starter.c: making a driver daemon answer — a non-blocking connect on the loop, or a
 * start on a worker thread (mv_daemon_connect_or_start blocks), one per daemon at a time
 * while other connections wait for it. */
#include "virtproxyd/proxy.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "common/log.h"
#include "common/spawn.h"

typedef struct start_job {
    uv_work_t work;
    proxy *px;
    size_t route;
    const char *name;      /* static, from the route table */
    const char *sock_path; /* the starter's, alive as long as the proxy */
    int fd;
    mv_error err;
} start_job;

int proxy_connect_now(const char *sock_path)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    size_t n = strlen(sock_path);
    if (n >= sizeof(addr.sun_path))
        return -1;
    memcpy(addr.sun_path, sock_path, n + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    /* A UNIX connect completes at once, or fails at once: absent, refused, or a full
     * backlog (EAGAIN) — all of which the starter sorts out, off the loop. */
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void start_work(uv_work_t *w)
{
    start_job *job = w->data;
    job->fd = mv_daemon_connect_or_start(mv_service_paths(job->px->svc), job->name, job->sock_path,
                                         PROXY_START_TIMEOUT_MS, &job->err);
}

static upstream *pop_waiter(proxy_starter *st)
{
    upstream *up = st->head;
    if (!up)
        return NULL;
    st->head = up->wait_next;
    if (st->head)
        st->head->wait_prev = NULL;
    else
        st->tail = NULL;
    up->wait_prev = up->wait_next = NULL;
    up->waiting = false;
    return up;
}

static void start_done(uv_work_t *w, int status)
{
    start_job *job = w->data;
    proxy_starter *st = &job->px->starters[job->route];
    int fd = job->fd;
    upstream *up;

    st->running = false;
    if (fd >= 0)
        MV_DEBUG("%s answers at %s", job->name, job->sock_path);
    else
        MV_WARN("cannot reach %s: %s", job->name, job->err.message ? job->err.message : "?");
    /* The first waiter takes the fd we have; the daemon is up now, so the others simply
     * connect. Waiters are taken one at a time: handing one its fd may close others. */
    while ((up = pop_waiter(st))) {
        if (fd >= 0) {
            proxy_upstream_started(up, fd, NULL);
            fd = -1;
        } else if (job->fd >= 0) {
            int more = proxy_connect_now(st->sock_path);
            mv_error e = MV_ERROR_INIT;
            if (more < 0)
                mv_error_set(&e, VIR_ERR_RPC, VIR_FROM_RPC,
                             "%s started but does not accept connections at %s", job->name,
                             st->sock_path);
            proxy_upstream_started(up, more, &e);
            mv_error_clear(&e);
        } else {
            proxy_upstream_started(up, -1, &job->err);
        }
    }
    if (fd >= 0)
        close(fd); /* every waiter went away meanwhile */
    mv_error_clear(&job->err);
    free(job);
}

void proxy_starter_request(proxy *px, upstream *up)
{
    proxy_starter *st = &px->starters[up->route];
    up->waiting = true;
    up->wait_next = NULL;
    up->wait_prev = st->tail;
    if (st->tail)
        st->tail->wait_next = up;
    else
        st->head = up;
    st->tail = up;
    if (st->running)
        return;

    start_job *job = calloc(1, sizeof(*job));
    mv_error err = MV_ERROR_INIT;
    if (job) {
        job->px = px;
        job->route = up->route;
        job->name = proxy_route_at(up->route)->daemon;
        job->sock_path = st->sock_path;
        job->fd = -1;
        job->err = (mv_error)MV_ERROR_INIT;
        job->work.data = job;
        if (uv_queue_work(px->loop, &job->work, start_work, start_done) == 0) {
            st->running = true;
            MV_INFO("starting or waiting for %s", job->name);
            return;
        }
        free(job);
    }
    mv_error_set(&err, VIR_ERR_INTERNAL_ERROR, VIR_FROM_RPC, "cannot start %s: out of resources",
                 proxy_route_at(up->route)->daemon);
    while ((up = pop_waiter(st)))
        proxy_upstream_started(up, -1, &err);
    mv_error_clear(&err);
}

void proxy_starter_cancel(proxy *px, upstream *up)
{
    if (!up->waiting)
        return;
    proxy_starter *st = &px->starters[up->route];
    if (up->wait_prev)
        up->wait_prev->wait_next = up->wait_next;
    else
        st->head = up->wait_next;
    if (up->wait_next)
        up->wait_next->wait_prev = up->wait_prev;
    else
        st->tail = up->wait_prev;
    up->wait_prev = up->wait_next = NULL;
    up->waiting = false;
}
