/* harness_sockets.h: a world for tests that speak raw frames to the daemons' sockets —
 * a fresh root with a normal client open throughout, the daemons' pids from the start,
 * raw connections by socket name, and the checks that the same daemons still serve.
 *
 * Header-only (static functions, cmocka assertions) like harness_guest.h. */
#ifndef MVT_HARNESS_SOCKETS_H
#define MVT_HARNESS_SOCKETS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <modvirt/modvirt.h>
#include "common/proc.h"
#include "harness.h"
#include "harness_api.h"
#include "harness_raw.h"

/* A socket a client may reach, named as in the run dir. */
typedef struct mvt_socket {
    const char *sock;
    bool via_proxy; /* virtproxyd's, not the driver's own */
    bool readonly;
} mvt_socket;

/* The proxy's read-write and read-only sockets, and virtqemud's own. */
static const mvt_socket mvt_socket_list[] = {
    {"virtproxyd-sock", true, false},
    {"virtproxyd-sock-ro", true, true},
    {"virtqemud-sock", false, false},
};
#define MVT_N_SOCKETS (sizeof(mvt_socket_list) / sizeof(mvt_socket_list[0]))

typedef struct mvt_sockets {
    mvt_env env;
    const char *uri;
    virConnectPtr conn; /* the normal client, open throughout */
    pid_t proxy, qemud; /* the daemons that must still be the ones serving */
} mvt_sockets;

/* Sets up a fresh root, opens the normal client on uri and runs prepare(conn, opaque)
 * (may be NULL) before taking the daemons' pids. 0, or -1 with everything undone. */
static inline int mvt_sockets_init(mvt_sockets *w, const char *uri,
                                   int (*prepare)(virConnectPtr conn, void *opaque), void *opaque)
{
    memset(w, 0, sizeof(*w));
    w->uri = uri;
    if (mvt_setup(&w->env) < 0)
        return -1;
    w->conn = virConnectOpen(uri);
    if (!w->conn || (prepare && prepare(w->conn, opaque) < 0)) {
        if (w->conn)
            virConnectClose(w->conn);
        mvt_teardown(&w->env);
        return -1;
    }
    w->proxy = mvt_daemon_pid(&w->env, "virtproxyd");
    w->qemud = mvt_daemon_pid(&w->env, "virtqemud");
    return 0;
}

static inline void mvt_sockets_fini(mvt_sockets *w)
{
    virConnectClose(w->conn);
    mvt_teardown(&w->env);
}

/* cmocka set-up: a new mvt_sockets in *state (see mvt_sockets_init). */
static inline int mvt_sockets_setup(void **state, const char *uri,
                                    int (*prepare)(virConnectPtr conn, void *opaque), void *opaque)
{
    mvt_sockets *w = calloc(1, sizeof(*w));
    if (!w || mvt_sockets_init(w, uri, prepare, opaque) < 0) {
        free(w);
        return -1;
    }
    *state = w;
    return 0;
}

/* cmocka tear-down of mvt_sockets_setup. */
static inline int mvt_sockets_teardown(void **state)
{
    mvt_sockets_fini(*state);
    free(*state);
    return 0;
}

/* Connects r to the socket named sock in e's run dir; the test fails when it cannot. */
static inline void mvt_sockets_connect_in(const mvt_env *e, const char *sock, mvt_raw *r)
{
    char rel[64];
    snprintf(rel, sizeof(rel), "run/modvirt/%s", sock);
    char *path = mvt_path(e, rel);
    assert_non_null(path);
    if (mvt_raw_connect(r, path) < 0)
        fail_msg("connect %s: %s", path, strerror(errno));
    free(path);
}

/* The same in the world's root. */
static inline void mvt_sockets_connect(const mvt_sockets *w, const char *sock, mvt_raw *r)
{
    mvt_sockets_connect_in(&w->env, sock, r);
}

/* The next frame within timeout_ms (free with mv_envelope_free); the test fails, naming
 * sock, at the end of the stream or the deadline. */
