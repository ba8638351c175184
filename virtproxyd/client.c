/* client.c: virtproxyd's client connections — each frame's envelope is peeked, then the
 * frame is answered here (keepalive, refusals), routed (open) or forwarded unchanged. */
#include "virtproxyd/proxy.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "common/log.h"

static void client_pump(pclient *cl);
static void update_reading(pclient *cl);
static void client_close(pclient *cl);
static void maybe_finish(pclient *cl);

/* ---- the queue of frames waiting for the upstream ----------------------------------------- */

static int queue_push(pclient *cl, const uint8_t *payload, size_t len)
{
    if (cl->nqueued >= PROXY_QUEUE_MAX + 1)
        return -1;
    if (!cl->queue) {
        /* one more than the limit: the frame that reached it is still taken */
        uint8_t **q = calloc(PROXY_QUEUE_MAX + 1, sizeof(*q));
        size_t *ql = calloc(PROXY_QUEUE_MAX + 1, sizeof(*ql));
        if (!q || !ql) {
            free(q);
            free(ql);
            return -1;
        }
        cl->queue = q;
        cl->queue_len = ql;
    }
    uint8_t *f = malloc(MV_FRAME_HEADER_LEN + len);
    if (!f)
        return -1;
    f[0] = (uint8_t)(len >> 24);
    f[1] = (uint8_t)(len >> 16);
    f[2] = (uint8_t)(len >> 8);
    f[3] = (uint8_t)len;
    memcpy(f + MV_FRAME_HEADER_LEN, payload, len);
    cl->queue[cl->nqueued] = f;
    cl->queue_len[cl->nqueued] = MV_FRAME_HEADER_LEN + len;
    cl->nqueued++;
    return 0;
}

static void queue_clear(pclient *cl)
{
    for (size_t i = 0; i < cl->nqueued; i++)
        free(cl->queue[i]);
    cl->nqueued = 0;
}

/* ---- writing to the client ---------------------------------------------------------------- */

void proxy_client_flush(pclient *cl)
{
    if (!cl->closing)
        mv_wq_flush(&cl->wq);
}

void proxy_client_forward(pclient *cl, const uint8_t *payload, size_t len)
{
    if (!cl->closing && mv_wq_put_frame(&cl->wq, payload, len) < 0)
        client_close(cl);
}

void proxy_client_error(pclient *cl, uint32_t serial, uint32_t proc, const mv_error *e)
{
    mv_frame_spec spec = {
        .serial = serial, .kind = MODVIRT__FRAME_KIND__FRAME_ERROR, .proc = proc, .error = e};
    uint8_t *buf = NULL;
    size_t len = 0;
    if (cl->closing || mv_frame_build(&spec, &buf, &len, NULL) < 0)
        return;
    mv_wq_put_owned(&cl->wq, buf, len);
}

static void reply_empty(pclient *cl, uint32_t serial, uint32_t proc)
{
    mv_frame_spec spec = {.serial = serial, .kind = MODVIRT__FRAME_KIND__FRAME_REPLY, .proc = proc};
    uint8_t *buf = NULL;
    size_t len = 0;
    if (!cl->closing && mv_frame_build(&spec, &buf, &len, NULL) == 0)
        mv_wq_put_owned(&cl->wq, buf, len);
}

static void on_wq_full(mv_wq *wq, bool full)
{
    pclient *cl = wq->owner;
    /* the upstream feeds this queue: pause or resume it, and the client with it */
    if (cl->up)
        proxy_upstream_update(cl->up);
    if (full)
        update_reading(cl);
    else
        client_pump(cl);
}

static void on_wq_error(mv_wq *wq, int status)
{
    pclient *cl = wq->owner;
    MV_DEBUG("client pid %d: write failed: %s", (int)cl->ident.pid, uv_strerror(status));
    client_close(cl);
}

static void on_wq_idle(mv_wq *wq)
{
    maybe_finish(wq->owner);
}

