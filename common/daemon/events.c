/* events.c: pushed events — registrations per connection, sequence numbers, delivery on
 * the loop, replay from the backlog, and the backlog's file in the run dir. */
#include "common/daemon/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "common/daemon/backlog.h"
#include "common/log.h"

/* Bytes waiting for a connection beyond which its events are dropped (and reported). */
#define EVENTS_QUEUE_MAX (16u << 20)

/* One registration of a connection (CONNECT_DOMAIN_EVENT_REGISTER_ANY). */
struct mv_evreg {
    int32_t callback_id;
    int32_t event_id;
    bool has_dom;
    uint8_t uuid[16];
    char *name;
    uint64_t from_seq;              /* events up to this number were not for this registration */
    uint64_t lost_first, lost_last; /* dropped for a client that stopped reading */
    mv_evreg *next;
};

struct mv_events {
    pthread_mutex_t lock; /* the backlog and `stopping`; emitters run on any thread */
    mv_backlog backlog;
    bool stopping;
    char *path;          /* <run_dir>/<daemon>.events */
    int fd;              /* that file, open for the daemon's life (-1: not kept) */
    uint64_t saved_last; /* backlog.last as last written (loop thread) */
    bool writing;        /* a write is on a worker thread */
    uv_work_t work;
    uint8_t *wbuf; /* what that write writes */
    size_t wlen;
    mv_daemon *d;
};

/* An event on its way to the loop. */
typedef struct pending {
    uint64_t seq;
    int32_t event_id;
    uint32_t proc;
    char *name;
    uint8_t uuid[16];
    uint8_t *body;
    size_t body_len;
} pending;

static void pending_free(pending *p)
{
    if (!p)
        return;
    free(p->name);
    free(p->body);
    free(p);
}

/* ---- the file ---- */

/* Replaces the file's contents through the fd held open for the daemon's life (so the
 * daemon's descriptor count never moves for it). The new bytes go first, in one write, then
 * the length: a kill between the two leaves old bytes after the new backlog, which the
 * reader ignores. */
