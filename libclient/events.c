/* events.c: domain event registrations of a connection, and their delivery — frames
 * arrive on the reader thread, are queued, and run the application's callbacks from the
 * event loop (a watch on a pipe the reader writes to), as libvirt runs them. */
#include "libclient/client.h"
#include "common/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct cbent {
    int id; /* our callback id, also the wire's */
    int event_id;
    virConnectDomainEventGenericCallback cb;
    virConnectDomainEventCallback old_cb; /* set by virConnectDomainEventRegister */
    void *opaque;
    virFreeCallback ff;
    virConnectPtr conn; /* a reference while registered (as libvirt holds one) */
    int refs;           /* the list's, plus one per dispatch running */
    struct cbent *next;
} cbent;

typedef struct qev {
    uint32_t proc;
    uint8_t *body;
    size_t len;
    struct qev *next;
} qev;

struct mvc_events {
    pthread_mutex_t lock;
    int refs; /* the connection's and the watch's */
    cbent *cbs;
    int next_id;
    qev *head, *tail;
    int pipe[2];
    int watch;
    uint64_t last_seq; /* the highest event number seen */
    mvc_stream_list streams;
    modvirtConnectEventsLostCallback lost_cb; /* with the two below, under lock */
    void *lost_opaque;
    virFreeCallback lost_free;
};

