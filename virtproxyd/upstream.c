/* upstream.c: one client's connection to its driver daemon — the handshake (identify,
 * replayed open), frames back to the client, keepalives while calls are in flight, and
 * what happens when the daemon dies or hangs. */
#include "virtproxyd/proxy.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "common/log.h"

static void up_pump(upstream *up);

const char *proxy_upstream_daemon(const upstream *up)
{
    return proxy_route_at(up->route)->daemon;
}

/* ---- lifetime ------------------------------------------------------------------------- */

static void up_free(upstream *up)
{
    mv_frame_reader_free(&up->reader);
    mv_wq_free(&up->wq);
    mv_sertab_free(&up->own);
    mv_error_clear(&up->last_error);
    free(up);
}

static void on_handle_closed(uv_handle_t *h)
{
    upstream *up = h->data;
    if (--up->handles == 0)
        up_free(up);
}

void proxy_upstream_close(upstream *up)
{
    if (up->closing)
        return;
    up->closing = true;
    if (up->cl && up->cl->up == up)
        up->cl->up = NULL;
    up->cl = NULL;
    proxy_starter_cancel(up->px, up);
    uv_timer_stop(&up->ka_timer);
    uv_close((uv_handle_t *)&up->ka_timer, on_handle_closed);
    if (up->pipe_ok)
        uv_close((uv_handle_t *)&up->pipe, on_handle_closed);
}

/* The daemon is gone or unusable: the client fails what it has in flight. */
static void up_fail(upstream *up, const mv_error *err)
{
    pclient *cl = up->cl;
    if (up->closing)
        return;
    proxy_upstream_close(up);
    if (cl)
        proxy_client_upstream_lost(cl, err);
}

static void up_create(pclient *cl, bool replay, bool retried);
static bool in_flight(const upstream *up);

static void up_dead(upstream *up, const char *why)
{
    mv_error e = MV_ERROR_INIT;
    const char *daemon = proxy_upstream_daemon(up);
    if (up->closing)
        return;
    /* Lost during the handshake, before any client frame went out: most likely the
     * daemon was exiting for idleness as we connected. Nothing was said yet, so one
     * fresh attempt (which starts it again) is safe and invisible to the client. */
    if (up->state == UP_HANDSHAKE && !up->retried && up->cl) {
        pclient *cl = up->cl;
        bool replay = up->replay;
        MV_INFO("%s went away during the handshake: connecting again", daemon);
        proxy_upstream_close(up);
        up_create(cl, replay, true);
        return;
    }
    if (mv_error_is_set(&up->last_error)) {
        mv_error_set(&e, VIR_ERR_RPC, VIR_FROM_RPC, "connection to %s lost: %s", daemon,
                     up->last_error.message);
    } else if (why) {
        mv_error_set(&e, VIR_ERR_RPC, VIR_FROM_RPC, "connection to %s lost: %s", daemon, why);
    } else {
        mv_error_set(&e, VIR_ERR_RPC, VIR_FROM_RPC, "connection to %s lost", daemon);
    }
    /* a warning when calls fail; after the client's own close it is the normal end */
    pclient *cl = up->cl;
    int level = !cl || cl->draining ? MV_LOG_DEBUG : in_flight(up) ? MV_LOG_WARN : MV_LOG_INFO;
    mv_log(level, "client pid %d: %s", cl ? (int)cl->ident.pid : 0, e.message);
    up_fail(up, &e);
    mv_error_clear(&e);
}

/* ---- keepalive: only while something is in flight ------------------------------------------ */

static bool in_flight(const upstream *up)
{
    return up->own.count > 0 || (up->cl && up->cl->calls.count > 0);
}

static int send_own(upstream *up, uint32_t proc, const ProtobufCMessage *body, const uint8_t *raw,
                    size_t raw_len);

static void on_ka_tick(uv_timer_t *t)
{
    upstream *up = t->data;
    if (up->closing || !up->pipe_ok)
        return;
    if (!in_flight(up)) {
        uv_timer_stop(&up->ka_timer);
        up->ka_missed = 0;
        return;
    }
    /* While we are the ones not reading (a slow client), silence proves nothing. */
    if (!up->reading)
        return;
    if (up->ka_outstanding) {
        if (++up->ka_missed >= (unsigned)up->px->ka_count) {
            char why[96];
            snprintf(why, sizeof(why), "no answer to keepalives for %llu ms",
                     (unsigned long long)(up->ka_missed * up->px->ka_interval_ms));
            up_dead(up, why);
        }
        return;
    }
    if (send_own(up, MV_PROC_CONNECT_KEEPALIVE, NULL, NULL, 0) == 0) {
        up->ka_outstanding = true;
        mv_wq_flush(&up->wq);
    }
}

