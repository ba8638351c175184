/* test_daemon_runtime.c: mv_daemon_main() with a small test driver, run on a thread of
 * this process under a fresh MODVIRT_ROOT, spoken to over its real socket: the access
 * rules, LOOP and JOB dispatch, errors, bad frames, a client leaving mid-job, SIGTERM. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/daemon/daemon.h"
#include "common/frame.h"
#include "common/proc.h"
#include "common/spawn.h"

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

static char root[64];
static char sock_path[256];
static pthread_t daemon_thread;
static int daemon_status = -1;
static int notify_fd = -1;

static void *run_daemon(void *arg)
{
    char *argv[] = {"virtqemud", NULL};
    daemon_status = mv_daemon_main(1, argv, &t_driver);
    return NULL;
}

/* Waits for the daemon's READY=1 on our notify socket (no sleeping). */
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
            fail_msg("daemon failed to start: %s", buf);
    }
}

static int setup(void **state)
{
    snprintf(root, sizeof(root), "/tmp/test_daemon_runtime.XXXXXX");
    if (!mkdtemp(root))
        return -1;
    setenv("MODVIRT_ROOT", root, 1);
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_PID");
    snprintf(sock_path, sizeof(sock_path), "%s/run/modvirt/virtqemud-sock", root);

    char notify_path[128];
    snprintf(notify_path, sizeof(notify_path), "%s/notify", root);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    strcpy(a.sun_path, notify_path);
    notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (notify_fd < 0 || bind(notify_fd, (struct sockaddr *)&a, sizeof(a)) < 0)
        return -1;
    setenv("NOTIFY_SOCKET", notify_path, 1);

    if (pthread_create(&daemon_thread, NULL, run_daemon, NULL) != 0)
        return -1;
    wait_ready();
    return 0;
}

static int teardown(void **state)
{
    /* libuv's signal handling delivers it to the daemon's loop */
    kill(getpid(), SIGTERM);
    pthread_join(daemon_thread, NULL);
    close(notify_fd);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    if (system(cmd) != 0)
        return -1;
    return daemon_status == 0 ? 0 : -1;
}

/* ---- a tiny client ---- */

typedef struct client {
    int fd;
    mv_frame_reader r;
} client;

static void client_open_sock(client *c)
{
    mv_error err = MV_ERROR_INIT;
    c->fd = mv_socket_connect(sock_path, &err);
    if (c->fd < 0)
        fail_msg("connect: %s", err.message);
    mv_frame_reader_init(&c->r, 0);
}

static void client_close(client *c)
{
    close(c->fd);
    mv_frame_reader_free(&c->r);
}

static void send_raw(client *c, const void *data, size_t len)
{
    assert_int_equal(send(c->fd, data, len, MSG_NOSIGNAL), (ssize_t)len);
}

static void send_call(client *c, uint32_t serial, uint32_t proc, const ProtobufCMessage *body)
{
    mv_frame_spec spec = {
        .serial = serial, .kind = MODVIRT__FRAME_KIND__FRAME_CALL, .proc = proc, .body = body};
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(mv_frame_build(&spec, &buf, &len, NULL), 0);
    send_raw(c, buf, len);
    free(buf);
}

/* The next frame, unpacked; NULL when the daemon closed the connection. */
static Modvirt__Envelope *recv_frame(client *c)
{
    for (;;) {
        const uint8_t *p = NULL;
        size_t len = 0;
        int r = mv_frame_reader_next(&c->r, &p, &len, NULL);
        assert_true(r >= 0);
        if (r == 1) {
            Modvirt__Envelope *env = mv_envelope_unpack(p, len, NULL);
            assert_non_null(env);
            return env;
        }
        size_t avail = 0;
        uint8_t *space = mv_frame_reader_space(&c->r, 65536, &avail);
        struct pollfd pf = {.fd = c->fd, .events = POLLIN};
        assert_int_equal(poll(&pf, 1, 20000), 1);
        ssize_t n = recv(c->fd, space, avail, 0);
        if (n <= 0)
            return NULL;
        mv_frame_reader_commit(&c->r, (size_t)n);
    }
}

