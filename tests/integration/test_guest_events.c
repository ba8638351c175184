/* test_guest_events.c: a real tiny guest seen through lifecycle events (libvirt's default
 * event loop) and through `vmctl console` — a guest-initiated poweroff arrives as a
 * stopped/shutdown event, suspend and resume as theirs, the boot marker is read on the
 * console that `vmctl start --console` attaches, and a guest that powers off under an
 * attached console ends it normally (exit 0, as virsh console), every time, with several
 * guests doing so at once. Skipped (77) without the guest. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/stream_window.h"
#include "harness.h"
#include "harness_api.h"
#include "harness_guest.h"
#include "harness_life.h"

static mvt_guest guest;

/* The guest powers itself off: a stopped (shutdown) event, shut off (shutdown). */
static void test_poweroff_event(void **state)
{
    mvt_life *f = *state;
    mvt_life_seen s = {0};
    virDomainPtr dom = mvt_life_start_guest(f->conn, &guest, "evoff", 0);
    int cb = mvt_life_watch(f->conn, dom, &s);
    char *pty = mvt_guest_pty(dom);
    assert_non_null(pty);
    assert_int_equal(mvt_guest_wait_marker(pty, MVT_LIFE_BOOT_MS), 0);
    assert_int_equal(mvt_guest_send(pty, "poweroff"), 0);
    free(pty);
    long long t0 = mvt_now_ms();
    if (mvt_life_wait_event(&s, VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN,
                            30000) < 0) {
        int st = -1, reason = -1;
        virDomainGetState(dom, &st, &reason, 0);
        fail_msg("no stopped/shutdown event (%d events; state %d reason %d)", s.n, st, reason);
    }
    printf("poweroff: event %lld ms after the guest was told\n", mvt_now_ms() - t0);
    mvt_life_assert_state(dom, VIR_DOMAIN_SHUTOFF, VIR_DOMAIN_SHUTOFF_SHUTDOWN);
    assert_int_equal(virConnectDomainEventDeregisterAny(f->conn, cb), 0);
    virDomainFree(dom);
}

/* Suspend and resume: suspended (paused) and resumed (unpaused) events. */
static void test_suspend_events(void **state)
{
    mvt_life *f = *state;
    mvt_life_seen s = {0};
    virDomainPtr dom = mvt_life_start_guest(f->conn, &guest, "evpause", 0);
    int cb = mvt_life_watch(f->conn, dom, &s);
    long long t0 = mvt_now_ms();
    assert_int_equal(virDomainSuspend(dom), 0);
    assert_int_equal(mvt_life_wait_event(&s, VIR_DOMAIN_EVENT_SUSPENDED,
                                         VIR_DOMAIN_EVENT_SUSPENDED_PAUSED, 10000),
                     0);
    printf("suspend: event %lld ms after the call began\n", mvt_now_ms() - t0);
    assert_int_equal(virDomainResume(dom), 0);
    assert_int_equal(
        mvt_life_wait_event(&s, VIR_DOMAIN_EVENT_RESUMED, VIR_DOMAIN_EVENT_RESUMED_UNPAUSED, 10000),
        0);
    assert_int_equal(virDomainDestroy(dom), 0);
    assert_int_equal(mvt_life_wait_event(&s, VIR_DOMAIN_EVENT_STOPPED,
                                         VIR_DOMAIN_EVENT_STOPPED_DESTROYED, 10000),
                     0);
    assert_int_equal(virConnectDomainEventDeregisterAny(f->conn, cb), 0);
    virDomainFree(dom);
}

/* Waits (10 ms steps: a log file offers no event) until path contains needle. */
static int wait_in_file(const char *path, const char *needle, int timeout_ms)
{
    long long deadline = mvt_now_ms() + timeout_ms;
    for (;;) {
        char *s = mvt_read_file(path);
        bool found = s && strstr(s, needle);
        free(s);
        if (found)
            return 0;
        if (mvt_now_ms() >= deadline)
            return -1;
        poll(NULL, 0, 10);
    }
}

/* vmctl start --console: the console is attached from the first byte, so the boot
 * marker is read through it; an ACPI shutdown ends the guest and vmctl with it. */
static void test_start_console(void **state)
{
    mvt_life *f = *state;
    virDomainPtr dom = mvt_guest_define(f->conn, &guest, "cons");
    assert_non_null(dom);
    char *log = mvt_path(&f->env, "console.log");
    const char *argv[] = {"vmctl", "start", "--console", "cons", NULL};
    pid_t pid = mvt_spawn(argv, log);
    assert_true(pid > 0);
    if (wait_in_file(log, MVT_GUEST_MARKER, MVT_LIFE_BOOT_MS) < 0) {
        char *out = mvt_read_file(log);
        mvt_kill_wait(pid, SIGKILL, 5000);
        mvt_wait_exit(pid, 5000);
        bool unsupported = out && strstr(out, "not supported");
        free(out);
        free(log);
        virDomainFree(dom);
        if (unsupported)
            skip();
        fail_msg("no marker on vmctl's console");
    }
    assert_int_equal(virDomainShutdownFlags(dom, VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN), 0);
    /* the guest's end is the console's normal end */
    int status = mvt_wait_exit(pid, 30000);
    assert_int_equal(status, 0);
    char *out = mvt_read_file(log);
    assert_non_null(out);
    const char *a = strstr(out, "Domain 'cons' started\n");
    const char *b = strstr(out, "Connected to domain 'cons'\nEscape character is ^] (Ctrl + ])\n");
    const char *c = strstr(out, MVT_GUEST_MARKER);
    assert_true(a && b && c && a < b && b < c);
    free(out);
    free(log);
    virDomainFree(dom);
}

