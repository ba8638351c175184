/* test_console.c: virDomainOpenConsole on the tiny guest — bytes both ways through the
 * proxy as stream frames, the stream's end when the guest goes, the refusals, flow
 * control against a reader that stops while the guest prints without end, and
 * `vmctl console` with stdin not a tty. Skipped (77) when the tiny guest cannot be built. */
#include <errno.h>
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

#include <modvirt/modvirt.h>
#include "common/stream_window.h"
#include "harness.h"
#include "harness_guest.h"
#include "harness_life.h"

#define URI "qemu:///system"

static mvt_guest guest;

/* The tiny guest `name`, started and seen running. */
static virDomainPtr start_guest(mvt_life *f, const char *name)
{
    virDomainPtr dom = mvt_life_start_guest(f->conn, &guest, name, 0);
    mvt_life_wait_state(dom, VIR_DOMAIN_RUNNING, -1, 30000);
    return dom;
}

typedef struct reader {
    virStreamPtr st;
    char buf[65536];
    size_t len;
    bool ended;  /* Recv said 0 */
    bool failed; /* Recv said -1 */
} reader;

static void on_stream(virStreamPtr st, int events, void *opaque)
{
    reader *r = opaque;
    (void)events;
    for (;;) {
        size_t room = sizeof(r->buf) - 1 - r->len;
        if (!room)
            return;
        int n = virStreamRecv(st, r->buf + r->len, room);
        if (n == -2)
            return;
        if (n == 0) {
            r->ended = true;
            return;
        }
        if (n < 0) {
            r->failed = true;
            return;
        }
        r->len += (size_t)n;
        r->buf[r->len] = '\0';
    }
}

/* Sends a newline on each tick: the guest answers every line with its marker. */
static void on_tick(int timer, void *opaque)
{
    reader *r = opaque;
    (void)timer;
    if (!r->ended && !r->failed)
        virStreamSend(r->st, "\n", 1);
}

static void run_until(reader *r, bool (*done)(const reader *), int timeout_ms)
{
    long long deadline = mvt_now_ms() + timeout_ms;
    while (!done(r) && mvt_now_ms() < deadline)
        assert_int_equal(virEventRunDefaultImpl(), 0);
}

static bool saw_marker(const reader *r)
{
    return r->failed || strstr(r->buf, MVT_GUEST_MARKER) != NULL;
}

static bool stream_over(const reader *r)
{
    return r->ended || r->failed;
}

static void test_console_both_ways(void **state)
{
    mvt_life *f = *state;
    virDomainPtr dom = start_guest(f, "con1");
    reader r = {0};

    assert_non_null(r.st = virStreamNew(f->conn, VIR_STREAM_NONBLOCK));
    assert_int_equal(virDomainOpenConsole(dom, NULL, r.st, 0), 0);
    assert_int_equal(
        virStreamEventAddCallback(r.st, VIR_STREAM_EVENT_READABLE, on_stream, &r, NULL), 0);
    int timer = virEventAddTimeout(300, on_tick, &r, NULL);
    assert_true(timer > 0);
    run_until(&r, saw_marker, 30000);
    assert_false(r.failed);
    assert_non_null(strstr(r.buf, MVT_GUEST_MARKER));

    /* the guest goes: the stream ends (Recv 0), it does not hang or fail */
    virConnectPtr other = virConnectOpen(URI);
    assert_non_null(other);
    virDomainPtr d2 = virDomainLookupByName(other, "con1");
    assert_non_null(d2);
    assert_int_equal(virDomainDestroy(d2), 0);
    run_until(&r, stream_over, 15000);
    assert_true(r.ended);
    assert_false(r.failed);
    virEventRemoveTimeout(timer);
    assert_int_equal(virStreamEventRemoveCallback(r.st), 0);
    assert_int_equal(virStreamFinish(r.st), 0);
    assert_int_equal(virStreamFree(r.st), 0);

    /* not running: refused plainly */
    virStreamPtr st = virStreamNew(f->conn, 0);
    assert_non_null(st);
    assert_int_equal(virDomainOpenConsole(dom, NULL, st, 0), -1);
    virErrorPtr err = virGetLastError();
    assert_non_null(err);
    assert_int_equal(err->code, VIR_ERR_OPERATION_INVALID);
    assert_non_null(strstr(err->message, "not running"));
    /* an unopened stream cannot carry data */
    assert_int_equal(virStreamSend(st, "x", 1), -1);
    assert_int_equal(virStreamFree(st), 0);
    virDomainFree(d2);
    virConnectClose(other);
    virDomainFree(dom);
}

