/* test_clients.c: many clients at once — 100 connections making calls in parallel
 * threads, and 100 vmctl processes started together, on a bare root where the first of
 * them all race to start the daemons. Everyone is served, by one daemon of each kind. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "harness.h"
#include "harness_api.h"
#include "harness_raw.h"
#include "harness_sockets.h"
#include "common/proc.h"

#define URI "qemu:///system"
#define N_CLIENTS 100

extern char **environ;

/* How many live processes named `comm` run with this test's MODVIRT_ROOT. Two proxies
 * or two virtqemuds would mean a start race was lost. */
static int count_daemons(const mvt_env *e, const char *comm)
{
    char want[128];
    int n = snprintf(want, sizeof(want), "MODVIRT_ROOT=%s", e->root) + 1; /* with its NUL */
    int count = 0;
    DIR *d = opendir("/proc");
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] < '1' || de->d_name[0] > '9')
            continue;
        char path[300];
        snprintf(path, sizeof(path), "/proc/%s/comm", de->d_name);
        char *c = mvt_read_file(path);
        bool named = c && strncmp(c, comm, strlen(comm)) == 0 && c[strlen(comm)] == '\n';
        free(c);
        if (!named)
            continue;
        /* environ is NUL-separated: look for the whole entry */
        snprintf(path, sizeof(path), "/proc/%s/environ", de->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        char buf[65536];
        ssize_t len = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        for (ssize_t i = 0; len > 0 && i < len;) {
            size_t l = strnlen(buf + i, (size_t)(len - i)) + 1;
            if ((int)l == n && memcmp(buf + i, want, (size_t)n) == 0) {
                count++;
                break;
            }
            i += (ssize_t)l;
        }
    }
    closedir(d);
    return count;
}

/* ---- 100 connections, 100 threads ------------------------------------------------------------ */

typedef struct client {
    int index;
    pthread_barrier_t *start;
    char error[1400]; /* the first failure, "" when everything worked */
} client;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            mvt_api_error err_;                                                                    \
            mvt_api_error_take(&err_);                                                             \
            char what_[256];                                                                       \
            snprintf(what_, sizeof(what_), __VA_ARGS__);                                           \
            snprintf(cl->error, sizeof(cl->error), "client %d: %s: %s", cl->index, what_,          \
                     err_.message);                                                                \
            goto cleanup;                                                                          \
        }                                                                                          \
    } while (0)

/* One client's life: open, define its own domain, read it back every way, list, check
 * the connection, close. */
static void client_run(void *opaque)
{
    client *cl = opaque;
    char name[32];
    snprintf(name, sizeof(name), "client-%03d", cl->index);
    virConnectPtr c = NULL;
    virDomainPtr d = NULL, byuuid = NULL;
    char *xml = NULL;
    virDomainPtr *all = NULL;
    int nall = -1;

    pthread_barrier_wait(cl->start);
    c = virConnectOpen(URI);
    CHECK(c, "open");
    CHECK(mvt_api_define(c, name) == 0, "define %s", name);
    d = virDomainLookupByName(c, name);
    CHECK(d, "lookup %s", name);
    unsigned char uuid[VIR_UUID_BUFLEN];
    CHECK(virDomainGetUUID(d, uuid) == 0, "uuid");
    byuuid = virDomainLookupByUUID(c, uuid);
    CHECK(byuuid && !strcmp(virDomainGetName(byuuid), name), "lookup by uuid");
    xml = virDomainGetXMLDesc(d, 0);
    CHECK(xml && strstr(xml, name), "xml of %s", name);
    virDomainInfo info;
    CHECK(virDomainGetInfo(d, &info) == 0 && info.state == VIR_DOMAIN_SHUTOFF &&
              info.maxMem == 65536 && info.nrVirtCpu == 1,
          "info of %s", name);
    int st = -1, reason = -1;
    CHECK(virDomainGetState(d, &st, &reason, 0) == 0 && st == VIR_DOMAIN_SHUTOFF, "state");
    CHECK(virDomainSetAutostart(d, 1) == 0, "autostart");
    int autostart = 0;
    CHECK(virDomainGetAutostart(d, &autostart) == 0 && autostart == 1, "get autostart");
    nall = virConnectListAllDomains(c, &all, 0);
    CHECK(nall >= 1, "list all");
    CHECK(virConnectNumOfDefinedDomains(c) >= 1, "count");
    CHECK(virConnectIsAlive(c) == 1, "alive");
    CHECK(virConnectGetType(c) && !strcmp(virConnectGetType(c), "QEMU"), "type");

cleanup:
    for (int i = 0; i < nall; i++)
        virDomainFree(all[i]);
    free(all);
    free(xml);
    if (byuuid)
        virDomainFree(byuuid);
    if (d)
        virDomainFree(d);
    if (c && virConnectClose(c) != 0 && !cl->error[0])
        snprintf(cl->error, sizeof(cl->error), "client %d: close left references", cl->index);
}