static int write_file(int fd, const uint8_t *data, size_t len)
{
    size_t off = 0;
    while (off < len) {
        ssize_t w = pwrite(fd, data + off, len - off, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        off += (size_t)w;
    }
    return ftruncate(fd, (off_t)len);
}

static void save_work(uv_work_t *w)
{
    mv_events *ev = w->data;
    if (ev->fd >= 0 && write_file(ev->fd, ev->wbuf, ev->wlen) < 0)
        MV_WARN("cannot write the event backlog %s: %s", ev->path, strerror(errno));
}

static void save_start(mv_events *ev);

static void save_after(uv_work_t *w, int status)
{
    mv_events *ev = w->data;
    free(ev->wbuf);
    ev->wbuf = NULL;
    ev->writing = false;
    save_start(ev);
}

/* Writes the backlog off the loop when it changed since the last write (loop thread). */
static void save_start(mv_events *ev)
{
    mv_error err = MV_ERROR_INIT;
    if (ev->writing || ev->fd < 0)
        return;
    pthread_mutex_lock(&ev->lock);
    uint64_t last = ev->backlog.last;
    int rc =
        last == ev->saved_last ? 1 : mv_backlog_encode(&ev->backlog, &ev->wbuf, &ev->wlen, &err);
    pthread_mutex_unlock(&ev->lock);
    if (rc != 0) {
        if (rc < 0)
            MV_WARN("%s", err.message);
        mv_error_clear(&err);
        return;
    }
    ev->saved_last = last;
    ev->work.data = ev;
    if (uv_queue_work(mv_daemon_loop(ev->d), &ev->work, save_work, save_after) == 0) {
        ev->writing = true;
        return;
    }
    save_work(&ev->work);
    free(ev->wbuf);
    ev->wbuf = NULL;
}

static void load_file(mv_events *ev)
{
    mv_error err = MV_ERROR_INIT;
    struct stat st;
    uint8_t *data = NULL;
    size_t got = 0;
    ev->fd = open(ev->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (ev->fd < 0) {
        MV_WARN("cannot open the event backlog %s: %s; events will not outlive this daemon",
                ev->path, strerror(errno));
        return;
    }
    if (fstat(ev->fd, &st) < 0 || st.st_size <= 0 || st.st_size > (off_t)256 << 20)
        goto cleanup;
    data = malloc((size_t)st.st_size);
    while (data && got < (size_t)st.st_size) {
        ssize_t r = pread(ev->fd, data + got, (size_t)st.st_size - got, (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    if (!data || got != (size_t)st.st_size)
        goto cleanup;
    if (mv_backlog_decode(&ev->backlog, data, got, &err) < 0)
        MV_WARN("%s: %s; numbering continues after %llu", ev->path, err.message,
                (unsigned long long)ev->backlog.last);
    ev->saved_last = ev->backlog.last;
    MV_DEBUG("event backlog: %zu events, last %llu", ev->backlog.count,
             (unsigned long long)ev->backlog.last);
cleanup:
    free(data);
    mv_error_clear(&err);
}

int mv_events_start(mv_daemon *d, mv_error *err)
{
    mv_events *ev = calloc(1, sizeof(*ev));
    char name[128];
    if (!ev || mv_backlog_init(&ev->backlog, 0) < 0)
        goto oom;
    pthread_mutex_init(&ev->lock, NULL);
    ev->d = d;
    ev->fd = -1;
    snprintf(name, sizeof(name), "%s.events", d->driver->daemon_name);
    ev->path = mv_path_join(mv_daemon_paths(d)->run_dir, name);
    if (!ev->path) {
        pthread_mutex_destroy(&ev->lock);
        goto oom;
    }
    load_file(ev);
    d->events = ev;
    return 0;
oom:
    if (ev)
        mv_backlog_free(&ev->backlog);
    free(ev);
    mv_error_set(err, VIR_ERR_NO_MEMORY, VIR_FROM_RPC, "event backlog");
    return -1;
}

void mv_events_finish(mv_daemon *d)
{
    mv_events *ev = d->events;
    mv_error err = MV_ERROR_INIT;
    if (!ev)
        return;
    /* the loop has ended: no write is in flight, nobody else touches ev */
    if (ev->backlog.last != ev->saved_last &&
        mv_backlog_encode(&ev->backlog, &ev->wbuf, &ev->wlen, &err) == 0) {
        ev->work.data = ev;
        save_work(&ev->work);
    }
    free(ev->wbuf);
    if (ev->fd >= 0)
        close(ev->fd);
    mv_error_clear(&err);
    mv_backlog_free(&ev->backlog);
    pthread_mutex_destroy(&ev->lock);
    free(ev->path);
    free(ev);
    d->events = NULL;
}

void mv_events_stopping(mv_daemon *d)
{
    if (!d->events)
        return;
    pthread_mutex_lock(&d->events->lock);
    d->events->stopping = true;
    pthread_mutex_unlock(&d->events->lock);
}

/* ---- delivery ---- */

static bool reg_matches(const mv_evreg *r, int32_t event_id, uint64_t seq, const char *name,
                        const uint8_t *uuid)
{
    static const uint8_t zero[16];
    if (r->event_id != event_id || seq <= r->from_seq)
        return false;
    if (!r->has_dom)
        return true;
    if (memcmp(r->uuid, zero, 16) != 0 && memcmp(uuid, zero, 16) != 0)
        return memcmp(r->uuid, uuid, 16) == 0;
    return r->name && strcmp(r->name, name) == 0;
}

/* Sends one event frame: the body with this registration's callback_id appended (a
 * field repeated later in a protobuf message wins, so no re-packing is needed). */
static void send_event(mv_conn *c, uint32_t proc, uint64_t seq, int32_t callback_id,
                       const uint8_t *body, size_t body_len)
{
    uint8_t *b = malloc(body_len + 11);
    uint8_t *frame = NULL;
    size_t n = body_len, frame_len = 0;
    if (!b)
        return;
    if (body_len)
        memcpy(b, body, body_len);
    b[n++] = 0x08; /* field 1, varint */
    uint64_t v = (uint64_t)(int64_t)callback_id;
    do {
        b[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    mv_frame_spec spec = {.kind = MODVIRT__FRAME_KIND__FRAME_EVENT,
                          .proc = proc,
                          .seq = seq,
                          .raw_body = b,
                          .raw_body_len = n};
    if (mv_frame_build(&spec, &frame, &frame_len, NULL) == 0)
        mv_conn_send(c, frame, frame_len);
    free(b);
}

static void send_lost(mv_conn *c, int32_t callback_id, uint64_t first, uint64_t last);

static void deliver(mv_daemon *d, void *opaque)
{
    pending *p = opaque;
    for (mv_conn *c = d->conns; c; c = c->next) {
        bool sent = false;
        /* a client that lets this much pile up loses events rather than the daemon its
         * memory; it is told which, ahead of the next one it can take */
        bool backed_up = c->wq.queued > EVENTS_QUEUE_MAX;
        for (mv_evreg *r = c->evregs; r; r = r->next) {
            if (!reg_matches(r, p->event_id, p->seq, p->name, p->uuid))
                continue;
            if (backed_up) {
                if (!r->lost_first)
                    r->lost_first = p->seq;
                r->lost_last = p->seq;
                continue;
            }
            if (r->lost_first) {
                send_lost(c, r->callback_id, r->lost_first, r->lost_last);
                r->lost_first = r->lost_last = 0;
            }
            send_event(c, p->proc, p->seq, r->callback_id, p->body, p->body_len);
            sent = true;
        }
        if (sent)
            mv_conn_flush(c);
    }
    pending_free(p);
    if (d->events)
        save_start(d->events);
}

int mv_daemon_emit_event(mv_daemon *d, int event_id, uint32_t proc, const char *name,
                         const unsigned char *uuid, const ProtobufCMessage *body)
{
    mv_events *ev = d->events;
    pending *p = calloc(1, sizeof(*p));
    int rc = -1;
    if (!ev || !p)
        goto cleanup;
    p->event_id = event_id;
    p->proc = proc;
    p->name = strdup(name ? name : "");
    p->body_len = body ? protobuf_c_message_get_packed_size(body) : 0;
    p->body = malloc(p->body_len + 1);
    if (!p->name || !p->body)
        goto cleanup;
    if (body)
        protobuf_c_message_pack(body, p->body);
    if (uuid)
        memcpy(p->uuid, uuid, 16);
    pthread_mutex_lock(&ev->lock);
    if (!ev->stopping) {
        p->seq =
            mv_backlog_add(&ev->backlog, event_id, proc, p->name, p->uuid, p->body, p->body_len);
        /* posted under the lock, so events reach the loop in the order of their numbers */
        if (p->seq && mv_daemon_post(d, deliver, p) == 0) {
            p = NULL;
            rc = 0;
        }
    }
    pthread_mutex_unlock(&ev->lock);
cleanup:
    pending_free(p);
    return rc;
}

int mv_daemon_emit_lifecycle(mv_daemon *d, const char *name, const unsigned char *uuid, int id,
                             int event, int detail)
{
    Modvirt__DomainEventLifecycleMsg msg = MODVIRT__DOMAIN_EVENT_LIFECYCLE_MSG__INIT;
    Modvirt__Domain dom = MODVIRT__DOMAIN__INIT;
    dom.name = (char *)(name ? name : "");
    if (uuid) {
        dom.uuid.data = (uint8_t *)uuid;
        dom.uuid.len = 16;
    }
    dom.id = id;
    msg.dom = &dom;
    msg.event = event;
    msg.detail = detail;
    return mv_daemon_emit_event(d, 0 /* VIR_DOMAIN_EVENT_ID_LIFECYCLE */,
                                MV_PROC_DOMAIN_EVENT_LIFECYCLE, name, uuid,
                                (const ProtobufCMessage *)&msg);
}

/* ---- registrations (loop thread) ---- */

static void reg_free(mv_evreg *r)
{
    if (!r)
        return;
    free(r->name);
    free(r);
}

void mv_events_conn_gone(mv_conn *c)
{
    while (c->evregs) {
        mv_evreg *r = c->evregs;
        c->evregs = r->next;
        reg_free(r);
    }
}

static void reply_seq(mv_conn *c, uint32_t serial, uint32_t proc, uint64_t seq)
{
    mv_frame_spec spec = {
        .serial = serial, .kind = MODVIRT__FRAME_KIND__FRAME_REPLY, .proc = proc, .seq = seq};
    uint8_t *buf = NULL;
    size_t len = 0;
    if (mv_frame_build(&spec, &buf, &len, NULL) == 0)
        mv_conn_send(c, buf, len);
}

static void send_lost(mv_conn *c, int32_t callback_id, uint64_t first, uint64_t last)
{
    Modvirt__EventsLostMsg m = MODVIRT__EVENTS_LOST_MSG__INIT;
    m.callback_id = callback_id;
    m.first_seq = first;
    m.last_seq = last;
    mv_frame_spec spec = {.kind = MODVIRT__FRAME_KIND__FRAME_EVENT,
                          .proc = MV_PROC_CONNECT_EVENTS_LOST,
                          .seq = last,
                          .body = (const ProtobufCMessage *)&m};
    uint8_t *buf = NULL;
    size_t len = 0;
    if (mv_frame_build(&spec, &buf, &len, NULL) == 0)
        mv_conn_send(c, buf, len);
}

void mv_events_register(mv_conn *c, uint32_t serial, uint64_t resume_seq,
                        const Modvirt__EventRegisterArgs *a)
{
    mv_events *ev = c->d->events;
    mv_error err = MV_ERROR_INIT;
    mv_evreg *r = NULL;

    for (mv_evreg *o = c->evregs; o; o = o->next) {
        if (o->callback_id == a->callback_id) {
            mv_error_set(&err, VIR_ERR_INVALID_ARG, VIR_FROM_RPC,
                         "callback %d is already registered on this connection", a->callback_id);
            goto fail;
        }
    }
    r = calloc(1, sizeof(*r));
    if (!r || !ev) {
        mv_error_set(&err, VIR_ERR_NO_MEMORY, VIR_FROM_RPC, "event registration");
        goto fail;
    }
    r->callback_id = a->callback_id;
    r->event_id = a->event_id;
    if (a->dom) {
        r->has_dom = true;
        r->name = strdup(a->dom->name ? a->dom->name : "");
        if (!r->name) {
            mv_error_set(&err, VIR_ERR_NO_MEMORY, VIR_FROM_RPC, "event registration");
            goto fail;
        }
        if (a->dom->uuid.len == 16)
            memcpy(r->uuid, a->dom->uuid.data, 16);
    }

    pthread_mutex_lock(&ev->lock);
    mv_backlog *b = &ev->backlog;
    uint64_t lost_first = 0, lost_last = 0;
    size_t idx = b->count;
    if (resume_seq)
        mv_backlog_since(b, resume_seq, &lost_first, &lost_last, &idx);
    if (resume_seq > b->last)
        mv_backlog_skip_to(b, resume_seq);
    r->from_seq = b->last;
    reply_seq(c, serial, MV_PROC_CONNECT_DOMAIN_EVENT_REGISTER_ANY, b->last);
    if (lost_first)
        send_lost(c, r->callback_id, lost_first, lost_last);
    for (size_t i = idx; i < b->count; i++) {
        const mv_evrec *e = mv_backlog_at(b, i);
        mv_evreg probe = *r;
        probe.from_seq = 0;
        if (reg_matches(&probe, e->event_id, e->seq, e->name, e->uuid))
            send_event(c, e->proc, e->seq, r->callback_id, e->body, e->body_len);
    }
    pthread_mutex_unlock(&ev->lock);
    if (resume_seq)
        MV_DEBUG("client pid %d: callback %d resumed after %llu (lost %llu..%llu)",
                 (int)c->ident.pid, r->callback_id, (unsigned long long)resume_seq,
                 (unsigned long long)lost_first, (unsigned long long)lost_last);
    r->next = c->evregs;
    c->evregs = r;
    return;

fail:
    reg_free(r);
    mv_conn_send_error(c, serial, MV_PROC_CONNECT_DOMAIN_EVENT_REGISTER_ANY, &err);
    mv_error_clear(&err);
}

void mv_events_deregister(mv_conn *c, uint32_t serial, const Modvirt__EventDeregisterArgs *a)
{
    for (mv_evreg **pp = &c->evregs; *pp; pp = &(*pp)->next) {
        if ((*pp)->callback_id == a->callback_id) {
            mv_evreg *r = *pp;
            *pp = r->next;
            reg_free(r);
            reply_seq(c, serial, MV_PROC_CONNECT_DOMAIN_EVENT_DEREGISTER_ANY, 0);
            return;
        }
    }
    mv_error err = MV_ERROR_INIT;
    mv_error_set(&err, VIR_ERR_INVALID_ARG, VIR_FROM_RPC,
                 "no callback %d is registered on this connection", a->callback_id);
    mv_conn_send_error(c, serial, MV_PROC_CONNECT_DOMAIN_EVENT_DEREGISTER_ANY, &err);
    mv_error_clear(&err);
}