static void ka_update(upstream *up)
{
    if (up->closing || !up->pipe_ok || up->px->ka_interval_ms == 0)
        return;
    if (in_flight(up) && !uv_is_active((uv_handle_t *)&up->ka_timer))
        uv_timer_start(&up->ka_timer, on_ka_tick, up->px->ka_interval_ms, up->px->ka_interval_ms);
}

/* ---- writing ---------------------------------------------------------------------------- */

/* A call of the proxy's own, with the next proxy serial. */
static int send_own_resume(upstream *up, uint32_t proc, const ProtobufCMessage *body,
                           const uint8_t *raw, size_t raw_len, uint64_t resume_seq);

static int send_own(upstream *up, uint32_t proc, const ProtobufCMessage *body, const uint8_t *raw,
                    size_t raw_len)
{
    return send_own_resume(up, proc, body, raw, raw_len, 0);
}

/* A replayed event registration: the proxy's serial, the client's body, resume_seq. */
static int send_replayed_reg(void *ctx, const uint8_t *body, size_t len, uint64_t resume)
{
    return send_own_resume(ctx, MV_PROC_CONNECT_DOMAIN_EVENT_REGISTER_ANY, NULL, body, len,
                           resume);
}

static int send_own_resume(upstream *up, uint32_t proc, const ProtobufCMessage *body,
                           const uint8_t *raw, size_t raw_len, uint64_t resume_seq)
{
    uint32_t serial = PROXY_SERIAL_BIT | up->next_serial;
    up->next_serial = up->next_serial >= 0x7fffffffu ? 1 : up->next_serial + 1;
    mv_frame_spec spec = {.serial = serial,
                          .kind = MODVIRT__FRAME_KIND__FRAME_CALL,
                          .proc = proc,
                          .body = body,
                          .raw_body = raw,
                          .raw_body_len = raw_len,
                          .resume_seq = resume_seq};
    uint8_t *buf = NULL;
    size_t len = 0;
    if (mv_frame_build(&spec, &buf, &len, NULL) < 0 || mv_sertab_put(&up->own, serial, proc) != 0) {
        free(buf);
        return -1;
    }
    if (mv_wq_put_owned(&up->wq, buf, len) < 0)
        return -1;
    ka_update(up);
    return 0;
}

int proxy_upstream_send(upstream *up, const uint8_t *bytes, size_t len, bool with_header)
{
    if (up->closing || !up->pipe_ok)
        return -1;
    int rc = with_header ? mv_wq_put(&up->wq, bytes, len) : mv_wq_put_frame(&up->wq, bytes, len);
    if (rc == 0)
        ka_update(up);
    return rc;
}

void proxy_upstream_flush(upstream *up)
{
    if (!up->closing && up->pipe_ok)
        mv_wq_flush(&up->wq);
}

static void on_wq_full(mv_wq *wq, bool full)
{
    upstream *up = wq->owner;
    /* the client feeds this queue: pause or resume reading it */
    if (up->cl)
        proxy_client_update(up->cl);
}

static bool can_take(const upstream *up);

static void on_wq_error(mv_wq *wq, int status)
{
    upstream *up = wq->owner;
    bool gone = status == UV_EPIPE || status == UV_ECONNRESET;
    /* A daemon that closed on purpose (too many clients) said why first: when we read
     * (or are about to), its last words and the end of file behind them are still to
     * come, and on_read ends the upstream with them. */
    if (gone && can_take(up))
        return;
    up_dead(up, gone ? NULL : uv_strerror(status));
}

/* ---- reading ---------------------------------------------------------------------------- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    upstream *up = h->data;
    size_t avail = 0;
    uint8_t *space = mv_frame_reader_space(&up->reader, suggested, &avail);
    *buf = uv_buf_init((char *)space, space ? (unsigned int)avail : 0);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    upstream *up = s->data;
    if (nread > 0) {
        mv_frame_reader_commit(&up->reader, (size_t)nread);
        up_pump(up);
    } else if (nread < 0) {
        /* end of file or a reset: the daemon went away, which needs no more words */
        bool gone = nread == UV_EOF || nread == UV_ECONNRESET || nread == UV_EPIPE;
        up_dead(up, gone ? NULL : uv_strerror((int)nread));
    }
}

static bool can_take(const upstream *up)
{
    return !up->closing && up->pipe_ok && up->cl && !up->cl->wq.full;
}

static void update_reading(upstream *up)
{
    bool want = can_take(up);
    if (want && !up->reading) {
        if (uv_read_start((uv_stream_t *)&up->pipe, on_alloc, on_read) == 0)
            up->reading = true;
    } else if (!want && up->reading && !up->closing) {
        uv_read_stop((uv_stream_t *)&up->pipe);
        up->reading = false;
    }
}

