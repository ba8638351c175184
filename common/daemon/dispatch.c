/* dispatch.c: from a call frame to its reply — the access gate, the runtime's own
 * procedures, and the driver's handlers through per-procedure thunks, inline on the loop
 * (LOOP) or on a worker thread (JOB). */
#include "common/daemon/internal.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "common/log.h"
#include "common/uri.h"

/* VIR_CONNECT_RO in virConnectOpenAuth's flags. */
#define CONNECT_FLAG_RO 1u

/* ---- thunks: one per procedure, so every handler is called through its own type ---- */

/* A thunk's answer when the driver left the slot empty. */
#define THUNK_NO_SLOT (-2)

typedef int (*thunk_fn)(const mv_driver *drv, mv_call *call, const ProtobufCMessage *in,
                        ProtobufCMessage *out);

#define PROC(n_, N_, fn_, A_, a_, R_, r_, acc_, rt_, run_)                                         \
    static int thunk_##fn_(const mv_driver *drv, mv_call *call, const ProtobufCMessage *in,        \
                           ProtobufCMessage *out)                                                  \
    {                                                                                              \
        if (!drv->fn_)                                                                             \
            return THUNK_NO_SLOT;                                                                  \
        return drv->fn_(call, (const Modvirt__##A_ *)in, (Modvirt__##R_ *)out);                    \
    }
#include "proto/procedures.def"
#undef PROC

static const thunk_fn thunks[] = {
#define PROC(n_, N_, fn_, A_, a_, R_, r_, acc_, rt_, run_) [n_] = thunk_##fn_,
#include "proto/procedures.def"
#undef PROC
};
#define N_THUNKS (sizeof(thunks) / sizeof(thunks[0]))

/* ---- the gate ---------------------------------------------------------------------------- */

int mv_dispatch_gate(const mv_proc_info *p, bool opened, bool readonly, mv_error *err)
{
    bool before_open = p->num == MV_PROC_CONNECT_KEEPALIVE || p->num == MV_PROC_PROXY_IDENTIFY ||
                       p->num == MV_PROC_CONNECT_OPEN || p->num == MV_PROC_CONNECT_CLOSE;
    if (!opened && !before_open) {
        mv_error_set(err, VIR_ERR_OPERATION_INVALID, VIR_FROM_RPC,
                     "connection not open: %s needs connect_open first", p->name);
        return -1;
    }
    if (opened && p->num == MV_PROC_CONNECT_OPEN) {
        mv_error_set(err, VIR_ERR_OPERATION_INVALID, VIR_FROM_RPC, "connection already open");
        return -1;
    }
    if (opened && p->num == MV_PROC_PROXY_IDENTIFY) {
        mv_error_set(err, VIR_ERR_OPERATION_INVALID, VIR_FROM_RPC,
                     "proxy_identify must come before connect_open");
        return -1;
    }
    if (readonly && p->access == MV_ACCESS_RW) {
        mv_error_set(err, VIR_ERR_OPERATION_DENIED, VIR_FROM_RPC, "read only access prevents %s",
                     p->name);
        return -1;
    }
    return 0;
}

/* ---- calls ------------------------------------------------------------------------------- */

static mv_call *call_new(mv_conn *c, const mv_proc_info *p, uint32_t serial, ProtobufCMessage *args,
                         mv_error *err)
{
    mv_call *call = calloc(1, sizeof(*call));
    ProtobufCMessage *ret = malloc(p->ret->sizeof_message);
    if (!call || !ret) {
        free(call);
        free(ret);
        mv_error_set(err, VIR_ERR_NO_MEMORY, VIR_FROM_RPC, "call %s", p->name);
        return NULL;
    }
    protobuf_c_message_init(p->ret, ret);
    call->conn = c;
    call->proc = p;
    call->serial = serial;
    call->ident = c->ident;
    call->args = args;
    call->ret = ret;
    call->err = (mv_error)MV_ERROR_INIT;
    call->stream_fd = -1;
    return call;
}

static void call_free(mv_call *call)
{
    if (!call)
        return;
    if (call->args)
        protobuf_c_message_free_unpacked(call->args, NULL);
    if (call->ret)
        protobuf_c_message_free_unpacked(call->ret, NULL);
    if (call->stream_fd >= 0)
        close(call->stream_fd); /* a stream that never opened */
    mv_error_clear(&call->err);
    free(call);
}

/* Runs the handler (on whichever thread we are on). */
static void call_invoke(mv_call *call)
{
    const mv_driver *drv = call->conn->d->driver;
    int rc = call->proc->num < N_THUNKS && thunks[call->proc->num]
                 ? thunks[call->proc->num](drv, call, call->args, call->ret)
                 : THUNK_NO_SLOT;
    if (rc == THUNK_NO_SLOT) {
        mv_error_set(&call->err, VIR_ERR_NO_SUPPORT, drv->error_domain, "%s", call->proc->name);
        rc = -1;
    } else if (rc != 0 && !mv_error_is_set(&call->err)) {
        mv_error_set(&call->err, VIR_ERR_INTERNAL_ERROR, drv->error_domain,
                     "%s failed without saying why", call->proc->name);
    }
    call->rc = rc == 0 ? 0 : -1;
}

/* Queues the reply (or the error) for the call. Loop thread. */
static void call_answer(mv_call *call)
{
    mv_conn *c = call->conn;
    mv_error err = MV_ERROR_INIT;
    if (call->rc == 0) {
        mv_frame_spec spec = {.serial = call->serial,
                              .kind = MODVIRT__FRAME_KIND__FRAME_REPLY,
                              .proc = call->proc->num,
                              .body = call->ret};
        uint8_t *buf = NULL;
        size_t len = 0;
        if (mv_frame_build(&spec, &buf, &len, &err) == 0) {
            mv_conn_send(c, buf, len);
            MV_DEBUG("%s serial %u (pid %d): ok", call->proc->name, call->serial,
                     (int)call->ident.pid);
            /* the reply is out first: the stream's frames follow it; a stream that cannot
             * start is aborted at once, so the client is not left waiting on it */
            if (call->stream_fd >= 0) {
                if (mv_stream_open(c, call->serial, call->proc->num, call->stream_fd, &err) == 0)
                    call->stream_fd = -1;
                else
                    mv_conn_send_stream_status(c, call->serial, call->proc->num,
                                               MODVIRT__STREAM_STATUS__STREAM_ABORT, &err);
                mv_error_clear(&err);
            }
            return;
        }
        /* the reply does not fit in a frame: that is the answer */
        mv_error_move(&call->err, &err);
    }
    MV_DEBUG("%s serial %u (pid %d): %s", call->proc->name, call->serial, (int)call->ident.pid,
             call->err.message ? call->err.message : "failed");
    mv_conn_send_error(c, call->serial, call->proc->num, &call->err);
}

static void reply_error(mv_conn *c, uint32_t serial, uint32_t proc, const mv_error *e)
{
    MV_DEBUG("%s serial %u (pid %d): %s", mv_proc_name(proc), serial, (int)c->ident.pid,
             e->message ? e->message : "failed");
    mv_conn_send_error(c, serial, proc, e);
}

/* Answers a procedure the runtime handles itself with an empty reply. */
static void reply_empty(mv_conn *c, uint32_t serial, uint32_t proc)
{
    mv_frame_spec spec = {.serial = serial, .kind = MODVIRT__FRAME_KIND__FRAME_REPLY, .proc = proc};
    uint8_t *buf = NULL;
    size_t len = 0;
    if (mv_frame_build(&spec, &buf, &len, NULL) == 0)
        mv_conn_send(c, buf, len);
}

/* ---- JOB calls: worker threads, a bounded number per connection ---------------------------- */

static void job_work(uv_work_t *w)
{
    call_invoke(w->data);
}

static void job_after(uv_work_t *w, int status);

static void job_start(mv_call *call)
{
    mv_conn *c = call->conn;
    c->running++;
    c->d->jobs++;
    call->work.data = call;
    int rc = uv_queue_work(c->pipe.loop, &call->work, job_work, job_after);
    if (rc < 0) {
        c->running--;
        c->d->jobs--;
        mv_error_set(&call->err, VIR_ERR_INTERNAL_ERROR, VIR_FROM_RPC,
                     "cannot queue %s on a worker thread: %s", call->proc->name, uv_strerror(rc));
        call->rc = -1;
        call_answer(call);
        call_free(call);
        mv_conn_job_done(c);
        mv_conn_unref(c);
    }
}

static void job_after(uv_work_t *w, int status)
{
    mv_call *call = w->data;
    mv_conn *c = call->conn;
    c->running--;
    c->d->jobs--;
    /* A client that went away meanwhile gets nothing; its connection is only kept alive
     * (not open) by our reference. */
    if (!c->closing)
        call_answer(call);
    call_free(call);
    if (!c->closing && c->wait_head && c->running < CONN_MAX_RUNNING) {
        mv_call *next = c->wait_head;
        c->wait_head = next->next;
        if (!c->wait_head)
            c->wait_tail = NULL;
        c->nwaiting--;
        next->next = NULL;
        job_start(next);
    }
    mv_conn_job_done(c);
    mv_conn_unref(c);
}

static void job_submit(mv_call *call)
{
    mv_conn *c = call->conn;
    mv_conn_ref(c);
    if (c->running < CONN_MAX_RUNNING) {
        job_start(call);
        return;
    }
    if (c->wait_tail)
        c->wait_tail->next = call;
    else
        c->wait_head = call;
    c->wait_tail = call;
    c->nwaiting++;
}

void mv_dispatch_drop_waiting(mv_conn *c)
{
    mv_call *call = c->wait_head;
    c->wait_head = c->wait_tail = NULL;
    c->nwaiting = 0;
    while (call) {
        mv_call *next = call->next;
        call_free(call);
        mv_conn_unref(c); /* never the last reference: the handle holds one */
        call = next;
    }
}

/* ---- procedures the runtime answers itself ----------------------------------------------- */

static void do_identify(mv_conn *c, uint32_t serial, const Modvirt__IdentifyArgs *a)
{
    mv_error err = MV_ERROR_INIT;
    uid_t self = geteuid();
    if (c->peer_uid != 0 && c->peer_uid != self) {
        mv_error_set(&err, VIR_ERR_ACCESS_DENIED, VIR_FROM_RPC,
                     "proxy_identify is for virtproxyd only (uid 0 or %u), not uid %u",
                     (unsigned)self, (unsigned)c->peer_uid);
    } else if (c->identified) {
        mv_error_set(&err, VIR_ERR_OPERATION_INVALID, VIR_FROM_RPC,
                     "the caller was already identified");
    }
    if (mv_error_is_set(&err)) {
        reply_error(c, serial, MV_PROC_PROXY_IDENTIFY, &err);
        mv_error_clear(&err);
        return;
    }
    c->ident.uid = a->uid;
    c->ident.gid = a->gid;
    c->ident.pid = a->pid;
    c->ident.readonly = a->readonly;
    c->identified = true;
    reply_empty(c, serial, MV_PROC_PROXY_IDENTIFY);
}

static bool scheme_served(const mv_driver *drv, const char *scheme)
{
    for (const char *const *s = drv->schemes; s && *s; s++) {
        if (strcmp(*s, scheme) == 0)
            return true;
    }
    return false;
}

/* CONNECT_OPEN: the runtime checks the scheme and the read-only flag; the driver does
 * the rest. Takes args. */
static void do_open(mv_conn *c, uint32_t serial, const mv_proc_info *p, ProtobufCMessage *args)
{
    const Modvirt__ConnectOpenArgs *a = (const Modvirt__ConnectOpenArgs *)args;
    const mv_driver *drv = c->d->driver;
    mv_error err = MV_ERROR_INIT;
    mv_uri *uri = NULL;
    mv_call *call = NULL;
    bool was_readonly = c->ident.readonly;

    if (mv_uri_parse(a->uri, &uri, &err) < 0)
        goto fail;
    if (!scheme_served(drv, uri->driver)) {
        mv_error_set(&err, VIR_ERR_NO_CONNECT, drv->error_domain, "'%s': %s serves %s URIs", a->uri,
                     drv->daemon_name, drv->schemes && drv->schemes[0] ? drv->schemes[0] : "no");
        goto fail;
    }
    c->uri = strdup(a->uri);
    if (!c->uri) {
        mv_error_set(&err, VIR_ERR_NO_MEMORY, VIR_FROM_RPC, "connection URI");
        goto fail;
    }
    if (a->flags & CONNECT_FLAG_RO)
        c->ident.readonly = true;
    call = call_new(c, p, serial, args, &err);
    if (!call)
        goto fail;
    args = NULL;
    call_invoke(call);
    if (call->rc == 0) {
        c->opened = true;
        MV_DEBUG("pid %d opened %s%s", (int)c->ident.pid, c->uri,
                 c->ident.readonly ? " read-only" : "");
    } else {
        free(c->uri);
        c->uri = NULL;
        c->ident.readonly = was_readonly;
    }
    call_answer(call);
    goto cleanup;

fail:
    free(c->uri);
    c->uri = NULL;
    c->ident.readonly = was_readonly;
    reply_error(c, serial, p->num, &err);
cleanup:
    call_free(call);
    if (args)
        protobuf_c_message_free_unpacked(args, NULL);
    mv_uri_free(uri);
    mv_error_clear(&err);
}

/* CONNECT_CLOSE: the driver may want to know (an empty slot is fine here), the reply
 * goes out, then the connection closes once everything before it is answered. */
static void do_close(mv_conn *c, uint32_t serial, const mv_proc_info *p, ProtobufCMessage *args)
{
    mv_error err = MV_ERROR_INIT;
    mv_call *call = call_new(c, p, serial, args, &err);
    if (!call) {
        protobuf_c_message_free_unpacked(args, NULL);
        reply_error(c, serial, p->num, &err);
        mv_error_clear(&err);
    } else {
        if (c->opened && c->d->driver->connect_close)
            call_invoke(call);
        call_answer(call);
        call_free(call);
    }
    mv_conn_drain(c);
}

/* ---- the entry ----------------------------------------------------------------------------- */

/* Frames a client may send besides calls: stream frames go to their stream by serial;
 * one for no open stream is answered with an abort. */
static void other_kind(mv_conn *c, const Modvirt__Envelope *env)
{
    mv_error err = MV_ERROR_INIT;
    if (env->kind == MODVIRT__FRAME_KIND__FRAME_STREAM && mv_stream_frame(c, env) == 0)
        return;
    if (env->kind == MODVIRT__FRAME_KIND__FRAME_STREAM) {
        mv_error_set(&err, VIR_ERR_RPC, VIR_FROM_STREAMS, "no stream is open with serial %u",
                     env->serial);
        /* a peer that is aborting anyway needs no answer */
        if (env->stream_status != MODVIRT__STREAM_STATUS__STREAM_ABORT)
            mv_conn_send_stream_status(c, env->serial, env->proc,
                                       MODVIRT__STREAM_STATUS__STREAM_ABORT, &err);
    } else {
        mv_error_set(&err, VIR_ERR_RPC, VIR_FROM_RPC,
                     "unexpected frame of kind %d from a client (only calls are accepted)",
                     (int)env->kind);
        reply_error(c, env->serial, env->proc, &err);
    }
    mv_error_clear(&err);
}

void mv_dispatch_frame(mv_conn *c, const uint8_t *bytes, size_t len)
{
    mv_error err = MV_ERROR_INIT;
    ProtobufCMessage *args = NULL;
    uint32_t serial = 0;
    Modvirt__Envelope *env = mv_envelope_unpack(bytes, len, &err);
    if (!env) {
        mv_conn_fail(c, &err);
        goto cleanup;
    }
    if (env->kind != MODVIRT__FRAME_KIND__FRAME_CALL) {
        other_kind(c, env);
        goto cleanup;
    }
    serial = env->serial;
    const mv_proc_info *p = mv_proc_lookup(env->proc);
    if (!p) {
        mv_error_set(&err, VIR_ERR_NO_SUPPORT, VIR_FROM_RPC, "unknown procedure %u", env->proc);
        goto answer_error;
    }
    if (mv_dispatch_gate(p, c->opened, c->ident.readonly, &err) < 0)
        goto answer_error;
    args = mv_body_unpack(p->args, env->body.data, env->body.len, &err);
    if (!args) {
        mv_error_prefix(&err, "%s: ", p->name);
        goto answer_error;
    }

    switch (p->num) {
    case MV_PROC_CONNECT_KEEPALIVE:
        reply_empty(c, serial, p->num);
        break;
    case MV_PROC_PROXY_IDENTIFY:
        do_identify(c, serial, (const Modvirt__IdentifyArgs *)args);
        break;
    case MV_PROC_CONNECT_OPEN:
        do_open(c, serial, p, args);
        args = NULL;
        break;
    case MV_PROC_CONNECT_CLOSE:
        do_close(c, serial, p, args);
        args = NULL;
        break;
    case MV_PROC_CONNECT_DOMAIN_EVENT_REGISTER_ANY:
        mv_events_register(c, serial, env->resume_seq,
                           (const Modvirt__EventRegisterArgs *)args);
        break;
    case MV_PROC_CONNECT_DOMAIN_EVENT_DEREGISTER_ANY:
        mv_events_deregister(c, serial, (const Modvirt__EventDeregisterArgs *)args);
        break;
    default: {
        mv_call *call = call_new(c, p, serial, args, &err);
        if (!call)
            goto answer_error;
        args = NULL;
        if (p->run == MV_RUN_JOB) {
            job_submit(call);
        } else {
            call_invoke(call);
            call_answer(call);
            call_free(call);
        }
        break;
    }
    }
    goto cleanup;

answer_error:
    reply_error(c, serial, env->proc, &err);
cleanup:
    if (args)
        protobuf_c_message_free_unpacked(args, NULL);
    mv_envelope_free(env);
    mv_error_clear(&err);
}

/* ---- what a handler may ask of its call ---------------------------------------------------- */

const mv_identity *mv_call_identity(const mv_call *call)
{
    return &call->ident;
}

mv_daemon *mv_call_daemon(const mv_call *call)
{
    return call->conn->d;
}

mv_error *mv_call_error(mv_call *call)
{
    return &call->err;
}

const char *mv_call_uri(const mv_call *call)
{
    return call->conn->uri;
}

/* The connection's data is set by connect_open (on the loop, before any later call of
 * the connection exists), so calls on worker threads only ever read it. */
void *mv_call_conn_data(const mv_call *call)
{
    return call->conn->data;
}

void mv_call_set_conn_data(mv_call *call, void *data, void (*free_fn)(void *))
{
    mv_conn *c = call->conn;
    if (c->data && c->data != data && c->data_free)
        c->data_free(c->data);
    c->data = data;
    c->data_free = free_fn;
}
