/* test_crash.c: kill -9 of a daemon mid-use — the call in flight fails clearly, the
 * proxy and every other connection carry on, and no definition is lost or half-written. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
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

#include "harness.h"
#include "harness_api.h"

#define URI "qemu:///system"
#define XML_ALL (VIR_DOMAIN_XML_SECURE | VIR_DOMAIN_XML_INACTIVE)

/* A ListAllDomains call run on its own thread, so the test can hold it in flight. */
typedef struct held_call {
    virConnectPtr conn;
    int rc;
    mvt_api_error err;
} held_call;

static void held_list(void *opaque)
{
    held_call *hc = opaque;
    virDomainPtr *doms = NULL;
    hc->rc = virConnectListAllDomains(hc->conn, &doms, 0);
    if (hc->rc < 0) {
        mvt_api_error_take(&hc->err);
        return;
    }
    for (int i = 0; i < hc->rc; i++)
        virDomainFree(doms[i]);
    free(doms);
}

/* Stops virtqemud and starts a ListAllDomains on conn that cannot be answered; returns
 * once the proxy has handed the call to the stopped daemon (its socket holds the bytes),
 * so the call is provably in flight. */
static mvt_thread *call_in_flight(const mvt_env *e, pid_t qemud, held_call *hc)
{
    char *sock = mvt_daemon_sock(e, "virtqemud");
    assert_non_null(sock);
    long queued = mvt_unix_queued(sock);
    assert_int_equal(queued, 0);
    assert_int_equal(mvt_stop_wait(qemud, 5000), 0);
    mvt_thread *t = mvt_thread_in_flight(held_list, hc, sock, &queued, 10000);
    assert_non_null(t);
    free(sock);
    return t;
}

/* XML of name as stored (SECURE | INACTIVE), malloc'd. */
static char *domain_xml(virConnectPtr c, const char *name)
{
    virDomainPtr d = virDomainLookupByName(c, name);
    assert_non_null(d);
    char *xml = virDomainGetXMLDesc(d, XML_ALL);
    assert_non_null(xml);
    virDomainFree(d);
    return xml;
}

static char *stored_file(const mvt_env *e, const char *name)
{
    char rel[256];
    snprintf(rel, sizeof(rel), "etc/modvirt/qemu/%s.xml", name);
    char *path = mvt_path(e, rel);
    char *s = mvt_read_file(path);
    free(path);
    return s;
}

static const char *const crash_names[] = {"alpha", "bravo", "charlie"};
#define N_CRASH (sizeof(crash_names) / sizeof(crash_names[0]))

/* kill -9 of virtqemud with a call in flight: that call fails with "connection to
 * virtqemud lost"; the same connection's next call is served by a fresh virtqemud, the
 * proxy carries on, and every definition is exactly as it was. */
