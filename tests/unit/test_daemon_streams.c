/* test_daemon_streams.c: the runtime's events and streams, with a test driver on a thread
 * of this process, spoken to over the daemon's real socket: registrations with and
 * without a domain filter, per-registration callback ids, numbering, deregistration; a
 * stream bridging a socketpair (or a pty, as a guest's console) both ways, flow control
 * by credit both ways against a client that does not read and one that sends too much,
 * FINISH both ways, the source's end (a pty's hang-up is an end, a reset socket an
 * error), and frames for no open stream. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "common/daemon/daemon.h"
#include "common/frame.h"
#include "common/proc.h"
#include "common/stream_window.h"
#include "fixture_daemon.h"

/* ---- the test driver ---- */

static int peer_fd = -1; /* the test's end of the last console: socket, or pty master */
static bool console_pty; /* consoles are ptys (the daemon holds the slave, as for qemu) */
static bool console_file; /* the console is a regular file, which no poll can watch */

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
    if (console_file) {
        int fd = memfd_create("not-pollable", MFD_CLOEXEC);
        if (fd < 0) {
            mv_error_set(mv_call_error(call), VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU, "memfd");
            return -1;
        }
        peer_fd = -1;
        return mv_call_attach_stream_fd(call, fd);
    }
    if (console_pty) {
        struct termios raw;
        if (openpty(&sv[0], &sv[1], NULL, NULL, NULL) < 0) {
            mv_error_set(mv_call_error(call), VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU, "openpty");
            return -1;
        }
        /* raw both ways, as virtqemud sets the guest's pty */
        tcgetattr(sv[1], &raw);
        cfmakeraw(&raw);
        tcsetattr(sv[1], TCSANOW, &raw);
        peer_fd = sv[0];
        return mv_call_attach_stream_fd(call, sv[1]);
    }
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
    .connect_open = fx_driver_connect_open,
    .domain_define_xml = t_define,
    .domain_open_console = t_console,
};

/* ---- the daemon on a thread ---- */

static fx_daemon runtime;

static int setup(void **state)
{
    return fx_daemon_start_driver(&runtime, "test_daemon_streams", &t_driver);
}

static int teardown(void **state)
{
    return fx_daemon_stop(&runtime);
}

/* ---- a raw client ---- */

/* Connects to the daemon and opens qemu:///system (serial 1). */
static void client_open(fx_peer *c)
{
    fx_peer_connect(c, runtime.sock);
    Modvirt__ConnectOpenArgs o = MODVIRT__CONNECT_OPEN_ARGS__INIT;
    o.uri = "qemu:///system";
    fx_peer_call(c, 1, MV_PROC_CONNECT_OPEN, &o.base);
    mv_envelope_free(fx_peer_expect_reply(c, 1));
}

/* ---- events ---- */

static uint64_t reg(fx_peer *c, uint32_t serial, int id, const char *dom)
{
    Modvirt__EventRegisterArgs a = MODVIRT__EVENT_REGISTER_ARGS__INIT;
    Modvirt__Domain d = MODVIRT__DOMAIN__INIT;
    a.callback_id = id;
    if (dom) {
        d.name = (char *)dom;
        a.dom = &d;
    }
    fx_peer_call(c, serial, MV_PROC_CONNECT_DOMAIN_EVENT_REGISTER_ANY, &a.base);
    Modvirt__Envelope *env = fx_peer_poll(c, 10000);
    assert_non_null(env);
    assert_int_equal(env->kind, MODVIRT__FRAME_KIND__FRAME_REPLY);
    uint64_t seq = env->seq;
    mv_envelope_free(env);
    return seq;
}

/* Defines `name` (the driver emits its event), then collects frames until the reply:
 * returns the callback ids the events carried, in *ids (count returned). */
