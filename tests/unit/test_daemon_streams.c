/* test_daemon_streams.c: the runtime's events and streams, with a test driver on a thread
 * of this process, spoken to over the daemon's real socket: registrations with and
 * without a domain filter, per-registration callback ids, numbering, deregistration; a
 * stream bridging a socketpair both ways, flow control against a client that does not
 * read, FINISH both ways, the source's end, and frames for no open stream. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
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

#include "common/daemon/daemon.h"
#include "common/frame.h"
#include "common/proc.h"

/* ---- the test driver ---- */

static int peer_fd = -1; /* the test's end of the last console's socketpair */

static int t_open(mv_call *call, const Modvirt__ConnectOpenArgs *a, Modvirt__ConnectOpenRet *r)
{
    r->uri = strdup(a->uri);
    return 0;
}

/* A JOB that emits a lifecycle event about the domain named by the "xml", from its
 * worker thread. */
static int t_define(mv_call *call, const Modvirt__DomainDefineArgs *a, Modvirt__DomainRet *r)
{
    unsigned char uuid[16] = {0};
    uuid[0] = (unsigned char)a->xml[0];
    if (mv_daemon_emit_lifecycle(mv_call_daemon(call), a->xml, uuid, -1, 0 /* DEFINED */,
                                 0 /* ADDED */) < 0) {
        mv_error_set(mv_call_error(call), VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU, "emit");
        return -1;
    }
    r->dom = malloc(sizeof(*r->dom));
    modvirt__domain__init(r->dom);
    r->dom->name = strdup(a->xml);
    r->dom->id = -1;
    return 0;
}

static int t_console(mv_call *call, const Modvirt__DomainOpenConsoleArgs *a, Modvirt__Empty *r)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        mv_error_set(mv_call_error(call), VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU, "socketpair");
        return -1;
    }
    /* small buffers, so flow control shows after little data */
    int sz = 16384;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
    setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
    peer_fd = sv[0];
    return mv_call_attach_stream_fd(call, sv[1]);
}

static const char *const t_schemes[] = {"qemu", NULL};
static const mv_driver t_driver = {
    .name = "TEST",
    .daemon_name = "virtqemud",
    .schemes = t_schemes,
    .error_domain = VIR_FROM_QEMU,
    .connect_open = t_open,
    .domain_define_xml = t_define,
    .domain_open_console = t_console,
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
    (void)arg;
    daemon_status = mv_daemon_main(1, argv, &t_driver);
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
            fail_msg("daemon failed to start: %s", buf);
    }
}

static int setup(void **state)
{
    snprintf(root, sizeof(root), "/tmp/test_daemon_streams.XXXXXX");
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
    kill(getpid(), SIGTERM);
    pthread_join(daemon_thread, NULL);
    close(notify_fd);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    if (system(cmd) != 0)
        return -1;
    return daemon_status == 0 ? 0 : -1;
}

/* ---- a raw client ---- */

typedef struct client {
    int fd;
    mv_frame_reader rd;
} client;

static void send_frame(client *c, const mv_frame_spec *spec)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(mv_frame_build(spec, &buf, &len, NULL), 0);
    for (size_t off = 0; off < len;) {
        ssize_t n = send(c->fd, buf + off, len - off, MSG_NOSIGNAL);
        assert_true(n > 0);
        off += (size_t)n;
    }
    free(buf);
}

static void call(client *c, uint32_t serial, uint32_t proc, const ProtobufCMessage *body)
{
    mv_frame_spec spec = {
        .serial = serial, .kind = MODVIRT__FRAME_KIND__FRAME_CALL, .proc = proc, .body = body};
    send_frame(c, &spec);
}

