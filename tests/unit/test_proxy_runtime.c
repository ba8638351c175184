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
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/daemon/service.h"
#include "common/frame.h"
#include "common/paths.h"
#include "common/proc.h"
#include "common/spawn.h"
#include "virtproxyd/proxy.h"

static char root[64];
static char run_dir[128];
static pthread_t proxy_thread;
static int proxy_status = -1;
static int notify_fd = -1;
static int fake_listen = -1; /* the test's "virtqemud" socket */

static void *run_proxy(void *arg)
{
    char *argv[] = {"virtproxyd", NULL};
    proxy_status = proxy_main(1, argv);
    return NULL;
}

static void wait_ready(void)
{
    char buf[512];
    for (;;) {
        struct pollfd p = {.fd = notify_fd, .events = POLLIN};
        assert_int_equal(poll(&p, 1, 20000), 1);
        ssize_t n = recv(notify_fd, buf, sizeof(buf) - 1, 0);
        assert_true(n > 0);
        buf[n] = '\0';
        if (strstr(buf, "READY=1"))
            return;
        if (strstr(buf, "STOPPING=1"))
            fail_msg("virtproxyd failed to start: %s", buf);
    }
}

static void fake_daemon_listen(void)
{
    char path[256];
    mv_error err = MV_ERROR_INIT;
    snprintf(path, sizeof(path), "%s/virtqemud-sock", run_dir);
    fake_listen = mv_listen_unix(path, 0600, &err);
    if (fake_listen < 0)
        fail_msg("%s", err.message);
    /* accept() below blocks, with poll() as the timeout */
    int fl = fcntl(fake_listen, F_GETFL);
    fcntl(fake_listen, F_SETFL, fl & ~O_NONBLOCK);
}

static int setup(void **state)
{
    snprintf(root, sizeof(root), "/tmp/test_proxy_runtime.XXXXXX");
    if (!mkdtemp(root))
        return -1;
    setenv("MODVIRT_ROOT", root, 1);
    /* nowhere to start a real daemon from: a restart must fail cleanly */
    setenv("MODVIRT_DAEMON_DIR", root, 1);
    setenv("MODVIRT_PROXY_KEEPALIVE_INTERVAL_MS", "100", 1);
    setenv("MODVIRT_PROXY_KEEPALIVE_COUNT", "3", 1);
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_PID");
    snprintf(run_dir, sizeof(run_dir), "%s/run/modvirt", root);
    mv_error err = MV_ERROR_INIT;
    if (mv_mkdir_p(run_dir, 0755, &err) < 0)
        return -1;
    fake_daemon_listen();

    char notify_path[128];
    snprintf(notify_path, sizeof(notify_path), "%s/notify", root);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    strcpy(a.sun_path, notify_path);
    notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (notify_fd < 0 || bind(notify_fd, (struct sockaddr *)&a, sizeof(a)) < 0)
        return -1;
    setenv("NOTIFY_SOCKET", notify_path, 1);
    if (pthread_create(&proxy_thread, NULL, run_proxy, NULL) != 0)
        return -1;
    wait_ready();
    return 0;
}

static int teardown(void **state)
{
    kill(getpid(), SIGTERM);
    pthread_join(proxy_thread, NULL);
    close(notify_fd);
    if (fake_listen >= 0)
        close(fake_listen);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    if (system(cmd) != 0)
        return -1;
    return proxy_status == 0 ? 0 : -1;
}

/* ---- both ends speak frames ---- */

typedef struct peer {
    int fd;
    mv_frame_reader r;
    uint8_t last[4096]; /* the last frame's envelope bytes, to compare */
    size_t last_len;
} peer;

static void peer_init(peer *p, int fd)
{
    p->fd = fd;
    mv_frame_reader_init(&p->r, 0);
}

static void peer_close(peer *p)
{
    close(p->fd);
    mv_frame_reader_free(&p->r);
}

static void client_connect(peer *p, bool ro)
{
    char path[256];
    mv_error err = MV_ERROR_INIT;
    snprintf(path, sizeof(path), "%s/virtproxyd-sock%s", run_dir, ro ? "-ro" : "");
    int fd = mv_socket_connect(path, &err);
    if (fd < 0)
        fail_msg("%s", err.message);
    peer_init(p, fd);
}

/* The fake daemon accepts the proxy's next upstream connection. */
static void fake_accept(peer *p)
{
    struct pollfd pf = {.fd = fake_listen, .events = POLLIN};
    assert_int_equal(poll(&pf, 1, 20000), 1);
    int fd = accept4(fake_listen, NULL, NULL, SOCK_CLOEXEC);
    assert_true(fd >= 0);
    peer_init(p, fd);
}

