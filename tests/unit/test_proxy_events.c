/* test_proxy_events: what virtproxyd remembers of a client's event registrations
 * (virtproxyd/events.c) — confirmed only when the daemon accepted them, forgotten on
 * deregistration or refusal, the last event number seen, what a replay re-sends with
 * which resume_seq, and when a lost daemon warrants a reconnect of its own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "virtproxyd/proxy.h"

/* A client's CALL frame for proc (the envelope bytes) and its head. */
static uint8_t *call_env(uint32_t serial, uint32_t proc, const ProtobufCMessage *body, size_t *len,
                         mv_envelope_head *h)
{
    mv_frame_spec spec = {
        .serial = serial, .kind = MODVIRT__FRAME_KIND__FRAME_CALL, .proc = proc, .body = body};
    uint8_t *frame = NULL;
    size_t flen = 0;
    assert_int_equal(mv_frame_build(&spec, &frame, &flen, NULL), 0);
    *len = flen - MV_FRAME_HEADER_LEN;
    uint8_t *env = malloc(*len);
    memcpy(env, frame + MV_FRAME_HEADER_LEN, *len);
    free(frame);
    assert_int_equal(mv_envelope_peek(env, *len, h, NULL), 0);
    return env;
}

static void do_register(pclient *cl, uint32_t serial, int id)
{
    Modvirt__EventRegisterArgs a = MODVIRT__EVENT_REGISTER_ARGS__INIT;
    a.callback_id = id;
    size_t len = 0;
    mv_envelope_head h;
    uint8_t *env = call_env(serial, MV_PROC_CONNECT_DOMAIN_EVENT_REGISTER_ANY, &a.base, &len, &h);
    proxy_events_call(cl, &h, env, len);
    free(env);
}

static void do_deregister(pclient *cl, uint32_t serial, int id)
{
    Modvirt__EventDeregisterArgs a = MODVIRT__EVENT_DEREGISTER_ARGS__INIT;
    a.callback_id = id;
    size_t len = 0;
    mv_envelope_head h;
    uint8_t *env = call_env(serial, MV_PROC_CONNECT_DOMAIN_EVENT_DEREGISTER_ANY, &a.base, &len, &h);
    proxy_events_call(cl, &h, env, len);
    free(env);
}

typedef struct sent {
    int ids[8];
    uint64_t resume[8];
    int n;
} sent;

static int record(void *ctx, const uint8_t *body, size_t len, uint64_t resume)
{
    sent *s = ctx;
    Modvirt__EventRegisterArgs *a = (Modvirt__EventRegisterArgs *)mv_body_unpack(
        &modvirt__event_register_args__descriptor, body, len, NULL);
    assert_non_null(a);
    s->ids[s->n] = a->callback_id;
    s->resume[s->n++] = resume;
    protobuf_c_message_free_unpacked(&a->base, NULL);
    return 0;
}

static bool has(const sent *s, int id)
{
    for (int i = 0; i < s->n; i++)
        if (s->ids[i] == id)
            return true;
    return false;
}

static void test_remember_and_replay(void **state)
{
    (void)state;
    pclient *cl = calloc(1, sizeof(*cl));
    cl->open = OPEN_DONE;
    sent s = {0};

    do_register(cl, 10, 1);
    do_register(cl, 11, 2);
    do_register(cl, 12, 3);
    /* nothing confirmed yet: nothing to replay, no reason to reconnect */
    assert_false(proxy_events_want_reconnect(cl));
    assert_int_equal(proxy_events_replay(cl, record, &s), 0);

    proxy_events_answered(cl, 10, MV_PROC_CONNECT_DOMAIN_EVENT_REGISTER_ANY, true);
    proxy_events_answered(cl, 11, MV_PROC_CONNECT_DOMAIN_EVENT_REGISTER_ANY, false);
    proxy_events_answered(cl, 12, MV_PROC_CONNECT_DOMAIN_EVENT_REGISTER_ANY, true);
    proxy_events_answered(cl, 12, MV_PROC_CONNECT_LIST_ALL_DOMAINS, true); /* not ours */
    assert_true(proxy_events_want_reconnect(cl));

    proxy_events_seen(cl, 7);
    proxy_events_seen(cl, 5); /* numbers only grow */
    assert_int_equal(cl->event_seq, 7);

    assert_int_equal(proxy_events_replay(cl, record, &s), 2);
    assert_true(has(&s, 1) && has(&s, 3) && !has(&s, 2));
    assert_int_equal(s.resume[0], 7);
    assert_int_equal(s.resume[1], 7);

    /* deregistration forgets; the last one gone, no reconnect is wanted */
    do_deregister(cl, 13, 1);
    s.n = 0;
    assert_int_equal(proxy_events_replay(cl, record, &s), 1);
    assert_int_equal(s.ids[0], 3);
    cl->events_reconnecting = true; /* one made already */
    assert_false(proxy_events_want_reconnect(cl));
    cl->events_reconnecting = false;
    do_deregister(cl, 14, 3);
    assert_false(proxy_events_want_reconnect(cl));

    /* an empty body is a valid registration (callback 0, lifecycle, all domains) */
    mv_envelope_head h;
    size_t len = 0;
    uint8_t *env = call_env(15, MV_PROC_CONNECT_DOMAIN_EVENT_REGISTER_ANY, NULL, &len, &h);
    proxy_events_call(cl, &h, env, len);
    free(env);
    proxy_events_answered(cl, 15, MV_PROC_CONNECT_DOMAIN_EVENT_REGISTER_ANY, true);
    s.n = 0;
    assert_int_equal(proxy_events_replay(cl, record, &s), 1);
    assert_int_equal(s.ids[0], 0);

    proxy_events_free(cl);
    assert_null(cl->evregs);
    free(cl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_remember_and_replay),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
