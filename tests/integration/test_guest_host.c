/* test_guest_host.c: real tiny guests against the daemon as a whole — guests outlive a
 * kill -9 of virtqemud and stay controllable, a guest that powers off or panics while
 * virtqemud is dead is shut off as such by the next one, a reboot due survives a daemon
 * restart, a guest started with VIR_DOMAIN_START_AUTODESTROY goes with its connection,
 * 20 guests start and stop in parallel with nothing lost, a hung monitor delays no other
 * call, and virt-install's XML defines, starts (as type qemu) and stops.
 * Skipped (77) when the tiny guest cannot be built. */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "harness.h"
#include "harness_api.h"
#include "harness_guest.h"
#include "harness_life.h"

#define URI "qemu:///system"
#define BOOT_MS 60000
#define PARALLEL 20

static mvt_guest guest;

typedef mvt_life fixture;

/* Starts doms[n - 1]. When that fails, frees doms[0..n-1] and skips the test if
 * virtqemud does not run guests yet (the call is unsupported), else fails it. */
static void start_or_skip(virDomainPtr *doms, int n)
{
    if (virDomainCreate(doms[n - 1]) == 0)
        return;
    mvt_api_error err;
    mvt_api_error_take(&err);
    for (int i = 0; i < n; i++)
        virDomainFree(doms[i]);
    if (err.code == VIR_ERR_NO_SUPPORT)
        skip();
    fail_msg("start: %s", err.message);
}

/* kill -9 of virtqemud with two guests running: the next call restarts it, and both
 * guests are running with the same ids, answer on their consoles, and can be paused
 * and destroyed. */
static void test_daemon_killed(void **state)
{
    fixture *f = *state;
    virDomainPtr dom[2];
    int ids[2];
    pid_t qemu[2];
    const char *names[2] = {"keep1", "keep2"};
    for (int i = 0; i < 2; i++) {
        dom[i] = mvt_guest_define(f->conn, &guest, names[i]);
        assert_non_null(dom[i]);
        start_or_skip(dom, i + 1);
        ids[i] = (int)virDomainGetID(dom[i]);
        qemu[i] = mvt_guest_qemu_pid(&f->env, names[i]);
        assert_true(qemu[i] > 0);
    }
    pid_t qemud = mvt_daemon_pid(&f->env, "virtqemud");
    assert_true(qemud > 0);
    assert_int_equal(mvt_kill_wait(qemud, SIGKILL, 5000), 0);
    /* the guests did not go with it */
    for (int i = 0; i < 2; i++)
        assert_int_equal(kill(qemu[i], 0), 0);

    for (int i = 0; i < 2; i++) {
        mvt_life_assert_state(dom[i], VIR_DOMAIN_RUNNING, -1);
        virDomainPtr d = virDomainLookupByName(f->conn, names[i]);
        assert_non_null(d);
        assert_int_equal((int)virDomainGetID(d), ids[i]);
        virDomainFree(d);
        char *pty = mvt_guest_pty(dom[i]);
        assert_non_null(pty);
        assert_int_equal(mvt_guest_wait_marker(pty, BOOT_MS), 0);
        free(pty);
    }
    assert_true(mvt_daemon_pid(&f->env, "virtqemud") > 0);
    assert_int_not_equal(mvt_daemon_pid(&f->env, "virtqemud"), qemud);
    assert_int_equal(virConnectNumOfDomains(f->conn), 2);
    /* the re-attached monitors work */
    assert_int_equal(virDomainSuspend(dom[0]), 0);
    mvt_life_assert_state(dom[0], VIR_DOMAIN_PAUSED, VIR_DOMAIN_PAUSED_USER);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(virDomainDestroy(dom[i]), 0);
        assert_int_equal(mvt_wait_gone(qemu[i], 5000), 0);
        mvt_life_assert_state(dom[i], VIR_DOMAIN_SHUTOFF, VIR_DOMAIN_SHUTOFF_DESTROYED);
        virDomainFree(dom[i]);
    }
}

