/* stream.c: virStream — bytes both ways over FRAME_STREAM frames carrying the serial of
 * the call that opened the stream (virDomainOpenConsole). Received data is queued by the
 * reader thread; Recv takes it, blocking or not; callbacks run from the event loop.
 * Flow control (common/stream_window.h): the queue never holds more than the window the
 * daemon may fill, and Recv credits the daemon as the application takes data; Send sends
 * only what the daemon credited, waiting for more (or -2 / a short count when
 * non-blocking), so neither a reader that stops nor a guest that does not read its
 * console makes anything grow or holds back the connection's other calls. */
#include "libclient/client.h"
#include "common/proc.h"
#include "common/stream_window.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MVC_STREAM_MAGIC 0x6d767374u /* "mvst" */
/* Largest piece one frame carries when sending. */
#define STREAM_CHUNK (256u * 1024u)
/* How long Finish waits for the daemon to confirm. */
#define FINISH_WAIT_MS 5000

typedef struct chunk {
    uint8_t *data;
    size_t len, off;
    struct chunk *next;
} chunk;

struct _virStream {
    unsigned int magic;
    int refs; /* under the events lock */
    virConnectPtr conn;
    unsigned int flags;
    uint32_t serial; /* 0 until a call opened it */
    pthread_cond_t cond;
    chunk *head, *tail;
    bool peer_finished, peer_aborted;
    mv_error peer_err;
    bool local_done;      /* we sent FINISH or ABORT */
    bool must_abort;      /* the daemon broke the protocol: tell it when closing */
    mv_stream_window win; /* under the events lock */
    virStreamEventCallback cb;
    void *cb_opaque;
    virFreeCallback cb_ff;
    int cb_events;
    virStreamPtr next; /* in the connection's list */
};

static bool stream_valid(virStreamPtr st)
{
    return st && st->magic == MVC_STREAM_MAGIC && mvc_conn_valid(st->conn);
}

static int check_stream(virStreamPtr st, const char *fn, mv_error *err)
{
    if (stream_valid(st))
        return 0;
    mv_error_set(err, VIR_ERR_INVALID_STREAM, VIR_FROM_STREAMS, "invalid stream pointer in %s", fn);
    return -1;
}

static void fail(virStreamPtr st, mv_error *err)
{
    mvc_dispatch_error(st && stream_valid(st) ? st->conn : NULL, err);
}

virStreamPtr virStreamNew(virConnectPtr conn, unsigned int flags)
{
    mv_error err = MV_ERROR_INIT;
    virStreamPtr st = NULL;
    virResetLastError();
    if (mvc_check_conn(conn, "virStreamNew", &err) < 0)
        goto fail;
    if (flags & ~VIR_STREAM_NONBLOCK) {
        mv_error_set(&err, VIR_ERR_INVALID_ARG, VIR_FROM_STREAMS,
                     "unsupported flags (0x%x) in function virStreamNew",
                     flags & ~VIR_STREAM_NONBLOCK);
        goto fail;
    }
    if (!(st = calloc(1, sizeof(*st)))) {
        mv_error_set(&err, VIR_ERR_NO_MEMORY, VIR_FROM_STREAMS, "virStreamNew");
        goto fail;
    }
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&st->cond, &attr);
    pthread_condattr_destroy(&attr);
    st->magic = MVC_STREAM_MAGIC;
    st->refs = 1;
    st->flags = flags;
    st->peer_err = (mv_error)MV_ERROR_INIT;
    mv_stream_window_init(&st->win);
    mvc_conn_ref(conn);
    st->conn = conn;
    mvc_events_lock(conn->events);
    mvc_stream_list *l = mvc_events_streams(conn->events);
    st->next = l->head;
    l->head = st;
    mvc_events_unlock(conn->events);
    return st;
fail:
    mvc_dispatch_error(mvc_conn_valid(conn) ? conn : NULL, &err);
    return NULL;
}

int virStreamRef(virStreamPtr st)
{
    mv_error err = MV_ERROR_INIT;
    virResetLastError();
    if (check_stream(st, "virStreamRef", &err) < 0) {
        fail(NULL, &err);
        return -1;
    }
    mvc_events_lock(st->conn->events);
    st->refs++;
    mvc_events_unlock(st->conn->events);
    return 0;
}

