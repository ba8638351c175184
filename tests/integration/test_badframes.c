/* test_badframes.c: raw bytes to virtproxyd-sock, virtproxyd-sock-ro and virtqemud-sock —
 * garbage, truncated, oversized and empty frames, bad bodies, unknown procedures, a client
 * posing as the proxy. Each is answered with an error frame and/or a closed connection as
 * DESIGN.md says; afterwards a normal client is served by the very same daemons. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "harness_sockets.h"
#include "common/proc.h"

#define URI "qemu:///system"
#define WAIT_MS 10000

static int define_known(virConnectPtr conn, void *opaque)
{
    return mvt_api_define(conn, "known");
}

static int setup(void **state)
{
    return mvt_sockets_setup(state, URI, define_known, NULL);
}

/* ---- expectations -------------------------------------------------------------------------- */

static Modvirt__Envelope *next_frame(mvt_raw *r, const mvt_socket *t)
{
    return mvt_sockets_next(r, t->sock, WAIT_MS);
}

/* An ERROR frame for serial, with code and a message holding fragment. */
static void expect_error(mvt_raw *r, const mvt_socket *t, uint32_t serial, int code,
                         const char *fragment)
{
    Modvirt__Envelope *env = next_frame(r, t);
    if (env->kind != MODVIRT__FRAME_KIND__FRAME_ERROR || !env->error)
        fail_msg("%s: expected an error for serial %u, got kind %d", t->sock, serial, env->kind);
    const char *msg = env->error->message ? env->error->message : "";
    if (env->serial != serial || env->error->code != code || !strstr(msg, fragment))
        fail_msg("%s: expected error %d \"%s\" for serial %u, got %d \"%s\" for serial %u", t->sock,
                 code, fragment, serial, env->error->code, msg, env->serial);
    mv_envelope_free(env);
}

/* The connection ends: nothing more, then end of file. */
static void expect_eof(mvt_raw *r, const mvt_socket *t)
{
    Modvirt__Envelope *env = NULL;
    int rc = mvt_raw_read(r, &env, WAIT_MS);
    if (rc != 0)
        fail_msg("%s: expected the connection closed, got %s", t->sock,
                 rc > 0 ? "another frame" : "no end of file");
}

/* A stream-level failure: one error frame (serial 0) saying why, then the close. */
static void expect_fatal(mvt_raw *r, const mvt_socket *t, const char *fragment)
{
    expect_error(r, t, 0, VIR_ERR_RPC, fragment);
    expect_eof(r, t);
}

/* A REPLY for serial; returns its envelope (the caller frees). */
static Modvirt__Envelope *expect_reply(mvt_raw *r, const mvt_socket *t, uint32_t serial)
{
    return mvt_sockets_reply(r, t->sock, serial, WAIT_MS);
}

static void send_lookup(mvt_raw *r, uint32_t serial, const char *name)
{
    Modvirt__LookupByNameArgs a = MODVIRT__LOOKUP_BY_NAME_ARGS__INIT;
    a.name = (char *)name;
    assert_int_equal(mvt_raw_call(r, serial, MV_PROC_DOMAIN_LOOKUP_BY_NAME, &a.base, NULL, 0), 0);
}

/* lookup_by_name("known") on an open raw connection is answered with that domain. */
static void expect_lookup_works(mvt_raw *r, const mvt_socket *t, uint32_t serial)
{
    send_lookup(r, serial, "known");
    Modvirt__Envelope *env = expect_reply(r, t, serial);
    Modvirt__DomainRet *ret = (Modvirt__DomainRet *)mv_body_unpack(
        &modvirt__domain_ret__descriptor, env->body.data, env->body.len, NULL);
    assert_non_null(ret);
    assert_non_null(ret->dom);
    assert_string_equal(ret->dom->name, "known");
    assert_int_equal(ret->dom->uuid.len, VIR_UUID_BUFLEN);
    protobuf_c_message_free_unpacked(&ret->base, NULL);
    mv_envelope_free(env);
}