/* A guest killed while virtqemud is down is noticed by the restarted daemon. */
static void test_guest_died_while_daemon_down(void **state)
{
    fixture *f = *state;
    virDomainPtr dom = mvt_guest_define(f->conn, &guest, "gone");
    assert_non_null(dom);
    start_or_skip(&dom, 1);
    pid_t qemu = mvt_guest_qemu_pid(&f->env, "gone");
    assert_true(qemu > 0);
    pid_t qemud = mvt_daemon_pid(&f->env, "virtqemud");
    assert_int_equal(mvt_kill_wait(qemud, SIGKILL, 5000), 0);
    assert_int_equal(mvt_kill_wait(qemu, SIGKILL, 5000), 0);
    mvt_life_assert_state(dom, VIR_DOMAIN_SHUTOFF, -1);
    assert_int_equal(virConnectNumOfDomains(f->conn), 0);
    virDomainFree(dom);
}

/* The parallel starters and the test meet twice: once all have started (the test
 * counts running guests), and before they destroy. */
static pthread_barrier_t started, counted;

/* One of the parallel starters: its own connection, define, start, destroy. */
typedef struct worker {
    int index;
    int rc; /* 0 when every step worked */
    char what[256];
    char pty[128];
} worker;

static void run_worker(void *opaque)
{
    worker *w = opaque;
    char name[32];
    snprintf(name, sizeof(name), "par%02d", w->index);
    w->rc = -1;
    virConnectPtr conn = virConnectOpen(URI);
    virDomainPtr dom = conn ? mvt_guest_define(conn, &guest, name) : NULL;
    int s = -1, r = -1;
    if (!dom) {
        snprintf(w->what, sizeof(w->what), "define: %s", virGetLastErrorMessage());
    } else if (virDomainCreate(dom) < 0) {
        snprintf(w->what, sizeof(w->what), "start: %s", virGetLastErrorMessage());
        if (virGetLastErrorCode() == VIR_ERR_NO_SUPPORT)
            w->rc = 77;
    } else if (virDomainGetState(dom, &s, &r, 0) < 0 || s != VIR_DOMAIN_RUNNING) {
        snprintf(w->what, sizeof(w->what), "state %d after start", s);
    } else {
        w->rc = 1; /* started: destroy after the meeting points */
    }
    /* everyone meets, started or not, so nobody waits forever */
    pthread_barrier_wait(&started);
    pthread_barrier_wait(&counted);
    if (w->rc == 1) {
        w->rc = -1;
        if (virDomainDestroy(dom) < 0)
            snprintf(w->what, sizeof(w->what), "destroy: %s", virGetLastErrorMessage());
        else if (virDomainGetState(dom, &s, &r, 0) < 0 || s != VIR_DOMAIN_SHUTOFF)
            snprintf(w->what, sizeof(w->what), "state %d after destroy", s);
        else
            w->rc = 0;
    }
    if (dom)
        virDomainFree(dom);
    if (conn)
        virConnectClose(conn);
}

static void test_parallel(void **state)
{
    fixture *f = *state;
    worker w[PARALLEL];
    mvt_thread *t[PARALLEL];
    long long t0 = mvt_now_ms();
    pthread_barrier_init(&started, NULL, PARALLEL + 1);
    pthread_barrier_init(&counted, NULL, PARALLEL + 1);
    for (int i = 0; i < PARALLEL; i++) {
        memset(&w[i], 0, sizeof(w[i]));
        w[i].index = i;
        t[i] = mvt_thread_start(run_worker, &w[i]);
        assert_non_null(t[i]);
    }
    pthread_barrier_wait(&started);
    long long t1 = mvt_now_ms();
    int running = virConnectNumOfDomains(f->conn);
    pthread_barrier_wait(&counted);
    int failed = 0, unsupported = 0;
    for (int i = 0; i < PARALLEL; i++) {
        assert_int_equal(mvt_thread_join(t[i], 300000), 0);
        if (w[i].rc == 77)
            unsupported++;
        else if (w[i].rc != 0) {
            print_error("par%02d: %s\n", i, w[i].what);
            failed++;
        }
    }
    pthread_barrier_destroy(&started);
    pthread_barrier_destroy(&counted);
    if (unsupported == PARALLEL)
        skip();
    assert_int_equal(failed, 0);
    /* all of them were running at once */
    assert_int_equal(running, PARALLEL);
    printf("parallel: %d guests running %lld ms after the first start call, all destroyed "
           "%lld ms later\n",
           PARALLEL, t1 - t0, mvt_now_ms() - t1);
    /* nothing lost: every definition is there, every guest is shut off */
    virDomainPtr *doms = NULL;
    int n = virConnectListAllDomains(f->conn, &doms, 0);
    assert_int_equal(n, PARALLEL);
    for (int i = 0; i < n; i++) {
        mvt_life_assert_state(doms[i], VIR_DOMAIN_SHUTOFF, VIR_DOMAIN_SHUTOFF_DESTROYED);
        virDomainFree(doms[i]);
    }
    free(doms);
    assert_int_equal(virConnectNumOfDomains(f->conn), 0);
}

