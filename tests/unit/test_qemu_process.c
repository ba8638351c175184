/* test_qemu_process: detached spawning (own session, log, clean environment, exec
 * errors), pidfds, /proc stat, and the live status file's round trip — without qemu. */
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
#include "common/store.h"
#include "virtqemud/qemu_process.h"

static char dir[64];

static int setup(void **state)
{
    strcpy(dir, "/tmp/mvproc-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];

    /* Test files only (a log and a status file) */
    snprintf(cmd, sizeof(cmd), "%s/out.log", dir);
    unlink(cmd);
    snprintf(cmd, sizeof(cmd), "%s/st.xml", dir);
    unlink(cmd);
    rmdir(dir);
    return 0;
}

static void test_spawn_env_and_log(void **state)
{
    char *const argv[] = {"/usr/bin/env", NULL};
    char *const add[] = {"MV_ADDED=yes", NULL};
    char log[128], *text = NULL;
    size_t len = 0;
    pid_t pid = 0;
    int pidfd;

    snprintf(log, sizeof(log), "%s/out.log", dir);
    setenv("NOTIFY_SOCKET", "/run/notify", 1);
    setenv("LISTEN_FDS", "2", 1);
    assert_int_equal(qemu_spawn_detached(argv, add, log, &pid, NULL), 0);
    assert_true(pid > 0);
    /* Not our child: it may already be a zombie of init, or gone. */
    pidfd = qemu_pidfd_open(pid, NULL);
    if (pidfd >= 0) {
        assert_true(qemu_pidfd_wait(pidfd, 10000));
        close(pidfd);
    }
    unsetenv("NOTIFY_SOCKET");
    unsetenv("LISTEN_FDS");
    /* The log is complete once the process exited. */
    assert_int_equal(mv_file_read(log, 1 << 20, &text, &len, NULL), 0);
    assert_non_null(strstr(text, "MV_ADDED=yes\n"));
    assert_null(strstr(text, "NOTIFY_SOCKET="));
    assert_null(strstr(text, "LISTEN_FDS="));
    free(text);
}

static void test_spawn_detached_kill(void **state)
{
    char *const argv[] = {"/bin/sleep", "60", NULL};
    char log[128];
    unsigned long long cpu = 1, t1 = 0, t2 = 0;
    pid_t pid = 0;
    int pidfd;

    snprintf(log, sizeof(log), "%s/out.log", dir);
    assert_int_equal(qemu_spawn_detached(argv, NULL, log, &pid, NULL), 0);
    assert_true((pidfd = qemu_pidfd_open(pid, NULL)) >= 0);
    assert_true(qemu_pidfd_alive(pidfd));
    /* Another session (whose leader, the helper, is gone: no controlling terminal
     * can ever come back), so our process group's signals never reach it. */
    assert_int_not_equal(getsid(pid), getsid(0));
    assert_int_not_equal(getpgid(pid), getpgid(0));
    assert_int_equal(qemu_proc_stat(pid, &cpu, &t1), 0);
    assert_int_equal(qemu_proc_stat(pid, NULL, &t2), 0);
    assert_true(t1 > 0);
    assert_int_equal(t1, t2);
    assert_int_equal(qemu_pidfd_kill(pidfd, SIGKILL), 0);
    /* Seen through the pidfd at once, without waiting for anyone to reap it. */
    assert_true(qemu_pidfd_wait(pidfd, 10000));
    assert_false(qemu_pidfd_alive(pidfd));
    close(pidfd);
}

static void test_spawn_exec_error(void **state)
{
    char *const missing[] = {"/nonexistent/qemu-system-x86_64", NULL};
    char *const relative[] = {"qemu-system-x86_64", NULL};
    char log[128];
    mv_error err = MV_ERROR_INIT;
    pid_t pid = 0;

    snprintf(log, sizeof(log), "%s/out.log", dir);
    assert_int_equal(qemu_spawn_detached(missing, NULL, log, &pid, &err), -1);
    assert_non_null(strstr(err.message, "No such file"));
    mv_error_clear(&err);
    assert_int_equal(qemu_spawn_detached(relative, NULL, log, &pid, &err), -1);
    mv_error_clear(&err);
}

static void test_status_round_trip(void **state)
{
    const char *xml = "<domain type='qemu'><name>st</name>"
                      "<uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid>"
                      "<memory unit='KiB'>65536</memory><vcpu>1</vcpu>"
                      "<os><type arch='x86_64' machine='pc'>hvm</type></os><devices>"
                      "<serial type='pty' tty='/dev/pts/7'><source path='/dev/pts/7'/>"
                      "<target port='0'/></serial></devices></domain>";
    qemu_status st = {0}, back;
    char path[128];
    mv_error err = MV_ERROR_INIT;

    snprintf(path, sizeof(path), "%s/st.xml", dir);
    st.def = mv_domain_def_parse(xml, strlen(xml), MV_DOMAIN_DEF_PARSE_LIVE, &err);
    assert_non_null(st.def);
    st.pid = 4242;
    st.id = 7;
    st.start_ticks = 123456789ULL;
    st.monitor = strdup("/run/modvirt/qemu/st.monitor & <odd>");
    st.state = 3;
    st.reason = 1;
    st.persistent = true;
    st.fake_reboot = true;
    assert_int_equal(qemu_status_write(path, &st, &err), 0);
    assert_int_equal(qemu_status_read(path, &back, &err), 0);
    assert_int_equal(back.pid, 4242);
    assert_int_equal(back.id, 7);
    assert_int_equal(back.start_ticks, 123456789ULL);
    assert_string_equal(back.monitor, st.monitor);
    assert_int_equal(back.state, 3);
    assert_int_equal(back.reason, 1);
    assert_true(back.persistent);
    assert_false(back.guest_shutdown);
    assert_true(back.fake_reboot); /* a reboot due survives a daemon restart */
    assert_string_equal(back.def->name, "st");
    assert_int_equal(back.def->nserials, 1);
    assert_string_equal(back.def->serials[0].tty, "/dev/pts/7");
    qemu_status_clear(&back);
    qemu_status_clear(&st);

    /* Garbage is refused with the file named. */
    assert_int_equal(mv_file_write_atomic(path, "<domstatus pid='x'/>", 20, 0600, NULL), 0);
    assert_int_equal(qemu_status_read(path, &back, &err), -1);
    assert_non_null(strstr(err.message, path));
    mv_error_clear(&err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spawn_env_and_log),
        cmocka_unit_test(test_spawn_detached_kill),
        cmocka_unit_test(test_spawn_exec_error),
        cmocka_unit_test(test_status_round_trip),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