static int define_collect(fx_peer *c, uint32_t serial, const char *name, int *ids, uint64_t *seq)
{
    Modvirt__DomainDefineArgs a = MODVIRT__DOMAIN_DEFINE_ARGS__INIT;
    a.xml = (char *)name;
    fx_peer_call(c, serial, MV_PROC_DOMAIN_DEFINE_XML, &a.base);
    int n = 0;
    bool replied = false;
    /* the event is posted before the reply is queued, but may be written after it: wait
     * for both the reply and (when any registration matches) the events */
    for (;;) {
        Modvirt__Envelope *env = fx_peer_poll(c, replied ? 300 : 10000);
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
    fx_peer c;
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
    fx_peer_call(&c, 6, MV_PROC_CONNECT_DOMAIN_EVENT_DEREGISTER_ANY, &d.base);
    Modvirt__Envelope *env = fx_peer_poll(&c, 10000);
    assert_int_equal(env->kind, MODVIRT__FRAME_KIND__FRAME_REPLY);
    mv_envelope_free(env);
    fx_peer_call(&c, 7, MV_PROC_CONNECT_DOMAIN_EVENT_DEREGISTER_ANY, &d.base); /* twice: unknown */
    env = fx_peer_poll(&c, 10000);
    assert_int_equal(env->kind, MODVIRT__FRAME_KIND__FRAME_ERROR);
    assert_non_null(strstr(env->error->message, "no callback 5"));
    mv_envelope_free(env);

    assert_int_equal(define_collect(&c, 8, "a", ids, &seq), 0);
    assert_int_equal(define_collect(&c, 9, "b", ids, &seq), 1);
    assert_int_equal(ids[0], -6);
    assert_int_equal(seq, base + 4); /* "a" was numbered too, unseen */

    /* a second connection registering now gets only what comes next */
    fx_peer c2;
    client_open(&c2);
    assert_int_equal(reg(&c2, 2, 1, NULL), base + 4);
    fx_peer_close(&c2);
    fx_peer_close(&c);
}

/* ---- streams ---- */

static uint32_t open_console(fx_peer *c, uint32_t serial)
{
    Modvirt__DomainOpenConsoleArgs a = MODVIRT__DOMAIN_OPEN_CONSOLE_ARGS__INIT;
    fx_peer_call(c, serial, MV_PROC_DOMAIN_OPEN_CONSOLE, &a.base);
    Modvirt__Envelope *env = fx_peer_poll(c, 10000);
    assert_non_null(env);
    assert_int_equal(env->kind, MODVIRT__FRAME_KIND__FRAME_REPLY);
    mv_envelope_free(env);
    assert_true(peer_fd >= 0);
    return serial;
}

static void stream_send(fx_peer *c, uint32_t serial, Modvirt__StreamStatus st, const void *data,
                        size_t len)
{
    mv_frame_spec spec = {.serial = serial,
                          .kind = MODVIRT__FRAME_KIND__FRAME_STREAM,
                          .proc = MV_PROC_DOMAIN_OPEN_CONSOLE,
                          .stream_status = st,
                          .raw_body = data,
                          .raw_body_len = len};
    fx_peer_send_spec(c, &spec);
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
    fx_peer c;
    client_open(&c);
    uint32_t s = open_console(&c, 40);
    int peer = peer_fd;

    assert_int_equal(write(peer, "hello", 5), 5);
    Modvirt__Envelope *env = fx_peer_poll(&c, 10000);
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
    env = fx_peer_poll(&c, 10000);
    assert_int_equal(env->serial, 999);
    assert_int_equal(env->stream_status, MODVIRT__STREAM_STATUS__STREAM_ABORT);
    mv_envelope_free(env);

    /* the client finishes: what it sent is delivered, the daemon confirms, the fd closes */
    stream_send(&c, s, MODVIRT__STREAM_STATUS__STREAM_CONTINUE, "bye", 3);
    stream_send(&c, s, MODVIRT__STREAM_STATUS__STREAM_FINISH, NULL, 0);
    read_exact(peer, buf, 3);
    assert_memory_equal(buf, "bye", 3);
    env = fx_peer_poll(&c, 10000);
    assert_int_equal(env->serial, s);
    assert_int_equal(env->stream_status, MODVIRT__STREAM_STATUS__STREAM_FINISH);
    mv_envelope_free(env);
    struct pollfd p = {.fd = peer, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 10000), 1);
    assert_int_equal(read(peer, buf, 1), 0);
    close(peer);
    fx_peer_close(&c);
}

/* A source the daemon cannot watch (a regular file: epoll refuses it): the open was
 * answered, so the stream is aborted at once with why, never left silent. */