/* A suspend held on a guest whose qemu is stopped (its monitor cannot answer). */
typedef struct held {
    virDomainPtr dom;
    int rc;
} held;

static void held_suspend(void *opaque)
{
    held *h = opaque;
    h->rc = virDomainSuspend(h->dom);
}

/* A hung monitor delays nothing else: while a suspend waits on a stopped qemu, calls
 * about another guest — and reads about the hung one — answer at once. */
static void test_monitor_hang(void **state)
{
    fixture *f = *state;
    virDomainPtr dom[2];
    dom[0] = mvt_guest_define(f->conn, &guest, "hung");
    assert_non_null(dom[0]);
    start_or_skip(dom, 1);
    dom[1] = mvt_guest_define(f->conn, &guest, "free");
    assert_non_null(dom[1]);
    start_or_skip(dom, 2);
    pid_t qemu = mvt_guest_qemu_pid(&f->env, "hung");
    assert_true(qemu > 0);
    assert_int_equal(mvt_stop_wait(qemu, 5000), 0);
    held h = {dom[0], 0};
    mvt_thread *t = mvt_thread_start(held_suspend, &h);
    assert_non_null(t);
    assert_int_equal(mvt_thread_join(t, 300), -1); /* it waits on the stopped monitor */

    long long t0 = mvt_now_ms();
    assert_int_equal(virDomainSuspend(dom[1]), 0);
    mvt_life_assert_state(dom[1], VIR_DOMAIN_PAUSED, VIR_DOMAIN_PAUSED_USER);
    assert_int_equal(virDomainResume(dom[1]), 0);
    int st = -1;
    assert_int_equal(virDomainGetState(dom[0], &st, NULL, 0), 0);
    assert_int_equal(st, VIR_DOMAIN_RUNNING); /* its last published state */
    virDomainInfo info;
    assert_int_equal(virDomainGetInfo(dom[0], &info), 0);
    char *xml = virDomainGetXMLDesc(dom[0], 0);
    assert_non_null(xml);
    free(xml);
    assert_int_equal(virConnectNumOfDomains(f->conn), 2);
    long long took = mvt_now_ms() - t0;
    printf("monitor hang: other calls took %lld ms meanwhile\n", took);
    assert_true(took < 5000);
    assert_int_equal(mvt_thread_join(t, 0), -1); /* still held */

    kill(qemu, SIGCONT);
    assert_int_equal(mvt_thread_join(t, 30000), 0);
    assert_int_equal(h.rc, 0);
    mvt_life_assert_state(dom[0], VIR_DOMAIN_PAUSED, VIR_DOMAIN_PAUSED_USER);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(virDomainDestroy(dom[i]), 0);
        virDomainFree(dom[i]);
    }
}

/* virt-install's Debian 11 XML, exactly as printed, defines; as type qemu it starts
 * (there is no disk: it sits in its firmware) and stops. */
static void test_virt_install(void **state)
{
    fixture *f = *state;
    char *xml = mvt_read_file(MODVIRT_SOURCE_DIR "/../shared/fixtures/virt-install-debian11.xml");
    if (!xml)
        skip();
    char *qemu = mvt_guest_subst(xml, "<domain type=\"kvm\">", "<domain type=\"qemu\">");
    assert_non_null(qemu);
    assert_string_not_equal(qemu, xml);
    virDomainPtr dom = virDomainDefineXML(f->conn, xml);
    if (!dom)
        fail_msg("define as printed: %s", virGetLastErrorMessage());
    virDomainFree(dom);
    dom = virDomainDefineXML(f->conn, qemu);
    if (!dom)
        fail_msg("define as qemu: %s", virGetLastErrorMessage());
    free(xml);
    free(qemu);
    start_or_skip(&dom, 1);
    mvt_life_assert_state(dom, VIR_DOMAIN_RUNNING, VIR_DOMAIN_RUNNING_BOOTED);
    assert_int_equal(virDomainDestroy(dom), 0);
    mvt_life_assert_state(dom, VIR_DOMAIN_SHUTOFF, VIR_DOMAIN_SHUTOFF_DESTROYED);
    virDomainFree(dom);
}