static void open_conn(client *c, uint32_t flags)
{
    Modvirt__ConnectOpenArgs a = MODVIRT__CONNECT_OPEN_ARGS__INIT;
    a.uri = "qemu:///system";
    a.flags = flags;
    send_call(c, 1, MV_PROC_CONNECT_OPEN, &a.base);
    Modvirt__Envelope *env = recv_frame(c);
    assert_int_equal(env->kind, MODVIRT__FRAME_KIND__FRAME_REPLY);
    mv_envelope_free(env);
}

/* Expects an error reply for serial with this code and text in its message. */
static void expect_error(client *c, uint32_t serial, int code, const char *text)
{
    Modvirt__Envelope *env = recv_frame(c);
    assert_non_null(env);
    assert_int_equal(env->kind, MODVIRT__FRAME_KIND__FRAME_ERROR);
    assert_int_equal(env->serial, serial);
    assert_non_null(env->error);
    if (env->error->code != code || !strstr(env->error->message, text))
        fail_msg("serial %u: got %d '%s', want %d '%s'", serial, env->error->code,
                 env->error->message, code, text);
    mv_envelope_free(env);
}

static char *recv_string(client *c, uint32_t serial)
{
    Modvirt__Envelope *env = recv_frame(c);
    assert_non_null(env);
    assert_int_equal(env->kind, MODVIRT__FRAME_KIND__FRAME_REPLY);
    assert_int_equal(env->serial, serial);
    Modvirt__StringRet *r = (Modvirt__StringRet *)mv_body_unpack(
        &modvirt__string_ret__descriptor, env->body.data, env->body.len, NULL);
    assert_non_null(r);
    char *s = strdup(r->value);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    mv_envelope_free(env);
    return s;
}

static void send_define(client *c, uint32_t serial, const char *xml)
{
    Modvirt__DomainDefineArgs a = MODVIRT__DOMAIN_DEFINE_ARGS__INIT;
    a.xml = (char *)xml;
    send_call(c, serial, MV_PROC_DOMAIN_DEFINE_XML, &a.base);
}

/* ---- tests ---- */

static void test_access_rules(void **state)
{
    client c;
    Modvirt__Empty empty = MODVIRT__EMPTY__INIT;
    client_open_sock(&c);

    send_call(&c, 1, MV_PROC_CONNECT_KEEPALIVE, &empty.base);
    Modvirt__Envelope *env = recv_frame(&c);
    assert_int_equal(env->kind, MODVIRT__FRAME_KIND__FRAME_REPLY);
    mv_envelope_free(env);

    send_call(&c, 2, MV_PROC_CONNECT_GET_TYPE, &empty.base);
    expect_error(&c, 2, VIR_ERR_OPERATION_INVALID, "connection not open");

    Modvirt__ConnectOpenArgs lxc = MODVIRT__CONNECT_OPEN_ARGS__INIT;
    lxc.uri = "lxc:///system";
    send_call(&c, 3, MV_PROC_CONNECT_OPEN, &lxc.base);
    expect_error(&c, 3, VIR_ERR_NO_CONNECT, "lxc:///system");

    open_conn(&c, 1); /* VIR_CONNECT_RO */
    send_call(&c, 4, MV_PROC_CONNECT_GET_TYPE, &empty.base);
    char *who = recv_string(&c, 4);
    assert_non_null(strstr(who, "ro=1 uri=qemu:///system"));
    free(who);

    send_define(&c, 5, "1");
    expect_error(&c, 5, VIR_ERR_OPERATION_DENIED,
                 "operation forbidden: read only access prevents domain_define_xml");
    send_call(&c, 6, MV_PROC_NODE_GET_INFO, &empty.base);
    expect_error(&c, 6, VIR_ERR_NO_SUPPORT, "node_get_info");
    send_call(&c, 7, 999, &empty.base);
    expect_error(&c, 7, VIR_ERR_NO_SUPPORT, "unknown procedure 999");
    send_call(&c, 8, MV_PROC_CONNECT_OPEN, &lxc.base);
    expect_error(&c, 8, VIR_ERR_OPERATION_INVALID, "already open");

    /* a body that does not decode: an error for that call, the connection stays */
    mv_frame_spec bad = {.serial = 9,
                         .kind = MODVIRT__FRAME_KIND__FRAME_CALL,
                         .proc = MV_PROC_CONNECT_GET_TYPE,
                         .raw_body = (const uint8_t *)"\xff\xff",
                         .raw_body_len = 2};
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(mv_frame_build(&bad, &buf, &len, NULL), 0);
    send_raw(&c, buf, len);
    free(buf);
    expect_error(&c, 9, VIR_ERR_RPC, "malformed");
    send_call(&c, 10, MV_PROC_CONNECT_GET_TYPE, &empty.base);
    free(recv_string(&c, 10));

    /* close: a reply, then the end of the connection */
    send_call(&c, 11, MV_PROC_CONNECT_CLOSE, &empty.base);
    env = recv_frame(&c);
    assert_int_equal(env->kind, MODVIRT__FRAME_KIND__FRAME_REPLY);
    mv_envelope_free(env);
    assert_null(recv_frame(&c));
    client_close(&c);
}