/* Sends a FINISH or ABORT (or data) frame for the stream. */
static int send_frame(virStreamPtr st, Modvirt__StreamStatus status, const char *data, size_t len,
                      mv_error *err)
{
    mv_frame_spec spec = {.serial = st->serial,
                          .kind = MODVIRT__FRAME_KIND__FRAME_STREAM,
                          .proc = MV_PROC_DOMAIN_OPEN_CONSOLE,
                          .stream_status = status,
                          .raw_body = (const uint8_t *)data,
                          .raw_body_len = len};
    return mvc_rpc_send(st->conn->rpc, &spec, err);
}

/* Unlinks and frees a stream whose last reference went (events lock held; the caller
 * drops the connection reference and runs the free callback after unlocking). */
static void stream_unlink_locked(virStreamPtr st)
{
    mvc_stream_list *l = mvc_events_streams(st->conn->events);
    for (virStreamPtr *pp = &l->head; *pp; pp = &(*pp)->next) {
        if (*pp == st) {
            *pp = st->next;
            break;
        }
    }
    while (st->head) {
        chunk *c = st->head;
        st->head = c->next;
        free(c->data);
        free(c);
    }
}

static void stream_unref(virStreamPtr st)
{
    mvc_events *ev = st->conn->events;
    mvc_events_lock(ev);
    if (--st->refs > 0) {
        mvc_events_unlock(ev);
        return;
    }
    bool open = st->serial && !st->local_done &&
                (st->must_abort || (!st->peer_finished && !st->peer_aborted));
    stream_unlink_locked(st);
    mvc_events_unlock(ev);
    if (open) {
        mv_error ignored = MV_ERROR_INIT;
        send_frame(st, MODVIRT__STREAM_STATUS__STREAM_ABORT, NULL, 0, &ignored);
        mv_error_clear(&ignored);
    }
    if (st->cb_ff)
        st->cb_ff(st->cb_opaque);
    mv_error_clear(&st->peer_err);
    pthread_cond_destroy(&st->cond);
    st->magic = 0;
    virConnectPtr conn = st->conn;
    free(st);
    mvc_conn_unref(conn);
}

int virStreamFree(virStreamPtr st)
{
    mv_error err = MV_ERROR_INIT;
    virResetLastError();
    if (check_stream(st, "virStreamFree", &err) < 0) {
        fail(NULL, &err);
        return -1;
    }
    stream_unref(st);
    return 0;
}

static int check_open(virStreamPtr st, const char *fn, mv_error *err)
{
    if (check_stream(st, fn, err) < 0)
        return -1;
    if (!st->serial) {
        mv_error_set(err, VIR_ERR_OPERATION_INVALID, VIR_FROM_STREAMS, "%s: the stream is not open",
                     fn);
        return -1;
    }
    return 0;
}

/* Whether data may still move on the stream (events lock held). */
static bool open_locked(virStreamPtr st)
{
    return !st->local_done && !st->peer_finished && !st->peer_aborted;
}

/* Waits on the stream's condition until `until` (200 ms from now when NULL); ETIMEDOUT
 * or 0. Events lock held. */
static int wait_locked(virStreamPtr st, const struct timespec *until)
{
    struct timespec t;
    if (!until) {
        clock_gettime(CLOCK_MONOTONIC, &t);
        t.tv_nsec += 200 * 1000000L;
        if (t.tv_nsec >= 1000000000L) {
            t.tv_sec++;
            t.tv_nsec -= 1000000000L;
        }
        until = &t;
    }
    return mvc_events_timedwait(st->conn->events, &st->cond, until);
}

/* Why nothing more can be sent (events lock held): the daemon's abort, or closed. */
static void closed_error_locked(virStreamPtr st, mv_error *err)
{
    if (st->peer_aborted && mv_error_is_set(&st->peer_err))
        mv_error_set_raw(err, st->peer_err.code, st->peer_err.domain, st->peer_err.message);
    else
        mv_error_set(err, VIR_ERR_OPERATION_INVALID, VIR_FROM_STREAMS, "the stream is closed");
}

/* How much of `want` bytes may be sent now, waiting for the daemon's credit unless the
 * stream is non-blocking: > 0, 0 (non-blocking and no credit), or -1 + err. The bytes
 * are counted as sent. */