static void test_stream_cannot_start(void **state)
{
    fx_peer c;
    client_open(&c);
    console_file = true;
    Modvirt__DomainOpenConsoleArgs a = MODVIRT__DOMAIN_OPEN_CONSOLE_ARGS__INIT;
    fx_peer_call(&c, 41, MV_PROC_DOMAIN_OPEN_CONSOLE, &a.base);
    Modvirt__Envelope *env = fx_peer_poll(&c, 10000);
    console_file = false;
    assert_non_null(env);
    assert_int_equal(env->kind, MODVIRT__FRAME_KIND__FRAME_REPLY);
    mv_envelope_free(env);
    env = fx_peer_poll(&c, 10000);
    assert_non_null(env);
    assert_int_equal(env->kind, MODVIRT__FRAME_KIND__FRAME_STREAM);
    assert_int_equal(env->serial, 41);
    assert_int_equal(env->stream_status, MODVIRT__STREAM_STATUS__STREAM_ABORT);
    assert_non_null(env->error);
    assert_non_null(strstr(env->error->message, "cannot watch the stream's source"));
    mv_envelope_free(env);
    fx_peer_close(&c);
    (void)state;
}

static void test_stream_source_ends(void **state)
{
    fx_peer c;
    client_open(&c);
    uint32_t s = open_console(&c, 41);
    close(peer_fd);
    Modvirt__Envelope *env = fx_peer_poll(&c, 10000);
    assert_non_null(env);
    assert_int_equal(env->serial, s);
    assert_int_equal(env->stream_status, MODVIRT__STREAM_STATUS__STREAM_FINISH);
    mv_envelope_free(env);
    /* after the end, the serial is no stream */
    stream_send(&c, s, MODVIRT__STREAM_STATUS__STREAM_CONTINUE, "x", 1);
    env = fx_peer_poll(&c, 10000);
    assert_int_equal(env->stream_status, MODVIRT__STREAM_STATUS__STREAM_ABORT);
    mv_envelope_free(env);
    fx_peer_close(&c);
}

static void send_credit(fx_peer *c, uint32_t serial, uint64_t bytes)
{
    mv_frame_spec spec;
    Modvirt__StreamCredit msg;
    mv_stream_credit_spec(&spec, &msg, serial, MV_PROC_DOMAIN_OPEN_CONSOLE, bytes);
    fx_peer_send_spec(c, &spec);
}

/* Byte i of the test pattern. */
static unsigned char pattern(size_t i)
{
    return (unsigned char)((i * 7) ^ (i >> 16));
}

/* Writes the pattern to fd (non-blocking) from *written on, until fd stops taking for
 * stall_ms. */
static void write_until_stalled(int fd, size_t *written, int stall_ms)
{
    unsigned char buf[65536];
    for (;;) {
        for (size_t i = 0; i < sizeof(buf); i++)
            buf[i] = pattern(*written + i);
        ssize_t n = write(fd, buf, sizeof(buf));
        if (n < 0) {
            assert_int_equal(errno, EAGAIN);
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            if (poll(&p, 1, stall_ms) == 0)
                return;
            continue;
        }
        *written += (size_t)n;
        assert_true(*written < (64u << 20));
    }
}

/* Takes stream frames of serial s, checking their bytes against the pattern from *got on,
 * until `want` bytes came, or until none came for quiet_ms when want is 0. With credit,
 * credits every byte taken, as the library does. Another frame (a reply) sets *other. */
static void take_stream(fx_peer *c, uint32_t s, size_t *got, size_t want, int quiet_ms, bool credit,
                        bool *other)
{
    while (!want || *got < want) {
        Modvirt__Envelope *env = fx_peer_poll(c, want ? 10000 : quiet_ms);
        if (!env) {
            assert_int_equal(want, 0);
            return;
        }
        if (env->kind != MODVIRT__FRAME_KIND__FRAME_STREAM) {
            assert_non_null(other);
            *other = true;
            mv_envelope_free(env);
            continue;
        }
        assert_int_equal(env->serial, s);
        if (env->stream_status == MODVIRT__STREAM_STATUS__STREAM_CREDIT) {
            mv_envelope_free(env);
            continue;
        }
        assert_int_equal(env->stream_status, MODVIRT__STREAM_STATUS__STREAM_CONTINUE);
        for (size_t i = 0; i < env->body.len; i++)
            assert_int_equal((unsigned char)env->body.data[i], pattern(*got + i));
        *got += env->body.len;
        if (credit)
            send_credit(c, s, env->body.len);
        mv_envelope_free(env);
    }
}

/* A socket console `serial` opened on a new client c, its source written until it stalls
 * (stall_ms) while the client takes nothing but frames: exactly a window reached the
 * client (*got), the rest of *written waits in the socket. The source's end (non-blocking). */