/* We run as the daemon's own uid, so we may speak for a caller, once, before the open. */
static void test_identify(void **state)
{
    client c;
    Modvirt__Empty empty = MODVIRT__EMPTY__INIT;
    Modvirt__IdentifyArgs id = MODVIRT__IDENTIFY_ARGS__INIT;
    id.uid = 1234;
    id.gid = 1234;
    id.pid = 4321;
    id.readonly = true;
    client_open_sock(&c);
    send_call(&c, 1, MV_PROC_PROXY_IDENTIFY, &id.base);
    Modvirt__Envelope *env = recv_frame(&c);
    assert_int_equal(env->kind, MODVIRT__FRAME_KIND__FRAME_REPLY);
    mv_envelope_free(env);
    send_call(&c, 2, MV_PROC_PROXY_IDENTIFY, &id.base);
    expect_error(&c, 2, VIR_ERR_OPERATION_INVALID, "already identified");
    open_conn(&c, 0);
    send_call(&c, 3, MV_PROC_CONNECT_GET_TYPE, &empty.base);
    char *who = recv_string(&c, 3);
    assert_non_null(strstr(who, "uid=1234 pid=4321 ro=1"));
    free(who);
    send_define(&c, 4, "1");
    expect_error(&c, 4, VIR_ERR_OPERATION_DENIED, "read only");
    client_close(&c);
}

/* Reads never wait behind jobs, and every job is answered once, by serial. */
static void test_jobs(void **state)
{
    client c;
    Modvirt__Empty empty = MODVIRT__EMPTY__INIT;
    client_open_sock(&c);
    open_conn(&c, 0);
    for (uint32_t i = 0; i < 40; i++)
        send_define(&c, 100 + i, "200");
    send_define(&c, 200, "fail");
    send_define(&c, 201, "silent");
    send_call(&c, 300, MV_PROC_CONNECT_GET_TYPE, &empty.base);
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
    client_close(&c);
}

/* Clients that leave with jobs running, or send garbage, leave the daemon serving. */
static void test_bad_clients(void **state)
{
    client c, d;
    Modvirt__Empty empty = MODVIRT__EMPTY__INIT;
    client_open_sock(&c);
    open_conn(&c, 0);
    for (uint32_t i = 0; i < 20; i++)
        send_define(&c, 10 + i, "100");
    client_close(&c);

    /* oversized, empty, malformed: an error about the connection, then the end */
    static const uint8_t oversized[] = {0x7f, 0xff, 0xff, 0xff};
    static const uint8_t empty_frame[] = {0, 0, 0, 0};
    static const uint8_t garbage[] = {0, 0, 0, 2, 0x0f, 0xff};
    const uint8_t *bad[] = {oversized, empty_frame, garbage};
    size_t bad_len[] = {sizeof(oversized), sizeof(empty_frame), sizeof(garbage)};
    for (int i = 0; i < 3; i++) {
        client_open_sock(&d);
        send_raw(&d, bad[i], bad_len[i]);
        Modvirt__Envelope *env = recv_frame(&d);
        assert_non_null(env);
        assert_int_equal(env->kind, MODVIRT__FRAME_KIND__FRAME_ERROR);
        assert_int_equal(env->serial, 0);
        mv_envelope_free(env);
        assert_null(recv_frame(&d));
        client_close(&d);
    }

    client_open_sock(&d);
    open_conn(&d, 0);
    send_call(&d, 2, MV_PROC_CONNECT_GET_TYPE, &empty.base);
    free(recv_string(&d, 2));
    client_close(&d);
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
