/* conn.c: a driver daemon's client connections — reading frames, writing replies,
 * flow control and a lifetime that outlasts the socket while calls still run. */
#include "common/daemon/internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "common/log.h"

static void conn_pump(mv_conn *c);
static void conn_close(mv_conn *c);

static void conn_free(mv_conn *c)
{
    mv_frame_reader_free(&c->reader);
    mv_wq_free(&c->wq);
    mv_events_conn_gone(c);
    if (c->data && c->data_free)
        c->data_free(c->data);
    free(c->uri);
    free(c);
}

void mv_conn_ref(mv_conn *c)
{
    c->refs++;
}

void mv_conn_unref(mv_conn *c)
{
    if (--c->refs == 0)
        conn_free(c);
}

/* ---- reading ---------------------------------------------------------------------------- */

static bool can_take(const mv_conn *c)
{
    return !c->closing && !c->draining && !c->wq.full &&
           c->running + c->nwaiting < CONN_MAX_PENDING;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    mv_conn *c = h->data;
    size_t avail = 0;
    uint8_t *space = mv_frame_reader_space(&c->reader, suggested, &avail);
    /* NULL gives libuv an empty buffer, which it reports as UV_ENOBUFS */
    *buf = uv_buf_init((char *)space, space ? (unsigned int)avail : 0);
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    mv_conn *c = stream->data;
    if (nread > 0) {
        mv_frame_reader_commit(&c->reader, (size_t)nread);
        conn_pump(c);
    } else if (nread == UV_EOF) {
        /* The client is done sending; what it sent before still gets answered. */
        mv_conn_drain(c);
    } else if (nread < 0) {
        MV_DEBUG("client pid %d: read failed: %s", (int)c->ident.pid, uv_strerror((int)nread));
        conn_close(c);
    }
}

static void update_reading(mv_conn *c)
{
    bool want = can_take(c);
    if (want && !c->reading) {
        if (uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read) == 0)
            c->reading = true;
    } else if (!want && c->reading && !c->closing) {
        uv_read_stop((uv_stream_t *)&c->pipe);
        c->reading = false;
    }
}

/* Closes a draining connection once nothing is left to answer or write. */
static void maybe_finish(mv_conn *c)
{
    if (!c->draining || c->closing || c->running > 0 || c->nwaiting > 0)
        return;
    if (mv_wq_idle(&c->wq)) {
        conn_close(c);
        return;
    }
    if (c->stuck_since == 0)
        c->stuck_since = uv_now(c->pipe.loop);
}

/* Takes in every complete frame we may take now. Re-entrant calls (a flush that frees
 * room calls back into here) just ask the running pump for another round. */
static void conn_pump(mv_conn *c)
{
    if (c->pumping) {
        c->repump = true;
        return;
    }
    c->pumping = true;
    do {
        c->repump = false;
        while (can_take(c)) {
            const uint8_t *env = NULL;
            size_t len = 0;
            mv_error err = MV_ERROR_INIT;
            int r = mv_frame_reader_next(&c->reader, &env, &len, &err);
            if (r < 0)
                mv_conn_fail(c, &err);
            else if (r > 0)
                mv_dispatch_frame(c, env, len);
            mv_error_clear(&err);
            if (r <= 0)
                break;
        }
        mv_conn_flush(c);
    } while (c->repump && !c->closing);
    c->pumping = false;
    update_reading(c);
    maybe_finish(c);
}

/* ---- writing ---------------------------------------------------------------------------- */

static void on_wq_full(mv_wq *wq, bool full)
{
    mv_conn *c = wq->owner;
    mv_streams_update(c);
    if (full)
        update_reading(c);
    else
        conn_pump(c);
}

static void on_wq_error(mv_wq *wq, int status)
{
    mv_conn *c = wq->owner;
    MV_DEBUG("client pid %d: write failed: %s", (int)c->ident.pid, uv_strerror(status));
    conn_close(c);
}

static void on_wq_idle(mv_wq *wq)
{
    maybe_finish(wq->owner);
}

void mv_conn_send(mv_conn *c, uint8_t *buf, size_t len)
{
    if (c->closing) {
        free(buf);
        return;
    }
    mv_wq_put_owned(&c->wq, buf, len);
}

void mv_conn_send_error(mv_conn *c, uint32_t serial, uint32_t proc, const mv_error *e)
{
    mv_frame_spec spec = {
        .serial = serial, .kind = MODVIRT__FRAME_KIND__FRAME_ERROR, .proc = proc, .error = e};
    uint8_t *buf = NULL;
    size_t len = 0;
    if (mv_frame_build(&spec, &buf, &len, NULL) < 0) {
        /* only an absurdly long message can get here: send the code alone */
        mv_error short_err = {e->code, e->domain, (char *)"(message too long to send)"};
        spec.error = &short_err;
        if (mv_frame_build(&spec, &buf, &len, NULL) < 0)
            return;
    }
    mv_conn_send(c, buf, len);
}