static void test_qemud_killed_mid_call(void **state)
{
    const mvt_env *e = *state;
    virConnectPtr c1 = virConnectOpen(URI);
    virConnectPtr c2 = virConnectOpen(URI);
    assert_non_null(c1);
    assert_non_null(c2);
    char *before_xml[N_CRASH], *before_file[N_CRASH];
    for (size_t i = 0; i < N_CRASH; i++) {
        assert_int_equal(mvt_api_define(c1, crash_names[i]), 0);
        before_xml[i] = domain_xml(c1, crash_names[i]);
        before_file[i] = stored_file(e, crash_names[i]);
        assert_non_null(before_file[i]);
    }
    char *before_names = mvt_api_names(c1);
    assert_string_equal(before_names, "alpha\nbravo\ncharlie\n");
    pid_t proxy = mvt_daemon_pid(e, "virtproxyd");
    pid_t qemud = mvt_daemon_pid(e, "virtqemud");
    assert_true(proxy > 0);
    assert_true(qemud > 0);

    held_call hc = {.conn = c1};
    mvt_thread *t = call_in_flight(e, qemud, &hc);
    long long killed_at = mvt_now_ms();
    assert_int_equal(mvt_kill_wait(qemud, SIGKILL, 5000), 0);
    /* "at once": the proxy sees the socket close; no keepalive or timeout involved */
    assert_int_equal(mvt_thread_join(t, 3000), 0);
    assert_true(mvt_now_ms() - killed_at < 3000);
    assert_int_equal(hc.rc, -1);
    assert_int_equal(hc.err.code, VIR_ERR_RPC);
    assert_non_null(strstr(hc.err.message, "connection to virtqemud lost"));
    assert_int_equal(virConnectIsAlive(c1), 1);

    /* the same connection, next call: a new virtqemud, everything still there */
    char *after = mvt_api_names(c1);
    assert_non_null(after);
    assert_string_equal(after, before_names);
    free(after);
    pid_t qemud2 = mvt_daemon_pid(e, "virtqemud");
    assert_true(qemud2 > 0);
    assert_int_not_equal(qemud2, qemud);
    for (size_t i = 0; i < N_CRASH; i++) {
        char *xml = domain_xml(c1, crash_names[i]);
        assert_string_equal(xml, before_xml[i]);
        char *file = stored_file(e, crash_names[i]);
        assert_non_null(file);
        assert_string_equal(file, before_file[i]);
        free(xml);
        free(file);
    }

    /* the other connection, opened before the crash, and a brand new one */
    after = mvt_api_names(c2);
    assert_non_null(after);
    assert_string_equal(after, before_names);
    free(after);
    virConnectPtr c3 = virConnectOpen(URI);
    assert_non_null(c3);
    assert_int_equal(virConnectNumOfDefinedDomains(c3), (int)N_CRASH);
    assert_int_equal(mvt_api_define(c3, "delta"), 0);
    assert_int_equal(virConnectNumOfDefinedDomains(c1), (int)N_CRASH + 1);
    assert_int_equal(mvt_daemon_pid(e, "virtproxyd"), proxy);
    assert_int_equal(mvt_daemon_pid(e, "virtqemud"), qemud2);

    assert_int_equal(virConnectClose(c3), 0);
    assert_int_equal(virConnectClose(c2), 0);
    assert_int_equal(virConnectClose(c1), 0);
    for (size_t i = 0; i < N_CRASH; i++) {
        free(before_xml[i]);
        free(before_file[i]);
    }
    free(before_names);
}

/* ---- kill -9 while several threads define ------------------------------------------------- */

#define N_WRITERS 4
#define MAX_PER_WRITER 4000

enum { DEF_NONE, DEF_OK, DEF_LOST };

typedef struct writers {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int ok_total;
    int lost_total;
    bool stop;
    char unexpected[1200]; /* the first error that is not "connection to virtqemud lost" */
} writers;

typedef struct writer {
    writers *w;
    int index;
    virConnectPtr conn;
    int attempted;
    unsigned char status[MAX_PER_WRITER];
} writer;

static void writer_name(char *buf, size_t len, int w, int i)
{
    snprintf(buf, len, "w%d-%04d", w, i);
}

static void writer_loop(void *opaque)
{
    writer *wr = opaque;
    writers *w = wr->w;
    for (int i = 0; i < MAX_PER_WRITER; i++) {
        pthread_mutex_lock(&w->lock);
        bool stop = w->stop;
        pthread_mutex_unlock(&w->lock);
        if (stop)
            break;
        char name[32];
        writer_name(name, sizeof(name), wr->index, i);
        int rc = mvt_api_define(wr->conn, name);
        mvt_api_error err = {0};
        if (rc < 0)
            mvt_api_error_take(&err);
        pthread_mutex_lock(&w->lock);
        wr->attempted = i + 1;
        if (rc == 0) {
            wr->status[i] = DEF_OK;
            w->ok_total++;
        } else if (err.code == VIR_ERR_RPC && strstr(err.message, "connection to virtqemud lost")) {
            wr->status[i] = DEF_LOST;
            w->lost_total++;
        } else if (!w->unexpected[0]) {
            snprintf(w->unexpected, sizeof(w->unexpected), "%s: code %d: %s", name, err.code,
                     err.message);
        }
        pthread_cond_broadcast(&w->cond);
        pthread_mutex_unlock(&w->lock);
    }
}

