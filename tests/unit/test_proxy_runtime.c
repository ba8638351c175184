/* test_proxy_runtime.c: virtproxyd on a thread of this process, with the test itself
 * playing virtqemud on the other side — scripted, so every step of the upstream's life is
 * checked: the identity handshake, frames passed byte for byte, a driver dying with calls
 * in flight, the replayed open, a hung driver caught by keepalives, a failed restart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/daemon/service.h"
#include "common/frame.h"
#include "common/paths.h"
#include "common/proc.h"
#include "common/spawn.h"
#include "virtproxyd/proxy.h"
#include "fixture_daemon.h"

static fx_daemon proxyd;
static int fake_listen = -1; /* the test's "virtqemud" socket */

static int run_proxy(void *opaque)
{
    char *argv[] = {"virtproxyd", NULL};
    return proxy_main(1, argv);
}

static void fake_daemon_listen(void)
{
    char path[256];
    mv_error err = MV_ERROR_INIT;
    snprintf(path, sizeof(path), "%s/virtqemud-sock", proxyd.run_dir);
    fake_listen = mv_listen_unix(path, 0600, &err);
    if (fake_listen < 0)
        fail_msg("%s", err.message);
    /* accept() below blocks, with poll() as the timeout */
    int fl = fcntl(fake_listen, F_GETFL);
    fcntl(fake_listen, F_SETFL, fl & ~O_NONBLOCK);
}

static int setup(void **state)
{
    if (fx_daemon_root(&proxyd, "test_proxy_runtime") < 0)
        return -1;
    /* nowhere to start a real daemon from: a restart must fail cleanly */
    setenv("MODVIRT_DAEMON_DIR", proxyd.root, 1);
    setenv("MODVIRT_PROXY_KEEPALIVE_INTERVAL_MS", "100", 1);
    setenv("MODVIRT_PROXY_KEEPALIVE_COUNT", "3", 1);
    mv_error err = MV_ERROR_INIT;
    if (mv_mkdir_p(proxyd.run_dir, 0755, &err) < 0)
        return -1;
    fake_daemon_listen();
    return fx_daemon_start(&proxyd, run_proxy, NULL);
}

static int teardown(void **state)
{
    int rc = fx_daemon_stop(&proxyd);
    if (fake_listen >= 0)
        close(fake_listen);
    fake_listen = -1;
    return rc;
}

/* ---- both ends speak frames ---- */

static void client_connect(fx_peer *p, bool ro)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/virtproxyd-sock%s", proxyd.run_dir, ro ? "-ro" : "");
    fx_peer_connect(p, path);
}

/* The fake daemon accepts the proxy's next upstream connection. */
static void fake_accept(fx_peer *p)
{
    struct pollfd pf = {.fd = fake_listen, .events = POLLIN};
    assert_int_equal(poll(&pf, 1, 20000), 1);
    int fd = accept4(fake_listen, NULL, NULL, SOCK_CLOEXEC);
    assert_true(fd >= 0);
    fx_peer_init(p, fd);
}

static void reply(fx_peer *p, uint32_t serial, uint32_t proc, const ProtobufCMessage *body)
{
    fx_peer_send(p, serial, MODVIRT__FRAME_KIND__FRAME_REPLY, proc, body, NULL);
}

static Modvirt__Envelope *expect(fx_peer *p, Modvirt__FrameKind kind, uint32_t proc)
{
    Modvirt__Envelope *env = fx_peer_next(p, 20000);
    assert_non_null(env);
    if (env->kind != kind || env->proc != proc)
        fail_msg("got kind %d proc %u (serial %u), want kind %d proc %u", env->kind, env->proc,
                 env->serial, kind, proc);
    return env;
}

/* The fake daemon's side of a handshake: identify, then (replay) the open. */
static void fake_handshake(fx_peer *up, bool readonly, bool replay, const char *uri)
{
    Modvirt__Envelope *env = expect(up, MODVIRT__FRAME_KIND__FRAME_CALL, MV_PROC_PROXY_IDENTIFY);
    assert_true(env->serial & PROXY_SERIAL_BIT);
    Modvirt__IdentifyArgs *id = (Modvirt__IdentifyArgs *)mv_body_unpack(
        &modvirt__identify_args__descriptor, env->body.data, env->body.len, NULL);
    assert_int_equal(id->uid, getuid());
    assert_int_equal(id->pid, getpid());
    assert_int_equal(id->readonly, readonly);
    protobuf_c_message_free_unpacked(&id->base, NULL);
    reply(up, env->serial, env->proc, NULL);
    mv_envelope_free(env);
    if (!replay)
        return;
    env = expect(up, MODVIRT__FRAME_KIND__FRAME_CALL, MV_PROC_CONNECT_OPEN);
    assert_true(env->serial & PROXY_SERIAL_BIT);
    Modvirt__ConnectOpenArgs *a = (Modvirt__ConnectOpenArgs *)mv_body_unpack(
        &modvirt__connect_open_args__descriptor, env->body.data, env->body.len, NULL);
    assert_string_equal(a->uri, uri);
    protobuf_c_message_free_unpacked(&a->base, NULL);
    Modvirt__ConnectOpenRet ret = MODVIRT__CONNECT_OPEN_RET__INIT;
    ret.uri = (char *)uri;
    reply(up, env->serial, env->proc, &ret.base);
    mv_envelope_free(env);
}