static void test_hundred_connections(void **state)
{
    const mvt_env *e = *state;
    client *cls = calloc(N_CLIENTS, sizeof(*cls));
    mvt_thread **t = calloc(N_CLIENTS, sizeof(*t));
    pthread_barrier_t start;
    assert_non_null(cls);
    assert_non_null(t);
    /* all at once, on a root where no daemon runs yet */
    assert_int_equal(mvt_daemon_pid(e, "virtproxyd"), -1);
    pthread_barrier_init(&start, NULL, N_CLIENTS);
    for (int i = 0; i < N_CLIENTS; i++) {
        cls[i] = (client){.index = i, .start = &start};
        t[i] = mvt_thread_start(client_run, &cls[i]);
        assert_non_null(t[i]);
    }
    for (int i = 0; i < N_CLIENTS; i++)
        assert_int_equal(mvt_thread_join(t[i], 120000), 0);
    pthread_barrier_destroy(&start);
    for (int i = 0; i < N_CLIENTS; i++) {
        if (cls[i].error[0])
            fail_msg("%s", cls[i].error);
    }

    assert_int_equal(count_daemons(e, "virtproxyd"), 1);
    assert_int_equal(count_daemons(e, "virtqemud"), 1);
    /* still serving, with every client's work in place */
    mvt_result r;
    assert_int_equal(mvt_vmctl(&r, "-c", URI, "list", "--all", "--autostart", "--name", NULL), 0);
    assert_int_equal(r.status, 0);
    assert_int_equal(mvt_count_lines_with(r.out, "client-"), N_CLIENTS);
    assert_non_null(strstr(r.out, "client-000\n"));
    assert_non_null(strstr(r.out, "client-099\n"));
    mvt_result_free(&r);
    free(cls);
    free(t);
}

/* ---- 100 vmctl processes -----------------------------------------------------------------------
 */

typedef struct proc {
    pid_t pid;
    char *out_path, *err_path;
} proc;