/* ---- what the upstream tells us ------------------------------------------------------------- */

static void fail_call(uint32_t serial, uint32_t proc, void *opaque)
{
    void **ctx = opaque;
    proxy_client_error(ctx[0], serial, proc, ctx[1]);
}

/* Every call not yet answered fails with err. */
static void fail_all(pclient *cl, const mv_error *err)
{
    void *ctx[2] = {cl, (void *)err};
    queue_clear(cl);
    mv_sertab_drain(&cl->calls, fail_call, ctx);
}

void proxy_client_upstream_lost(pclient *cl, const mv_error *err)
{
    cl->up = NULL;
    fail_all(cl, err);
    proxy_streams_lost(cl, err);
    if (cl->open == OPEN_PENDING) {
        cl->open = OPEN_NONE;
        free(cl->open_body);
        cl->open_body = NULL;
        cl->ident.readonly = cl->ro_socket;
    }
    proxy_client_flush(cl);
    proxy_client_update(cl);
    maybe_finish(cl);
    /* A client waiting for events makes no call that would bring its daemon back: do it
     * now, once (a daemon that cannot come back waits for the client's next call). */
    if (proxy_events_want_reconnect(cl) && !cl->closing && !cl->draining && !cl->up &&
        !mv_service_stopping(cl->px->svc)) {
        cl->events_reconnecting = true;
        proxy_upstream_new(cl, true);
    }
}

void proxy_client_upstream_ready(pclient *cl)
{
    upstream *up = cl->up;
    size_t sent = 0;
    cl->events_reconnecting = false;
    for (; sent < cl->nqueued; sent++) {
        if (proxy_upstream_send(up, cl->queue[sent], cl->queue_len[sent], true) < 0)
            break;
        free(cl->queue[sent]);
    }
    /* (a frame that could not be queued stays first in line) */
    memmove(cl->queue, cl->queue + sent, (cl->nqueued - sent) * sizeof(*cl->queue));
    memmove(cl->queue_len, cl->queue_len + sent, (cl->nqueued - sent) * sizeof(*cl->queue_len));
    cl->nqueued -= sent;
    proxy_upstream_flush(up);
    proxy_client_update(cl);
}

void proxy_client_answered(pclient *cl, uint32_t serial, uint32_t proc, bool ok)
{
    proxy_events_answered(cl, serial, proc, ok);
    proxy_streams_answered(cl, serial, proc, ok);
    if (proc == MV_PROC_CONNECT_OPEN && cl->open == OPEN_PENDING) {
        if (ok) {
            cl->open = OPEN_DONE;
        } else {
            /* Not open after all: this upstream is of no more use, and what the client
             * sent behind its open cannot succeed. */
            mv_error e = MV_ERROR_INIT;
            mv_error_set(&e, VIR_ERR_OPERATION_INVALID, VIR_FROM_RPC,
                         "connection not open: connect_open failed");
            cl->open = OPEN_NONE;
            free(cl->open_body);
            cl->open_body = NULL;
            cl->ident.readonly = cl->ro_socket;
            if (cl->up)
                proxy_upstream_close(cl->up);
            fail_all(cl, &e);
            mv_error_clear(&e);
            proxy_client_flush(cl);
        }
    } else if (proc == MV_PROC_CONNECT_CLOSE) {
        cl->draining = true;
    }
    proxy_client_update(cl);
    maybe_finish(cl);
}

/* ---- frames from the client ------------------------------------------------------------------ */

/* A broken stream: say why (serial 0), drop what is in flight, close once written. */
static void client_fail(pclient *cl, const mv_error *err)
{
    MV_DEBUG("client pid %d: %s", (int)cl->ident.pid, err->message);
    if (cl->up)
        proxy_upstream_close(cl->up);
    queue_clear(cl);
    mv_sertab_free(&cl->calls);
    mv_sertab_free(&cl->streams);
    proxy_client_error(cl, 0, 0, err);
    cl->draining = true;
    proxy_client_flush(cl);
    proxy_client_update(cl);
    maybe_finish(cl);
}