static void test_console_named_devices(void **state)
{
    mvt_life *f = *state;
    virDomainPtr dom = start_guest(f, "con2");
    virStreamPtr st = virStreamNew(f->conn, 0);
    assert_non_null(st);
    assert_int_equal(virDomainOpenConsole(dom, "nosuch0", st, 0), -1);
    assert_non_null(strstr(virGetLastErrorMessage(), "cannot find character device nosuch0"));
    assert_int_equal(virDomainOpenConsole(dom, "serial0", st, 0), 0);
    /* a blocking stream: write a line, read until the marker */
    char buf[4096];
    size_t len = 0;
    long long deadline = mvt_now_ms() + 30000;
    bool seen = false;
    assert_int_equal(virStreamSend(st, "\n", 1), 1);
    while (!seen && mvt_now_ms() < deadline && len < sizeof(buf) - 1) {
        int n = virStreamRecv(st, buf + len, sizeof(buf) - 1 - len);
        assert_true(n > 0);
        len += (size_t)n;
        buf[len] = '\0';
        seen = strstr(buf, MVT_GUEST_MARKER) != NULL;
        if (!seen)
            virStreamSend(st, "\n", 1);
    }
    assert_true(seen);
    /* one session at a time; FORCE takes over: the old session is ended, told why */
    virStreamPtr st2 = virStreamNew(f->conn, 0);
    assert_non_null(st2);
    assert_int_equal(virDomainOpenConsole(dom, NULL, st2, 0), -1);
    assert_non_null(strstr(virGetLastErrorMessage(), "Active console session exists"));
    assert_int_equal(virDomainOpenConsole(dom, NULL, st2, VIR_DOMAIN_CONSOLE_FORCE), 0);
    int n;
    while ((n = virStreamRecv(st, buf, sizeof(buf))) > 0)
        ;
    assert_int_equal(n, -1);
    assert_non_null(strstr(virGetLastErrorMessage(), "taken over by another session"));
    /* the new session holds it now */
    virStreamPtr st3 = virStreamNew(f->conn, 0);
    assert_int_equal(virDomainOpenConsole(dom, NULL, st3, 0), -1);
    assert_int_equal(virStreamFree(st3), 0);
    assert_int_equal(virStreamAbort(st2), 0);
    assert_int_equal(virStreamFree(st2), 0);
    assert_int_equal(virStreamFree(st), 0);
    virDomainFree(dom);
}

/* Reads from a blocking console stream until the marker (typing a newline after each
 * read without it). true when seen. */
static bool read_marker(virStreamPtr st)
{
    char buf[4096];
    size_t len = 0;
    long long deadline = mvt_now_ms() + 30000;
    if (virStreamSend(st, "\n", 1) != 1)
        return false;
    while (mvt_now_ms() < deadline && len < sizeof(buf) - 1) {
        int n = virStreamRecv(st, buf + len, sizeof(buf) - 1 - len);
        if (n <= 0)
            return false;
        len += (size_t)n;
        buf[len] = '\0';
        if (strstr(buf, MVT_GUEST_MARKER))
            return true;
        virStreamSend(st, "\n", 1);
    }
    return false;
}

/* kill -9 of virtqemud under an open console: the stream fails at once with the reason
 * (the proxy aborts it), and the restarted daemon serves the re-attached guest's console. */