static void send_frame(peer *p, uint32_t serial, Modvirt__FrameKind kind, uint32_t proc,
                       const ProtobufCMessage *body, const mv_error *e)
{
    mv_frame_spec spec = {.serial = serial, .kind = kind, .proc = proc, .body = body, .error = e};
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(mv_frame_build(&spec, &buf, &len, NULL), 0);
    assert_int_equal(send(p->fd, buf, len, MSG_NOSIGNAL), (ssize_t)len);
    free(buf);
}

static void call(peer *p, uint32_t serial, uint32_t proc, const ProtobufCMessage *body)
{
    send_frame(p, serial, MODVIRT__FRAME_KIND__FRAME_CALL, proc, body, NULL);
}

static void reply(peer *p, uint32_t serial, uint32_t proc, const ProtobufCMessage *body)
{
    send_frame(p, serial, MODVIRT__FRAME_KIND__FRAME_REPLY, proc, body, NULL);
}

/* The next frame (NULL at end of stream); its bytes are kept in p->last. */
static Modvirt__Envelope *next(peer *p, int timeout_ms)
{
    for (;;) {
        const uint8_t *b = NULL;
        size_t len = 0;
        int r = mv_frame_reader_next(&p->r, &b, &len, NULL);
        assert_true(r >= 0);
        if (r == 1) {
            p->last_len = len < sizeof(p->last) ? len : sizeof(p->last);
            memcpy(p->last, b, p->last_len);
            Modvirt__Envelope *env = mv_envelope_unpack(b, len, NULL);
            assert_non_null(env);
            return env;
        }
        size_t avail = 0;
        uint8_t *space = mv_frame_reader_space(&p->r, 65536, &avail);
        struct pollfd pf = {.fd = p->fd, .events = POLLIN};
        if (poll(&pf, 1, timeout_ms) != 1)
            fail_msg("no frame within %d ms", timeout_ms);
        ssize_t n = recv(p->fd, space, avail, 0);
        if (n <= 0)
            return NULL;
        mv_frame_reader_commit(&p->r, (size_t)n);
    }
}

static Modvirt__Envelope *expect(peer *p, Modvirt__FrameKind kind, uint32_t proc)
{
    Modvirt__Envelope *env = next(p, 20000);
    assert_non_null(env);
    if (env->kind != kind || env->proc != proc)
        fail_msg("got kind %d proc %u (serial %u), want kind %d proc %u", env->kind, env->proc,
                 env->serial, kind, proc);
    return env;
}

static void expect_error(peer *p, uint32_t serial, int code, const char *text)
{
    Modvirt__Envelope *env = next(p, 20000);
    assert_non_null(env);
    assert_int_equal(env->kind, MODVIRT__FRAME_KIND__FRAME_ERROR);
    assert_int_equal(env->serial, serial);
    if (env->error->code != code || !strstr(env->error->message, text))
        fail_msg("serial %u: got %d '%s', want %d '%s'", serial, env->error->code,
                 env->error->message, code, text);
    mv_envelope_free(env);
}

