/* events.c: a client's event registrations as the proxy remembers them, so that after
 * its driver daemon restarts they are replayed with resume_seq (the last event number
 * the client was sent) and the daemon sends what the client missed. The proxy decodes
 * only these two small bodies, for their callback ids. */
#include <stdlib.h>
#include <string.h>
#include "common/log.h"
#include "virtproxyd/proxy.h"

struct proxy_evreg {
    int32_t callback_id;
    uint32_t serial; /* the client's register call, until answered */
    bool confirmed;  /* the daemon accepted it */
    uint8_t *body;   /* the EventRegisterArgs bytes */
    size_t body_len;
    proxy_evreg *next;
};

static void reg_free(proxy_evreg *r)
{
    if (!r)
        return;
    free(r->body);
    free(r);
}

void proxy_events_free(pclient *cl)
{
    while (cl->evregs) {
        proxy_evreg *r = cl->evregs;
        cl->evregs = r->next;
        reg_free(r);
    }
}

static void forget(pclient *cl, bool (*match)(const proxy_evreg *, uint32_t), uint32_t key)
{
    for (proxy_evreg **pp = &cl->evregs; *pp;) {
        if (match(*pp, key)) {
            proxy_evreg *r = *pp;
            *pp = r->next;
            reg_free(r);
        } else {
            pp = &(*pp)->next;
        }
    }
}

static bool by_serial(const proxy_evreg *r, uint32_t serial)
{
    return !r->confirmed && r->serial == serial;
}

static bool by_callback(const proxy_evreg *r, uint32_t id)
{
    return r->callback_id == (int32_t)id;
}

void proxy_events_call(pclient *cl, const mv_envelope_head *h, const uint8_t *payload, size_t len)
{
    Modvirt__Envelope *env = NULL;
    ProtobufCMessage *args = NULL;
    if (h->proc != MV_PROC_CONNECT_DOMAIN_EVENT_REGISTER_ANY &&
        h->proc != MV_PROC_CONNECT_DOMAIN_EVENT_DEREGISTER_ANY)
        return;
    /* a body the daemon cannot read either will be refused there; nothing to remember */
    if (!(env = mv_envelope_unpack(payload, len, NULL)))
        return;
    if (h->proc == MV_PROC_CONNECT_DOMAIN_EVENT_DEREGISTER_ANY) {
        args = mv_body_unpack(&modvirt__event_deregister_args__descriptor, env->body.data,
                              env->body.len, NULL);
        if (args)
            forget(cl, by_callback, (uint32_t)((Modvirt__EventDeregisterArgs *)args)->callback_id);
        goto cleanup;
    }
    args = mv_body_unpack(&modvirt__event_register_args__descriptor, env->body.data, env->body.len,
                          NULL);
    if (!args)
        goto cleanup;
    proxy_evreg *r = calloc(1, sizeof(*r));
    if (!r || !(r->body = malloc(env->body.len + 1))) {
        free(r);
        goto cleanup;
    }
    if (env->body.len)
        memcpy(r->body, env->body.data, env->body.len);
    r->body_len = env->body.len;
    r->callback_id = ((Modvirt__EventRegisterArgs *)args)->callback_id;
    r->serial = h->serial;
    r->next = cl->evregs;
    cl->evregs = r;
cleanup:
    if (args)
        protobuf_c_message_free_unpacked(args, NULL);
    mv_envelope_free(env);
}

void proxy_events_answered(pclient *cl, uint32_t serial, uint32_t proc, bool ok)
{
    if (proc != MV_PROC_CONNECT_DOMAIN_EVENT_REGISTER_ANY)
        return;
    if (!ok) {
        forget(cl, by_serial, serial);
        return;
    }
    for (proxy_evreg *r = cl->evregs; r; r = r->next) {
        if (!r->confirmed && r->serial == serial) {
            r->confirmed = true;
            break;
        }
    }
}

void proxy_events_seen(pclient *cl, uint64_t seq)
{
    if (cl && seq > cl->event_seq)
        cl->event_seq = seq;
}

size_t proxy_events_replay(pclient *cl,
                           int (*send)(void *ctx, const uint8_t *body, size_t len, uint64_t resume),
                           void *ctx)
{
    size_t n = 0;
    for (proxy_evreg *r = cl->evregs; r; r = r->next) {
        if (!r->confirmed)
            continue; /* still on its way in the queue: it goes out by itself */
        if (send(ctx, r->body, r->body_len, cl->event_seq) == 0)
            n++;
    }
    if (n)
        MV_DEBUG("client pid %d: %zu event registrations replayed after %llu", (int)cl->ident.pid,
                 n, (unsigned long long)cl->event_seq);
    return n;
}

bool proxy_events_want_reconnect(const pclient *cl)
{
    if (cl->open != OPEN_DONE || cl->events_reconnecting)
        return false;
    for (const proxy_evreg *r = cl->evregs; r; r = r->next)
        if (r->confirmed)
            return true;
    return false;
}