void mv_conn_flush(mv_conn *c)
{
    if (!c->closing)
        mv_wq_flush(&c->wq);
}

/* ---- lifetime --------------------------------------------------------------------------- */

static void on_reaper_tick(uv_timer_t *t);

static void reaper_update(mv_daemon *d)
{
    if (!d->reaper_ok)
        return;
    if (d->ndraining > 0 && !uv_is_active((uv_handle_t *)&d->reaper))
        uv_timer_start(&d->reaper, on_reaper_tick, 1000, 1000);
    else if (d->ndraining == 0)
        uv_timer_stop(&d->reaper);
    /* Once stopping and every connection is gone, nothing else needs the timer. */
    if (d->stopping && d->nconns == 0) {
        uv_close((uv_handle_t *)&d->reaper, NULL);
        d->reaper_ok = false;
    }
}

static void on_reaper_tick(uv_timer_t *t)
{
    mv_daemon *d = t->data;
    uint64_t now = uv_now(t->loop);
    mv_conn *next = NULL;
    for (mv_conn *c = d->conns; c; c = next) {
        next = c->next;
        if (c->draining && c->stuck_since && now - c->stuck_since >= CONN_DRAIN_MS) {
            MV_DEBUG("client pid %d reads nothing: closing without the last replies",
                     (int)c->ident.pid);
            conn_close(c);
        }
    }
}

static void on_closed(uv_handle_t *h)
{
    mv_conn *c = h->data;
    mv_service_client_gone(c->d->svc);
    mv_conn_unref(c);
}

static void conn_close(mv_conn *c)
{
    mv_daemon *d = c->d;
    if (c->closing)
        return;
    c->closing = true;
    c->reading = false;
    if (c->draining)
        d->ndraining--;
    if (c->prev)
        c->prev->next = c->next;
    else
        d->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    d->nconns--;
    mv_dispatch_drop_waiting(c);
    mv_streams_close_all(c);
    uv_close((uv_handle_t *)&c->pipe, on_closed);
    reaper_update(d);
}

void mv_conn_drain(mv_conn *c)
{
    if (c->closing || c->draining)
        return;
    c->draining = true;
    c->d->ndraining++;
    update_reading(c);
    maybe_finish(c);
    if (!c->closing)
        reaper_update(c->d);
}

void mv_conn_fail(mv_conn *c, const mv_error *e)
{
    MV_DEBUG("client pid %d: %s", (int)c->ident.pid, e->message ? e->message : "bad frame");
    mv_conn_send_error(c, 0, 0, e);
    mv_conn_flush(c);
    mv_conn_drain(c);
}

void mv_conn_job_done(mv_conn *c)
{
    if (c->closing)
        return;
    mv_conn_flush(c);
    /* the pump also restarts reading a connection paused for too many pending calls */
    conn_pump(c);
}

void mv_conns_drain_all(mv_daemon *d)
{
    mv_conn *next = NULL;
    for (mv_conn *c = d->conns; c; c = next) {
        next = c->next;
        mv_conn_drain(c);
    }
    reaper_update(d);
}

static void on_refused_closed(uv_handle_t *h)
{
    free(h->data);
}

int mv_conn_accept(mv_daemon *d, uv_stream_t *server)
{
    mv_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return -1;
    c->d = d;
    c->refs = 1;
    uv_pipe_init(server->loop, &c->pipe, 0);
    c->pipe.data = c;
    if (uv_accept(server, (uv_stream_t *)&c->pipe) < 0) {
        uv_close((uv_handle_t *)&c->pipe, on_refused_closed);
        return -1;
    }

    /* Who is on the other end, as the kernel says: never from anything the peer sent. */
    struct ucred cred = {.pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1};
    socklen_t clen = sizeof(cred);
    uv_os_fd_t fd = -1;
    if (uv_fileno((uv_handle_t *)&c->pipe, &fd) == 0)
        getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen);
    c->peer_uid = cred.uid;
    c->ident.uid = cred.uid;
    c->ident.gid = cred.gid;
    c->ident.pid = cred.pid;
    c->ident.readonly = false;

    mv_frame_reader_init(&c->reader, 0);
    mv_wq_init(&c->wq, (uv_stream_t *)&c->pipe, CONN_WQ_HIGH, c);
    c->wq.on_full = on_wq_full;
    c->wq.on_error = on_wq_error;
    c->wq.on_idle = on_wq_idle;

    c->next = d->conns;
    if (d->conns)
        d->conns->prev = c;
    d->conns = c;
    d->nconns++;
    MV_DEBUG("client connected: pid %d uid %u", (int)cred.pid, (unsigned)cred.uid);
    update_reading(c);
    return 0;
}
