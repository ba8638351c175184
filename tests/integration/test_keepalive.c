/* test_keepalive.c: hung peers — a stopped proxy is declared dead by the client's
 * keepalive, a stopped driver makes calls with a deadline time out on a live connection,
 * and the proxy's own keepalive fails the calls a hung driver holds. */
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
/* What a sanitized build on a loaded 2-core machine may add to any bound below. */
#define SLACK_MS 1500

/* A call on its own thread: how it ended and when. */
typedef struct timed_call {
    virConnectPtr conn;
    int rc;
    long long ended_at;
    mvt_api_error err;
} timed_call;

static void count_defined(void *opaque)
{
    timed_call *tc = opaque;
    tc->rc = virConnectNumOfDefinedDomains(tc->conn);
    tc->ended_at = mvt_now_ms();
    if (tc->rc < 0)
        mvt_api_error_take(&tc->err);
}

/* The proxy stops answering (SIGSTOP): a client with a 200 ms × 3 keepalive declares the
 * connection dead within that bound, and both calls it had pending fail with the reason. */
static void test_stopped_proxy_is_declared_dead(void **state)
{
    const mvt_env *e = *state;
    setenv("MODVIRT_KEEPALIVE", "200,3", 1);
    virConnectPtr c = virConnectOpen(URI);
    assert_non_null(c);
    assert_int_equal(mvt_api_define(c, "quiet"), 0);
    mvt_close_seen cs;
    assert_int_equal(mvt_close_watch(c, &cs), 0);
    pid_t proxy = mvt_daemon_pid(e, "virtproxyd");
    assert_true(proxy > 0);
    char *sock = mvt_daemon_sock(e, "virtproxyd");
    assert_non_null(sock);

    /* the last word from the proxy came before this point: death is due 600 ms later */
    assert_int_equal(virConnectNumOfDefinedDomains(c), 1);
    long long stopped_at = mvt_now_ms();
    assert_int_equal(mvt_stop_wait(proxy, 5000), 0);
    long queued = mvt_unix_queued(sock);
    timed_call a = {.conn = c}, b = {.conn = c};
    mvt_thread *ta = mvt_thread_in_flight(count_defined, &a, sock, &queued, 10000);
    assert_non_null(ta);
    mvt_thread *tb = mvt_thread_in_flight(count_defined, &b, sock, &queued, 10000);
    assert_non_null(tb);
    assert_int_equal(mvt_thread_join(ta, 600 + SLACK_MS), 0);
    assert_int_equal(mvt_thread_join(tb, 600 + SLACK_MS), 0);

    timed_call *calls[] = {&a, &b};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(calls[i]->rc, -1);
        assert_int_equal(calls[i]->err.code, VIR_ERR_RPC);
        assert_non_null(strstr(calls[i]->err.message, "connection to virtproxyd lost"));
        assert_non_null(strstr(calls[i]->err.message, "no answer to keepalive"));
        /* not before the peer had been quiet for most of interval × count (probes go
         * out after each quiet interval, so the last answer may be one interval old) */
        long long took = calls[i]->ended_at - stopped_at;
        assert_true(took >= 400 - 50);
        assert_true(took <= 600 + SLACK_MS);
    }
    assert_int_equal(mvt_close_wait(&cs, SLACK_MS), 1);
    assert_int_equal(cs.reason, VIR_CONNECT_CLOSE_REASON_KEEPALIVE);
    assert_int_equal(virConnectIsAlive(c), 0);
    assert_int_equal(virConnectNumOfDefinedDomains(c), -1);
    mvt_api_error err;
    mvt_api_error_take(&err);
    assert_int_equal(err.code, VIR_ERR_RPC);

    /* the proxy itself is fine once resumed: a new connection is served by it */
    assert_int_equal(kill(proxy, SIGCONT), 0);
    virConnectPtr c2 = virConnectOpen(URI);
    assert_non_null(c2);
    assert_int_equal(virConnectNumOfDefinedDomains(c2), 1);
    assert_int_equal(mvt_daemon_pid(e, "virtproxyd"), proxy);
    assert_int_equal(virConnectClose(c2), 0);
    virConnectClose(c);
    close(cs.fd);
    free(sock);
}

/* Opening a connection to a proxy that accepts but never answers (stopped) does not
 * hang: the keepalive bounds the open too, for the C API and for vmctl. */
static void test_open_against_stopped_proxy(void **state)
{
    const mvt_env *e = *state;
    virConnectPtr c = virConnectOpen(URI);
    assert_non_null(c);
    assert_int_equal(virConnectClose(c), 0);
    pid_t proxy = mvt_daemon_pid(e, "virtproxyd");
    assert_true(proxy > 0);
    assert_int_equal(mvt_stop_wait(proxy, 5000), 0);
    setenv("MODVIRT_KEEPALIVE", "200,3", 1);

    long long t0 = mvt_now_ms();
    assert_null(virConnectOpen(URI));
    long long took = mvt_now_ms() - t0;
    mvt_api_error err;
    mvt_api_error_take(&err);
    assert_int_equal(err.code, VIR_ERR_RPC);
    assert_non_null(strstr(err.message, "no answer to keepalive"));
    assert_true(took >= 600 - 50);
    assert_true(took <= 600 + 200 + SLACK_MS);

    mvt_result r;
    t0 = mvt_now_ms();
    assert_int_equal(mvt_vmctl(&r, "-c", URI, "list", "--all", NULL), 0);
    took = mvt_now_ms() - t0;
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "error: failed to connect to the hypervisor\n"));
    assert_non_null(strstr(r.err, "no answer to keepalive"));
    assert_true(took <= 600 + 200 + 2 * SLACK_MS);
    mvt_result_free(&r);

    /* resumed, the same proxy serves again */
    assert_int_equal(kill(proxy, SIGCONT), 0);
    c = virConnectOpen(URI);
    assert_non_null(c);
    assert_int_equal(virConnectNumOfDefinedDomains(c), 0);
    assert_int_equal(mvt_daemon_pid(e, "virtproxyd"), proxy);
    assert_int_equal(virConnectClose(c), 0);
}