/* Waits until the writers have defined `target` domains in all. */
static void await_ok(writers *w, int target, int timeout_ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    pthread_mutex_lock(&w->lock);
    int rc = 0;
    while (w->ok_total < target && !w->unexpected[0] && rc == 0)
        rc = pthread_cond_timedwait(&w->cond, &w->lock, &until);
    int ok = w->ok_total;
    /* failing: the writers stop, as they outlive this test */
    if (w->unexpected[0] || ok < target)
        w->stop = true;
    pthread_mutex_unlock(&w->lock);
    if (w->unexpected[0])
        fail_msg("a define failed unexpectedly: %s", w->unexpected);
    if (ok < target)
        fail_msg("only %d of %d defines done within %d ms", ok, target, timeout_ms);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names of the NAME.xml files under etc/modvirt/qemu, sorted, '\n'-joined; fails the
 * test on anything else there but the autostart folder (a temporary file left behind). */
static char *names_on_disk(const mvt_env *e, int *count)
{
    char *dir = mvt_path(e, "etc/modvirt/qemu");
    DIR *d = opendir(dir);
    assert_non_null(d);
    char **names = NULL;
    size_t n = 0, len = 1;
    struct dirent *de;
    while ((de = readdir(d))) {
        const char *s = de->d_name;
        if (!strcmp(s, ".") || !strcmp(s, "..") || !strcmp(s, "autostart"))
            continue;
        size_t l = strlen(s);
        if (s[0] == '.' || strstr(s, ".tmp") || l <= 4 || strcmp(s + l - 4, ".xml") != 0)
            fail_msg("unexpected file in the definitions folder: %s", s);
        names = realloc(names, (n + 1) * sizeof(*names));
        assert_non_null(names);
        names[n] = strndup(s, l - 4);
        len += l - 3;
        n++;
    }
    closedir(d);
    qsort(names, n, sizeof(*names), cmp_str);
    char *out = malloc(len);
    assert_non_null(out);
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        strcat(out, names[i]);
        strcat(out, "\n");
        free(names[i]);
    }
    free(names);
    free(dir);
    *count = (int)n;
    return out;
}

/* kill -9 of virtqemud while four connections define domains as fast as they can: every
 * file left is a whole definition that loads, every define that succeeded is there, no
 * temporary file remains, and the writers carry on against the fresh daemon. */