static ssize_t take_send_room(virStreamPtr st, size_t want, mv_error *err)
{
    mvc_events *ev = st->conn->events;
    ssize_t room = -1;
    mvc_events_lock(ev);
    for (;;) {
        /* after the daemon's FINISH nothing reaches the guest any more (and no credit
         * would ever come) */
        if (!open_locked(st)) {
            closed_error_locked(st, err);
            break;
        }
        if (!mvc_rpc_is_alive(st->conn->rpc)) {
            mv_error_set(err, VIR_ERR_RPC, VIR_FROM_STREAMS,
                         "the connection carrying the stream was lost");
            break;
        }
        if (st->win.can_send) {
            room = (ssize_t)(want < st->win.can_send ? want : st->win.can_send);
            mv_stream_window_sent(&st->win, (size_t)room);
            break;
        }
        if (st->flags & VIR_STREAM_NONBLOCK) {
            room = 0;
            break;
        }
        wait_locked(st, NULL);
    }
    mvc_events_unlock(ev);
    return room;
}

int virStreamSend(virStreamPtr st, const char *data, size_t nbytes)
{
    mv_error err = MV_ERROR_INIT;
    virResetLastError();
    if (check_open(st, "virStreamSend", &err) < 0 ||
        mvc_check_nonnull(data, "data", "virStreamSend", &err) < 0)
        goto fail;
    if (nbytes > INT_MAX)
        nbytes = INT_MAX;
    size_t off = 0;
    do {
        size_t want = nbytes - off > STREAM_CHUNK ? STREAM_CHUNK : nbytes - off;
        ssize_t n = take_send_room(st, want, &err);
        if (n < 0)
            goto fail;
        if (n == 0) /* non-blocking, the daemon has not credited more yet */
            return off ? (int)off : -2;
        if (send_frame(st, MODVIRT__STREAM_STATUS__STREAM_CONTINUE, data + off, (size_t)n, &err) <
            0)
            goto fail;
        off += (size_t)n;
    } while (off < nbytes);
    return (int)nbytes;
fail:
    fail(st, &err);
    return -1;
}

int virStreamRecv(virStreamPtr st, char *data, size_t nbytes)
{
    mv_error err = MV_ERROR_INIT;
    int got = -1;
    uint64_t credit = 0;
    virResetLastError();
    if (check_open(st, "virStreamRecv", &err) < 0 ||
        mvc_check_nonnull(data, "data", "virStreamRecv", &err) < 0)
        goto fail;
    if (nbytes > INT_MAX)
        nbytes = INT_MAX;
    mvc_events *ev = st->conn->events;
    mvc_events_lock(ev);
    while (!st->head && !st->peer_finished && !st->peer_aborted) {
        if (st->flags & VIR_STREAM_NONBLOCK) {
            mvc_events_unlock(ev);
            return -2;
        }
        if (!mvc_rpc_is_alive(st->conn->rpc)) {
            mvc_events_unlock(ev);
            mv_error_set(&err, VIR_ERR_RPC, VIR_FROM_STREAMS,
                         "the connection carrying the stream was lost");
            goto fail;
        }
        wait_locked(st, NULL);
    }
    got = 0;
    while (st->head && (size_t)got < nbytes) {
        chunk *c = st->head;
        size_t n = c->len - c->off;
        if (n > nbytes - (size_t)got)
            n = nbytes - (size_t)got;
        memcpy(data + got, c->data + c->off, n);
        got += (int)n;
        c->off += n;
        if (c->off == c->len) {
            st->head = c->next;
            if (!st->head)
                st->tail = NULL;
            free(c->data);
            free(c);
        }
    }
    if (got == 0 && st->peer_aborted) {
        closed_error_locked(st, &err);
        mvc_events_unlock(ev);
        goto fail;
    }
    credit = mv_stream_window_took(&st->win, (size_t)got);
    bool more = open_locked(st);
    mvc_events_unlock(ev);
    /* the daemon may send as much again as was taken out of the queue */
    if (credit && more) {
        mv_frame_spec spec;
        Modvirt__StreamCredit msg;
        mv_error ignored = MV_ERROR_INIT;
        mv_stream_credit_spec(&spec, &msg, st->serial, MV_PROC_DOMAIN_OPEN_CONSOLE, credit);
        mvc_rpc_send(st->conn->rpc, &spec, &ignored);
        mv_error_clear(&ignored); /* a lost connection shows at the next call */
    }
    return got;
fail:
    fail(st, &err);
    return -1;
}