/* The next frame (within 10 s), or NULL at the deadline. */
static Modvirt__Envelope *next_frame(client *c, int timeout_ms)
{
    for (;;) {
        const uint8_t *payload = NULL;
        size_t len = 0;
        int got = mv_frame_reader_next(&c->rd, &payload, &len, NULL);
        assert_true(got >= 0);
        if (got > 0)
            return mv_envelope_unpack(payload, len, NULL);
        struct pollfd p = {.fd = c->fd, .events = POLLIN};
        if (poll(&p, 1, timeout_ms) != 1)
            return NULL;
        size_t avail = 0;
        uint8_t *space = mv_frame_reader_space(&c->rd, 65536, &avail);
        ssize_t n = read(c->fd, space, avail);
        assert_true(n > 0);
        mv_frame_reader_commit(&c->rd, (size_t)n);
    }
}

static void client_open(client *c)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    strcpy(a.sun_path, sock_path);
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(c->fd >= 0);
    assert_int_equal(connect(c->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    mv_frame_reader_init(&c->rd, 0);
    Modvirt__ConnectOpenArgs o = MODVIRT__CONNECT_OPEN_ARGS__INIT;
    o.uri = "qemu:///system";
    call(c, 1, MV_PROC_CONNECT_OPEN, &o.base);
    Modvirt__Envelope *env = next_frame(c, 10000);
    assert_non_null(env);
    assert_int_equal(env->kind, MODVIRT__FRAME_KIND__FRAME_REPLY);
    mv_envelope_free(env);
}

static void client_close(client *c)
{
    close(c->fd);
    mv_frame_reader_free(&c->rd);
}

/* ---- events ---- */

static uint64_t reg(client *c, uint32_t serial, int id, const char *dom)
{
    Modvirt__EventRegisterArgs a = MODVIRT__EVENT_REGISTER_ARGS__INIT;
    Modvirt__Domain d = MODVIRT__DOMAIN__INIT;
    a.callback_id = id;
    if (dom) {
        d.name = (char *)dom;
        a.dom = &d;
    }
    call(c, serial, MV_PROC_CONNECT_DOMAIN_EVENT_REGISTER_ANY, &a.base);
    Modvirt__Envelope *env = next_frame(c, 10000);
    assert_non_null(env);
    assert_int_equal(env->kind, MODVIRT__FRAME_KIND__FRAME_REPLY);
    uint64_t seq = env->seq;
    mv_envelope_free(env);
    return seq;
}

/* Defines `name` (the driver emits its event), then collects frames until the reply:
 * returns the callback ids the events carried, in *ids (count returned). */
static int define_collect(client *c, uint32_t serial, const char *name, int *ids, uint64_t *seq)
{
    Modvirt__DomainDefineArgs a = MODVIRT__DOMAIN_DEFINE_ARGS__INIT;
    a.xml = (char *)name;
    call(c, serial, MV_PROC_DOMAIN_DEFINE_XML, &a.base);
    int n = 0;
    bool replied = false;
    /* the event is posted before the reply is queued, but may be written after it: wait
     * for both the reply and (when any registration matches) the events */
    for (;;) {
        Modvirt__Envelope *env = next_frame(c, replied ? 300 : 10000);
        if (!env)
            break;
        if (env->kind == MODVIRT__FRAME_KIND__FRAME_REPLY) {
            replied = true;
        } else {
            assert_int_equal(env->kind, MODVIRT__FRAME_KIND__FRAME_EVENT);
            Modvirt__DomainEventLifecycleMsg *m =
                (Modvirt__DomainEventLifecycleMsg *)mv_body_unpack(
                    &modvirt__domain_event_lifecycle_msg__descriptor, env->body.data, env->body.len,
                    NULL);
            assert_non_null(m);
            assert_string_equal(m->dom->name, name);
            ids[n++] = m->callback_id;
            *seq = env->seq;
            protobuf_c_message_free_unpacked(&m->base, NULL);
        }
        mv_envelope_free(env);
    }
    assert_true(replied);
    return n;
}

static void test_registrations(void **state)
{
    client c;
    int ids[4];
    uint64_t seq = 0, base;
    client_open(&c);
    base = reg(&c, 2, 5, NULL);
    reg(&c, 3, -6, "b"); /* negative ids are the client's business */

    assert_int_equal(define_collect(&c, 4, "a", ids, &seq), 1);
    assert_int_equal(ids[0], 5);
    assert_int_equal(seq, base + 1);
    assert_int_equal(define_collect(&c, 5, "b", ids, &seq), 2);
    assert_true((ids[0] == 5 && ids[1] == -6) || (ids[0] == -6 && ids[1] == 5));
    assert_int_equal(seq, base + 2);

    Modvirt__EventDeregisterArgs d = MODVIRT__EVENT_DEREGISTER_ARGS__INIT;
    d.callback_id = 5;
    call(&c, 6, MV_PROC_CONNECT_DOMAIN_EVENT_DEREGISTER_ANY, &d.base);
    Modvirt__Envelope *env = next_frame(&c, 10000);
    assert_int_equal(env->kind, MODVIRT__FRAME_KIND__FRAME_REPLY);
    mv_envelope_free(env);
    call(&c, 7, MV_PROC_CONNECT_DOMAIN_EVENT_DEREGISTER_ANY, &d.base); /* twice: unknown */
    env = next_frame(&c, 10000);
    assert_int_equal(env->kind, MODVIRT__FRAME_KIND__FRAME_ERROR);
    assert_non_null(strstr(env->error->message, "no callback 5"));
    mv_envelope_free(env);

    assert_int_equal(define_collect(&c, 8, "a", ids, &seq), 0);
    assert_int_equal(define_collect(&c, 9, "b", ids, &seq), 1);
    assert_int_equal(ids[0], -6);
    assert_int_equal(seq, base + 4); /* "a" was numbered too, unseen */

    /* a second connection registering now gets only what comes next */
    client c2;
    client_open(&c2);
    assert_int_equal(reg(&c2, 2, 1, NULL), base + 4);
    client_close(&c2);
    client_close(&c);
}

/* ---- streams ---- */

static uint32_t open_console(client *c, uint32_t serial)
{
    Modvirt__DomainOpenConsoleArgs a = MODVIRT__DOMAIN_OPEN_CONSOLE_ARGS__INIT;
    call(c, serial, MV_PROC_DOMAIN_OPEN_CONSOLE, &a.base);
    Modvirt__Envelope *env = next_frame(c, 10000);
    assert_non_null(env);
    assert_int_equal(env->kind, MODVIRT__FRAME_KIND__FRAME_REPLY);
    mv_envelope_free(env);
    assert_true(peer_fd >= 0);
    return serial;
}

static void stream_send(client *c, uint32_t serial, Modvirt__StreamStatus st, const void *data,
                        size_t len)
{
    mv_frame_spec spec = {.serial = serial,
                          .kind = MODVIRT__FRAME_KIND__FRAME_STREAM,
                          .proc = MV_PROC_DOMAIN_OPEN_CONSOLE,
                          .stream_status = st,
                          .raw_body = data,
                          .raw_body_len = len};
    send_frame(c, &spec);
}

static void read_exact(int fd, char *buf, size_t len)
{
    for (size_t off = 0; off < len;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        assert_int_equal(poll(&p, 1, 10000), 1);
        ssize_t n = read(fd, buf + off, len - off);
        assert_true(n > 0);
        off += (size_t)n;
    }
}

static void test_stream_both_ways(void **state)
{
    client c;
    client_open(&c);
    uint32_t s = open_console(&c, 40);
    int peer = peer_fd;

    assert_int_equal(write(peer, "hello", 5), 5);
    Modvirt__Envelope *env = next_frame(&c, 10000);
    assert_non_null(env);
    assert_int_equal(env->kind, MODVIRT__FRAME_KIND__FRAME_STREAM);
    assert_int_equal(env->serial, s);
    assert_int_equal(env->stream_status, MODVIRT__STREAM_STATUS__STREAM_CONTINUE);
    assert_int_equal(env->body.len, 5);
    assert_memory_equal(env->body.data, "hello", 5);
    mv_envelope_free(env);

    stream_send(&c, s, MODVIRT__STREAM_STATUS__STREAM_CONTINUE, "world", 5);
    char buf[8];
    read_exact(peer, buf, 5);
    assert_memory_equal(buf, "world", 5);

    /* a frame for a stream that is not open is answered with an abort */
    stream_send(&c, 999, MODVIRT__STREAM_STATUS__STREAM_CONTINUE, "x", 1);
    env = next_frame(&c, 10000);
    assert_int_equal(env->serial, 999);
    assert_int_equal(env->stream_status, MODVIRT__STREAM_STATUS__STREAM_ABORT);
    mv_envelope_free(env);

    /* the client finishes: what it sent is delivered, the daemon confirms, the fd closes */
    stream_send(&c, s, MODVIRT__STREAM_STATUS__STREAM_CONTINUE, "bye", 3);
    stream_send(&c, s, MODVIRT__STREAM_STATUS__STREAM_FINISH, NULL, 0);
    read_exact(peer, buf, 3);
    assert_memory_equal(buf, "bye", 3);
    env = next_frame(&c, 10000);
    assert_int_equal(env->serial, s);
    assert_int_equal(env->stream_status, MODVIRT__STREAM_STATUS__STREAM_FINISH);
    mv_envelope_free(env);
    struct pollfd p = {.fd = peer, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 10000), 1);
    assert_int_equal(read(peer, buf, 1), 0);
    close(peer);
    client_close(&c);
}