static void events_unref(void *opaque)
{
    mvc_events *ev = opaque;
    if (__atomic_sub_fetch(&ev->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    while (ev->head) {
        qev *q = ev->head;
        ev->head = q->next;
        free(q->body);
        free(q);
    }
    if (ev->lost_free)
        ev->lost_free(ev->lost_opaque);
    if (ev->pipe[0] >= 0)
        close(ev->pipe[0]);
    if (ev->pipe[1] >= 0)
        close(ev->pipe[1]);
    pthread_mutex_destroy(&ev->lock);
    free(ev);
}

mvc_events *mvc_events_new(mv_error *err)
{
    mvc_events *ev = calloc(1, sizeof(*ev));
    if (!ev) {
        mv_error_set(err, VIR_ERR_NO_MEMORY, VIR_FROM_EVENT, "connection events");
        return NULL;
    }
    pthread_mutex_init(&ev->lock, NULL);
    ev->refs = 1;
    ev->next_id = 1;
    ev->pipe[0] = ev->pipe[1] = -1;
    ev->watch = -1;
    return ev;
}

void mvc_events_free(mvc_events *ev)
{
    if (!ev)
        return;
    pthread_mutex_lock(&ev->lock);
    int watch = ev->watch;
    ev->watch = -1;
    pthread_mutex_unlock(&ev->lock);
    if (watch >= 0)
        virEventRemoveHandle(watch); /* its free function drops the watch's reference */
    events_unref(ev);
}

mvc_stream_list *mvc_events_streams(mvc_events *ev)
{
    return &ev->streams;
}

void mvc_events_lock(mvc_events *ev)
{
    pthread_mutex_lock(&ev->lock);
}

void mvc_events_unlock(mvc_events *ev)
{
    pthread_mutex_unlock(&ev->lock);
}

int mvc_events_timedwait(mvc_events *ev, pthread_cond_t *cond, const struct timespec *until)
{
    return pthread_cond_timedwait(cond, &ev->lock, until);
}

/* Wakes the loop's watch (any thread; lock held or not). */
void mvc_events_kick(mvc_events *ev)
{
    if (ev->pipe[1] >= 0) {
        char c = 0;
        ssize_t r = write(ev->pipe[1], &c, 1);
        (void)r; /* a full pipe is awake already */
    }
}

/* Drops a reference with the lock held; true when the caller must finish it with
 * cb_finish() after unlocking (the free callback and the connection's release may not
 * run under our lock: the last connection reference takes it to free us). */
static bool cb_drop_locked(cbent *c)
{
    return --c->refs == 0;
}

static void cb_finish(cbent *c)
{
    if (c->ff)
        c->ff(c->opaque);
    mvc_conn_unref(c->conn);
    free(c);
}

/* CONNECT_EVENTS_LOST: libvirt has no callback for it; modvirt's extension does. */
static void run_lost(mvc_events *ev, qev *q)
{
    Modvirt__EventsLostMsg *m = (Modvirt__EventsLostMsg *)mv_body_unpack(
        &modvirt__events_lost_msg__descriptor, q->body, q->len, NULL);
    if (!m)
        return;
    pthread_mutex_lock(&ev->lock);
    modvirtConnectEventsLostCallback cb = ev->lost_cb;
    void *opaque = ev->lost_opaque;
    virConnectPtr conn = NULL;
    int id = m->callback_id;
    for (cbent *c = ev->cbs; c; c = c->next) {
        if (c->id == m->callback_id) {
            conn = c->conn;
            if (c->old_cb)
                id = -1;
            break;
        }
    }
    pthread_mutex_unlock(&ev->lock);
    /* a registration gone meanwhile has no one left to tell */
    if (cb && conn)
        cb(conn, id, (unsigned long long)m->first_seq, (unsigned long long)m->last_seq, opaque);
    protobuf_c_message_free_unpacked(&m->base, NULL);
}

/* ---- each event's callback type (proto/domain_events.def) ---- */

/* Field n of an event message, found through its descriptor: every event body starts
 * with callback_id (1) and the domain (2), whatever comes after them. */
static const void *msg_field(const ProtobufCMessage *m, unsigned int n)
{
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(m->descriptor, n);
    return f ? (const char *)m + f->offset : NULL;
}

/* Runs one registration's callback with an event's own values; cb is the pointer the
 * application registered, of the type libvirt gives that event id. */
typedef void (*run_fn)(virConnectDomainEventGenericCallback cb, virConnectPtr conn,
                       virDomainPtr dom, const ProtobufCMessage *m, void *opaque);
#define CALLBACK_AS(type, cb) ((type)(void (*)(void))(cb))

static void run_domain_event_reboot(virConnectDomainEventGenericCallback cb, virConnectPtr conn,
                                    virDomainPtr dom, const ProtobufCMessage *m, void *opaque)
{
    (void)m;
    cb(conn, dom, opaque);
}

static void run_domain_event_rtc_change(virConnectDomainEventGenericCallback cb,
                                        virConnectPtr conn, virDomainPtr dom,
                                        const ProtobufCMessage *m, void *opaque)
{
    const Modvirt__DomainEventRtcChangeMsg *e = (const Modvirt__DomainEventRtcChangeMsg *)m;
    CALLBACK_AS(virConnectDomainEventRTCChangeCallback, cb)(conn, dom, (long long)e->utc_offset,
                                                             opaque);
}

static void run_domain_event_watchdog(virConnectDomainEventGenericCallback cb, virConnectPtr conn,
                                      virDomainPtr dom, const ProtobufCMessage *m, void *opaque)
{
    const Modvirt__DomainEventWatchdogMsg *e = (const Modvirt__DomainEventWatchdogMsg *)m;
    CALLBACK_AS(virConnectDomainEventWatchdogCallback, cb)(conn, dom, e->action, opaque);
}

static void run_domain_event_balloon_change(virConnectDomainEventGenericCallback cb,
                                            virConnectPtr conn, virDomainPtr dom,
                                            const ProtobufCMessage *m, void *opaque)
{
    const Modvirt__DomainEventBalloonChangeMsg *e = (const Modvirt__DomainEventBalloonChangeMsg *)m;
    CALLBACK_AS(virConnectDomainEventBalloonChangeCallback, cb)(
        conn, dom, (unsigned long long)e->actual, opaque);
}

typedef struct event_kind {
    uint32_t proc;
    int event_id;
    const ProtobufCMessageDescriptor *msg;
    run_fn run;
} event_kind;

static const event_kind event_kinds[] = {
#define DOMAIN_EVENT(num, NAME, name, Msg, msg, ID)                                            \
    {num, VIR_DOMAIN_EVENT_ID_##ID, &modvirt__##msg##__descriptor, run_##name},
#include "proto/domain_events.def"
#undef DOMAIN_EVENT
};

static const event_kind *event_kind_of(uint32_t proc)
{
    for (size_t i = 0; i < sizeof(event_kinds) / sizeof(event_kinds[0]); i++)
        if (event_kinds[i].proc == proc)
            return &event_kinds[i];
    return NULL;
}

/* Runs one queued event (loop thread, lock not held). */
static void run_event(virConnectPtr conn, mvc_events *ev, qev *q)
{
    mv_error err = MV_ERROR_INIT;
    ProtobufCMessage *m = NULL;
    const ProtobufCMessageDescriptor *desc = &modvirt__domain_event_lifecycle_msg__descriptor;
    const event_kind *kind = NULL;
    const int32_t *callback_id;
    Modvirt__Domain *const *wdom;
    virDomainPtr dom = NULL;
    cbent *c = NULL;

    if (q->proc == MV_PROC_CONNECT_EVENTS_LOST) {
        run_lost(ev, q);
        goto cleanup;
    }
    if (q->proc != MV_PROC_DOMAIN_EVENT_LIFECYCLE) {
        if (!(kind = event_kind_of(q->proc)))
            goto cleanup; /* not an event this library knows */
        desc = kind->msg;
    }
    if (!(m = mv_body_unpack(desc, q->body, q->len, &err)))
        goto cleanup;
    callback_id = msg_field(m, 1);
    wdom = msg_field(m, 2);
    if (!callback_id || !wdom || !*wdom)
        goto cleanup;
    pthread_mutex_lock(&ev->lock);
    for (c = ev->cbs; c && c->id != *callback_id; c = c->next)
        ;
    /* only the kind of event it registered for: its callback has that event's type */
    if (c && c->event_id != (kind ? kind->event_id : VIR_DOMAIN_EVENT_ID_LIFECYCLE))
        c = NULL;
    if (c)
        c->refs++;
    pthread_mutex_unlock(&ev->lock);
    if (!c)
        goto cleanup; /* deregistered meanwhile */
    dom = mvc_domain_new(c->conn, (*wdom)->name, (*wdom)->uuid.data, (*wdom)->uuid.len,
                         (*wdom)->id, &err);
    if (dom) {
        const Modvirt__DomainEventLifecycleMsg *l = (const Modvirt__DomainEventLifecycleMsg *)m;
        if (kind)
            kind->run(c->cb, c->conn, dom, m, c->opaque);
        else if (c->old_cb)
            c->old_cb(c->conn, dom, l->event, l->detail, c->opaque);
        else
            CALLBACK_AS(virConnectDomainEventCallback, c->cb)(c->conn, dom, l->event, l->detail,
                                                              c->opaque);
        virDomainFree(dom);
    }
    pthread_mutex_lock(&ev->lock);
    bool last = cb_drop_locked(c);
    pthread_mutex_unlock(&ev->lock);
    if (last)
        cb_finish(c);
cleanup:
    (void)conn;
    if (m)
        protobuf_c_message_free_unpacked(m, NULL);
    mv_error_clear(&err);
}

/* The watch: drains the pipe, runs queued events, then the streams' callbacks. */
static void on_wake(int watch, int fd, int events, void *opaque)
{
    mvc_events *ev = opaque;
    char buf[256];
    while (read(fd, buf, sizeof(buf)) > 0)
        ;
    for (;;) {
        pthread_mutex_lock(&ev->lock);
        qev *q = ev->head;
        if (q) {
            ev->head = q->next;
            if (!ev->head)
                ev->tail = NULL;
        }
        pthread_mutex_unlock(&ev->lock);
        if (!q)
            break;
        run_event(NULL, ev, q);
        free(q->body);
        free(q);
    }
    mvc_streams_dispatch(ev);
}

/* Makes sure the pipe and its watch exist (a registered event loop is needed). */
int mvc_events_watch(mvc_events *ev, mv_error *err)
{
    int rc = 0;
    pthread_mutex_lock(&ev->lock);
    if (ev->watch >= 0)
        goto out;
    if (!mvc_event_loop_registered()) {
        mv_error_set(err, VIR_ERR_INTERNAL_ERROR, VIR_FROM_EVENT,
                     "no event loop is registered: call virEventRegisterDefaultImpl first");
        rc = -1;
        goto out;
    }
    if (ev->pipe[0] < 0 && pipe2(ev->pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
        mv_error_set_errno(err, errno, VIR_FROM_EVENT, "cannot create the event pipe");
        rc = -1;
        goto out;
    }
    __atomic_add_fetch(&ev->refs, 1, __ATOMIC_ACQ_REL);
    ev->watch =
        virEventAddHandle(ev->pipe[0], VIR_EVENT_HANDLE_READABLE, on_wake, ev, events_unref);
    if (ev->watch < 0) {
        __atomic_sub_fetch(&ev->refs, 1, __ATOMIC_ACQ_REL);
        mv_error_set(err, VIR_ERR_INTERNAL_ERROR, VIR_FROM_EVENT, "cannot add an event handle");
        rc = -1;
    }
out:
    pthread_mutex_unlock(&ev->lock);
    return rc;
}

/* ---- frames from the reader thread ---- */

static void queue_event(mvc_events *ev, const Modvirt__Envelope *env)
{
    qev *q = calloc(1, sizeof(*q));
    if (!q || !(q->body = malloc(env->body.len + 1))) {
        free(q);
        return;
    }
    if (env->body.len)
        memcpy(q->body, env->body.data, env->body.len);
    q->len = env->body.len;
    q->proc = env->proc;
    pthread_mutex_lock(&ev->lock);
    if (env->seq > ev->last_seq)
        ev->last_seq = env->seq;
    if (ev->tail)
        ev->tail->next = q;
    else
        ev->head = q;
    ev->tail = q;
    mvc_events_kick(ev);
    pthread_mutex_unlock(&ev->lock);
}

void mvc_conn_on_frame(void *opaque, const Modvirt__Envelope *env)
{
    virConnectPtr conn = opaque;
    if (!conn->events)
        return;
    if (env->kind == MODVIRT__FRAME_KIND__FRAME_EVENT)
        queue_event(conn->events, env);
    else if (env->kind == MODVIRT__FRAME_KIND__FRAME_STREAM)
        mvc_streams_frame(conn, env);
}

/* ---- the public API ---- */

static int do_register(virConnectPtr conn, virDomainPtr dom, int event_id,
                       virConnectDomainEventGenericCallback cb, virConnectDomainEventCallback old,
                       void *opaque, virFreeCallback ff, const char *fn)
{
    mv_error err = MV_ERROR_INIT;
    cbent *c = NULL;
    Modvirt__Empty *ret = NULL;
    Modvirt__EventRegisterArgs args = MODVIRT__EVENT_REGISTER_ARGS__INIT;
    Modvirt__Domain wdom = MODVIRT__DOMAIN__INIT;
    mvc_events *ev;

    virResetLastError();
    if (mvc_check_conn(conn, fn, &err) < 0 || (dom && mvc_check_dom(dom, fn, &err) < 0))
        goto fail;
    if (!cb && !old) {
        mvc_check_nonnull(NULL, "cb", fn, &err);
        goto fail;
    }
    if (event_id < 0 || event_id > VIR_DOMAIN_EVENT_ID_MEMORY_DEVICE_SIZE_CHANGE) {
        mv_error_set(&err, VIR_ERR_INVALID_ARG, VIR_FROM_EVENT, "unsupported event ID %d",
                     event_id);
        goto fail;
    }
    ev = conn->events;
    if (mvc_events_watch(ev, &err) < 0)
        goto fail;
    if (!(c = calloc(1, sizeof(*c)))) {
        mv_error_set(&err, VIR_ERR_NO_MEMORY, VIR_FROM_EVENT, "%s", fn);
        goto fail;
    }
    pthread_mutex_lock(&ev->lock);
    if (old) {
        for (cbent *o = ev->cbs; o; o = o->next) {
            if (o->old_cb == old) {
                pthread_mutex_unlock(&ev->lock);
                mv_error_set(&err, VIR_ERR_INVALID_ARG, VIR_FROM_EVENT,
                             "event callback already tracked");
                goto fail;
            }
        }
    }
    c->id = ev->next_id++;
    pthread_mutex_unlock(&ev->lock);
    c->event_id = event_id;
    c->cb = cb;
    c->old_cb = old;
    c->opaque = opaque;
    c->refs = 1;
    args.event_id = event_id;
    args.callback_id = c->id;
    if (dom) {
        wdom.name = dom->name;
        wdom.uuid.data = dom->uuid;
        wdom.uuid.len = VIR_UUID_BUFLEN;
        wdom.id = dom->id;
        args.dom = &wdom;
    }
    /* listed before the call, so that an event right behind the reply finds it */
    mvc_conn_ref(conn);
    c->conn = conn;
    pthread_mutex_lock(&ev->lock);
    c->next = ev->cbs;
    ev->cbs = c;
    pthread_mutex_unlock(&ev->lock);
    if (mvc_call(conn, MV_PROC_CONNECT_DOMAIN_EVENT_REGISTER_ANY, &args, &ret, &err) < 0) {
        pthread_mutex_lock(&ev->lock);
        for (cbent **pp = &ev->cbs; *pp; pp = &(*pp)->next) {
            if (*pp == c) {
                *pp = c->next;
                break;
            }
        }
        bool last = cb_drop_locked(c); /* the caller's free function is not called on failure */
        pthread_mutex_unlock(&ev->lock);
        if (last)
            cb_finish(c);
        c = NULL;
        goto fail;
    }
    c->ff = ff;
    mvc_reply_free(ret);
    return c->id;

fail:
    free(c);
    mvc_dispatch_error(mvc_conn_valid(conn) ? conn : NULL, &err);
    return -1;
}

int virConnectDomainEventRegisterAny(virConnectPtr conn, virDomainPtr dom, int eventID,
                                     virConnectDomainEventGenericCallback cb, void *opaque,
                                     virFreeCallback freecb)
{
    return do_register(conn, dom, eventID, cb, NULL, opaque, freecb,
                       "virConnectDomainEventRegisterAny");
}

int virConnectDomainEventRegister(virConnectPtr conn, virConnectDomainEventCallback cb,
                                  void *opaque, virFreeCallback freecb)
{
    return do_register(conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE, NULL, cb, opaque, freecb,
                       "virConnectDomainEventRegister") < 0
               ? -1
               : 0;
}

/* Removes the callback matching id (or old), then tells the daemon. */
static int do_deregister(virConnectPtr conn, int id, virConnectDomainEventCallback old,
                         const char *fn)
{
    mv_error err = MV_ERROR_INIT;
    Modvirt__EventDeregisterArgs args = MODVIRT__EVENT_DEREGISTER_ARGS__INIT;
    Modvirt__Empty *ret = NULL;
    cbent *c = NULL;

    virResetLastError();
    if (mvc_check_conn(conn, fn, &err) < 0)
        goto fail;
    if (!old && id < 0) {
        mv_error_set(&err, VIR_ERR_INVALID_ARG, VIR_FROM_EVENT, "callback ID %d not found", id);
        goto fail;
    }
    mvc_events *ev = conn->events;
    pthread_mutex_lock(&ev->lock);
    for (cbent **pp = &ev->cbs; *pp; pp = &(*pp)->next) {
        if (old ? (*pp)->old_cb == old : (*pp)->id == id) {
            c = *pp;
            *pp = c->next;
            break;
        }
    }
    pthread_mutex_unlock(&ev->lock);
    if (!c) {
        if (old)
            mv_error_set(&err, VIR_ERR_INVALID_ARG, VIR_FROM_EVENT,
                         "could not find event callback for removal");
        else
            mv_error_set(&err, VIR_ERR_INVALID_ARG, VIR_FROM_EVENT,
                         "could not find event callback %d for deletion", id);
        goto fail;
    }
    args.callback_id = c->id;
    /* the daemon forgetting it is best effort: locally it is gone either way */
    if (mvc_call(conn, MV_PROC_CONNECT_DOMAIN_EVENT_DEREGISTER_ANY, &args, &ret, &err) == 0)
        mvc_reply_free(ret);
    mv_error_clear(&err);
    pthread_mutex_lock(&ev->lock);
    bool last = cb_drop_locked(c);
    pthread_mutex_unlock(&ev->lock);
    if (last)
        cb_finish(c);
    return 0;

fail:
    mvc_dispatch_error(mvc_conn_valid(conn) ? conn : NULL, &err);
    return -1;
}

int virConnectDomainEventDeregisterAny(virConnectPtr conn, int callbackID)
{
    return do_deregister(conn, callbackID, NULL, "virConnectDomainEventDeregisterAny");
}

int virConnectDomainEventDeregister(virConnectPtr conn, virConnectDomainEventCallback cb)
{
    if (!cb) {
        mv_error err = MV_ERROR_INIT;
        virResetLastError();
        mvc_check_nonnull(NULL, "cb", "virConnectDomainEventDeregister", &err);
        mvc_dispatch_error(mvc_conn_valid(conn) ? conn : NULL, &err);
        return -1;
    }
    return do_deregister(conn, -1, cb, "virConnectDomainEventDeregister");
}

int modvirtConnectSetEventsLostCallback(virConnectPtr conn, modvirtConnectEventsLostCallback cb,
                                        void *opaque, virFreeCallback freecb)
{
    mv_error err = MV_ERROR_INIT;
    virResetLastError();
    if (mvc_check_conn(conn, "modvirtConnectSetEventsLostCallback", &err) < 0) {
        mvc_dispatch_error(NULL, &err);
        return -1;
    }
    mvc_events *ev = conn->events;
    pthread_mutex_lock(&ev->lock);
    virFreeCallback old_free = ev->lost_free;
    void *old_opaque = ev->lost_opaque;
    ev->lost_cb = cb;
    ev->lost_opaque = cb ? opaque : NULL;
    ev->lost_free = cb ? freecb : NULL;
    pthread_mutex_unlock(&ev->lock);
    if (old_free)
        old_free(old_opaque);
    return 0;
}