static void test_console_daemon_killed(void **state)
{
    mvt_life *f = *state;
    virDomainPtr dom = start_guest(f, "con4");
    virStreamPtr st = virStreamNew(f->conn, 0);
    assert_non_null(st);
    assert_int_equal(virDomainOpenConsole(dom, NULL, st, 0), 0);
    assert_true(read_marker(st));

    pid_t pid = mvt_daemon_pid(&f->env, "virtqemud");
    assert_true(pid > 0);
    assert_int_equal(mvt_kill_wait(pid, SIGKILL, 10000), 0);
    char buf[256];
    int n;
    /* what the guest said before the kill may still be queued; then the abort */
    while ((n = virStreamRecv(st, buf, sizeof(buf))) > 0)
        ;
    assert_int_equal(n, -1);
    assert_non_null(strstr(virGetLastErrorMessage(), "virtqemud"));
    assert_int_equal(virStreamFree(st), 0);

    /* the guest runs on; its console answers through the restarted daemon */
    assert_non_null(st = virStreamNew(f->conn, 0));
    assert_int_equal(virDomainOpenConsole(dom, NULL, st, 0), 0);
    assert_true(read_marker(st));
    assert_int_equal(virStreamAbort(st), 0);
    assert_int_equal(virStreamFree(st), 0);
    virDomainFree(dom);
}

static void test_vmctl_console(void **state)
{
    mvt_life *f = *state;
    virDomainPtr dom = start_guest(f, "con3");
    mvt_result r;
    const char *argv[] = {"vmctl", "-c", URI, "console", "con3", NULL};
    /* stdin not a tty: its newline goes to the guest, its end leaves the output flowing
     * until vmctl is stopped (the harness's deadline) */
    assert_int_equal(mvt_run(&r, argv, "\n", 6000), 0);
    assert_non_null(
        strstr(r.out, "Connected to domain 'con3'\nEscape character is ^] (Ctrl + ])\n"));
    assert_non_null(strstr(r.out, MVT_GUEST_MARKER));
    mvt_result_free(&r);
    /* Ctrl-] detaches at once, exit status 0 (--force: the killed session's end may not
     * have reached the daemon yet) */
    const char *argv2[] = {"vmctl", "-c", URI, "console", "con3", "--force", NULL};
    assert_int_equal(mvt_run(&r, argv2, "\x1d", 20000), 0);
    assert_int_equal(r.status, 0);
    mvt_result_free(&r);
    virDomainFree(dom);
}

/* ---- flow control ---- */

static void on_tick_noop(int timer, void *opaque)
{
    (void)timer, (void)opaque;
}

/* Checks that a console's lines are consecutive numbers (busybox seq), across reads. */
typedef struct seqcheck {
    char line[32];
    size_t len;
    bool synced;             /* past the first newline (the line before may be cut) */
    unsigned long long last; /* the last number seen, 0 before the first whole line */
    size_t bytes;
    char bad[64]; /* the first line out of order */
} seqcheck;

static void seq_line(seqcheck *c)
{
    c->line[c->len] = '\0';
    char *end = NULL;
    unsigned long long v = strtoull(c->line, &end, 10);
    bool ok = c->len && end && *end == '\0' && (!c->last || v == c->last + 1);
    if (!ok && !c->bad[0])
        snprintf(c->bad, sizeof(c->bad), "'%s' after %llu", c->line, c->last);
    c->last = v;
}

static void seq_feed(seqcheck *c, const char *buf, size_t n)
{
    c->bytes += n;
    for (size_t i = 0; i < n; i++) {
        char ch = buf[i];
        if (ch == '\r')
            continue; /* the guest's tty writes \r\n */
        if (ch == '\n') {
            if (c->synced)
                seq_line(c);
            c->synced = true;
            c->len = 0;
        } else if (c->len < sizeof(c->line) - 1) {
            c->line[c->len++] = ch;
        } else if (!c->bad[0]) {
            snprintf(c->bad, sizeof(c->bad), "a line longer than %zu bytes", c->len);
        }
    }
}

