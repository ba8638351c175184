/* test_config.c: daemon configuration and life cycle against the real programs — a bad
 * line in a .conf reaches the client at once naming file and line, qemu_binary decides
 * the reported version, --timeout / idle_timeout make an idle daemon exit, and a second
 * instance of a daemon refuses to start. */
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
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "common/spawn.h"
#include "harness.h"

/* Starts daemon `name` in the foreground as our child with extra arguments, and waits
 * for its READY=1 (sent by that very process). Its pid. */
static pid_t start_daemon(const mvt_env *e, const char *name, const char *arg1,
                          const char *arg2)
{
    char *log = mvt_path(e, "daemon.out");
    const char *argv[] = {name, arg1, arg2, NULL};
    pid_t pid = mvt_spawn_ready(e, argv, log, 30000);
    if (pid < 0) {
        char *out = mvt_read_file(log);
        fprintf(stderr, "%s never said READY=1; its output:\n%s", name, out ? out : "");
        free(out);
    }
    assert_true(pid > 0);
    free(log);
    return pid;
}

static void test_bad_line_named_fast(void **state)
{
    mvt_env *e = *state;
    mvt_result r;
    assert_int_equal(mvt_write(e, "etc/modvirt/virtqemud.conf",
                               "# virtqemud.conf\n"
                               "log_level = 3\n"
                               "max_clients = \"many\"\n"),
                     0);
    char *conf = mvt_path(e, "etc/modvirt/virtqemud.conf");
    char where[512];
    snprintf(where, sizeof(where), "%s:3:", conf);

    long long t0 = mvt_now_ms();
    assert_int_equal(mvt_vmctl(&r, "list", NULL), 0);
    long long took = mvt_now_ms() - t0;
    assert_int_equal(r.status, 1);
    assert_true(strncmp(r.err, "error: failed to connect to the hypervisor\nerror: ", 50) == 0);
    assert_non_null(strstr(r.err, "virtqemud failed to start"));
    assert_non_null(strstr(r.err, where));
    assert_non_null(strstr(r.err, "max_clients"));
    assert_int_equal(mvt_count_lines_with(r.err, "error: "), 2);
    /* told at once by the failing daemon, not after the proxy's 30 s start timeout */
    assert_true(took < 5000);
    mvt_result_free(&r);
    assert_int_equal(mvt_daemon_pid(e, "virtqemud"), -1);

    /* through the C API: the same reason, as the open's error */
    virConnectPtr c = virConnectOpen(NULL);
    assert_null(c);
    assert_non_null(strstr(virGetLastErrorMessage(), where));

    /* fixed, the next command starts it (the proxy keeps no memory of the failure) */
    assert_int_equal(mvt_write(e, "etc/modvirt/virtqemud.conf", "log_level = 3\n"), 0);
    assert_int_equal(mvt_vmctl(&r, "-q", "list", "--name", NULL), 0);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.err, "");
    mvt_result_free(&r);
    assert_true(mvt_daemon_pid(e, "virtqemud") > 0);
    free(conf);
}

static void test_bad_proxy_conf(void **state)
{
    mvt_env *e = *state;
    mvt_result r;
    assert_int_equal(mvt_write(e, "etc/modvirt/virtproxyd.conf", "log_level = 2\n\nbogus_key = 1\n"),
                     0);
    char *conf = mvt_path(e, "etc/modvirt/virtproxyd.conf");
    char where[512];
    snprintf(where, sizeof(where), "%s:3: unknown key 'bogus_key'", conf);
    long long t0 = mvt_now_ms();
    assert_int_equal(mvt_vmctl(&r, "uri", NULL), 0);
    assert_true(mvt_now_ms() - t0 < 5000);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "virtproxyd failed to start"));
    assert_non_null(strstr(r.err, where));
    mvt_result_free(&r);
    assert_int_equal(mvt_daemon_pid(e, "virtproxyd"), -1);
    free(conf);
}

