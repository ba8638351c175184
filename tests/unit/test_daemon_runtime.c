/* test_daemon_runtime.c: mv_daemon_main() with a small test driver, run on a thread of
 * this process under a fresh MODVIRT_ROOT, spoken to over its real socket: the access
 * rules, LOOP and JOB dispatch, errors, bad frames, a client leaving mid-job, SIGTERM. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/daemon/daemon.h"
#include "common/frame.h"
#include "common/proc.h"
#include "common/spawn.h"
#include "fixture_daemon.h"

/* ---- the test driver ---- */

static int t_open(mv_call *call, const Modvirt__ConnectOpenArgs *a, Modvirt__ConnectOpenRet *r)
{
    r->uri = strdup(a->uri);
    return 0;
}

/* Reports who the runtime says is calling. */
static int t_type(mv_call *call, const Modvirt__Empty *a, Modvirt__StringRet *r)
{
    const mv_identity *id = mv_call_identity(call);
    char buf[128];
    snprintf(buf, sizeof(buf), "uid=%u pid=%d ro=%d uri=%s", id->uid, id->pid, id->readonly,
             mv_call_uri(call));
    r->value = strdup(buf);
    return 0;
}

/* A JOB: the "xml" is how many milliseconds to take; "fail" fails. */
static int t_define(mv_call *call, const Modvirt__DomainDefineArgs *a, Modvirt__DomainRet *r)
{
    if (strcmp(a->xml, "fail") == 0) {
        mv_error_set(mv_call_error(call), VIR_ERR_XML_ERROR, VIR_FROM_QEMU, "asked to fail");
        return -1;
    }
    if (strcmp(a->xml, "silent") == 0)
        return -1; /* forgets to say why: the runtime must */
    usleep((useconds_t)atoi(a->xml) * 1000);
    r->dom = malloc(sizeof(*r->dom));
    modvirt__domain__init(r->dom);
    r->dom->name = strdup(a->xml);
    r->dom->id = -1;
    return 0;
}

static const char *const t_schemes[] = {"qemu", NULL};
static const mv_driver t_driver = {
    .name = "TEST",
    .daemon_name = "virtqemud",
    .schemes = t_schemes,
    .error_domain = VIR_FROM_QEMU,
    .connect_open = t_open,
    .connect_get_type = t_type,
    .domain_define_xml = t_define,
};

/* ---- the daemon on a thread ---- */

static fx_daemon runtime;
static char sock_path[256];

static int run_daemon(void *opaque)
{
    char *argv[] = {"virtqemud", NULL};
    return mv_daemon_main(1, argv, &t_driver);
}

static int setup(void **state)
{
    if (fx_daemon_root(&runtime, "test_daemon_runtime") < 0)
        return -1;
    snprintf(sock_path, sizeof(sock_path), "%s/virtqemud-sock", runtime.run_dir);
    return fx_daemon_start(&runtime, run_daemon, NULL);
}

static int teardown(void **state)
{
    return fx_daemon_stop(&runtime);
}

/* ---- a tiny client ---- */

/* The next frame, unpacked; NULL when the daemon closed the connection. */
static Modvirt__Envelope *recv_frame(fx_peer *c)
{
    return fx_peer_next(c, 20000);
}

static void open_conn(fx_peer *c, uint32_t flags)
{
    Modvirt__ConnectOpenArgs a = MODVIRT__CONNECT_OPEN_ARGS__INIT;
    a.uri = "qemu:///system";
    a.flags = flags;
    fx_peer_call(c, 1, MV_PROC_CONNECT_OPEN, &a.base);
    mv_envelope_free(fx_peer_expect_reply(c, 1));
}

static char *recv_string(fx_peer *c, uint32_t serial)
{
    Modvirt__Envelope *env = fx_peer_expect_reply(c, serial);
    Modvirt__StringRet *r = (Modvirt__StringRet *)mv_body_unpack(
        &modvirt__string_ret__descriptor, env->body.data, env->body.len, NULL);
    assert_non_null(r);
    char *s = strdup(r->value);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    mv_envelope_free(env);
    return s;
}

static void send_define(fx_peer *c, uint32_t serial, const char *xml)
{
    Modvirt__DomainDefineArgs a = MODVIRT__DOMAIN_DEFINE_ARGS__INIT;
    a.xml = (char *)xml;
    fx_peer_call(c, serial, MV_PROC_DOMAIN_DEFINE_XML, &a.base);
}