static int close_stream(virStreamPtr st, bool finish, const char *fn)
{
    mv_error err = MV_ERROR_INIT;
    virResetLastError();
    if (check_open(st, fn, &err) < 0)
        goto fail;
    mvc_events *ev = st->conn->events;
    mvc_events_lock(ev);
    bool already = st->local_done;
    st->local_done = true;
    bool peer_gone = (st->peer_finished || st->peer_aborted) && !st->must_abort;
    bool must_abort = st->must_abort;
    mvc_events_unlock(ev);
    if (already) {
        mv_error_set(&err, VIR_ERR_OPERATION_INVALID, VIR_FROM_STREAMS, "the stream is closed");
        goto fail;
    }
    if (!peer_gone && send_frame(st,
                                 finish && !must_abort ? MODVIRT__STREAM_STATUS__STREAM_FINISH
                                                       : MODVIRT__STREAM_STATUS__STREAM_ABORT,
                                 NULL, 0, &err) < 0)
        goto fail;
    if (!finish)
        return 0;
    /* Finish: wait (bounded) for the daemon's own end of the stream */
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += FINISH_WAIT_MS / 1000;
    mvc_events_lock(ev);
    while (!st->peer_finished && !st->peer_aborted && mvc_rpc_is_alive(st->conn->rpc)) {
        if (wait_locked(st, &until) == ETIMEDOUT)
            break;
    }
    if (st->peer_aborted && mv_error_is_set(&st->peer_err))
        mv_error_set_raw(&err, st->peer_err.code, st->peer_err.domain, st->peer_err.message);
    mvc_events_unlock(ev);
    if (mv_error_is_set(&err))
        goto fail;
    return 0;
fail:
    fail(st, &err);
    return -1;
}

int virStreamFinish(virStreamPtr st)
{
    return close_stream(st, true, "virStreamFinish");
}

int virStreamAbort(virStreamPtr st)
{
    return close_stream(st, false, "virStreamAbort");
}

/* ---- event callbacks ---- */

int virStreamEventAddCallback(virStreamPtr st, int events, virStreamEventCallback cb, void *opaque,
                              virFreeCallback ff)
{
    mv_error err = MV_ERROR_INIT;
    virResetLastError();
    if (check_stream(st, "virStreamEventAddCallback", &err) < 0 ||
        mvc_check_nonnull((const void *)cb, "cb", "virStreamEventAddCallback", &err) < 0)
        goto fail;
    if (mvc_events_watch(st->conn->events, &err) < 0)
        goto fail;
    mvc_events_lock(st->conn->events);
    if (st->cb) {
        mvc_events_unlock(st->conn->events);
        mv_error_set(&err, VIR_ERR_INTERNAL_ERROR, VIR_FROM_STREAMS,
                     "multiple stream callbacks not supported");
        goto fail;
    }
    st->cb = cb;
    st->cb_opaque = opaque;
    st->cb_ff = ff;
    st->cb_events = events;
    mvc_events_kick(st->conn->events);
    mvc_events_unlock(st->conn->events);
    return 0;
fail:
    fail(st, &err);
    return -1;
}

int virStreamEventUpdateCallback(virStreamPtr st, int events)
{
    mv_error err = MV_ERROR_INIT;
    virResetLastError();
    if (check_stream(st, "virStreamEventUpdateCallback", &err) < 0)
        goto fail;
    mvc_events_lock(st->conn->events);
    bool has = st->cb != NULL;
    st->cb_events = events;
    mvc_events_kick(st->conn->events);
    mvc_events_unlock(st->conn->events);
    if (!has) {
        mv_error_set(&err, VIR_ERR_INTERNAL_ERROR, VIR_FROM_STREAMS,
                     "no stream callback registered");
        goto fail;
    }
    return 0;
fail:
    fail(st, &err);
    return -1;
}