static void client_forward(pclient *cl, const mv_envelope_head *h, const uint8_t *payload,
                           size_t len)
{
    mv_error err = MV_ERROR_INIT;
    int r = mv_sertab_put(&cl->calls, h->serial, h->proc);
    if (r != 0) {
        if (r > 0)
            mv_error_set(&err, VIR_ERR_RPC, VIR_FROM_RPC,
                         "serial %u is already used by a call in flight", h->serial);
        else
            mv_error_set(&err, VIR_ERR_NO_MEMORY, VIR_FROM_RPC, "call table");
        client_fail(cl, &err);
        mv_error_clear(&err);
        return;
    }
    proxy_events_call(cl, h, payload, len);
    if (cl->up && cl->up->state == UP_READY) {
        if (proxy_upstream_send(cl->up, payload, len, false) == 0)
            return;
        mv_error_set(&err, VIR_ERR_NO_MEMORY, VIR_FROM_RPC, "forwarding %s", mv_proc_name(h->proc));
    } else if (queue_push(cl, payload, len) == 0) {
        /* opened before, but its daemon went away: this call brings it back */
        if (!cl->up)
            proxy_upstream_new(cl, cl->open == OPEN_DONE);
        return;
    } else {
        mv_error_set(&err, VIR_ERR_NO_MEMORY, VIR_FROM_RPC, "queueing %s", mv_proc_name(h->proc));
    }
    mv_sertab_take(&cl->calls, h->serial, NULL);
    proxy_client_error(cl, h->serial, h->proc, &err);
    mv_error_clear(&err);
}

/* CONNECT_OPEN: the one body the proxy decodes, to pick the daemon from the URI. */
static void client_open(pclient *cl, const mv_envelope_head *h, const uint8_t *payload, size_t len)
{
    mv_error err = MV_ERROR_INIT;
    Modvirt__ConnectOpenArgs *args = NULL;
    size_t route = 0;
    Modvirt__Envelope *env = mv_envelope_unpack(payload, len, &err);
    if (!env)
        goto fail;
    args = (Modvirt__ConnectOpenArgs *)mv_body_unpack(&modvirt__connect_open_args__descriptor,
                                                      env->body.data, env->body.len, &err);
    if (!args) {
        mv_error_prefix(&err, "connect_open: ");
        goto fail;
    }
    if (proxy_route_open(args->uri, &route, &err) < 0)
        goto fail;
    cl->open_body = malloc(env->body.len ? env->body.len : 1);
    if (!cl->open_body) {
        mv_error_set(&err, VIR_ERR_NO_MEMORY, VIR_FROM_RPC, "connect_open");
        goto fail;
    }
    memcpy(cl->open_body, env->body.data, env->body.len);
    cl->open_body_len = env->body.len;
    cl->open = OPEN_PENDING;
    cl->route = route;
    if (args->flags & PROXY_CONNECT_RO)
        cl->ident.readonly = true;
    MV_DEBUG("client pid %d opens %s%s", (int)cl->ident.pid, args->uri,
             cl->ident.readonly ? " read-only" : "");
    if (cl->up)
        proxy_upstream_close(cl->up);
    /* the OPEN is a call like the others: queued first, sent once the daemon answers */
    client_forward(cl, h, payload, len);
    goto cleanup;

fail:
    proxy_client_error(cl, h->serial, h->proc, &err);
cleanup:
    if (args)
        protobuf_c_message_free_unpacked(&args->base, NULL);
    mv_envelope_free(env);
    mv_error_clear(&err);
}

