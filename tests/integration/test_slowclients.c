/* test_slowclients.c: clients that are slow on purpose, on virtproxyd-sock,
 * virtproxyd-sock-ro and virtqemud-sock — one that sends its frames a byte at a time, one
 * that floods calls and never reads the answers. Neither stalls anyone else, neither
 * loses a call, and the daemons that served them are the ones still running. */
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
/* The flooder's domain: each answer to its calls carries this much description. */
#define BIG_DESCRIPTION (64 * 1024)
/* More than this written without the daemon pushing back means it does not. */
#define FLOOD_CAP (1024 * 1024)

/* The big domain's UUID, for the calls built by hand. */
static unsigned char big_uuid[VIR_UUID_BUFLEN];

static int define_big(virConnectPtr c, void *opaque)
{
    unsigned char *uuid = opaque;
    char *desc = malloc(BIG_DESCRIPTION + 1);
    char *xml = NULL;
    int ret = -1;
    if (!desc)
        return -1;
    memset(desc, 'b', BIG_DESCRIPTION);
    desc[BIG_DESCRIPTION] = '\0';
    if (asprintf(&xml,
                 "<domain type='qemu'><name>big</name><description>%s</description>"
                 "<memory unit='MiB'>64</memory><os><type>hvm</type></os></domain>",
                 desc) < 0) {
        xml = NULL;
        goto cleanup;
    }
    virDomainPtr d = virDomainDefineXML(c, xml);
    if (d && virDomainGetUUID(d, uuid) == 0)
        ret = 0;
    if (d)
        virDomainFree(d);
cleanup:
    free(xml);
    free(desc);
    return ret;
}

static int setup(void **state)
{
    return mvt_sockets_setup(state, URI, define_big, big_uuid);
}

/* Its XML carries the whole description. */
static void check_big(virDomainPtr d)
{
    char *xml = virDomainGetXMLDesc(d, 0);
    assert_non_null(xml);
    assert_true(strlen(xml) > BIG_DESCRIPTION);
    free(xml);
}

/* A normal client is served, by the same daemons as before. */
static void expect_serving(const mvt_sockets *w, const char *during)
{
    mvt_sockets_serving(w, during, 1, "big", check_big);
}

/* The next frame must be the REPLY to serial; returns it (the caller frees). */
static Modvirt__Envelope *expect_reply(mvt_raw *r, const mvt_socket *t, uint32_t serial)
{
    return mvt_sockets_reply(r, t->sock, serial, WAIT_MS);
}

/* Connects to t and opens the connection. */
static void raw_open(const mvt_sockets *w, const mvt_socket *t, mvt_raw *r)
{
    mvt_sockets_connect(w, t->sock, r);
    mvt_sockets_open(w, r, t->sock, 1, WAIT_MS);
}

static void build_open(uint32_t serial, uint8_t **f, size_t *len)
{
    Modvirt__ConnectOpenArgs a = MODVIRT__CONNECT_OPEN_ARGS__INIT;
    a.uri = (char *)URI;
    assert_int_equal(mvt_raw_build(serial, MV_PROC_CONNECT_OPEN, &a.base, NULL, 0, f, len), 0);
}

/* get_xml_desc of the big domain. */
static void build_xml_call(uint32_t serial, uint8_t **f, size_t *len)
{
    Modvirt__Domain dom = MODVIRT__DOMAIN__INIT;
    dom.name = (char *)"big";
    dom.uuid.data = big_uuid;
    dom.uuid.len = VIR_UUID_BUFLEN;
    dom.id = -1;
    Modvirt__DomainFlagsArgs a = MODVIRT__DOMAIN_FLAGS_ARGS__INIT;
    a.dom = &dom;
    assert_int_equal(mvt_raw_build(serial, MV_PROC_DOMAIN_GET_XML_DESC, &a.base, NULL, 0, f, len),
                     0);
}

/* Sends frame one byte per write, each taken by the daemon before the next goes; in the
 * middle of it, a normal client must be served. */
static void send_dribbled(const mvt_sockets *w, mvt_raw *r, const uint8_t *frame, size_t len,
                          const char *what)
{
    for (size_t i = 0; i < len; i++) {
        assert_int_equal(mvt_raw_write(r, frame + i, 1), 0);
        assert_int_equal(mvt_raw_wait_taken(r, WAIT_MS), 0);
        if (i == len / 2)
            expect_serving(w, what);
    }
}