/* The client's queue drained or filled: frames already read may go on now, and reading
 * pauses or resumes. */
void proxy_upstream_update(upstream *up)
{
    if (!up->closing && up->pipe_ok)
        up_pump(up);
}

/* The handshake moves on: identify -> (replayed open) -> ready. */
static void handshake_next(upstream *up, uint32_t proc)
{
    pclient *cl = up->cl;
    if (proc == MV_PROC_PROXY_IDENTIFY && up->replay) {
        if (send_own(up, MV_PROC_CONNECT_OPEN, NULL, cl->open_body, cl->open_body_len) < 0) {
            mv_error e = MV_ERROR_INIT;
            mv_error_set(&e, VIR_ERR_NO_MEMORY, VIR_FROM_RPC, "replaying the open");
            up_fail(up, &e);
            mv_error_clear(&e);
            return;
        }
        /* right behind the open, ahead of anything the client queued meanwhile */
        proxy_events_replay(cl, send_replayed_reg, up);
        mv_wq_flush(&up->wq);
        return;
    }
    up->state = UP_READY;
    MV_DEBUG("client pid %d: %s %s", (int)cl->ident.pid, proxy_upstream_daemon(up),
             up->replay ? "reconnected" : "connected");
    proxy_client_upstream_ready(cl);
}

/* A reply to one of the proxy's own calls. */
static void own_reply(upstream *up, const mv_envelope_head *h, const uint8_t *payload, size_t len)
{
    uint32_t proc = 0;
    if (!mv_sertab_take(&up->own, h->serial, &proc))
        return;
    if (proc == MV_PROC_CONNECT_KEEPALIVE) {
        up->ka_outstanding = false;
        return;
    }
    if (proc == MV_PROC_CONNECT_DOMAIN_EVENT_REGISTER_ANY) {
        /* a replayed registration: its reply tells where the daemon's numbering stands;
         * a refusal loses that one registration, not the connection */
        if (h->kind == MODVIRT__FRAME_KIND__FRAME_REPLY)
            proxy_events_seen(up->cl, h->seq);
        else
            MV_WARN("%s refused a replayed event registration", proxy_upstream_daemon(up));
        return;
    }
    if (h->kind == MODVIRT__FRAME_KIND__FRAME_REPLY) {
        if (up->state == UP_HANDSHAKE && up->cl)
            handshake_next(up, proc);
        return;
    }
    /* identify or the replayed open failed: say so, keeping the daemon's code and words */
    mv_error e = MV_ERROR_INIT;
    mv_error wire = MV_ERROR_INIT;
    Modvirt__Envelope *env = mv_envelope_unpack(payload, len, NULL);
    if (env)
        mv_error_from_wire(&wire, env->error);
    char msg[1024];
    snprintf(msg, sizeof(msg), "%s %s: %s",
             proc == MV_PROC_PROXY_IDENTIFY ? "cannot pass the caller's identity to"
                                            : "cannot reopen the connection to",
             proxy_upstream_daemon(up), wire.message ? wire.message : "refused");
    mv_error_set_raw(&e, wire.code ? wire.code : VIR_ERR_RPC,
                     wire.code ? wire.domain : VIR_FROM_RPC, msg);
    MV_WARN("%s", msg);
    mv_envelope_free(env);
    up_fail(up, &e);
    mv_error_clear(&e);
    mv_error_clear(&wire);
}

static void up_frame(upstream *up, const uint8_t *payload, size_t len)
{
    mv_envelope_head h;
    mv_error err = MV_ERROR_INIT;
    if (mv_envelope_peek(payload, len, &h, &err) < 0) {
        up_dead(up, err.message);
        mv_error_clear(&err);
        return;
    }
    up->ka_missed = 0; /* anything at all proves the daemon's loop is alive */
    pclient *cl = up->cl;
    switch (h.kind) {
    case MODVIRT__FRAME_KIND__FRAME_REPLY:
    case MODVIRT__FRAME_KIND__FRAME_ERROR: {
        if (h.serial & PROXY_SERIAL_BIT) {
            own_reply(up, &h, payload, len);
            return;
        }
        if (h.serial == 0) {
            /* about the connection itself: the daemon closes next; keep its reason */
            Modvirt__Envelope *env = mv_envelope_unpack(payload, len, NULL);
            if (env)
                mv_error_from_wire(&up->last_error, env->error);
            mv_envelope_free(env);
            return;
        }
        uint32_t proc = 0;
        if (!mv_sertab_take(&cl->calls, h.serial, &proc)) {
            MV_DEBUG("%s answered serial %u, which nobody is waiting for",
                     proxy_upstream_daemon(up), h.serial);
            return;
        }
        if (proc == MV_PROC_CONNECT_DOMAIN_EVENT_REGISTER_ANY &&
            h.kind == MODVIRT__FRAME_KIND__FRAME_REPLY)
            proxy_events_seen(cl, h.seq);
        proxy_client_forward(cl, payload, len);
        proxy_client_answered(cl, h.serial, proc, h.kind == MODVIRT__FRAME_KIND__FRAME_REPLY);
        return;
    }
    case MODVIRT__FRAME_KIND__FRAME_EVENT:
        proxy_events_seen(cl, h.seq);
        proxy_client_forward(cl, payload, len);
        return;
    case MODVIRT__FRAME_KIND__FRAME_STREAM:
        /* pushed by the daemon (issue 3): passed on as they are */
        proxy_streams_frame(cl, &h, true);
        proxy_client_forward(cl, payload, len);
        return;
    default:
        MV_DEBUG("%s sent a frame of kind %u: ignored", proxy_upstream_daemon(up), h.kind);
        return;
    }
}