/* ---- tests ---- */

static void test_access_rules(void **state)
{
    fx_peer c;
    Modvirt__Empty empty = MODVIRT__EMPTY__INIT;
    fx_peer_connect(&c, sock_path);

    fx_peer_call(&c, 1, MV_PROC_CONNECT_KEEPALIVE, &empty.base);
    mv_envelope_free(fx_peer_expect_reply(&c, 1));

    fx_peer_call(&c, 2, MV_PROC_CONNECT_GET_TYPE, &empty.base);
    fx_peer_expect_error(&c, 2, VIR_ERR_OPERATION_INVALID, "connection not open");

    Modvirt__ConnectOpenArgs lxc = MODVIRT__CONNECT_OPEN_ARGS__INIT;
    lxc.uri = "lxc:///system";
    fx_peer_call(&c, 3, MV_PROC_CONNECT_OPEN, &lxc.base);
    fx_peer_expect_error(&c, 3, VIR_ERR_NO_CONNECT, "lxc:///system");

    open_conn(&c, 1); /* VIR_CONNECT_RO */
    fx_peer_call(&c, 4, MV_PROC_CONNECT_GET_TYPE, &empty.base);
    char *who = recv_string(&c, 4);
    assert_non_null(strstr(who, "ro=1 uri=qemu:///system"));
    free(who);

    send_define(&c, 5, "1");
    fx_peer_expect_error(&c, 5, VIR_ERR_OPERATION_DENIED,
                         "operation forbidden: read only access prevents domain_define_xml");
    fx_peer_call(&c, 6, MV_PROC_NODE_GET_INFO, &empty.base);
    fx_peer_expect_error(&c, 6, VIR_ERR_NO_SUPPORT, "node_get_info");
    fx_peer_call(&c, 7, 999, &empty.base);
    fx_peer_expect_error(&c, 7, VIR_ERR_NO_SUPPORT, "unknown procedure 999");
    fx_peer_call(&c, 8, MV_PROC_CONNECT_OPEN, &lxc.base);
    fx_peer_expect_error(&c, 8, VIR_ERR_OPERATION_INVALID, "already open");

    /* a body that does not decode: an error for that call, the connection stays */
    mv_frame_spec bad = {.serial = 9,
                         .kind = MODVIRT__FRAME_KIND__FRAME_CALL,
                         .proc = MV_PROC_CONNECT_GET_TYPE,
                         .raw_body = (const uint8_t *)"\xff\xff",
                         .raw_body_len = 2};
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(mv_frame_build(&bad, &buf, &len, NULL), 0);
    fx_peer_send_raw(&c, buf, len);
    free(buf);
    fx_peer_expect_error(&c, 9, VIR_ERR_RPC, "malformed");
    fx_peer_call(&c, 10, MV_PROC_CONNECT_GET_TYPE, &empty.base);
    free(recv_string(&c, 10));

    /* close: a reply, then the end of the connection */
    fx_peer_call(&c, 11, MV_PROC_CONNECT_CLOSE, &empty.base);
    mv_envelope_free(fx_peer_expect_reply(&c, 11));
    assert_null(recv_frame(&c));
    fx_peer_close(&c);
}

/* We run as the daemon's own uid, so we may speak for a caller, once, before the open. */
static void test_identify(void **state)
{
    fx_peer c;
    Modvirt__Empty empty = MODVIRT__EMPTY__INIT;
    Modvirt__IdentifyArgs id = MODVIRT__IDENTIFY_ARGS__INIT;
    id.uid = 1234;
    id.gid = 1234;
    id.pid = 4321;
    id.readonly = true;
    fx_peer_connect(&c, sock_path);
    fx_peer_call(&c, 1, MV_PROC_PROXY_IDENTIFY, &id.base);
    mv_envelope_free(fx_peer_expect_reply(&c, 1));
    fx_peer_call(&c, 2, MV_PROC_PROXY_IDENTIFY, &id.base);
    fx_peer_expect_error(&c, 2, VIR_ERR_OPERATION_INVALID, "already identified");
    open_conn(&c, 0);
    fx_peer_call(&c, 3, MV_PROC_CONNECT_GET_TYPE, &empty.base);
    char *who = recv_string(&c, 3);
    assert_non_null(strstr(who, "uid=1234 pid=4321 ro=1"));
    free(who);
    send_define(&c, 4, "1");
    fx_peer_expect_error(&c, 4, VIR_ERR_OPERATION_DENIED, "read only");
    fx_peer_close(&c);
}