/* ---- tests ---- */

static void test_life_of_an_upstream(void **state)
{
    fx_peer cl, up;
    Modvirt__Empty empty = MODVIRT__EMPTY__INIT;
    Modvirt__ConnectOpenArgs open = MODVIRT__CONNECT_OPEN_ARGS__INIT;
    Modvirt__StringRet type = MODVIRT__STRING_RET__INIT;
    Modvirt__DomainDefineArgs def = MODVIRT__DOMAIN_DEFINE_ARGS__INIT;
    open.uri = "qemu:///system";
    type.value = "QEMU";
    def.xml = "<domain/>";

    client_connect(&cl, false);
    fx_peer_call(&cl, 1, MV_PROC_CONNECT_OPEN, &open.base);
    fake_accept(&up);
    fake_handshake(&up, false, false, NULL);
    /* the client's own OPEN follows, serial untouched */
    Modvirt__Envelope *env = expect(&up, MODVIRT__FRAME_KIND__FRAME_CALL, MV_PROC_CONNECT_OPEN);
    assert_int_equal(env->serial, 1);
    mv_envelope_free(env);
    Modvirt__ConnectOpenRet oret = MODVIRT__CONNECT_OPEN_RET__INIT;
    oret.uri = "qemu:///system";
    reply(&up, 1, MV_PROC_CONNECT_OPEN, &oret.base);
    mv_envelope_free(expect(&cl, MODVIRT__FRAME_KIND__FRAME_REPLY, MV_PROC_CONNECT_OPEN));

    /* a call goes through byte for byte, and so does its reply */
    fx_peer_call(&cl, 2, MV_PROC_CONNECT_GET_TYPE, &empty.base);
    env = expect(&up, MODVIRT__FRAME_KIND__FRAME_CALL, MV_PROC_CONNECT_GET_TYPE);
    mv_envelope_free(env);
    uint8_t sent[64];
    size_t sent_len = up.last_len;
    memcpy(sent, up.last, sent_len);
    reply(&up, 2, MV_PROC_CONNECT_GET_TYPE, &type.base);
    env = expect(&cl, MODVIRT__FRAME_KIND__FRAME_REPLY, MV_PROC_CONNECT_GET_TYPE);
    assert_int_equal(env->serial, 2);
    mv_envelope_free(env);
    mv_frame_spec spec = {.serial = 2,
                          .kind = MODVIRT__FRAME_KIND__FRAME_CALL,
                          .proc = MV_PROC_CONNECT_GET_TYPE,
                          .body = &empty.base};
    uint8_t *built = NULL;
    size_t built_len = 0;
    assert_int_equal(mv_frame_build(&spec, &built, &built_len, NULL), 0);
    assert_int_equal(sent_len, built_len - 4);
    assert_memory_equal(sent, built + 4, sent_len);
    free(built);

    /* events from the daemon pass as they are */
    fx_peer_send(&up, 0, MODVIRT__FRAME_KIND__FRAME_EVENT, 77, NULL, NULL);
    mv_envelope_free(expect(&cl, MODVIRT__FRAME_KIND__FRAME_EVENT, 77));

    /* the daemon dies with a call in flight: it fails at once, the client stays */
    fx_peer_call(&cl, 3, MV_PROC_DOMAIN_DEFINE_XML, &def.base);
    mv_envelope_free(expect(&up, MODVIRT__FRAME_KIND__FRAME_CALL, MV_PROC_DOMAIN_DEFINE_XML));
    fx_peer_close(&up);
    fx_peer_expect_error(&cl, 3, VIR_ERR_RPC, "connection to virtqemud lost");

    /* the next call brings it back: identify and open replayed, then the call */
    fx_peer_call(&cl, 4, MV_PROC_CONNECT_GET_TYPE, &empty.base);
    fake_accept(&up);
    fake_handshake(&up, false, true, "qemu:///system");
    env = expect(&up, MODVIRT__FRAME_KIND__FRAME_CALL, MV_PROC_CONNECT_GET_TYPE);
    assert_int_equal(env->serial, 4);
    mv_envelope_free(env);
    reply(&up, 4, MV_PROC_CONNECT_GET_TYPE, &type.base);
    /* the client sees only its own reply, not the proxy's handshake */
    env = expect(&cl, MODVIRT__FRAME_KIND__FRAME_REPLY, MV_PROC_CONNECT_GET_TYPE);
    assert_int_equal(env->serial, 4);
    mv_envelope_free(env);

    /* a hung daemon: keepalives go unanswered, the call fails */
    fx_peer_call(&cl, 5, MV_PROC_DOMAIN_DEFINE_XML, &def.base);
    mv_envelope_free(expect(&up, MODVIRT__FRAME_KIND__FRAME_CALL, MV_PROC_DOMAIN_DEFINE_XML));
    env = expect(&up, MODVIRT__FRAME_KIND__FRAME_CALL, MV_PROC_CONNECT_KEEPALIVE);
    assert_true(env->serial & PROXY_SERIAL_BIT);
    mv_envelope_free(env);
    fx_peer_expect_error(&cl, 5, VIR_ERR_RPC, "no answer to keepalives");
    assert_null(fx_peer_next(&up, 20000)); /* the proxy hung up on it */
    fx_peer_close(&up);

    /* nothing answers and it cannot be started: a clear error, the client stays */
    close(fake_listen);
    fake_listen = -1;
    char path[256];
    snprintf(path, sizeof(path), "%s/virtqemud-sock", proxyd.run_dir);
    unlink(path);
    fx_peer_call(&cl, 6, MV_PROC_CONNECT_GET_TYPE, &empty.base);
    fx_peer_expect_error(&cl, 6, VIR_ERR_SYSTEM_ERROR, "virtqemud");
    fx_peer_call(&cl, 7, MV_PROC_CONNECT_KEEPALIVE, &empty.base);
    mv_envelope_free(expect(&cl, MODVIRT__FRAME_KIND__FRAME_REPLY, MV_PROC_CONNECT_KEEPALIVE));
    fx_peer_close(&cl);
    fake_daemon_listen();
}