static void test_qemu_binary(void **state)
{
    mvt_env *e = *state;
    mvt_result r;
    char conf[512];
    snprintf(conf, sizeof(conf), "qemu_binary = \"%s\"\n", MVT_FAKE_QEMU);
    assert_int_equal(mvt_write(e, "etc/modvirt/virtqemud.conf", conf), 0);
    assert_int_equal(mvt_vmctl(&r, "version", NULL), 0);
    assert_string_equal(r.err, "");
    assert_string_equal(r.out, "Compiled against library: libvirt 9.0.0\n"
                               "Using library: libvirt 9.0.0\n"
                               "Using API: QEMU 9.0.0\n"
                               "Running hypervisor: QEMU 8.1.3\n"
                               "\n");
    mvt_result_free(&r);
    assert_int_equal(mvt_vmctl(&r, "--json", "version", NULL), 0);
    assert_non_null(strstr(r.out, "\"running_hypervisor\": \"QEMU 8.1.3\"\n"));
    mvt_result_free(&r);
    virConnectPtr c = virConnectOpen(NULL);
    assert_non_null(c);
    unsigned long v = 0;
    assert_int_equal(virConnectGetVersion(c, &v), 0);
    assert_int_equal(v, 8001003);
    virConnectClose(c);

    /* a binary that is not there: the version fails with the reason, the rest works */
    pid_t qemud = mvt_daemon_pid(e, "virtqemud");
    assert_int_equal(mvt_kill_wait(qemud, SIGTERM, 10000), 0);
    assert_int_equal(
        mvt_write(e, "etc/modvirt/virtqemud.conf", "qemu_binary = \"/nonexistent/qemu\"\n"), 0);
    assert_int_equal(mvt_vmctl(&r, "version", NULL), 0);
    assert_int_equal(r.status, 1);
    assert_string_equal(r.out, "Compiled against library: libvirt 9.0.0\n"
                               "Using library: libvirt 9.0.0\n"
                               "Using API: QEMU 9.0.0\n"
                               "\n");
    assert_true(strncmp(r.err, "error: failed to get the hypervisor version\nerror: ", 51) == 0);
    assert_non_null(strstr(r.err, "'/nonexistent/qemu'"));
    mvt_result_free(&r);
    assert_int_equal(mvt_vmctl(&r, "--json", "version", NULL), 0);
    assert_int_equal(r.status, 1);
    assert_string_equal(r.out, "");
    mvt_result_free(&r);
    assert_int_equal(mvt_vmctl(&r, "-q", "list", "--all", "--name", NULL), 0);
    assert_int_equal(r.status, 0);
    mvt_result_free(&r);
}

static void test_timeout_idle_exit(void **state)
{
    mvt_env *e = *state;
    char *sock = mvt_daemon_sock(e, "virtqemud");
    assert_non_null(sock);
    char *pidfile = NULL;
    assert_true(asprintf(&pidfile, "%s/virtqemud.pid", e->run_dir) > 0);

    pid_t pid = start_daemon(e, "virtqemud", "--timeout", "1");
    assert_int_equal(mvt_daemon_pid(e, "virtqemud"), pid);
    /* a client connected keeps it: no exit for well past the timeout */
    mv_error err = MV_ERROR_INIT;
    int fd = mv_socket_connect(sock, &err);
    assert_true(fd >= 0);
    assert_int_equal(mvt_wait_exit(pid, 1800), -1);
    /* the client leaves: it exits cleanly within the timeout and a tick */
    close(fd);
    long long t0 = mvt_now_ms();
    assert_int_equal(mvt_wait_exit(pid, 5000), 0);
    assert_true(mvt_now_ms() - t0 >= 900);
    /* and cleans up after itself */
    assert_int_equal(access(pidfile, F_OK), -1);
    assert_int_equal(access(sock, F_OK), -1);

    /* the same from the config file (idle_timeout), for the proxy this time */
    assert_int_equal(mvt_write(e, "etc/modvirt/virtproxyd.conf", "idle_timeout = 1\n"), 0);
    t0 = mvt_now_ms();
    pid = start_daemon(e, "virtproxyd", NULL, NULL);
    assert_int_equal(mvt_wait_exit(pid, 5000), 0);
    assert_true(mvt_now_ms() - t0 >= 900);
    assert_int_equal(mvt_daemon_pid(e, "virtproxyd"), -1);
    free(pidfile);
    free(sock);
}

/* A second instance of `name` fails at once naming the first; the first keeps serving. */
static void second_instance(const mvt_env *e, const char *name)
{
    pid_t first = start_daemon(e, name, NULL, NULL);
    char *sock = mvt_daemon_sock(e, name);
    assert_non_null(sock);
    struct stat before, after;
    assert_int_equal(stat(sock, &before), 0);

    const char *argv[] = {name, NULL};
    mvt_result r;
    assert_int_equal(mvt_run(&r, argv, NULL, 30000), 0);
    assert_int_equal(r.status, 1);
    char want[128];
    snprintf(want, sizeof(want), "%s: error: already running (pid %d)\n", name, (int)first);
    assert_string_equal(r.err, want);
    mvt_result_free(&r);

    /* the first one's socket is the same file, still answering */
    assert_int_equal(stat(sock, &after), 0);
    assert_int_equal(before.st_ino, after.st_ino);
    mv_error err = MV_ERROR_INIT;
    int fd = mv_socket_connect(sock, &err);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(mvt_daemon_pid(e, name), first);
    free(sock);
}

static void test_second_instance(void **state)
{
    mvt_env *e = *state;
    second_instance(e, "virtqemud");
    second_instance(e, "virtproxyd");
    /* both first instances serve a whole session */
    mvt_result r;
    assert_int_equal(mvt_vmctl(&r, "-q", "uri", NULL), 0);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.err, "");
    mvt_result_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        MVT_TEST(test_bad_line_named_fast),
        MVT_TEST(test_bad_proxy_conf),
        MVT_TEST(test_qemu_binary),
        MVT_TEST(test_timeout_idle_exit),
        MVT_TEST(test_second_instance),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