/* Starts vmctl with args, stdout and stderr to files under the root. */
static void proc_start(const mvt_env *e, proc *p, int i, const char *const *args)
{
    char rel[64];
    snprintf(rel, sizeof(rel), "out/%03d.out", i);
    p->out_path = mvt_path(e, rel);
    snprintf(rel, sizeof(rel), "out/%03d.err", i);
    p->err_path = mvt_path(e, rel);
    const char *argv[16] = {mvt_bin("vmctl")};
    char vmctl[512];
    snprintf(vmctl, sizeof(vmctl), "%s", argv[0]);
    argv[0] = vmctl;
    for (int n = 0; args[n] && n < 14; n++)
        argv[n + 1] = args[n];
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, p->out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, p->err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int rc = posix_spawn(&p->pid, vmctl, &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    assert_int_equal(rc, 0);
}

/* Waits for p (within the shared deadline) and returns its exit status; 128 + signal. */
static int proc_wait(proc *p, long long deadline)
{
    long long left = deadline - mvt_now_ms();
    int status = mvt_wait_exit(p->pid, left > 0 ? (int)left : 0);
    if (status < 0) {
        kill(p->pid, SIGKILL);
        fail_msg("vmctl pid %d still running at the deadline", (int)p->pid);
    }
    return status;
}

/* Waits for p, which must succeed quietly with out_fragment in its output; returns
 * that output (malloc'd). */
static char *proc_expect(proc *p, int i, long long deadline, const char *out_fragment)
{
    int status = proc_wait(p, deadline);
    char *out = mvt_read_file(p->out_path);
    char *err = mvt_read_file(p->err_path);
    assert_non_null(out);
    assert_non_null(err);
    if (status != 0 || err[0] || !strstr(out, out_fragment))
        fail_msg("vmctl #%d exited %d; stdout: %s; stderr: %s", i, status, out, err);
    free(err);
    free(p->out_path);
    free(p->err_path);
    return out;
}

static void test_hundred_vmctl_processes(void **state)
{
    const mvt_env *e = *state;
    proc *ps = calloc(N_CLIENTS, sizeof(*ps));
    char *files[N_CLIENTS];
    assert_non_null(ps);
    for (int i = 0; i < N_CLIENTS; i++) {
        char name[32], rel[64];
        snprintf(name, sizeof(name), "vm-%03d", i);
        snprintf(rel, sizeof(rel), "xml/%s.xml", name);
        char *xml = mvt_domain_xml(name, NULL);
        assert_int_equal(mvt_write(e, rel, xml), 0);
        free(xml);
        files[i] = mvt_path(e, rel);
    }
    assert_int_equal(mvt_write(e, "out/.keep", ""), 0);

    /* 100 defines at once, on a bare root: the first ones race to start the daemons */
    assert_int_equal(mvt_daemon_pid(e, "virtproxyd"), -1);
    for (int i = 0; i < N_CLIENTS; i++) {
        const char *args[] = {"-c", URI, "define", files[i], NULL};
        proc_start(e, &ps[i], i, args);
    }
    long long deadline = mvt_now_ms() + 120000;
    for (int i = 0; i < N_CLIENTS; i++) {
        char expect[128];
        snprintf(expect, sizeof(expect), "Domain 'vm-%03d' defined from %s\n\n", i, files[i]);
        free(proc_expect(&ps[i], i, deadline, expect));
    }
    assert_int_equal(count_daemons(e, "virtproxyd"), 1);
    assert_int_equal(count_daemons(e, "virtqemud"), 1);
    pid_t proxy = mvt_daemon_pid(e, "virtproxyd");
    pid_t qemud = mvt_daemon_pid(e, "virtqemud");

    /* then 100 readers at once, each seeing all 100 (read-only ones among them) */
    for (int i = 0; i < N_CLIENTS; i++) {
        const char *rw[] = {"-c", URI, "list", "--all", "--name", NULL};
        const char *ro[] = {"-r", "-c", URI, "list", "--all", "--name", NULL};
        proc_start(e, &ps[i], i, i % 2 ? ro : rw);
    }
    deadline = mvt_now_ms() + 120000;
    for (int i = 0; i < N_CLIENTS; i++) {
        char *out = proc_expect(&ps[i], i, deadline, "vm-000\n");
        assert_int_equal(mvt_count_lines_with(out, "vm-"), N_CLIENTS);
        assert_int_equal(mvt_count_lines_with(out, ""), N_CLIENTS + 1);
        free(out);
    }
    assert_int_equal(mvt_daemon_pid(e, "virtproxyd"), proxy);
    assert_int_equal(mvt_daemon_pid(e, "virtqemud"), qemud);

    for (int i = 0; i < N_CLIENTS; i++)
        free(files[i]);
    free(ps);
}

/* ---- limits and churn ----------------------------------------------------------------------- */

/* Opens a connection, retrying while the daemon has not yet noticed an earlier close
 * (it counts a client gone only once its socket is closed; nothing tells us when). */
static virConnectPtr open_retrying(int timeout_ms)
{
    long long deadline = mvt_now_ms() + timeout_ms;
    for (;;) {
        virConnectPtr c = virConnectOpen(URI);
        if (c || mvt_now_ms() >= deadline)
            return c;
        struct timespec step = {0, 5000000};
        nanosleep(&step, NULL);
    }
}

static void expect_too_many(const char *limit_text)
{
    long long t0 = mvt_now_ms();
    virConnectPtr c = virConnectOpen(URI);
    long long took = mvt_now_ms() - t0;
    if (c)
        fail_msg("a connection past the limit was accepted");
    mvt_api_error err;
    mvt_api_error_take(&err);
    assert_int_equal(err.code, VIR_ERR_RPC);
    if (!strstr(err.message, limit_text))
        fail_msg("expected \"%s\" in: %s", limit_text, err.message);
    /* refused at once, not after a timeout */
    assert_true(took < 5000);
}

/* max_clients is a clear error for the one client too many, and room again once one
 * leaves: for the proxy's own clients, and for the proxy's connections to virtqemud. */
static void test_client_limits(void **state)
{
    const mvt_env *e = *state;
    assert_int_equal(mvt_write(e, "etc/modvirt/virtproxyd.conf", "max_clients = 3\n"), 0);
    virConnectPtr c[3];
    for (int i = 0; i < 3; i++) {
        c[i] = virConnectOpen(URI);
        assert_non_null(c[i]);
    }
    expect_too_many("too many client connections (limit 3)");
    for (int i = 0; i < 3; i++)
        assert_int_equal(virConnectNumOfDefinedDomains(c[i]), 0);
    assert_int_equal(virConnectClose(c[0]), 0);
    c[0] = open_retrying(5000);
    assert_non_null(c[0]);
    for (int i = 0; i < 3; i++)
        assert_int_equal(virConnectClose(c[i]), 0);

    /* virtqemud with room for two: the proxy's third upstream is refused, and its client
     * is told why */
    pid_t qemud = mvt_daemon_pid(e, "virtqemud");
    assert_int_equal(mvt_kill_wait(qemud, SIGTERM, 10000), 0);
    assert_int_equal(mvt_write(e, "etc/modvirt/virtqemud.conf", "max_clients = 2\n"), 0);
    c[0] = open_retrying(5000);
    c[1] = open_retrying(5000);
    assert_non_null(c[0]);
    assert_non_null(c[1]);
    expect_too_many("too many client connections (limit 2)");
    assert_int_equal(virConnectNumOfDefinedDomains(c[0]), 0);
    assert_int_equal(virConnectNumOfDefinedDomains(c[1]), 0);
    assert_int_equal(virConnectClose(c[1]), 0);
    c[1] = open_retrying(5000);
    assert_non_null(c[1]);
    assert_int_equal(virConnectClose(c[0]), 0);
    assert_int_equal(virConnectClose(c[1]), 0);
}

static int count_fds(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        n += de->d_name[0] != '.';
    closedir(d);
    return n;
}

/* Waits (closes are noticed asynchronously) until pid holds at most `most` fds. */
static int fds_settle(pid_t pid, int most, int timeout_ms)
{
    long long deadline = mvt_now_ms() + timeout_ms;
    int n;
    while ((n = count_fds(pid)) > most && mvt_now_ms() < deadline) {
        struct timespec step = {0, 5000000};
        nanosleep(&step, NULL);
    }
    return n;
}

/* 300 connections come and go (half of them closing properly, half just dropping the
 * socket mid-call); the daemons end with the descriptors they started with. */
static void test_connection_churn(void **state)
{
    const mvt_env *e = *state;
    virConnectPtr keep = virConnectOpen(URI);
    assert_non_null(keep);
    assert_int_equal(mvt_api_define(keep, "steady"), 0);
    pid_t proxy = mvt_daemon_pid(e, "virtproxyd");
    pid_t qemud = mvt_daemon_pid(e, "virtqemud");
    int proxy_fds = count_fds(proxy), qemud_fds = count_fds(qemud);
    assert_true(proxy_fds > 0 && qemud_fds > 0);

    for (int i = 0; i < 300; i++) {
        if (i % 2 == 0) {
            virConnectPtr c = virConnectOpen(URI);
            assert_non_null(c);
            assert_int_equal(virConnectNumOfDefinedDomains(c), 1);
            assert_int_equal(virConnectClose(c), 0);
            continue;
        }
        /* a client that opens, sends a call and vanishes without waiting */
        mvt_raw r;
        mvt_sockets_connect_in(e, "virtproxyd-sock", &r);
        Modvirt__ConnectOpenArgs open = MODVIRT__CONNECT_OPEN_ARGS__INIT;
        open.uri = (char *)URI;
        assert_int_equal(mvt_raw_call(&r, 1, MV_PROC_CONNECT_OPEN, &open.base, NULL, 0), 0);
        assert_int_equal(mvt_raw_call(&r, 2, MV_PROC_CONNECT_NUM_OF_DEFINED_DOMAINS, NULL, NULL, 0),
                         0);
        mvt_raw_close(&r);
    }

    /* everything the churn opened is closed again (allow for nothing extra) */
    assert_int_equal(fds_settle(proxy, proxy_fds, 10000), proxy_fds);
    assert_int_equal(fds_settle(qemud, qemud_fds, 10000), qemud_fds);
    assert_int_equal(virConnectNumOfDefinedDomains(keep), 1);
    assert_int_equal(mvt_daemon_pid(e, "virtproxyd"), proxy);
    assert_int_equal(mvt_daemon_pid(e, "virtqemud"), qemud);
    assert_int_equal(virConnectClose(keep), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        MVT_TEST(test_hundred_connections),
        MVT_TEST(test_hundred_vmctl_processes),
        MVT_TEST(test_client_limits),
        MVT_TEST(test_connection_churn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