/* A normal client is served — the long-lived connection and a new one — by the same
 * daemons as before. */
static void expect_serving(const mvt_sockets *w, const char *after)
{
    char when[128];
    snprintf(when, sizeof(when), "after %s", after);
    mvt_sockets_serving(w, when, 1, "known", NULL);
}

/* Bytes no frame reader takes, on a fresh connection (opened first when open): one error
 * saying fragment, then the close; and normal clients are served after. */
static void fatal_bytes(const mvt_sockets *w, const mvt_socket *t, bool open, const void *bytes,
                        size_t len, const char *fragment, const char *what)
{
    mvt_raw r;
    mvt_sockets_connect(w, t->sock, &r);
    if (open)
        mvt_sockets_open(w, &r, t->sock, 1, WAIT_MS);
    assert_int_equal(mvt_raw_write(&r, bytes, len), 0);
    expect_fatal(&r, t, fragment);
    mvt_raw_close(&r);
    expect_serving(w, what);
}

/* ---- the cases ---------------------------------------------------------------------------- */

static void garbage(mvt_sockets *w, const mvt_socket *t)
{
    mvt_raw r;
    /* text where a length belongs: "GET " reads as 1,195,725,856 bytes */
    const char http[] = "GET / HTTP/1.1\r\nHost: modvirt\r\n\r\n";
    fatal_bytes(w, t, false, http, sizeof(http) - 1,
                "frame of 1195725856 bytes exceeds the limit of 33554432 bytes", "an HTTP request");

    /* a sane length around bytes that are no envelope */
    uint8_t junk[4 + 16] = {0, 0, 0, 16};
    memset(junk + 4, 0xff, 16);
    fatal_bytes(w, t, false, junk, sizeof(junk), "malformed envelope", "a junk envelope");

    /* junk right behind a good call: the stream is broken from there on. The call
     * may still be answered (virtqemud finishes what it read before; the proxy drops
     * what is in flight on a broken stream, as libvirt does); then the error, then
     * the close. */
    mvt_sockets_connect(w, t->sock, &r);
    mvt_sockets_open(w, &r, t->sock, 1, WAIT_MS);
    send_lookup(&r, 2, "known");
    assert_int_equal(mvt_raw_write(&r, junk, sizeof(junk)), 0);
    Modvirt__Envelope *env = next_frame(&r, t);
    if (env->kind == MODVIRT__FRAME_KIND__FRAME_REPLY && env->serial == 2) {
        mv_envelope_free(env);
        env = next_frame(&r, t);
    }
    assert_int_equal(env->kind, MODVIRT__FRAME_KIND__FRAME_ERROR);
    assert_int_equal(env->serial, 0);
    assert_non_null(strstr(env->error->message, "malformed envelope"));
    mv_envelope_free(env);
    expect_eof(&r, t);
    mvt_raw_close(&r);
    expect_serving(w, "junk behind a call");
}

static void truncated(mvt_sockets *w, const mvt_socket *t)
{
    mvt_raw r;
    uint8_t part[4 + 10] = {0, 0, 0, 100, 0x08, 0x01};
    /* a frame cut short, then the client's end of the stream: closed, no answer */
    mvt_sockets_connect(w, t->sock, &r);
    assert_int_equal(mvt_raw_write(&r, part, sizeof(part)), 0);
    assert_int_equal(shutdown(r.fd, SHUT_WR), 0);
    expect_eof(&r, t);
    mvt_raw_close(&r);
    expect_serving(w, "a truncated frame");

    /* the same on an open connection, and the client just goes away */
    mvt_sockets_connect(w, t->sock, &r);
    mvt_sockets_open(w, &r, t->sock, 1, WAIT_MS);
    assert_int_equal(mvt_raw_write(&r, part, sizeof(part)), 0);
    assert_int_equal(mvt_raw_wait_taken(&r, WAIT_MS), 0);
    mvt_raw_close(&r);
    expect_serving(w, "a truncated frame and a vanished client");

    /* only half a length */
    mvt_sockets_connect(w, t->sock, &r);
    assert_int_equal(mvt_raw_write(&r, part, 2), 0);
    assert_int_equal(shutdown(r.fd, SHUT_WR), 0);
    expect_eof(&r, t);
    mvt_raw_close(&r);
    expect_serving(w, "half a length");
}