int virStreamEventRemoveCallback(virStreamPtr st)
{
    mv_error err = MV_ERROR_INIT;
    virResetLastError();
    if (check_stream(st, "virStreamEventRemoveCallback", &err) < 0)
        goto fail;
    mvc_events_lock(st->conn->events);
    bool has = st->cb != NULL;
    virFreeCallback ff = st->cb_ff;
    void *op = st->cb_opaque;
    st->cb = NULL;
    st->cb_ff = NULL;
    st->cb_opaque = NULL;
    st->cb_events = 0;
    mvc_events_unlock(st->conn->events);
    if (!has) {
        mv_error_set(&err, VIR_ERR_INTERNAL_ERROR, VIR_FROM_STREAMS,
                     "no stream callback registered");
        goto fail;
    }
    if (ff)
        ff(op);
    return 0;
fail:
    fail(st, &err);
    return -1;
}

/* What a stream's callback should hear about now (events lock held). */
static int ready_locked(virStreamPtr st)
{
    int e = 0;
    if (!st->peer_finished && !st->local_done && !mvc_rpc_is_alive(st->conn->rpc))
        e |= VIR_STREAM_EVENT_ERROR | VIR_STREAM_EVENT_HANGUP;
    if (st->head || st->peer_finished)
        e |= VIR_STREAM_EVENT_READABLE;
    if (!st->local_done && !st->peer_aborted && st->win.can_send)
        e |= VIR_STREAM_EVENT_WRITABLE;
    if (st->peer_aborted)
        e |= VIR_STREAM_EVENT_ERROR;
    if (st->peer_finished)
        e |= VIR_STREAM_EVENT_HANGUP;
    return e;
}

void mvc_streams_dispatch(mvc_events *ev)
{
    virStreamPtr due[64];
    int what[64];
    size_t n = 0;
    mvc_events_lock(ev);
    for (virStreamPtr st = mvc_events_streams(ev)->head; st && n < 64; st = st->next) {
        if (!st->cb || !__atomic_load_n(&st->serial, __ATOMIC_ACQUIRE))
            continue;
        int e =
            ready_locked(st) & (st->cb_events | VIR_STREAM_EVENT_ERROR | VIR_STREAM_EVENT_HANGUP);
        if (!e)
            continue;
        st->refs++;
        due[n] = st;
        what[n++] = e;
    }
    mvc_events_unlock(ev);
    for (size_t i = 0; i < n; i++) {
        virStreamPtr st = due[i];
        mvc_events_lock(ev);
        virStreamEventCallback cb = st->cb;
        void *op = st->cb_opaque;
        int mask = st->cb_events | VIR_STREAM_EVENT_ERROR | VIR_STREAM_EVENT_HANGUP;
        mvc_events_unlock(ev);
        if (cb && (what[i] & mask))
            cb(st, what[i] & mask, op);
        /* level-triggered, as libvirt's: unread data, or credit not yet used, wakes again */
        mvc_events_lock(ev);
        if (st->cb && (((st->cb_events & VIR_STREAM_EVENT_READABLE) && st->head) ||
                       (st->cb_events & ready_locked(st) & VIR_STREAM_EVENT_WRITABLE)))
            mvc_events_kick(ev);
        mvc_events_unlock(ev);
        stream_unref(st);
    }
}

/* ---- frames from the reader thread ---- */

/* The daemon broke the stream's protocol: the stream fails, and the daemon is told when
 * the application closes it (events lock held). */
/* Fails the stream from our side: Recv/Send report err's code and message, and the
 * daemon is told to abort. */
static void fail_locked(virStreamPtr st, int code, const char *message)
{
    st->peer_aborted = true;
    st->must_abort = true;
    mv_error_set(&st->peer_err, code, VIR_FROM_STREAMS, "%s", message);
}

static void protocol_error_locked(virStreamPtr st, const char *what)
{
    char message[128];
    snprintf(message, sizeof(message), "the daemon %s", what);
    fail_locked(st, VIR_ERR_RPC, message);
}