static void up_pump(upstream *up)
{
    if (up->pumping) {
        up->repump = true;
        return;
    }
    up->pumping = true;
    do {
        up->repump = false;
        while (can_take(up)) {
            const uint8_t *env = NULL;
            size_t len = 0;
            mv_error err = MV_ERROR_INIT;
            int r = mv_frame_reader_next(&up->reader, &env, &len, &err);
            if (r < 0)
                up_dead(up, err.message);
            else if (r > 0)
                up_frame(up, env, len);
            mv_error_clear(&err);
            if (r <= 0)
                break;
        }
    } while (up->repump && !up->closing);
    up->pumping = false;
    /* answers from this turn go out together */
    pclient *cl = up->cl;
    if (cl)
        proxy_client_flush(cl);
    if (!up->closing)
        update_reading(up);
}

/* ---- connecting ------------------------------------------------------------------------- */

void proxy_upstream_started(upstream *up, int fd, const mv_error *err)
{
    pclient *cl = up->cl;
    if (fd < 0) {
        up_fail(up, err);
        return;
    }
    if (up->closing || !cl) {
        close(fd);
        return;
    }
    uv_pipe_init(up->px->loop, &up->pipe, 0);
    up->pipe.data = up;
    up->handles++;
    up->pipe_ok = true;
    mv_wq_init(&up->wq, (uv_stream_t *)&up->pipe, PROXY_WQ_HIGH, up);
    up->wq.on_full = on_wq_full;
    up->wq.on_error = on_wq_error;
    int rc = uv_pipe_open(&up->pipe, fd);
    if (rc < 0) {
        close(fd);
        up_dead(up, uv_strerror(rc));
        return;
    }
    up->state = UP_HANDSHAKE;
    Modvirt__IdentifyArgs id = MODVIRT__IDENTIFY_ARGS__INIT;
    id.uid = cl->ident.uid;
    id.gid = cl->ident.gid;
    id.pid = cl->ident.pid;
    id.readonly = cl->ident.readonly;
    if (send_own(up, MV_PROC_PROXY_IDENTIFY, &id.base, NULL, 0) < 0) {
        up_dead(up, "cannot send the caller's identity");
        return;
    }
    mv_wq_flush(&up->wq);
    proxy_upstream_update(up);
}

void proxy_upstream_new(pclient *cl, bool replay)
{
    up_create(cl, replay, false);
}

static void up_create(pclient *cl, bool replay, bool retried)
{
    proxy *px = cl->px;
    upstream *up = calloc(1, sizeof(*up));
    if (!up) {
        mv_error e = MV_ERROR_INIT;
        mv_error_set(&e, VIR_ERR_NO_MEMORY, VIR_FROM_RPC, "connection to a driver daemon");
        proxy_client_upstream_lost(cl, &e);
        mv_error_clear(&e);
        return;
    }
    up->px = px;
    up->cl = cl;
    up->route = cl->route;
    up->replay = replay;
    up->retried = retried;
    up->state = UP_STARTING;
    up->next_serial = 1;
    up->last_error = (mv_error)MV_ERROR_INIT;
    mv_frame_reader_init(&up->reader, 0);
    mv_sertab_init(&up->own);
    uv_timer_init(px->loop, &up->ka_timer);
    up->ka_timer.data = up;
    up->handles = 1;
    cl->up = up;

    int fd = proxy_connect_now(px->starters[up->route].sock_path);
    if (fd >= 0)
        proxy_upstream_started(up, fd, NULL);
    else
        proxy_starter_request(px, up);
}