/* Reads never wait behind jobs, and every job is answered once, by serial. */
static void test_jobs(void **state)
{
    fx_peer c;
    Modvirt__Empty empty = MODVIRT__EMPTY__INIT;
    fx_peer_connect(&c, sock_path);
    open_conn(&c, 0);
    for (uint32_t i = 0; i < 40; i++)
        send_define(&c, 100 + i, "200");
    send_define(&c, 200, "fail");
    send_define(&c, 201, "silent");
    fx_peer_call(&c, 300, MV_PROC_CONNECT_GET_TYPE, &empty.base);
    /* the read comes back first, though it was sent last */
    free(recv_string(&c, 300));

    bool seen[40] = {false};
    int errors = 0;
    for (int n = 0; n < 42; n++) {
        Modvirt__Envelope *env = recv_frame(&c);
        assert_non_null(env);
        if (env->serial == 200) {
            assert_int_equal(env->error->code, VIR_ERR_XML_ERROR);
            assert_non_null(strstr(env->error->message, "asked to fail"));
            errors++;
        } else if (env->serial == 201) {
            assert_int_equal(env->error->code, VIR_ERR_INTERNAL_ERROR);
            assert_non_null(strstr(env->error->message, "domain_define_xml failed"));
            errors++;
        } else {
            assert_int_equal(env->kind, MODVIRT__FRAME_KIND__FRAME_REPLY);
            assert_true(env->serial >= 100 && env->serial < 140);
            assert_false(seen[env->serial - 100]);
            seen[env->serial - 100] = true;
        }
        mv_envelope_free(env);
    }
    assert_int_equal(errors, 2);
    fx_peer_close(&c);
}

/* Clients that leave with jobs running, or send garbage, leave the daemon serving. */
static void test_bad_clients(void **state)
{
    fx_peer c, d;
    Modvirt__Empty empty = MODVIRT__EMPTY__INIT;
    fx_peer_connect(&c, sock_path);
    open_conn(&c, 0);
    for (uint32_t i = 0; i < 20; i++)
        send_define(&c, 10 + i, "100");
    fx_peer_close(&c);

    /* oversized, empty, malformed: an error about the connection, then the end */
    static const uint8_t oversized[] = {0x7f, 0xff, 0xff, 0xff};
    static const uint8_t empty_frame[] = {0, 0, 0, 0};
    static const uint8_t garbage[] = {0, 0, 0, 2, 0x0f, 0xff};
    const uint8_t *bad[] = {oversized, empty_frame, garbage};
    size_t bad_len[] = {sizeof(oversized), sizeof(empty_frame), sizeof(garbage)};
    for (int i = 0; i < 3; i++) {
        fx_peer_connect(&d, sock_path);
        fx_peer_send_raw(&d, bad[i], bad_len[i]);
        Modvirt__Envelope *env = recv_frame(&d);
        assert_non_null(env);
        assert_int_equal(env->kind, MODVIRT__FRAME_KIND__FRAME_ERROR);
        assert_int_equal(env->serial, 0);
        mv_envelope_free(env);
        assert_null(recv_frame(&d));
        fx_peer_close(&d);
    }

    fx_peer_connect(&d, sock_path);
    open_conn(&d, 0);
    fx_peer_call(&d, 2, MV_PROC_CONNECT_GET_TYPE, &empty.base);
    free(recv_string(&d, 2));
    fx_peer_close(&d);
}

/* A second instance under the same root refuses to start and says who runs. */
static void test_second_instance(void **state)
{
    char *argv[] = {"virtqemud", NULL};
    assert_int_equal(mv_daemon_main(1, argv, &t_driver), 1);
    char *bad[] = {"virtqemud", "--nope", NULL};
    assert_int_equal(mv_daemon_main(2, bad, &t_driver), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_access_rules),
        cmocka_unit_test(test_identify),
        cmocka_unit_test(test_jobs),
        cmocka_unit_test(test_bad_clients),
        cmocka_unit_test(test_second_instance),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