/* The driver stops answering: calls with a 500 ms deadline fail with
 * VIR_ERR_OPERATION_TIMEOUT, while the connection stays alive — the proxy still answers
 * a keepalive far shorter than the deadline. After SIGCONT the next calls are served,
 * and the late replies of the timed-out calls never surface. */
static void test_stopped_driver_times_out_calls(void **state)
{
    const mvt_env *e = *state;
    setenv("MODVIRT_KEEPALIVE", "100,3", 1);
    virConnectPtr c = virConnectOpen(URI);
    assert_non_null(c);
    assert_int_equal(mvt_api_define(c, "one"), 0);
    assert_int_equal(mvt_api_define(c, "two"), 0);
    assert_int_equal(modvirtConnectSetCallTimeout(c, 500), 0);
    pid_t qemud = mvt_daemon_pid(e, "virtqemud");
    assert_true(qemud > 0);
    char *sock = mvt_daemon_sock(e, "virtqemud");
    assert_non_null(sock);

    assert_int_equal(mvt_stop_wait(qemud, 5000), 0);
    for (int i = 0; i < 2; i++) {
        long long t0 = mvt_now_ms();
        assert_int_equal(virConnectNumOfDefinedDomains(c), -1);
        long long took = mvt_now_ms() - t0;
        mvt_api_error err;
        mvt_api_error_take(&err);
        assert_int_equal(err.code, VIR_ERR_OPERATION_TIMEOUT);
        assert_non_null(strstr(err.message, "within 500 ms"));
        assert_true(took >= 500 - 10);
        assert_true(took <= 500 + SLACK_MS);
        /* the call really reached the hung daemon */
        assert_true(mvt_unix_queued(sock) > 0);
        assert_int_equal(virConnectIsAlive(c), 1);
    }

    assert_int_equal(kill(qemud, SIGCONT), 0);
    /* the next calls get their own replies, not the stale ones */
    char *names = mvt_api_names(c);
    assert_non_null(names);
    assert_string_equal(names, "one\ntwo\n");
    free(names);
    virDomainPtr d = virDomainLookupByName(c, "two");
    assert_non_null(d);
    assert_string_equal(virDomainGetName(d), "two");
    virDomainFree(d);
    assert_int_equal(virConnectNumOfDefinedDomains(c), 2);
    assert_int_equal(virConnectIsAlive(c), 1);
    assert_int_equal(mvt_daemon_pid(e, "virtqemud"), qemud);
    assert_int_equal(virConnectClose(c), 0);
    free(sock);
}

/* The proxy's keepalive toward drivers (150 ms × 3, from the environment it inherits
 * when the library starts it) fails a call held by a hung virtqemud, without any client
 * deadline; the client's connection survives, and the resumed daemon serves again. */
static void test_proxy_keepalive_fails_hung_driver_calls(void **state)
{
    const mvt_env *e = *state;
    setenv("MODVIRT_PROXY_KEEPALIVE_INTERVAL_MS", "150", 1);
    setenv("MODVIRT_PROXY_KEEPALIVE_COUNT", "3", 1);
    virConnectPtr c = virConnectOpen(URI);
    assert_non_null(c);
    assert_int_equal(mvt_api_define(c, "held"), 0);
    pid_t proxy = mvt_daemon_pid(e, "virtproxyd");
    pid_t qemud = mvt_daemon_pid(e, "virtqemud");
    assert_true(proxy > 0);
    assert_true(qemud > 0);
    char *sock = mvt_daemon_sock(e, "virtqemud");
    assert_non_null(sock);

    assert_int_equal(mvt_stop_wait(qemud, 5000), 0);
    long queued = mvt_unix_queued(sock);
    timed_call tc = {.conn = c};
    long long sent_at = mvt_now_ms();
    mvt_thread *t = mvt_thread_in_flight(count_defined, &tc, sock, &queued, 10000);
    assert_non_null(t);
    assert_int_equal(mvt_thread_join(t, 450 + 150 + SLACK_MS), 0);
    assert_int_equal(tc.rc, -1);
    assert_int_equal(tc.err.code, VIR_ERR_RPC);
    assert_non_null(strstr(tc.err.message, "connection to virtqemud lost"));
    assert_non_null(strstr(tc.err.message, "no answer to keepalives"));
    assert_true(tc.ended_at - sent_at >= 450 - 50);
    assert_int_equal(virConnectIsAlive(c), 1);

    assert_int_equal(kill(qemud, SIGCONT), 0);
    assert_int_equal(virConnectNumOfDefinedDomains(c), 1);
    char *names = mvt_api_names(c);
    assert_non_null(names);
    assert_string_equal(names, "held\n");
    assert_int_equal(mvt_daemon_pid(e, "virtqemud"), qemud);
    assert_int_equal(mvt_daemon_pid(e, "virtproxyd"), proxy);
    assert_int_equal(virConnectClose(c), 0);
    free(names);
    free(sock);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        MVT_TEST(test_stopped_proxy_is_declared_dead),
        MVT_TEST(test_open_against_stopped_proxy),
        MVT_TEST(test_stopped_driver_times_out_calls),
        MVT_TEST(test_proxy_keepalive_fails_hung_driver_calls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