/* The kill -9 window: with virtqemud dead, the guest is told `line` on its console and
 * QEMU reports qmp_event to the test, which holds the monitor meanwhile. QEMU waits (it
 * runs with -no-shutdown); the next call restarts the daemon, whose re-attach finishes
 * the job: shut off with `reason`, qemu gone. */
static void while_daemon_dead(fixture *f, const char *xml, const char *line, const char *qmp_event,
                              int reason)
{
    char *pty = NULL;
    virDomainPtr dom = mvt_life_boot(f->conn, xml, &pty);
    const char *name = virDomainGetName(dom);
    pid_t pid = mvt_guest_qemu_pid(&f->env, name);
    mvt_life_kill_virtqemud(&f->env);
    int mon = mvt_life_qmp_open(&f->env, name);
    assert_true(mon >= 0);
    assert_int_equal(mvt_guest_send(pty, line), 0);
    assert_int_equal(mvt_life_qmp_wait(mon, qmp_event, 30000), 0);
    close(mon);
    /* the guest's qemu waits for a daemon to decide */
    assert_int_equal(kill(pid, 0), 0);
    mvt_life_wait_state(dom, VIR_DOMAIN_SHUTOFF, reason, 30000);
    assert_int_equal(mvt_wait_gone(pid, 15000), 0);
    free(pty);
    virDomainFree(dom);
}

/* A power-off: shut off, reason shutdown (not crashed). */
static void test_poweroff_while_daemon_dead(void **state)
{
    char *xml = mvt_life_guest_xml(&guest, "dead", NULL, NULL);
    while_daemon_dead(*state, xml, "poweroff", "\"SHUTDOWN\"", VIR_DOMAIN_SHUTOFF_SHUTDOWN);
    free(xml);
}

/* A panic: QEMU waits in guest-panicked; on_crash destroy makes it shut off, crashed. */
static void test_panic_while_daemon_dead(void **state)
{
    char *xml =
        mvt_life_guest_xml(&guest, "pan", "</devices>", "  <panic model='isa'/>\n  </devices>");
    while_daemon_dead(*state, xml, "panic", "\"GUEST_PANICKED\"", VIR_DOMAIN_SHUTOFF_CRASHED);
    free(xml);
}

/* A reboot still due when the daemon dies is completed by the next one: the button is
 * pressed on a paused guest, virtqemud is killed, the guest resumed behind its back
 * powers off, and the restarted daemon resets it in place from the live status. */
static void test_reboot_across_restart(void **state)
{
    fixture *f = *state;
    char *pty = NULL, *xml = mvt_life_guest_xml(&guest, "due", NULL, NULL);
    virDomainPtr dom = mvt_life_boot(f->conn, xml, &pty);
    free(xml);
    pid_t pid = mvt_guest_qemu_pid(&f->env, "due");
    int id = (int)virDomainGetID(dom);
    assert_int_equal(virDomainSuspend(dom), 0);
    assert_int_equal(virDomainReboot(dom, 0), 0);
    mvt_life_kill_virtqemud(&f->env);
    int mon = mvt_life_qmp_open(&f->env, "due");
    assert_true(mon >= 0);
    const char *cont = "{\"execute\": \"cont\"}\n";
    assert_int_equal(write(mon, cont, strlen(cont)), (int)strlen(cont));
    assert_int_equal(mvt_life_qmp_wait(mon, "\"SHUTDOWN\"", 30000), 0);
    close(mon);
    /* the next call brings a daemon, which re-attaches and reboots the guest */
    mvt_life_wait_state(dom, VIR_DOMAIN_RUNNING, VIR_DOMAIN_RUNNING_BOOTED, 30000);
    assert_int_equal(mvt_life_wait_boot(pty, MVT_LIFE_BOOT_MS), 0);
    virDomainPtr again = virDomainLookupByName(f->conn, "due");
    assert_non_null(again);
    assert_int_equal((int)virDomainGetID(again), id);
    virDomainFree(again);
    assert_int_equal(mvt_guest_qemu_pid(&f->env, "due"), pid);
    assert_int_equal(virDomainDestroy(dom), 0);
    free(pty);
    virDomainFree(dom);
}