/* Reads the blocking stream st into c until it holds `until` bytes. */
static void seq_read(virStreamPtr st, seqcheck *c, size_t until)
{
    static char buf[65536];
    while (c->bytes < until) {
        int n = virStreamRecv(st, buf, sizeof(buf));
        if (n <= 0)
            fail_msg("the console ended (%d) after %zu bytes: %s", n, c->bytes,
                     n < 0 ? virGetLastErrorMessage() : "EOF");
        seq_feed(c, buf, (size_t)n);
    }
}

/* A WRITABLE callback that sends all it may: every WRITABLE must let it send. */
typedef struct writer {
    virStreamPtr st;
    char input[65536];
    size_t sent;
    int calls, refused;
} writer;

static void on_writable(virStreamPtr st, int events, void *opaque)
{
    writer *w = opaque;
    if (!(events & VIR_STREAM_EVENT_WRITABLE))
        return;
    w->calls++;
    int n = virStreamSend(st, w->input, sizeof(w->input));
    if (n == -2)
        w->refused++;
    else if (n > 0)
        w->sent += (size_t)n;
}

/* Runs the event loop for ms milliseconds (a timer wakes it to look at the clock). */
static void run_for(int ms)
{
    int timer = virEventAddTimeout(50, on_tick_noop, NULL, NULL);
    long long until = mvt_now_ms() + ms;
    while (mvt_now_ms() < until)
        assert_int_equal(virEventRunDefaultImpl(), 0);
    virEventRemoveTimeout(timer);
}

/* What the library may queue for one stream. */
#define WINDOW ((int)MV_STREAM_WINDOW)

/* A guest whose init is `seq 1 1000000000` prints without end. A client that stops
 * reading: the library holds at most the window for it, the client, virtproxyd and
 * virtqemud stay flat, and calls on the same connection are answered at once; when it
 * reads again, every line comes, in order. */