static void oversized_and_empty(mvt_sockets *w, const mvt_socket *t)
{
    /* 32 MiB + 1 announced: refused at the length, before any body is read */
    const uint8_t big[4] = {0x02, 0x00, 0x00, 0x01};
    fatal_bytes(w, t, false, big, sizeof(big),
                "frame of 33554433 bytes exceeds the limit of 33554432 bytes",
                "a 32 MiB + 1 frame");
    /* the largest length there is */
    const uint8_t huge[4] = {0xff, 0xff, 0xff, 0xff};
    fatal_bytes(w, t, false, huge, sizeof(huge), "frame of 4294967295 bytes exceeds the limit",
                "a 4 GiB frame");
    /* length 0, on an open connection */
    const uint8_t zero[4] = {0, 0, 0, 0};
    fatal_bytes(w, t, true, zero, sizeof(zero), "empty frame (length 0)", "an empty frame");
}

/* A valid envelope around a body that is not the procedure's message: that call fails,
 * the connection does not. */
static void garbage_body(mvt_sockets *w, const mvt_socket *t)
{
    static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x12, 0x7f};
    mvt_raw r;
    mvt_sockets_connect(w, t->sock, &r);
    assert_int_equal(mvt_raw_call(&r, 1, MV_PROC_CONNECT_OPEN, NULL, junk, sizeof(junk)), 0);
    expect_error(&r, t, 1, VIR_ERR_RPC, "malformed ConnectOpenArgs message");
    mvt_sockets_open(w, &r, t->sock, 2, WAIT_MS);
    assert_int_equal(mvt_raw_call(&r, 3, MV_PROC_DOMAIN_LOOKUP_BY_NAME, NULL, junk, sizeof(junk)),
                     0);
    expect_error(&r, t, 3, VIR_ERR_RPC, "malformed LookupByNameArgs message");
    assert_int_equal(mvt_raw_call(&r, 4, MV_PROC_DOMAIN_GET_XML_DESC, NULL, junk, sizeof(junk)), 0);
    expect_error(&r, t, 4, VIR_ERR_RPC, "malformed DomainFlagsArgs message");
    expect_lookup_works(&r, t, 5);
    mvt_raw_close(&r);
    expect_serving(w, "a garbage body");
}