static int fill_window(fx_peer *c, uint32_t serial, size_t *written, size_t *got, int stall_ms)
{
    console_pty = false;
    client_open(c);
    open_console(c, serial);
    int peer = peer_fd;
    fcntl(peer, F_SETFL, fcntl(peer, F_GETFL) | O_NONBLOCK);
    write_until_stalled(peer, written, stall_ms);
    take_stream(c, serial, got, 0, stall_ms, false, NULL);
    assert_int_equal(*got, MV_STREAM_WINDOW);
    assert_true(*written > *got);
    return peer;
}

/* A source that outpaces a client that does not read: the daemon sends no more than the
 * window, stops reading the source, and still answers the connection's calls; once the
 * client credits what it took, every byte arrives in order. */
static void test_stream_flow_control(void **state)
{
    fx_peer c;
    size_t written = 0, got = 0;
    uint32_t s = 42;
    /* what the daemon has not sent sits in the socket's buffers: a window and no more
     * reached the client */
    int peer = fill_window(&c, s, &written, &got, 500);

    /* the stalled stream holds back no call on the same connection */
    Modvirt__DomainDefineArgs a = MODVIRT__DOMAIN_DEFINE_ARGS__INIT;
    a.xml = (char *)"x";
    fx_peer_call(&c, 43, MV_PROC_DOMAIN_DEFINE_XML, &a.base);
    Modvirt__Envelope *env = fx_peer_poll(&c, 5000);
    assert_non_null(env);
    assert_int_equal(env->kind, MODVIRT__FRAME_KIND__FRAME_REPLY);
    assert_int_equal(env->serial, 43);
    mv_envelope_free(env);

    /* credit what was taken: the rest follows, and more, in order */
    send_credit(&c, s, got);
    size_t target = written + (8u << 20);
    while (got < target) {
        write_until_stalled(peer, &written, 0);
        take_stream(&c, s, &got, got + 1, 0, true, NULL);
    }
    take_stream(&c, s, &got, written, 0, true, NULL);
    assert_int_equal(got, written);
    stream_send(&c, s, MODVIRT__STREAM_STATUS__STREAM_ABORT, NULL, 0);
    close(peer);
    fx_peer_close(&c);
}

/* The other way: the daemon credits the client's data as the fd takes it, and a client
 * that sends more than its window is aborted, naming the window. */
static void test_stream_client_window(void **state)
{
    fx_peer c;
    console_pty = false;
    client_open(&c);
    uint32_t s = open_console(&c, 50);
    int peer = peer_fd;
    static char data[MV_STREAM_WINDOW];
    memset(data, 'w', sizeof(data));

    /* a whole window; the peer reads it all: the daemon credits it, in batches of at least
     * a quarter window as the socket takes it (less than a batch may wait for more) */
    stream_send(&c, s, MODVIRT__STREAM_STATUS__STREAM_CONTINUE, data, sizeof(data));
    static char sink[MV_STREAM_WINDOW];
    read_exact(peer, sink, sizeof(sink));
    assert_memory_equal(sink, data, sizeof(sink));
    uint64_t credited = 0;
    while (credited <= sizeof(data) - MV_STREAM_CREDIT_BATCH) {
        Modvirt__Envelope *env = fx_peer_poll(&c, 10000);
        assert_non_null(env);
        assert_int_equal(env->stream_status, MODVIRT__STREAM_STATUS__STREAM_CREDIT);
        uint64_t b = 0;
        assert_int_equal(mv_stream_credit_parse(env, &b, NULL), 0);
        assert_true(b >= MV_STREAM_CREDIT_BATCH);
        credited += b;
        mv_envelope_free(env);
    }
    assert_true(credited <= sizeof(data));
    assert_null(fx_peer_poll(&c, 200)); /* and no more */

    /* two windows while the peer reads nothing: the socket takes less than one, so the
     * credit for it cannot cover the second: aborted */
    stream_send(&c, s, MODVIRT__STREAM_STATUS__STREAM_CONTINUE, data, sizeof(data));
    stream_send(&c, s, MODVIRT__STREAM_STATUS__STREAM_CONTINUE, data, sizeof(data));
    Modvirt__Envelope *env = fx_peer_poll(&c, 10000);
    assert_non_null(env);
    while (env->stream_status == MODVIRT__STREAM_STATUS__STREAM_CREDIT) {
        mv_envelope_free(env); /* the peer's socket buffer took some meanwhile */
        env = fx_peer_poll(&c, 10000);
        assert_non_null(env);
    }
    assert_int_equal(env->stream_status, MODVIRT__STREAM_STATUS__STREAM_ABORT);
    assert_non_null(env->error);
    assert_non_null(strstr(env->error->message, "window"));
    mv_envelope_free(env);
    close(peer);
    fx_peer_close(&c);
}