static void one_byte_at_a_time(mvt_sockets *w, const mvt_socket *t)
{
    mvt_raw r;
    uint8_t *f = NULL;
    size_t len = 0;
    mvt_sockets_connect(w, t->sock, &r);
    build_open(1, &f, &len);
    send_dribbled(w, &r, f, len, "a client dribbling its open");
    free(f);
    mv_envelope_free(expect_reply(&r, t, 1));

    build_xml_call(2, &f, &len);
    send_dribbled(w, &r, f, len, "a client dribbling a call");
    free(f);
    Modvirt__Envelope *env = expect_reply(&r, t, 2);
    Modvirt__StringRet *ret = (Modvirt__StringRet *)mv_body_unpack(
        &modvirt__string_ret__descriptor, env->body.data, env->body.len, NULL);
    assert_non_null(ret);
    assert_non_null(strstr(ret->value, "<name>big</name>"));
    protobuf_c_message_free_unpacked(&ret->base, NULL);
    mv_envelope_free(env);
    mvt_raw_close(&r);
    expect_serving(w, "after a dribbling client");
}
MVT_EACH_SOCKET(one_byte_at_a_time, false)

/* Writes get_xml_desc calls without reading, until the daemon stops taking them: the
 * socket stays full for 300 ms. Returns how many calls were (at least partly) sent;
 * *rest (rest_len bytes) is what is left of the last one. */
static uint32_t flood(const mvt_socket *t, mvt_raw *r, uint8_t **rest, size_t *rest_len)
{
    uint32_t started = 0;
    size_t written = 0;
    uint8_t *f = NULL;
    size_t len = 0, off = 0;
    fcntl(r->fd, F_SETFL, fcntl(r->fd, F_GETFL) | O_NONBLOCK);
    for (;;) {
        if (!f) {
            build_xml_call(2 + started, &f, &len);
            off = 0;
        }
        ssize_t n = send(r->fd, f + off, len - off, MSG_NOSIGNAL);
        if (n > 0) {
            if (off == 0)
                started++;
            off += (size_t)n;
            written += (size_t)n;
            if (off == len) {
                free(f);
                f = NULL;
            }
            if (written > FLOOD_CAP)
                fail_msg("%s: %zu bytes of calls taken from a client that reads nothing", t->sock,
                         written);
            continue;
        }
        assert_true(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
        struct pollfd p = {.fd = r->fd, .events = POLLOUT};
        if (poll(&p, 1, 300) == 0)
            break;
    }
    if (f && off == 0) {
        /* not a byte of it went out: it is no call */
        free(f);
        f = NULL;
    }
    *rest = f;
    *rest_len = f ? len - off : 0;
    if (f && off > 0)
        memmove(f, f + off, len - off);
    return started;
}

/* A new connection to t, opened, then flooded (see flood): how many calls went out,
 * more than one, or the daemon pushed back at once and the test fails. */
static uint32_t open_and_flood(const mvt_sockets *w, const mvt_socket *t, mvt_raw *r,
                               uint8_t **rest, size_t *rest_len)
{
    raw_open(w, t, r);
    uint32_t sent = flood(t, r, rest, rest_len);
    assert_true(sent > 1);
    return sent;
}

/* One answer taken by collect(): in order and a REPLY, unless lost_ok, when any order
 * will do and an ERROR saying virtqemud was lost counts too. Returns 1 for a lost one. */
static int take_answer(const mvt_socket *t, const uint8_t *payload, size_t len, uint32_t next,
                       uint32_t count, bool lost_ok, unsigned char *seen)
{
    Modvirt__Envelope *env = mv_envelope_unpack(payload, len, NULL);
    assert_non_null(env);
    uint32_t s = env->serial;
    bool reply = env->kind == MODVIRT__FRAME_KIND__FRAME_REPLY;
    bool lost = env->kind == MODVIRT__FRAME_KIND__FRAME_ERROR && env->error &&
                env->error->code == VIR_ERR_RPC && env->error->message &&
                strstr(env->error->message, "connection to virtqemud lost");
    if (s < 2 || s >= 2 + count || seen[s - 2] || !(reply || (lost_ok && lost)) ||
        (!lost_ok && s != next))
        fail_msg("%s: unexpected answer: kind %d serial %u (%s) while %u were due", t->sock,
                 env->kind, s, env->error && env->error->message ? env->error->message : "", count);
    seen[s - 2] = 1;
    mv_envelope_free(env);
    return lost ? 1 : 0;
}

/* Reads one answer to each of calls 2 .. 2 + count - 1 (see take_answer), finishing the
 * send of rest meanwhile. Returns how many were answered as lost. */
static uint32_t collect(const mvt_socket *t, mvt_raw *r, uint32_t count, uint8_t *rest,
                        size_t rest_len, bool lost_ok)
{
    size_t off = 0;
    uint32_t next = 2, lost = 0;
    unsigned char *seen = calloc(count, 1);
    assert_non_null(seen);
    long long deadline = mvt_now_ms() + 60000;
    while (next < 2 + count) {
        const uint8_t *payload = NULL;
        size_t len = 0;
        int got = mv_frame_reader_next(&r->rd, &payload, &len, NULL);
        assert_true(got >= 0);
        if (got > 0) {
            lost += (uint32_t)take_answer(t, payload, len, next, count, lost_ok, seen);
            next++;
            continue;
        }
        struct pollfd p = {.fd = r->fd, .events = POLLIN | (off < rest_len ? POLLOUT : 0)};
        long long left = deadline - mvt_now_ms();
        if (left <= 0 || poll(&p, 1, (int)left) != 1)
            fail_msg("%s: only %u of %u calls answered", t->sock, next - 2, count);
        if ((p.revents & POLLOUT) && off < rest_len) {
            ssize_t n = send(r->fd, rest + off, rest_len - off, MSG_NOSIGNAL);
            if (n > 0)
                off += (size_t)n;
        }
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            size_t avail = 0;
            uint8_t *space = mv_frame_reader_space(&r->rd, 1 << 20, &avail);
            assert_non_null(space);
            ssize_t n = read(r->fd, space, avail);
            if (n == 0)
                fail_msg("%s: closed after %u of %u answers", t->sock, next - 2, count);
            if (n > 0)
                mv_frame_reader_commit(&r->rd, (size_t)n);
            else
                assert_true(errno == EAGAIN || errno == EINTR);
        }
    }
    free(rest);
    free(seen);
    return lost;
}