static void test_stream_source_ends(void **state)
{
    client c;
    client_open(&c);
    uint32_t s = open_console(&c, 41);
    close(peer_fd);
    Modvirt__Envelope *env = next_frame(&c, 10000);
    assert_non_null(env);
    assert_int_equal(env->serial, s);
    assert_int_equal(env->stream_status, MODVIRT__STREAM_STATUS__STREAM_FINISH);
    mv_envelope_free(env);
    /* after the end, the serial is no stream */
    stream_send(&c, s, MODVIRT__STREAM_STATUS__STREAM_CONTINUE, "x", 1);
    env = next_frame(&c, 10000);
    assert_int_equal(env->stream_status, MODVIRT__STREAM_STATUS__STREAM_ABORT);
    mv_envelope_free(env);
    client_close(&c);
}

/* A source that outpaces a client that does not read: the daemon stops reading the
 * source (its writes block) instead of buffering without bound, and every byte arrives
 * in order once the client reads. */
static void test_stream_flow_control(void **state)
{
    client c;
    int sz = 16384;
    client_open(&c);
    setsockopt(c.fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
    uint32_t s = open_console(&c, 42);
    int peer = peer_fd;
    fcntl(peer, F_SETFL, fcntl(peer, F_GETFL) | O_NONBLOCK);

    size_t total = 64u << 20; /* far beyond the client's queue limit */
    size_t written = 0;
    char chunk[65536];
    for (size_t i = 0; i < sizeof(chunk); i++)
        chunk[i] = (char)(i * 7);
    /* write until the daemon stops taking: it must, long before `total` */
    for (;;) {
        ssize_t n =
            write(peer, chunk + written % sizeof(chunk), sizeof(chunk) - written % sizeof(chunk));
        if (n < 0) {
            assert_int_equal(errno, EAGAIN);
            struct pollfd p = {.fd = peer, .events = POLLOUT};
            if (poll(&p, 1, 1000) == 0)
                break; /* stalled: the daemon is not reading us */
            continue;
        }
        written += (size_t)n;
        assert_true(written < total);
    }
    assert_true(written >= (4u << 20)); /* it did queue up to its limit first */
    /* now read everything: bytes in order, no loss */
    size_t got = 0;
    while (got < written) {
        Modvirt__Envelope *env = next_frame(&c, 10000);
        assert_non_null(env);
        assert_int_equal(env->serial, s);
        for (size_t i = 0; i < env->body.len; i++)
            assert_int_equal((unsigned char)env->body.data[i],
                             (unsigned char)(char)(((got + i) % sizeof(chunk)) * 7));
        got += env->body.len;
        mv_envelope_free(env);
    }
    assert_int_equal(got, written);
    stream_send(&c, s, MODVIRT__STREAM_STATUS__STREAM_ABORT, NULL, 0);
    close(peer);
    client_close(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_registrations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_both_ways, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_source_ends, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_flow_control, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
