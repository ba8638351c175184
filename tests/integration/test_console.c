/* test_console.c: virDomainOpenConsole on the tiny guest — bytes both ways through the
 * proxy as stream frames, the stream's end when the guest goes, the refusals, and
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
#include "harness.h"
#include "harness_guest.h"

#define URI "qemu:///system"

static mvt_guest guest;

typedef struct fixture {
    mvt_env env;
    virConnectPtr conn;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    if (!f || mvt_setup(&f->env) < 0) {
        free(f);
        return -1;
    }
    if (virEventRegisterDefaultImpl() < 0 || !(f->conn = virConnectOpen(URI))) {
        mvt_teardown(&f->env);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    virConnectClose(f->conn);
    mvt_guest_kill_all(&f->env);
    mvt_teardown(&f->env);
    free(f);
    return 0;
}

static virDomainPtr start_guest(fixture *f, const char *name)
{
    virDomainPtr dom = mvt_guest_define(f->conn, &guest, name);
    assert_non_null(dom);
    assert_int_equal(virDomainCreate(dom), 0);
    assert_int_equal(mvt_guest_wait_state(dom, VIR_DOMAIN_RUNNING, -1, 30000, NULL, NULL), 0);
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
    fixture *f = *state;
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
    fixture *f = *state;
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
    fixture *f = *state;
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
    fixture *f = *state;
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

int main(void)
{
    if (mvt_guest_prepare(&guest) < 0)
        return 77;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_console_both_ways, setup, teardown),
        cmocka_unit_test_setup_teardown(test_console_named_devices, setup, teardown),
        cmocka_unit_test_setup_teardown(test_console_daemon_killed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vmctl_console, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