void mvc_streams_frame(virConnectPtr conn, const Modvirt__Envelope *env)
{
    mvc_events *ev = conn->events;
    mvc_events_lock(ev);
    virStreamPtr st = mvc_events_streams(ev)->head;
    while (st && __atomic_load_n(&st->serial, __ATOMIC_ACQUIRE) != env->serial)
        st = st->next;
    if (!st || st->peer_finished || st->peer_aborted)
        goto out; /* a stream we already closed: its late data is dropped */
    switch (env->stream_status) {
    case MODVIRT__STREAM_STATUS__STREAM_CONTINUE: {
        if (!env->body.len)
            break;
        if (mv_stream_window_arrived(&st->win, env->body.len) < 0) {
            protocol_error_locked(st, "sent more than the stream's window");
            break;
        }
        chunk *c = calloc(1, sizeof(*c));
        if (!c || !(c->data = malloc(env->body.len))) {
            /* Dropping the data silently would lose output and the window's credit
             * with it: the stream fails, and Recv says why. */
            free(c);
            fail_locked(st, VIR_ERR_NO_MEMORY, "cannot keep the stream's data");
            break;
        }
        memcpy(c->data, env->body.data, env->body.len);
        c->len = env->body.len;
        if (st->tail)
            st->tail->next = c;
        else
            st->head = c;
        st->tail = c;
        break;
    }
    case MODVIRT__STREAM_STATUS__STREAM_CREDIT: {
        uint64_t bytes = 0;
        mv_error err = MV_ERROR_INIT;
        if (mv_stream_credit_parse(env, &bytes, &err) < 0 ||
            mv_stream_window_credited(&st->win, bytes) < 0)
            protocol_error_locked(st, "credited data it was never sent");
        mv_error_clear(&err);
        break;
    }
    case MODVIRT__STREAM_STATUS__STREAM_FINISH:
        st->peer_finished = true;
        break;
    default:
        st->peer_aborted = true;
        if (env->error)
            mv_error_from_wire(&st->peer_err, env->error);
        break;
    }
    pthread_cond_broadcast(&st->cond);
    if (st->cb)
        mvc_events_kick(ev);
out:
    mvc_events_unlock(ev);
}

/* ---- virDomainOpenConsole ---- */

/* Called under the rpc's lock: taking the events lock here would order the two locks
 * against Recv (events, then the rpc's), so the serial is published atomically instead. */
static void set_serial(void *opaque, uint32_t serial)
{
    virStreamPtr st = opaque;
    __atomic_store_n(&st->serial, serial, __ATOMIC_RELEASE);
}

int virDomainOpenConsole(virDomainPtr dom, const char *dev_name, virStreamPtr st,
                         unsigned int flags)
{
    mv_error err = MV_ERROR_INIT;
    Modvirt__DomainOpenConsoleArgs args = MODVIRT__DOMAIN_OPEN_CONSOLE_ARGS__INIT;
    Modvirt__Domain wdom = MODVIRT__DOMAIN__INIT;
    ProtobufCMessage *ret = NULL;

    virResetLastError();
    if (mvc_check_dom(dom, "virDomainOpenConsole", &err) < 0 ||
        check_stream(st, "virDomainOpenConsole", &err) < 0 ||
        mvc_check_writable(dom->conn, MV_PROC_DOMAIN_OPEN_CONSOLE, "virDomainOpenConsole", &err) <
            0)
        goto fail;
    if (st->conn != dom->conn || st->serial) {
        mv_error_set(&err, VIR_ERR_INVALID_ARG, VIR_FROM_STREAMS,
                     "the stream must be new and of the domain's connection");
        goto fail;
    }
    wdom.name = dom->name;
    wdom.uuid.data = dom->uuid;
    wdom.uuid.len = VIR_UUID_BUFLEN;
    wdom.id = dom->id;
    args.dom = &wdom;
    args.dev_name = (char *)(dev_name ? dev_name : "");
    args.flags = flags;
    if (mvc_rpc_call_ex(dom->conn->rpc, MV_PROC_DOMAIN_OPEN_CONSOLE, &args.base, &ret, set_serial,
                        st, &err) < 0) {
        set_serial(st, 0);
        goto fail;
    }
    protobuf_c_message_free_unpacked(ret, NULL);
    return 0;
fail:
    mvc_dispatch_error(mvc_dom_valid(dom) ? dom->conn : NULL, &err);
    return -1;
}

void mvc_streams_wake(mvc_events *ev)
{
    mvc_events_lock(ev);
    for (virStreamPtr st = mvc_events_streams(ev)->head; st; st = st->next)
        pthread_cond_broadcast(&st->cond);
    mvc_events_kick(ev);
    mvc_events_unlock(ev);
}