static void client_frame(pclient *cl, const uint8_t *payload, size_t len)
{
    mv_envelope_head h;
    mv_error err = MV_ERROR_INIT;
    if (mv_envelope_peek(payload, len, &h, &err) < 0) {
        client_fail(cl, &err);
        goto cleanup;
    }
    if (h.kind == MODVIRT__FRAME_KIND__FRAME_STREAM) {
        /* stream data for a call of this connection (issue 3): the daemon's business */
        proxy_streams_frame(cl, &h, false);
        if (cl->up && cl->up->state == UP_READY &&
            proxy_upstream_send(cl->up, payload, len, false) == 0)
            goto cleanup;
        mv_error_set(&err, VIR_ERR_RPC, VIR_FROM_STREAMS, "no stream is open with serial %u",
                     h.serial);
        mv_frame_spec spec = {.serial = h.serial,
                              .kind = MODVIRT__FRAME_KIND__FRAME_STREAM,
                              .proc = h.proc,
                              .stream_status = MODVIRT__STREAM_STATUS__STREAM_ABORT,
                              .error = &err};
        uint8_t *buf = NULL;
        size_t blen = 0;
        if (h.stream_status != MODVIRT__STREAM_STATUS__STREAM_ABORT &&
            mv_frame_build(&spec, &buf, &blen, NULL) == 0)
            mv_wq_put_owned(&cl->wq, buf, blen);
        goto cleanup;
    }
    if (h.kind != MODVIRT__FRAME_KIND__FRAME_CALL) {
        mv_error_set(&err, VIR_ERR_RPC, VIR_FROM_RPC,
                     "unexpected frame of kind %u from a client (only calls are accepted)", h.kind);
        proxy_client_error(cl, h.serial, h.proc, &err);
        goto cleanup;
    }

    switch (proxy_classify(&h, cl->open, cl->ident.readonly, cl->up != NULL, &err)) {
    case PROXY_KEEPALIVE:
        reply_empty(cl, h.serial, h.proc);
        break;
    case PROXY_REFUSE:
        proxy_client_error(cl, h.serial, h.proc, &err);
        break;
    case PROXY_CLOSE:
        reply_empty(cl, h.serial, h.proc);
        cl->draining = true;
        break;
    case PROXY_OPEN:
        client_open(cl, &h, payload, len);
        break;
    case PROXY_FORWARD:
        client_forward(cl, &h, payload, len);
        break;
    }
cleanup:
    mv_error_clear(&err);
}

/* ---- reading and flow control ------------------------------------------------------------------
 */

static bool can_take(const pclient *cl)
{
    const upstream *up = cl->up;
    return !cl->closing && !cl->draining && !cl->wq.full && cl->nqueued < PROXY_QUEUE_MAX &&
           cl->calls.count < PROXY_CALLS_MAX && !(up && up->pipe_ok && up->wq.full);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    pclient *cl = h->data;
    size_t avail = 0;
    uint8_t *space = mv_frame_reader_space(&cl->reader, suggested, &avail);
    *buf = uv_buf_init((char *)space, space ? (unsigned int)avail : 0);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    pclient *cl = s->data;
    if (nread > 0) {
        mv_frame_reader_commit(&cl->reader, (size_t)nread);
        client_pump(cl);
    } else if (nread < 0) {
        /* gone (or half-closed, which a client does not do): its upstream goes too */
        client_close(cl);
    }
}

static void update_reading(pclient *cl)
{
    bool want = can_take(cl);
    if (want && !cl->reading) {
        if (uv_read_start((uv_stream_t *)&cl->pipe, on_alloc, on_read) == 0)
            cl->reading = true;
    } else if (!want && cl->reading && !cl->closing) {
        uv_read_stop((uv_stream_t *)&cl->pipe);
        cl->reading = false;
    }
}

/* Something changed (a queue drained or filled, the upstream came or went): frames
 * already read may be taken now, and reading pauses or resumes. */
void proxy_client_update(pclient *cl)
{
    if (!cl->closing)
        client_pump(cl);
}