static void unknown_procedure(mvt_sockets *w, const mvt_socket *t)
{
    mvt_raw r;
    mvt_sockets_connect(w, t->sock, &r);
    /* before the open nobody will look at it */
    assert_int_equal(mvt_raw_call(&r, 1, 9999, NULL, NULL, 0), 0);
    expect_error(&r, t, 1, t->via_proxy ? VIR_ERR_OPERATION_INVALID : VIR_ERR_NO_SUPPORT,
                 t->via_proxy ? "connection not open" : "unknown procedure 9999");
    mvt_sockets_open(w, &r, t->sock, 2, WAIT_MS);
    /* after it, the daemon says it has no such procedure (the proxy forwards numbers it
     * does not know: a newer client may talk to an older proxy) */
    assert_int_equal(mvt_raw_call(&r, 3, 9999, NULL, NULL, 0), 0);
    expect_error(&r, t, 3, VIR_ERR_NO_SUPPORT, "unknown procedure 9999");
    assert_int_equal(mvt_raw_call(&r, 4, 0, NULL, NULL, 0), 0);
    expect_error(&r, t, 4, VIR_ERR_NO_SUPPORT, "unknown procedure 0");
    /* frames only daemons send */
    mv_frame_spec reply = {
        .serial = 5, .kind = MODVIRT__FRAME_KIND__FRAME_REPLY, .proc = MV_PROC_CONNECT_GET_TYPE};
    uint8_t *f = NULL;
    size_t flen = 0;
    assert_int_equal(mv_frame_build(&reply, &f, &flen, NULL), 0);
    assert_int_equal(mvt_raw_write(&r, f, flen), 0);
    free(f);
    expect_error(&r, t, 5, VIR_ERR_RPC, "unexpected frame of kind 1 from a client");
    /* stream data for a stream nobody opened: aborted, by serial */
    mv_frame_spec data = {.serial = 7,
                          .kind = MODVIRT__FRAME_KIND__FRAME_STREAM,
                          .proc = MV_PROC_CONNECT_GET_TYPE,
                          .raw_body = (const uint8_t *)"x",
                          .raw_body_len = 1};
    assert_int_equal(mv_frame_build(&data, &f, &flen, NULL), 0);
    assert_int_equal(mvt_raw_write(&r, f, flen), 0);
    free(f);
    Modvirt__Envelope *env = next_frame(&r, t);
    assert_int_equal(env->kind, MODVIRT__FRAME_KIND__FRAME_STREAM);
    assert_int_equal(env->serial, 7);
    assert_int_equal(env->stream_status, MODVIRT__STREAM_STATUS__STREAM_ABORT);
    assert_non_null(env->error);
    assert_non_null(strstr(env->error->message, "no stream is open with serial 7"));
    mv_envelope_free(env);
    expect_lookup_works(&r, t, 6);
    mvt_raw_close(&r);
    expect_serving(w, "unknown procedures");
}

/* Two calls in flight with one serial: the proxy cannot tell their answers apart, so the
 * stream is broken. (virtqemud is held stopped so the first is provably still in
 * flight when the second arrives.) */
static void duplicate_serial(mvt_sockets *w, const mvt_socket *t)
{
    mvt_raw r;
    mvt_sockets_connect(w, t->sock, &r);
    mvt_sockets_open(w, &r, t->sock, 1, WAIT_MS);
    char *qsock = mvt_path(&w->env, "run/modvirt/virtqemud-sock");
    assert_int_equal(mvt_stop_wait(w->qemud, 5000), 0);
    long before = mvt_unix_queued(qsock);
    send_lookup(&r, 7, "known");
    assert_int_equal(mvt_wait_unix_queued(qsock, before + 1, WAIT_MS), 0);
    send_lookup(&r, 7, "known");
    expect_fatal(&r, t, "serial 7 is already used by a call in flight");
    assert_int_equal(kill(w->qemud, SIGCONT), 0);
    mvt_raw_close(&r);
    free(qsock);
    expect_serving(w, "a duplicate serial");
}

static void send_identify(mvt_raw *r, uint32_t serial, bool readonly)
{
    Modvirt__IdentifyArgs a = MODVIRT__IDENTIFY_ARGS__INIT;
    a.uid = 0;
    a.gid = 0;
    a.pid = 1;
    a.readonly = readonly;
    assert_int_equal(mvt_raw_call(r, serial, MV_PROC_PROXY_IDENTIFY, &a.base, NULL, 0), 0);
}

static void send_define(mvt_raw *r, uint32_t serial, const char *name)
{
    Modvirt__DomainDefineArgs a = MODVIRT__DOMAIN_DEFINE_ARGS__INIT;
    char *xml = mvt_domain_xml(name, NULL);
    a.xml = xml;
    assert_int_equal(mvt_raw_call(r, serial, MV_PROC_DOMAIN_DEFINE_XML, &a.base, NULL, 0), 0);
    free(xml);
}

/* PROXY_IDENTIFY is the proxy's word to a driver. The proxy refuses it from any client,
 * before or after the open, and a read-only client cannot talk itself into writing. */