static void test_qemud_killed_during_defines(void **state)
{
    const mvt_env *e = *state;
    /* not on the stack: a failed assertion leaves this frame while the writers run on */
    static writers w;
    w = (writers){.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
    writer *wr = calloc(N_WRITERS, sizeof(*wr));
    mvt_thread *t[N_WRITERS];
    assert_non_null(wr);
    for (int i = 0; i < N_WRITERS; i++) {
        wr[i] = (writer){.w = &w, .index = i, .conn = virConnectOpen(URI)};
        assert_non_null(wr[i].conn);
    }
    for (int i = 0; i < N_WRITERS; i++) {
        t[i] = mvt_thread_start(writer_loop, &wr[i]);
        assert_non_null(t[i]);
    }

    /* three kills, each once the writers are in full swing against that daemon */
    pid_t qemud = -1;
    await_ok(&w, 30, 60000);
    for (int k = 0; k < 3; k++) {
        pid_t now = mvt_daemon_pid(e, "virtqemud");
        assert_true(now > 0);
        assert_int_not_equal(now, qemud);
        qemud = now;
        assert_int_equal(mvt_kill_wait(qemud, SIGKILL, 5000), 0);
        pthread_mutex_lock(&w.lock);
        int ok_at_kill = w.ok_total;
        pthread_mutex_unlock(&w.lock);
        await_ok(&w, ok_at_kill + 30, 60000);
    }

    pthread_mutex_lock(&w.lock);
    w.stop = true;
    pthread_mutex_unlock(&w.lock);
    for (int i = 0; i < N_WRITERS; i++)
        assert_int_equal(mvt_thread_join(t[i], 30000), 0);
    assert_string_equal(w.unexpected, "");
    pid_t qemud2 = mvt_daemon_pid(e, "virtqemud");
    assert_true(qemud2 > 0);
    assert_int_not_equal(qemud2, qemud);
    print_message("    %d defines succeeded, %d lost with the daemon\n", w.ok_total, w.lost_total);

    /* What a daemon starting afresh loads must be exactly what is on disk: stop the
     * current one cleanly, so the next call starts one that reads every file. */
    assert_int_equal(mvt_kill_wait(qemud2, SIGTERM, 10000), 0);
    int on_disk = 0;
    char *disk = names_on_disk(e, &on_disk);
    virConnectPtr c = virConnectOpen(URI);
    assert_non_null(c);
    char *listed = mvt_api_names(c);
    assert_non_null(listed);
    assert_string_equal(listed, disk);
    assert_int_equal(virConnectNumOfDefinedDomains(c), on_disk);

    /* every success is there; a lost define is there whole or not at all */
    int lost_stored = 0;
    for (int i = 0; i < N_WRITERS; i++) {
        for (int j = 0; j < wr[i].attempted; j++) {
            char name[40];
            writer_name(name, sizeof(name) - 1, i, j);
            strcat(name, "\n");
            bool present = strstr(listed, name) != NULL;
            if (wr[i].status[j] == DEF_OK && !present)
                fail_msg("%.*s was defined but is gone", (int)strlen(name) - 1, name);
            if (wr[i].status[j] == DEF_LOST && present)
                lost_stored++;
        }
    }
    assert_int_equal(on_disk, w.ok_total + lost_stored);
    /* every file is exactly what the daemon formats for it: nothing half-written */
    for (char *p = listed, *nl; (nl = strchr(p, '\n')); p = nl + 1) {
        *nl = '\0';
        char *file = stored_file(e, p);
        char *xml = domain_xml(c, p);
        assert_non_null(file);
        assert_string_equal(file, xml);
        free(file);
        free(xml);
    }

    assert_int_equal(virConnectClose(c), 0);
    for (int i = 0; i < N_WRITERS; i++)
        assert_int_equal(virConnectClose(wr[i].conn), 0);
    free(listed);
    free(disk);
    free(wr);
}

/* ---- a burst of calls right after a kill ---------------------------------------------------- */

#define BURST_THREADS 8
#define BURST_CALLS 40

typedef struct burst {
    virConnectPtr conn;
    pthread_barrier_t *go;
    int ok;
    char error[1100];
} burst;

static void burst_run(void *opaque)
{
    burst *b = opaque;
    pthread_barrier_wait(b->go);
    for (int i = 0; i < BURST_CALLS; i++) {
        virDomainPtr d = virDomainLookupByName(b->conn, crash_names[i % N_CRASH]);
        if (!d) {
            mvt_api_error err;
            mvt_api_error_take(&err);
            snprintf(b->error, sizeof(b->error), "call %d: %s", i, err.message);
            return;
        }
        virDomainFree(d);
        b->ok++;
    }
}

/* kill -9 of an idle virtqemud, then 8 threads fire calls on one connection at once:
 * they all wait for the one restart (queued in the proxy, not lost, not refused) and
 * every one of them is answered. */
static void test_burst_after_kill(void **state)
{
    const mvt_env *e = *state;
    virConnectPtr c = virConnectOpen(URI);
    assert_non_null(c);
    for (size_t i = 0; i < N_CRASH; i++)
        assert_int_equal(mvt_api_define(c, crash_names[i]), 0);
    pid_t qemud = mvt_daemon_pid(e, "virtqemud");
    assert_true(qemud > 0);
    assert_int_equal(mvt_kill_wait(qemud, SIGKILL, 5000), 0);

    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, BURST_THREADS);
    burst b[BURST_THREADS];
    mvt_thread *t[BURST_THREADS];
    for (int i = 0; i < BURST_THREADS; i++) {
        b[i] = (burst){.conn = c, .go = &go};
        t[i] = mvt_thread_start(burst_run, &b[i]);
        assert_non_null(t[i]);
    }
    for (int i = 0; i < BURST_THREADS; i++)
        assert_int_equal(mvt_thread_join(t[i], 60000), 0);
    pthread_barrier_destroy(&go);
    for (int i = 0; i < BURST_THREADS; i++) {
        if (b[i].error[0])
            fail_msg("thread %d: %s", i, b[i].error);
        assert_int_equal(b[i].ok, BURST_CALLS);
    }
    pid_t qemud2 = mvt_daemon_pid(e, "virtqemud");
    assert_true(qemud2 > 0);
    assert_int_not_equal(qemud2, qemud);
    assert_int_equal(virConnectClose(c), 0);
}