static inline Modvirt__Envelope *mvt_sockets_next(mvt_raw *r, const char *sock, int timeout_ms)
{
    Modvirt__Envelope *env = NULL;
    int rc = mvt_raw_read(r, &env, timeout_ms);
    if (rc != 1)
        fail_msg("%s: expected a frame, got %s", sock, rc == 0 ? "end of file" : "nothing");
    return env;
}

/* The next frame must be the REPLY to serial; returns it (the caller frees). */
static inline Modvirt__Envelope *mvt_sockets_reply(mvt_raw *r, const char *sock, uint32_t serial,
                                                   int timeout_ms)
{
    Modvirt__Envelope *env = mvt_sockets_next(r, sock, timeout_ms);
    if (env->kind != MODVIRT__FRAME_KIND__FRAME_REPLY || env->serial != serial)
        fail_msg("%s: expected the reply to serial %u, got kind %d serial %u%s%s", sock, serial,
                 env->kind, env->serial, env->error ? ": " : "",
                 env->error && env->error->message ? env->error->message : "");
    return env;
}

/* Sends CONNECT_OPEN of uri as serial and expects its reply. */
static inline void mvt_sockets_open_uri(mvt_raw *r, const char *sock, const char *uri,
                                        uint32_t serial, int timeout_ms)
{
    Modvirt__ConnectOpenArgs a = MODVIRT__CONNECT_OPEN_ARGS__INIT;
    a.uri = (char *)uri;
    assert_int_equal(mvt_raw_call(r, serial, MV_PROC_CONNECT_OPEN, &a.base, NULL, 0), 0);
    mv_envelope_free(mvt_sockets_reply(r, sock, serial, timeout_ms));
}

/* The same with the world's URI. */
static inline void mvt_sockets_open(const mvt_sockets *w, mvt_raw *r, const char *sock,
                                    uint32_t serial, int timeout_ms)
{
    mvt_sockets_open_uri(r, sock, w->uri, serial, timeout_ms);
}

/* A normal client is served by the daemons of the start: the connection open throughout
 * counts `defined` defined domains, and a new one looks up `name` (handed to check, when
 * not NULL, for a closer look). The test fails, naming `when`, otherwise. */
static inline void mvt_sockets_serving(const mvt_sockets *w, const char *when, int defined,
                                       const char *name, void (*check)(virDomainPtr d))
{
    if (virConnectNumOfDefinedDomains(w->conn) != defined) {
        mvt_api_error err;
        mvt_api_error_take(&err);
        fail_msg("%s: the open connection is not served: %s", when, err.message);
    }
    virConnectPtr c = virConnectOpen(w->uri);
    if (!c)
        fail_msg("%s: a new connection fails: %s", when, virGetLastErrorMessage());
    virDomainPtr d = virDomainLookupByName(c, name);
    assert_non_null(d);
    if (check)
        check(d);
    virDomainFree(d);
    assert_int_equal(virConnectClose(c), 0);
    if (mvt_daemon_pid(&w->env, "virtproxyd") != w->proxy ||
        mvt_daemon_pid(&w->env, "virtqemud") != w->qemud)
        fail_msg("%s: a daemon was replaced", when);
}

/* ---- one case against each socket ---- */

typedef void mvt_socket_case(mvt_sockets *w, const mvt_socket *t);

/* Runs a case against each socket (the proxy's only, when proxy_only), one after the
 * other on the world in *state: each must leave the daemons serving. */
static inline void mvt_sockets_each(void **state, mvt_socket_case *fn, bool proxy_only)
{
    for (size_t i = 0; i < MVT_N_SOCKETS; i++)
        if (mvt_socket_list[i].via_proxy || !proxy_only)
            fn(*state, &mvt_socket_list[i]);
}

/* test_<name>(state): the case <name> against each socket. */
#define MVT_EACH_SOCKET(name, proxy_only)                                                          \
    static void test_##name(void **state)                                                          \
    {                                                                                              \
        mvt_sockets_each(state, name, proxy_only);                                                 \
    }

#endif