static void identify_through_proxy(mvt_sockets *w, const mvt_socket *t)
{
    mvt_raw r;
    mvt_sockets_connect(w, t->sock, &r);
    send_identify(&r, 1, false);
    expect_error(&r, t, 1, VIR_ERR_ACCESS_DENIED, "proxy_identify is reserved for virtproxyd");
    mvt_sockets_open(w, &r, t->sock, 2, WAIT_MS);
    send_identify(&r, 3, false);
    expect_error(&r, t, 3, VIR_ERR_ACCESS_DENIED, "proxy_identify is reserved for virtproxyd");
    /* the proxy's own serials are not the client's to use */
    assert_int_equal(mvt_raw_call(&r, 0x80000001u, MV_PROC_CONNECT_GET_TYPE, NULL, NULL, 0), 0);
    expect_error(&r, t, 0x80000001u, VIR_ERR_RPC, "is not a client serial");
    send_define(&r, 4, "sneaky");
    if (t->readonly)
        expect_error(&r, t, 4, VIR_ERR_OPERATION_DENIED,
                     "read only access prevents domain_define_xml");
    else
        mv_envelope_free(expect_reply(&r, t, 4));
    mvt_raw_close(&r);
    if (!t->readonly) {
        virDomainPtr d = virDomainLookupByName(w->conn, "sneaky");
        assert_non_null(d);
        assert_int_equal(virDomainUndefine(d), 0);
        virDomainFree(d);
    }
    expect_serving(w, "a client posing as the proxy");
}

/* Straight to virtqemud, a peer of the daemon's own uid is trusted as a proxy: its
 * identity is taken once, before the open, and honoured (read-only here). */
static void test_identify_direct(void **state)
{
    mvt_sockets *w = *state;
    const mvt_socket *t = &mvt_socket_list[MVT_N_SOCKETS - 1];
    assert_false(t->via_proxy);
    mvt_raw r;
    mvt_sockets_connect(w, t->sock, &r);
    send_identify(&r, 1, true);
    mv_envelope_free(expect_reply(&r, t, 1));
    send_identify(&r, 2, false);
    expect_error(&r, t, 2, VIR_ERR_OPERATION_INVALID, "already identified");
    mvt_sockets_open(w, &r, t->sock, 3, WAIT_MS);
    send_identify(&r, 4, false);
    expect_error(&r, t, 4, VIR_ERR_OPERATION_INVALID, "must come before connect_open");
    send_define(&r, 5, "sneaky");
    expect_error(&r, t, 5, VIR_ERR_OPERATION_DENIED, "read only access prevents domain_define_xml");
    expect_lookup_works(&r, t, 6);
    mvt_raw_close(&r);
    expect_serving(w, "identify straight to virtqemud");
}

MVT_EACH_SOCKET(garbage, false)
MVT_EACH_SOCKET(truncated, false)
MVT_EACH_SOCKET(oversized_and_empty, false)
MVT_EACH_SOCKET(garbage_body, false)
MVT_EACH_SOCKET(unknown_procedure, false)
MVT_EACH_SOCKET(duplicate_serial, true)
MVT_EACH_SOCKET(identify_through_proxy, true)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_garbage, setup, mvt_sockets_teardown),
        cmocka_unit_test_setup_teardown(test_truncated, setup, mvt_sockets_teardown),
        cmocka_unit_test_setup_teardown(test_oversized_and_empty, setup, mvt_sockets_teardown),
        cmocka_unit_test_setup_teardown(test_garbage_body, setup, mvt_sockets_teardown),
        cmocka_unit_test_setup_teardown(test_unknown_procedure, setup, mvt_sockets_teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_serial, setup, mvt_sockets_teardown),
        cmocka_unit_test_setup_teardown(test_identify_through_proxy, setup, mvt_sockets_teardown),
        cmocka_unit_test_setup_teardown(test_identify_direct, setup, mvt_sockets_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