static void client_pump(pclient *cl)
{
    if (cl->pumping) {
        cl->repump = true;
        return;
    }
    cl->pumping = true;
    do {
        cl->repump = false;
        while (can_take(cl)) {
            const uint8_t *env = NULL;
            size_t len = 0;
            mv_error err = MV_ERROR_INIT;
            int r = mv_frame_reader_next(&cl->reader, &env, &len, &err);
            if (r < 0)
                client_fail(cl, &err);
            else if (r > 0)
                client_frame(cl, env, len);
            mv_error_clear(&err);
            if (r <= 0)
                break;
        }
        /* one write each way per turn, however many frames came in */
        proxy_client_flush(cl);
        if (cl->up)
            proxy_upstream_flush(cl->up);
    } while (cl->repump && !cl->closing);
    cl->pumping = false;
    update_reading(cl);
    maybe_finish(cl);
}

/* ---- lifetime -----------------------------------------------------------------------------------
 */

static void maybe_finish(pclient *cl)
{
    if (cl->draining && !cl->closing && cl->calls.count == 0 && cl->nqueued == 0 &&
        mv_wq_idle(&cl->wq))
        client_close(cl);
}

static void on_closed(uv_handle_t *h)
{
    pclient *cl = h->data;
    mv_service_client_gone(cl->px->svc);
    mv_frame_reader_free(&cl->reader);
    mv_wq_free(&cl->wq);
    mv_sertab_free(&cl->calls);
    free(cl->queue);
    free(cl->queue_len);
    free(cl->open_body);
    proxy_events_free(cl);
    free(cl);
}

static void client_close(pclient *cl)
{
    proxy *px = cl->px;
    if (cl->closing)
        return;
    cl->closing = true;
    cl->reading = false;
    if (cl->up)
        proxy_upstream_close(cl->up);
    queue_clear(cl);
    if (cl->prev)
        cl->prev->next = cl->next;
    else
        px->clients = cl->next;
    if (cl->next)
        cl->next->prev = cl->prev;
    px->nclients--;
    uv_close((uv_handle_t *)&cl->pipe, on_closed);
}

void proxy_clients_drain(proxy *px)
{
    pclient *next = NULL;
    for (pclient *cl = px->clients; cl; cl = next) {
        next = cl->next;
        cl->draining = true;
        proxy_client_update(cl);
        maybe_finish(cl);
    }
}

static void on_refused_closed(uv_handle_t *h)
{
    free(h->data);
}

int proxy_client_accept(proxy *px, uv_stream_t *server, bool readonly)
{
    pclient *cl = calloc(1, sizeof(*cl));
    if (!cl)
        return -1;
    cl->px = px;
    uv_pipe_init(px->loop, &cl->pipe, 0);
    cl->pipe.data = cl;
    if (uv_accept(server, (uv_stream_t *)&cl->pipe) < 0) {
        uv_close((uv_handle_t *)&cl->pipe, on_refused_closed);
        return -1;
    }
    struct ucred cred = {.pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1};
    socklen_t clen = sizeof(cred);
    uv_os_fd_t fd = -1;
    if (uv_fileno((uv_handle_t *)&cl->pipe, &fd) == 0)
        getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen);
    cl->ident.uid = cred.uid;
    cl->ident.gid = cred.gid;
    cl->ident.pid = cred.pid;
    cl->ident.readonly = readonly;
    cl->ro_socket = readonly;
    cl->open = OPEN_NONE;
    mv_sertab_init(&cl->calls);
    mv_sertab_init(&cl->streams);
    mv_frame_reader_init(&cl->reader, 0);
    mv_wq_init(&cl->wq, (uv_stream_t *)&cl->pipe, PROXY_WQ_HIGH, cl);
    cl->wq.on_full = on_wq_full;
    cl->wq.on_error = on_wq_error;
    cl->wq.on_idle = on_wq_idle;

    cl->next = px->clients;
    if (px->clients)
        px->clients->prev = cl;
    px->clients = cl;
    px->nclients++;
    MV_DEBUG("client connected%s: pid %d uid %u", readonly ? " read-only" : "", (int)cred.pid,
             (unsigned)cred.uid);
    update_reading(cl);
    return 0;
}