/* The fake daemon's side of a handshake: identify, then (replay) the open. */
static void fake_handshake(peer *up, bool readonly, bool replay, const char *uri)
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
    peer cl, up;
    Modvirt__Empty empty = MODVIRT__EMPTY__INIT;
    Modvirt__ConnectOpenArgs open = MODVIRT__CONNECT_OPEN_ARGS__INIT;
    Modvirt__StringRet type = MODVIRT__STRING_RET__INIT;
    Modvirt__DomainDefineArgs def = MODVIRT__DOMAIN_DEFINE_ARGS__INIT;
    open.uri = "qemu:///system";
    type.value = "QEMU";
    def.xml = "<domain/>";

    client_connect(&cl, false);
    call(&cl, 1, MV_PROC_CONNECT_OPEN, &open.base);
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
    call(&cl, 2, MV_PROC_CONNECT_GET_TYPE, &empty.base);
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
    send_frame(&up, 0, MODVIRT__FRAME_KIND__FRAME_EVENT, 77, NULL, NULL);
    mv_envelope_free(expect(&cl, MODVIRT__FRAME_KIND__FRAME_EVENT, 77));

    /* the daemon dies with a call in flight: it fails at once, the client stays */
    call(&cl, 3, MV_PROC_DOMAIN_DEFINE_XML, &def.base);
    mv_envelope_free(expect(&up, MODVIRT__FRAME_KIND__FRAME_CALL, MV_PROC_DOMAIN_DEFINE_XML));
    peer_close(&up);
    expect_error(&cl, 3, VIR_ERR_RPC, "connection to virtqemud lost");

    /* the next call brings it back: identify and open replayed, then the call */
    call(&cl, 4, MV_PROC_CONNECT_GET_TYPE, &empty.base);
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
    call(&cl, 5, MV_PROC_DOMAIN_DEFINE_XML, &def.base);
    mv_envelope_free(expect(&up, MODVIRT__FRAME_KIND__FRAME_CALL, MV_PROC_DOMAIN_DEFINE_XML));
    env = expect(&up, MODVIRT__FRAME_KIND__FRAME_CALL, MV_PROC_CONNECT_KEEPALIVE);
    assert_true(env->serial & PROXY_SERIAL_BIT);
    mv_envelope_free(env);
    expect_error(&cl, 5, VIR_ERR_RPC, "no answer to keepalives");
    assert_null(next(&up, 20000)); /* the proxy hung up on it */
    peer_close(&up);

    /* nothing answers and it cannot be started: a clear error, the client stays */
    close(fake_listen);
    fake_listen = -1;
    char path[256];
    snprintf(path, sizeof(path), "%s/virtqemud-sock", run_dir);
    unlink(path);
    call(&cl, 6, MV_PROC_CONNECT_GET_TYPE, &empty.base);
    expect_error(&cl, 6, VIR_ERR_SYSTEM_ERROR, "virtqemud");
    call(&cl, 7, MV_PROC_CONNECT_KEEPALIVE, &empty.base);
    mv_envelope_free(expect(&cl, MODVIRT__FRAME_KIND__FRAME_REPLY, MV_PROC_CONNECT_KEEPALIVE));
    peer_close(&cl);
    fake_daemon_listen();
}

/* The read-only socket: the identity says so, and writes never leave the proxy. */
static void test_read_only(void **state)
{
    peer cl, up;
    Modvirt__Empty empty = MODVIRT__EMPTY__INIT;
    Modvirt__ConnectOpenArgs open = MODVIRT__CONNECT_OPEN_ARGS__INIT;
    Modvirt__DomainDefineArgs def = MODVIRT__DOMAIN_DEFINE_ARGS__INIT;
    Modvirt__IdentifyArgs id = MODVIRT__IDENTIFY_ARGS__INIT;
    open.uri = "qemu:///system";
    def.xml = "<domain/>";

    client_connect(&cl, true);
    call(&cl, 1, MV_PROC_PROXY_IDENTIFY, &id.base);
    expect_error(&cl, 1, VIR_ERR_ACCESS_DENIED, "reserved for virtproxyd");
    call(&cl, 2, MV_PROC_CONNECT_GET_TYPE, &empty.base);
    expect_error(&cl, 2, VIR_ERR_OPERATION_INVALID, "connection not open");
    Modvirt__ConnectOpenArgs lxc = MODVIRT__CONNECT_OPEN_ARGS__INIT;
    lxc.uri = "lxc:///system";
    call(&cl, 3, MV_PROC_CONNECT_OPEN, &lxc.base);
    expect_error(&cl, 3, VIR_ERR_NO_CONNECT,
                 "no connection driver available for lxc:///system: no driver for scheme 'lxc'");

    call(&cl, 4, MV_PROC_CONNECT_OPEN, &open.base);
    fake_accept(&up);
    fake_handshake(&up, true, false, NULL);
    mv_envelope_free(expect(&up, MODVIRT__FRAME_KIND__FRAME_CALL, MV_PROC_CONNECT_OPEN));
    reply(&up, 4, MV_PROC_CONNECT_OPEN, NULL);
    mv_envelope_free(expect(&cl, MODVIRT__FRAME_KIND__FRAME_REPLY, MV_PROC_CONNECT_OPEN));

    call(&cl, 5, MV_PROC_DOMAIN_DEFINE_XML, &def.base);
    expect_error(&cl, 5, VIR_ERR_OPERATION_DENIED, "read only access prevents domain_define_xml");
    /* the next thing the daemon sees is the read that followed, not the define */
    call(&cl, 6, MV_PROC_CONNECT_GET_TYPE, &empty.base);
    Modvirt__Envelope *env = expect(&up, MODVIRT__FRAME_KIND__FRAME_CALL, MV_PROC_CONNECT_GET_TYPE);
    assert_int_equal(env->serial, 6);
    mv_envelope_free(env);

    /* the client leaves: its upstream is closed */
    peer_close(&cl);
    assert_null(next(&up, 20000));
    peer_close(&up);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_life_of_an_upstream),
        cmocka_unit_test(test_read_only),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
