/* test_activation.c: virtproxyd and virtqemud socket-activated by systemd-socket-activate
 * (the real LISTEN_FDS / LISTEN_FDNAMES protocol), with the socket units' names and
 * modes: a vmctl session through them, read-only enforced on the -ro socket whatever
 * order the fds come in, and READY=1 sent to NOTIFY_SOCKET by the activated process. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/paths.h"
#include "harness.h"
#include "harness_vmctl.h"

#define ACTIVATE "/usr/bin/systemd-socket-activate"
#define UUID_DEMO "5ed83087-3852-4e66-8805-134d287f4532"

typedef struct fixture {
    mvt_env e;
    pid_t proxy, qemud;   /* the systemd-socket-activate processes (then the daemons) */
    int proxy_notify, qemud_notify;
    char *rw, *ro, *qsock; /* socket paths */
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    if (!f || mvt_setup(&f->e) < 0) {
        free(f);
        return -1;
    }
    f->proxy = f->qemud = -1;
    f->proxy_notify = f->qemud_notify = -1;
    if (asprintf(&f->rw, "%s/virtproxyd-sock", f->e.run_dir) < 0 ||
        asprintf(&f->ro, "%s/virtproxyd-sock-ro", f->e.run_dir) < 0 ||
        asprintf(&f->qsock, "%s/virtqemud-sock", f->e.run_dir) < 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    /* daemons by their pid files; an activator that never exec'd by its pid */
    mvt_teardown(&f->e);
    pid_t pids[] = {f->proxy, f->qemud};
    for (size_t i = 0; i < 2; i++) {
        if (pids[i] > 0 && mvt_kill_wait(pids[i], SIGTERM, 5000) < 0)
            mvt_kill_wait(pids[i], SIGKILL, 5000);
    }
    if (f->proxy_notify >= 0)
        close(f->proxy_notify);
    if (f->qemud_notify >= 0)
        close(f->qemud_notify);
    free(f->rw);
    free(f->ro);
    free(f->qsock);
    free(f);
    return 0;
}

/* systemd-socket-activate for `daemon` on the given sockets and names, passing the
 * environment a unit would set and a NOTIFY_SOCKET of ours. */
static pid_t activate(fixture *f, const char *daemon, const char *const *socks, size_t nsocks,
                      const char *fdnames, int *notify_fd)
{
    char notify_name[64];
    snprintf(notify_name, sizeof(notify_name), "%s.notify", daemon);
    char *notify = NULL;
    *notify_fd = mvt_notify_open(&f->e, notify_name, &notify);
    assert_true(*notify_fd >= 0);

    char names[256], notify_env[256], listen[4][160], log_rel[64];
    snprintf(names, sizeof(names), "--fdname=%s", fdnames);
    snprintf(notify_env, sizeof(notify_env), "--setenv=NOTIFY_SOCKET=%s", notify);
    const char *argv[16];
    int n = 0;
    argv[n++] = ACTIVATE;
    for (size_t i = 0; i < nsocks; i++) {
        snprintf(listen[i], sizeof(listen[i]), "--listen=%s", socks[i]);
        argv[n++] = listen[i];
    }
    argv[n++] = names;
    argv[n++] = "-E";
    argv[n++] = "MODVIRT_ROOT";
    argv[n++] = "-E";
    argv[n++] = "MODVIRT_DAEMON_DIR";
    argv[n++] = notify_env;
    argv[n++] = mvt_bin(daemon);
    argv[n] = NULL;
    snprintf(log_rel, sizeof(log_rel), "%s.activate.log", daemon);
    char *log = mvt_path(&f->e, log_rel);
    pid_t pid = mvt_spawn(argv, log);
    assert_true(pid > 0);
    for (size_t i = 0; i < nsocks; i++)
        assert_int_equal(mvt_wait_path(socks[i], 10000), 0);
    free(log);
    free(notify);
    return pid;
}

/* Both activators, each socket with its unit's mode. rw_first: the order of the proxy's
 * two fds (the daemon must claim them by name, not by position). */
static void activate_both(fixture *f, bool rw_first)
{
    mv_error err = MV_ERROR_INIT;
    assert_int_equal(mv_mkdir_p(f->e.run_dir, 0755, &err), 0);

    const char *q[] = {f->qsock};
    f->qemud = activate(f, "virtqemud", q, 1, "virtqemud.socket", &f->qemud_notify);
    if (rw_first) {
        const char *p[] = {f->rw, f->ro};
        f->proxy = activate(f, "virtproxyd", p, 2, "virtproxyd.socket:virtproxyd-ro.socket",
                            &f->proxy_notify);
    } else {
        const char *p[] = {f->ro, f->rw};
        f->proxy = activate(f, "virtproxyd", p, 2, "virtproxyd-ro.socket:virtproxyd.socket",
                            &f->proxy_notify);
    }
    /* SocketMode= of virtproxyd.socket, virtproxyd-ro.socket, virtqemud.socket */
    assert_int_equal(chmod(f->rw, 0600), 0);
    assert_int_equal(chmod(f->ro, 0666), 0);
    assert_int_equal(chmod(f->qsock, 0600), 0);
}

static void expect_ready(int fd, pid_t pid)
{
    pid_t sender = -1;
    char *msg = NULL;
    assert_int_equal(mvt_notify_wait(fd, "READY=1", 30000, &sender, &msg), 0);
    assert_int_equal(sender, pid);
    free(msg);
}

/* demo.xml in the root (the harness's minimal domain), its path. */
static char *define_file(fixture *f)
{
    char *xml = mvt_domain_xml("demo", UUID_DEMO);
    assert_non_null(xml);
    assert_int_equal(mvt_write(&f->e, "demo.xml", xml), 0);
    free(xml);
    return mvt_path(&f->e, "demo.xml");
}