static void flood_without_reading(mvt_sockets *w, const mvt_socket *t)
{
    mvt_raw r;
    uint8_t *rest = NULL;
    size_t rest_len = 0;
    uint32_t sent = open_and_flood(w, t, &r, &rest, &rest_len);
    /* the daemons pushed back long before taking FLOOD_CAP; they serve everyone else */
    print_message("    %s: stalled after %u calls; RSS virtproxyd %ld KiB, virtqemud %ld KiB\n",
                  t->sock, sent, mvt_rss_kib(w->proxy), mvt_rss_kib(w->qemud));
    expect_serving(w, "a client flooding without reading");
    /* nothing was dropped: every call is answered, in order, once it reads */
    assert_int_equal(collect(t, &r, sent, rest, rest_len, false), 0);
    mvt_raw_close(&r);
    expect_serving(w, "after a flooding client");
}
MVT_EACH_SOCKET(flood_without_reading, false)

/* virtqemud dies (kill -9) while a flooder's calls fill every queue between them: each
 * call is answered exactly once — its reply, or "connection to virtqemud lost" — and the
 * same connection carries on with a fresh virtqemud. */
static void flood_then_driver_killed(mvt_sockets *w, const mvt_socket *t)
{
    mvt_raw r;
    uint8_t *rest = NULL;
    size_t rest_len = 0;
    uint32_t sent = open_and_flood(w, t, &r, &rest, &rest_len);
    assert_int_equal(mvt_kill_wait(w->qemud, SIGKILL, 5000), 0);
    uint32_t lost = collect(t, &r, sent, rest, rest_len, true);
    print_message("    %s: %u calls, %u lost with virtqemud\n", t->sock, sent, lost);
    /* the calls in flight at the kill were lost; the ones behind them were served */
    assert_true(lost > 0);
    assert_true(lost < sent);

    uint8_t *f = NULL;
    size_t len = 0;
    build_xml_call(2 + sent, &f, &len);
    fcntl(r.fd, F_SETFL, fcntl(r.fd, F_GETFL) & ~O_NONBLOCK);
    assert_int_equal(mvt_raw_write(&r, f, len), 0);
    free(f);
    mv_envelope_free(expect_reply(&r, t, 2 + sent));
    mvt_raw_close(&r);
    w->qemud = mvt_daemon_pid(&w->env, "virtqemud");
    assert_true(w->qemud > 0);
    expect_serving(w, "a flooding client whose driver was killed");
}
MVT_EACH_SOCKET(flood_then_driver_killed, true)

/* The flooder gives up without reading a thing: its connection goes, nothing else. */
static void flood_then_vanish(mvt_sockets *w, const mvt_socket *t)
{
    mvt_raw r;
    uint8_t *rest = NULL;
    size_t rest_len = 0;
    open_and_flood(w, t, &r, &rest, &rest_len);
    free(rest);
    mvt_raw_close(&r);
    expect_serving(w, "a flooding client that vanished");
}
MVT_EACH_SOCKET(flood_then_vanish, false)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_one_byte_at_a_time, setup, mvt_sockets_teardown),
        cmocka_unit_test_setup_teardown(test_flood_without_reading, setup, mvt_sockets_teardown),
        cmocka_unit_test_setup_teardown(test_flood_then_driver_killed, setup, mvt_sockets_teardown),
        cmocka_unit_test_setup_teardown(test_flood_then_vanish, setup, mvt_sockets_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