/* vmctl console on a running guest, stdin not a tty: a typed line is answered. */
static void test_console_attach(void **state)
{
    mvt_life *f = *state;
    virDomainPtr dom = mvt_life_start_guest(f->conn, &guest, "attach", 0);
    char *pty = mvt_guest_pty(dom);
    assert_non_null(pty);
    assert_int_equal(mvt_guest_wait_marker(pty, MVT_LIFE_BOOT_MS), 0);
    free(pty);
    /* the guest answers the typed line with the marker; then it is told to power off,
     * which ends the stream and vmctl */
    const char *argv[] = {"vmctl", "console", "attach", NULL};
    mvt_result r;
    assert_int_equal(mvt_run(&r, argv, "hello\npoweroff\n", 60000), 0);
    assert_int_equal(r.status, 0); /* ended with the guest, normally */
    assert_string_equal(r.err, "");
    assert_non_null(strstr(r.out, "Connected to domain 'attach'\n"));
    assert_non_null(strstr(r.out, "hello"));
    assert_non_null(strstr(r.out, MVT_GUEST_MARKER));
    mvt_result_free(&r);
    /* the console ends when qemu does; the daemon's own notice may come a moment later */
    assert_int_equal(mvt_guest_wait_state(dom, VIR_DOMAIN_SHUTOFF, VIR_DOMAIN_SHUTOFF_SHUTDOWN,
                                          10000, NULL, NULL),
                     0);
    virDomainFree(dom);
}

/* One attached console told to power its guest off, maybe with more typed after it. */
typedef struct attached {
    char name[16];
    const char *input;
    mvt_result r;
    int rc;
} attached;

static void run_attached(void *arg)
{
    attached *a = arg;
    const char *argv[] = {"vmctl", "console", a->name, NULL};
    a->rc = mvt_run(&a->r, argv, a->input, 60000);
}

#define PARALLEL_GUESTS 3
#define ROUNDS 3

/* Guests that power off while `vmctl console` is attached, several at once, a few times
 * over: the pty's hang-up meets the daemon mid-stream (the guest's last words are in
 * flight as qemu exits), and every console ends with exit 0 and nothing on stderr. Some
 * consoles have typed more than a window after "poweroff": vmctl still holds input when
 * the guest goes, and that is no error either. */
static void test_console_poweroff_parallel(void **state)
{
    mvt_life *f = *state;
    virDomainPtr dom[PARALLEL_GUESTS];
    attached a[PARALLEL_GUESTS];
    size_t pad = 3 * MV_STREAM_WINDOW / 2;
    char *more = malloc(pad + 16);
    assert_non_null(more);
    strcpy(more, "poweroff\n");
    memset(more + strlen(more), '\n', pad);
    more[strlen("poweroff\n") + pad] = '\0';
    for (int i = 0; i < PARALLEL_GUESTS; i++) {
        a[i].input = i % 2 ? more : "poweroff\n";
        snprintf(a[i].name, sizeof(a[i].name), "par%d", i);
        dom[i] = mvt_guest_define(f->conn, &guest, a[i].name);
        assert_non_null(dom[i]);
    }
    for (int round = 0; round < ROUNDS; round++) {
        mvt_thread *t[PARALLEL_GUESTS];
        for (int i = 0; i < PARALLEL_GUESTS; i++)
            assert_int_equal(virDomainCreate(dom[i]), 0);
        /* booted: the guest reads its console, so the typed line is not lost */
        for (int i = 0; i < PARALLEL_GUESTS; i++) {
            char *pty = mvt_guest_pty(dom[i]);
            assert_non_null(pty);
            assert_int_equal(mvt_guest_wait_marker(pty, MVT_LIFE_BOOT_MS), 0);
            free(pty);
        }
        for (int i = 0; i < PARALLEL_GUESTS; i++)
            assert_non_null(t[i] = mvt_thread_start(run_attached, &a[i]));
        for (int i = 0; i < PARALLEL_GUESTS; i++) {
            assert_int_equal(mvt_thread_join(t[i], 90000), 0);
            assert_int_equal(a[i].rc, 0);
            if (a[i].r.status != 0)
                fail_msg("round %d, %s: vmctl console exited %d: %s", round, a[i].name,
                         a[i].r.status, a[i].r.err);
            assert_string_equal(a[i].r.err, "");
            assert_non_null(strstr(a[i].r.out, "Connected to domain"));
            mvt_result_free(&a[i].r);
            assert_int_equal(mvt_guest_wait_state(dom[i], VIR_DOMAIN_SHUTOFF,
                                                  VIR_DOMAIN_SHUTOFF_SHUTDOWN, 10000, NULL, NULL),
                             0);
        }
    }
    for (int i = 0; i < PARALLEL_GUESTS; i++)
        virDomainFree(dom[i]);
    free(more);
}

int main(int argc, char **argv)
{
    int rc = mvt_life_prepare(argc, argv, &guest, true);
    const struct CMUnitTest tests[] = {
        MVT_LIFE_TEST(test_poweroff_event),
        MVT_LIFE_TEST(test_suspend_events),
        MVT_LIFE_TEST(test_start_console),
        MVT_LIFE_TEST(test_console_attach),
        MVT_LIFE_TEST(test_console_poweroff_parallel),
    };
    return rc ? rc : cmocka_run_group_tests(tests, NULL, NULL);
}