/* VIR_DOMAIN_START_AUTODESTROY: a guest goes with the connection that started it — a
 * transient one created by a vmctl that is killed is gone (undefined), a persistent one
 * whose vmctl exits is shut off (destroyed); a guest another connection started with
 * the flag runs on. */
static void test_autodestroy(void **state)
{
    fixture *f = *state;
    char *xml = mvt_life_guest_xml(&guest, "mine", NULL, NULL);
    virDomainPtr mine = virDomainCreateXML(f->conn, xml, VIR_DOMAIN_START_AUTODESTROY);
    free(xml);
    if (!mine)
        fail_msg("create with autodestroy: %s", virGetLastErrorMessage());

    /* a transient guest of a vmctl that is killed */
    xml = mvt_life_guest_xml(&guest, "theirs", NULL, NULL);
    assert_int_equal(mvt_write(&f->env, "theirs.xml", xml), 0);
    free(xml);
    char *file = mvt_path(&f->env, "theirs.xml"), *log = mvt_path(&f->env, "theirs.log");
    const char *argv[] = {"vmctl", "create", file, "--autodestroy", "--console", NULL};
    pid_t client = mvt_spawn(argv, log);
    assert_true(client > 0);
    virDomainPtr theirs = NULL;
    long long deadline = mvt_now_ms() + 30000;
    while (!theirs && mvt_now_ms() < deadline) {
        /* no event says when another client's create is done: ask every 10 ms */
        if (!(theirs = virDomainLookupByName(f->conn, "theirs")))
            poll(NULL, 0, 10);
    }
    assert_non_null(theirs);
    mvt_life_wait_state(theirs, VIR_DOMAIN_RUNNING, -1, 30000);
    assert_int_equal(mvt_kill_wait(client, SIGKILL, 5000), 0);
    mvt_wait_exit(client, 5000);
    deadline = mvt_now_ms() + 30000;
    virDomainPtr still = NULL;
    while (mvt_now_ms() < deadline && (still = virDomainLookupByName(f->conn, "theirs"))) {
        virDomainFree(still);
        poll(NULL, 0, 10);
    }
    assert_null(still);
    assert_int_equal(virGetLastErrorCode(), VIR_ERR_NO_DOMAIN);
    virDomainFree(theirs);

    /* a persistent guest of a vmctl that just exits */
    xml = mvt_life_guest_xml(&guest, "pers", NULL, NULL);
    virDomainPtr pers = virDomainDefineXML(f->conn, xml);
    free(xml);
    assert_non_null(pers);
    mvt_result r;
    assert_int_equal(mvt_vmctl(&r, "start", "pers", "--autodestroy", NULL), 0);
    assert_int_equal(r.status, 0);
    mvt_result_free(&r);
    mvt_life_wait_state(pers, VIR_DOMAIN_SHUTOFF, VIR_DOMAIN_SHUTOFF_DESTROYED, 30000);
    virDomainFree(pers);

    /* ours is untouched by the other connections' closing */
    mvt_life_assert_state(mine, VIR_DOMAIN_RUNNING, -1);
    assert_int_equal(virDomainDestroy(mine), 0);
    virDomainFree(mine);
    free(file);
    free(log);
}

int main(int argc, char **argv)
{
    int rc = mvt_life_prepare(argc, argv, &guest, false);
    const struct CMUnitTest tests[] = {
        MVT_LIFE_TEST(test_daemon_killed),
        MVT_LIFE_TEST(test_guest_died_while_daemon_down),
        MVT_LIFE_TEST(test_poweroff_while_daemon_dead),
        MVT_LIFE_TEST(test_panic_while_daemon_dead),
        MVT_LIFE_TEST(test_reboot_across_restart),
        MVT_LIFE_TEST(test_autodestroy),
        MVT_LIFE_TEST(test_parallel),
        MVT_LIFE_TEST(test_monitor_hang),
        MVT_LIFE_TEST(test_virt_install),
    };
    return rc ? rc : cmocka_run_group_tests(tests, NULL, NULL);
}