/* ---- kill -9 of the proxy ------------------------------------------------------------------ */

/* kill -9 of virtproxyd with a call pending: the call fails, the connection is dead for
 * good, and a new virConnectOpen starts a new proxy that serves it. */
static void test_proxy_killed(void **state)
{
    const mvt_env *e = *state;
    virConnectPtr c = virConnectOpen(URI);
    assert_non_null(c);
    assert_int_equal(mvt_api_define(c, "survivor"), 0);
    mvt_close_seen cs;
    assert_int_equal(mvt_close_watch(c, &cs), 0);
    pid_t proxy = mvt_daemon_pid(e, "virtproxyd");
    pid_t qemud = mvt_daemon_pid(e, "virtqemud");
    assert_true(proxy > 0);
    assert_true(qemud > 0);

    held_call hc = {.conn = c};
    mvt_thread *t = call_in_flight(e, qemud, &hc);
    assert_int_equal(mvt_kill_wait(proxy, SIGKILL, 5000), 0);
    assert_int_equal(mvt_thread_join(t, 3000), 0);
    assert_int_equal(hc.rc, -1);
    assert_int_equal(hc.err.code, VIR_ERR_RPC);
    assert_non_null(strstr(hc.err.message, "connection to virtproxyd lost"));
    kill(qemud, SIGCONT);

    /* the close callback ran, once, for the server's end of file */
    assert_int_equal(mvt_close_wait(&cs, 3000), 1);
    assert_int_equal(cs.reason, VIR_CONNECT_CLOSE_REASON_EOF);

    /* dead for good: every later call fails at once, naming the loss */
    assert_int_equal(virConnectIsAlive(c), 0);
    assert_int_equal(virConnectNumOfDefinedDomains(c), -1);
    mvt_api_error err;
    mvt_api_error_take(&err);
    assert_int_equal(err.code, VIR_ERR_RPC);
    assert_non_null(strstr(err.message, "connection to virtproxyd lost"));

    /* a new connection starts a new proxy, which finds the running virtqemud */
    virConnectPtr c2 = virConnectOpen(URI);
    assert_non_null(c2);
    assert_int_equal(virConnectIsAlive(c2), 1);
    char *names = mvt_api_names(c2);
    assert_non_null(names);
    assert_string_equal(names, "survivor\n");
    pid_t proxy2 = mvt_daemon_pid(e, "virtproxyd");
    assert_true(proxy2 > 0);
    assert_int_not_equal(proxy2, proxy);
    assert_int_equal(mvt_daemon_pid(e, "virtqemud"), qemud);

    /* no further close callback on the dead connection */
    assert_int_equal(mvt_close_wait(&cs, 0), 0);
    virConnectClose(c);
    assert_int_equal(virConnectClose(c2), 0);
    close(cs.fd);
    free(names);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        MVT_TEST(test_qemud_killed_mid_call),
        MVT_TEST(test_qemud_killed_during_defines),
        MVT_TEST(test_burst_after_kill),
        MVT_TEST(test_proxy_killed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