/* A read-write open through the -ro socket (the library does not know it is read-only,
 * so only the proxy can refuse). */
static void expect_ro_socket_enforced(fixture *f, const char *xml_path)
{
    char *uri = NULL;
    assert_true(asprintf(&uri, "qemu:///system?socket=%s", f->ro) > 0);
    mvt_result r;
    assert_int_equal(mvt_vmctl(&r, "-c", uri, "undefine", "demo", NULL), 0);
    assert_int_equal(r.status, 1);
    /* the proxy names the wire procedure: it never sees which public call sent it */
    assert_string_equal(r.err,
                        "error: Failed to undefine domain 'demo'\n"
                        "error: operation forbidden: read only access prevents domain_undefine\n");
    mvt_result_free(&r);
    assert_int_equal(mvt_vmctl(&r, "-c", uri, "define", xml_path, NULL), 0);
    assert_int_equal(r.status, 1);
    assert_int_equal(mvt_count_lines_with(r.err, "operation forbidden: read only access"), 1);
    mvt_result_free(&r);
    /* reads through it work */
    assert_int_equal(mvt_vmctl(&r, "-q", "-c", uri, "list", "--all", "--name", NULL), 0);
    mvt_expect_ok(&r, "demo\n");
    free(uri);
}

static void test_session_through_activation(void **state)
{
    fixture *f = *state;
    activate_both(f, true);
    struct stat st;
    assert_int_equal(stat(f->rw, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(stat(f->ro, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0666);
    /* nothing runs until the first connection */
    assert_int_equal(mvt_daemon_pid(&f->e, "virtproxyd"), -1);
    assert_int_equal(mvt_daemon_pid(&f->e, "virtqemud"), -1);

    mvt_result r;
    char *xml = define_file(f);
    char want[512];
    snprintf(want, sizeof(want), "Domain 'demo' defined from %s\n\n", xml);
    assert_int_equal(mvt_vmctl(&r, "define", xml, NULL), 0);
    mvt_expect_ok(&r, want);
    /* each daemon is the process systemd-socket-activate exec'd, and it said READY */
    expect_ready(f->proxy_notify, f->proxy);
    expect_ready(f->qemud_notify, f->qemud);
    assert_int_equal(mvt_daemon_pid(&f->e, "virtproxyd"), f->proxy);
    assert_int_equal(mvt_daemon_pid(&f->e, "virtqemud"), f->qemud);

    assert_int_equal(mvt_vmctl(&r, "list", "--all", NULL), 0);
    mvt_expect_ok(&r, " Id   Name   State\n"
                      "-----------------------\n"
                      " -    demo   shut off\n"
                      "\n");
    assert_int_equal(mvt_vmctl(&r, "-q", "domuuid", "demo", NULL), 0);
    mvt_expect_ok(&r, UUID_DEMO "\n");
    assert_int_equal(mvt_vmctl(&r, "autostart", "demo", NULL), 0);
    mvt_expect_ok(&r, "Domain 'demo' marked as autostarted\n\n");

    /* read-only: refused by the library for -r, by the proxy for the -ro socket */
    assert_int_equal(mvt_vmctl(&r, "-r", "undefine", "demo", NULL), 0);
    assert_int_equal(r.status, 1);
    assert_int_equal(mvt_count_lines_with(r.err, "read only access prevents"), 1);
    mvt_result_free(&r);
    assert_int_equal(mvt_vmctl(&r, "-r", "-q", "domstate", "demo", NULL), 0);
    mvt_expect_ok(&r, "shut off\n");
    expect_ro_socket_enforced(f, xml);

    /* the daemons logged that they took systemd's sockets rather than binding their own */
    char *log = mvt_path(&f->e, "var/log/modvirt/virtproxyd.log");
    char *text = mvt_read_file(log);
    assert_non_null(text);
    assert_int_equal(mvt_count_lines_with(text, "(socket from systemd)"), 2);
    free(text);
    free(log);
    log = mvt_path(&f->e, "var/log/modvirt/virtqemud.log");
    text = mvt_read_file(log);
    assert_non_null(text);
    assert_int_equal(mvt_count_lines_with(text, "(socket from systemd)"), 1);
    free(text);
    free(log);

    /* a clean stop leaves the sockets to their owner, systemd */
    assert_int_equal(kill(f->proxy, SIGTERM), 0);
    assert_int_equal(mvt_wait_exit(f->proxy, 10000), 0);
    f->proxy = -1;
    assert_int_equal(stat(f->rw, &st), 0);
    assert_int_equal(stat(f->ro, &st), 0);
    assert_int_equal(mvt_daemon_pid(&f->e, "virtproxyd"), -1);
    free(xml);
}

static void test_fds_claimed_by_name(void **state)
{
    fixture *f = *state;
    /* the read-only socket comes first (fd 3) this time */
    activate_both(f, false);
    mvt_result r;
    char *xml = define_file(f);
    assert_int_equal(mvt_vmctl(&r, "-q", "define", xml, NULL), 0);
    char want[512];
    snprintf(want, sizeof(want), "Domain 'demo' defined from %s\n", xml);
    mvt_expect_ok(&r, want);
    expect_ready(f->proxy_notify, f->proxy);
    expect_ro_socket_enforced(f, xml);
    assert_int_equal(mvt_vmctl(&r, "-q", "undefine", "demo", NULL), 0);
    mvt_expect_ok(&r, "Domain 'demo' has been undefined\n");
    free(xml);
}

int main(void)
{
    if (access(ACTIVATE, X_OK) != 0) {
        fprintf(stderr, "skipped: %s is not installed (package systemd)\n", ACTIVATE);
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_session_through_activation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fds_claimed_by_name, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