static void test_console_flow_control(void **state)
{
    mvt_life *f = *state;
    char *xml = mvt_guest_xml(&guest, "flood");
    assert_non_null(xml);
    char *flood = mvt_guest_subst(xml, "<cmdline>console=ttyS0 quiet panic=-1</cmdline>",
                                  "<cmdline>console=ttyS0 quiet loglevel=0 panic=-1 "
                                  "rdinit=/bin/busybox -- seq 1 1000000000</cmdline>");
    assert_non_null(flood);
    assert_string_not_equal(xml, flood);
    virDomainPtr dom = virDomainDefineXML(f->conn, flood);
    free(xml);
    free(flood);
    assert_non_null(dom);
    assert_int_equal(virDomainCreate(dom), 0);
    virStreamPtr st = virStreamNew(f->conn, 0);
    assert_non_null(st);
    assert_int_equal(virDomainOpenConsole(dom, NULL, st, 0), 0);

    /* the guest's rate, over its first 64 KiB past boot */
    seqcheck c = {0};
    seq_read(st, &c, 1024);
    long long t0 = mvt_now_ms();
    seq_read(st, &c, c.bytes + 65536);
    long long rate = 65536 * 1000LL / (mvt_now_ms() - t0 + 1); /* bytes/s */
    /* stop reading for as long as the guest needs to print three windows (or
     * MVT_FLOOD_PAUSE_MS, to measure over longer); the first figures are taken once it
     * has printed two, so the window is full by then */
    long long fill_ms = 2 * WINDOW * 1000LL / (rate + 1);
    long long pause_ms = fill_ms * 3 / 2;
    if (getenv("MVT_FLOOD_PAUSE_MS"))
        pause_ms = atoll(getenv("MVT_FLOOD_PAUSE_MS"));
    if (fill_ms < 1000)
        fill_ms = 1000;
    if (pause_ms < fill_ms + 2000)
        pause_ms = fill_ms + 2000;
    pid_t proxy = mvt_daemon_pid(&f->env, "virtproxyd");
    pid_t qemud = mvt_daemon_pid(&f->env, "virtqemud");
    assert_true(proxy > 0 && qemud > 0);
    poll(NULL, 0, (int)fill_ms);
    long rss0[3] = {mvt_rss_kib(getpid()), mvt_rss_kib(proxy), mvt_rss_kib(qemud)};
    long long until = mvt_now_ms() + pause_ms - fill_ms, worst_call = 0;
    while (mvt_now_ms() < until) {
        /* the connection's calls are not held back by the stalled stream */
        int state_ = -1, reason = -1;
        long long c0 = mvt_now_ms();
        assert_int_equal(virDomainGetState(dom, &state_, &reason, 0), 0);
        assert_int_equal(state_, VIR_DOMAIN_RUNNING);
        if (mvt_now_ms() - c0 > worst_call)
            worst_call = mvt_now_ms() - c0;
        poll(NULL, 0, 200);
    }
    long rss1[3] = {mvt_rss_kib(getpid()), mvt_rss_kib(proxy), mvt_rss_kib(qemud)};
    printf("guest prints %lld KiB/s; not read for %lld ms; RSS KiB client %ld -> %ld, "
           "virtproxyd %ld -> %ld, virtqemud %ld -> %ld; slowest call meanwhile %lld ms\n",
           rate / 1024, pause_ms, rss0[0], rss1[0], rss0[1], rss1[1], rss0[2], rss1[2], worst_call);
    assert_true(worst_call < 2000);
    /* loose: under ASan every allocation passes through its quarantine; the queue's
     * bound below is the exact check */
    for (int i = 0; i < 3; i++)
        assert_true(rss1[i] - rss0[i] < 4096);

    /* one Recv takes everything queued: no more than the window */
    static char all[4 * WINDOW];
    int queued = virStreamRecv(st, all, sizeof(all));
    assert_true(queued > 0);
    printf("queued in the library after the pause: %d bytes\n", queued);
    assert_true(queued <= WINDOW);
    seq_feed(&c, all, (size_t)queued);
    /* reading again: the guest goes on where it stopped, not a line lost */
    seq_read(st, &c, c.bytes + 2 * WINDOW);
    if (c.bad[0])
        fail_msg("console lines out of order: %s", c.bad);
    assert_true(c.last > 1000);
    assert_int_equal(virStreamAbort(st), 0);
    assert_int_equal(virStreamFree(st), 0);

    /* the other way: this guest's init never reads its console (its kernel takes the
     * input at the serial port's pace and drops it). The daemon credits input only as
     * the pty takes it, so a WRITABLE callback can always send, and beyond that a
     * non-blocking Send says "not now" (-2) instead of queueing without end */
    st = virStreamNew(f->conn, VIR_STREAM_NONBLOCK);
    assert_non_null(st);
    assert_int_equal(virDomainOpenConsole(dom, NULL, st, 0), 0);
    writer w = {.st = st};
    assert_int_equal(
        virStreamEventAddCallback(st, VIR_STREAM_EVENT_WRITABLE, on_writable, &w, NULL), 0);
    run_for(2000);
    printf("input the guest does not read: %zu bytes taken in 2 s, %d WRITABLE events\n", w.sent,
           w.calls);
    assert_true(w.calls > 0);
    assert_int_equal(w.refused, 0); /* WRITABLE meant there was room */
    assert_true(w.sent >= (size_t)WINDOW);
    assert_int_equal(virStreamEventRemoveCallback(st), 0);
    int n = 0;
    for (int i = 0; i < 100 && n != -2; i++)
        n = virStreamSend(st, w.input, sizeof(w.input));
    assert_int_equal(n, -2);
    assert_int_equal(virStreamAbort(st), 0);
    assert_int_equal(virStreamFree(st), 0);
    assert_int_equal(virDomainDestroy(dom), 0);
    virDomainFree(dom);
}

int main(int argc, char **argv)
{
    int rc = mvt_life_prepare(argc, argv, &guest, true);
    const struct CMUnitTest tests[] = {
        MVT_LIFE_TEST(test_console_both_ways),     MVT_LIFE_TEST(test_console_named_devices),
        MVT_LIFE_TEST(test_console_daemon_killed), MVT_LIFE_TEST(test_vmctl_console),
        MVT_LIFE_TEST(test_console_flow_control),
    };
    return rc ? rc : cmocka_run_group_tests(tests, NULL, NULL);
}