/* The read-only socket: the identity says so, and writes never leave the proxy. */
static void test_read_only(void **state)
{
    fx_peer cl, up;
    Modvirt__Empty empty = MODVIRT__EMPTY__INIT;
    Modvirt__ConnectOpenArgs open = MODVIRT__CONNECT_OPEN_ARGS__INIT;
    Modvirt__DomainDefineArgs def = MODVIRT__DOMAIN_DEFINE_ARGS__INIT;
    Modvirt__IdentifyArgs id = MODVIRT__IDENTIFY_ARGS__INIT;
    open.uri = "qemu:///system";
    def.xml = "<domain/>";

    client_connect(&cl, true);
    fx_peer_call(&cl, 1, MV_PROC_PROXY_IDENTIFY, &id.base);
    fx_peer_expect_error(&cl, 1, VIR_ERR_ACCESS_DENIED, "reserved for virtproxyd");
    fx_peer_call(&cl, 2, MV_PROC_CONNECT_GET_TYPE, &empty.base);
    fx_peer_expect_error(&cl, 2, VIR_ERR_OPERATION_INVALID, "connection not open");
    Modvirt__ConnectOpenArgs lxc = MODVIRT__CONNECT_OPEN_ARGS__INIT;
    lxc.uri = "lxc:///system";
    fx_peer_call(&cl, 3, MV_PROC_CONNECT_OPEN, &lxc.base);
    fx_peer_expect_error(
        &cl, 3, VIR_ERR_NO_CONNECT,
        "no connection driver available for lxc:///system: no driver for scheme 'lxc'");

    fx_peer_call(&cl, 4, MV_PROC_CONNECT_OPEN, &open.base);
    fake_accept(&up);
    fake_handshake(&up, true, false, NULL);
    mv_envelope_free(expect(&up, MODVIRT__FRAME_KIND__FRAME_CALL, MV_PROC_CONNECT_OPEN));
    reply(&up, 4, MV_PROC_CONNECT_OPEN, NULL);
    mv_envelope_free(expect(&cl, MODVIRT__FRAME_KIND__FRAME_REPLY, MV_PROC_CONNECT_OPEN));

    fx_peer_call(&cl, 5, MV_PROC_DOMAIN_DEFINE_XML, &def.base);
    fx_peer_expect_error(&cl, 5, VIR_ERR_OPERATION_DENIED,
                         "read only access prevents domain_define_xml");
    /* the next thing the daemon sees is the read that followed, not the define */
    fx_peer_call(&cl, 6, MV_PROC_CONNECT_GET_TYPE, &empty.base);
    Modvirt__Envelope *env = expect(&up, MODVIRT__FRAME_KIND__FRAME_CALL, MV_PROC_CONNECT_GET_TYPE);
    assert_int_equal(env->serial, 6);
    mv_envelope_free(env);

    /* the client leaves: its upstream is closed */
    fx_peer_close(&cl);
    assert_null(fx_peer_next(&up, 20000));
    fx_peer_close(&up);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_life_of_an_upstream),
        cmocka_unit_test(test_read_only),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