/* The next frame of stream s that is not data: its status (data is counted in *data). */
static int stream_end_status(fx_peer *c, uint32_t s, size_t *data, char **msg)
{
    for (;;) {
        Modvirt__Envelope *env = fx_peer_poll(c, 10000);
        assert_non_null(env);
        assert_int_equal(env->serial, s);
        int st = env->stream_status;
        if (st == MODVIRT__STREAM_STATUS__STREAM_CONTINUE) {
            *data += env->body.len;
            mv_envelope_free(env);
            continue;
        }
        if (msg)
            *msg = env->error && env->error->message ? strdup(env->error->message) : NULL;
        mv_envelope_free(env);
        return st;
    }
}

/* A guest's console: the daemon holds a pty's slave; the guest's qemu (here the test)
 * holds the master and exits. However the hang-up meets the stream — idle, with output
 * in flight, with the client's window used up — it is the stream's normal end (FINISH),
 * never an error. */
static void test_stream_pty_hangup(void **state)
{
    fx_peer c;
    console_pty = true;
    client_open(&c);
    uint32_t serial = 60;
    for (int i = 0; i < 60; i++, serial++) {
        uint32_t s = open_console(&c, serial);
        int master = peer_fd;
        size_t data = 0;
        if (i % 3 == 1) {
            /* output just before the end: the daemon may meet POLLIN, POLLHUP or POLLERR */
            assert_int_equal(write(master, "last words\r\n", 12), 12);
        } else if (i % 3 == 2) {
            /* the client's window is used up when the other side goes */
            fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
            size_t written = 0;
            write_until_stalled(master, &written, 200);
            size_t got = 0;
            take_stream(&c, s, &got, 0, 200, false, NULL);
            assert_int_equal(got, MV_STREAM_WINDOW);
            close(master);
            master = -1;
            send_credit(&c, s, got);
        }
        if (master >= 0)
            close(master);
        char *msg = NULL;
        int st = stream_end_status(&c, s, &data, &msg);
        if (st != MODVIRT__STREAM_STATUS__STREAM_FINISH)
            fail_msg("round %d: the hang-up ended the stream with status %d: %s", i, st,
                     msg ? msg : "");
        free(msg);
    }
    fx_peer_close(&c);
}

/* A real error of the source stays an error: a socket reset by its peer (closed with
 * data it never read) aborts the stream, saying so — after everything the source still
 * held has reached the client. The reset meets the daemon while it is not reading (the
 * client's window is used up), so when the client credits, the fd reports POLLERR with
 * data still queued: that data comes first, then the reset, by name (a single read
 * followed by "the stream's source failed: Input/output error" was the old answer). */
static void test_stream_source_error(void **state)
{
    fx_peer c;
    size_t written = 0, got = 0;
    uint32_t s = 70;
    int peer = fill_window(&c, s, &written, &got, 300); /* the rest waits in the socket */

    stream_send(&c, s, MODVIRT__STREAM_STATUS__STREAM_CONTINUE, "unread", 6);
    /* wait until the daemon has written it into the peer's buffer */
    struct pollfd p = {.fd = peer, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 10000), 1);
    close(peer);

    /* credit: the rest of the data, in order, then the abort naming the reset */
    send_credit(&c, s, got);
    char *msg = NULL;
    for (;;) {
        Modvirt__Envelope *env = fx_peer_poll(&c, 10000);
        assert_non_null(env);
        assert_int_equal(env->serial, s);
        int st = env->stream_status;
        if (st == MODVIRT__STREAM_STATUS__STREAM_CONTINUE) {
            for (size_t i = 0; i < env->body.len; i++)
                assert_int_equal((unsigned char)env->body.data[i], pattern(got + i));
            got += env->body.len;
            send_credit(&c, s, env->body.len);
        } else if (st != MODVIRT__STREAM_STATUS__STREAM_CREDIT) {
            assert_int_equal(st, MODVIRT__STREAM_STATUS__STREAM_ABORT);
            assert_non_null(env->error);
            msg = strdup(env->error->message);
            mv_envelope_free(env);
            break;
        }
        mv_envelope_free(env);
    }
    assert_int_equal(got, written);
    assert_non_null(strstr(msg, "Connection reset by peer"));
    free(msg);
    fx_peer_close(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_registrations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_both_ways, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_cannot_start, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_source_ends, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_flow_control, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_client_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_pty_hangup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_source_error, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
