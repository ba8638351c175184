/* harness_life.h: what real-guest tests do and assert about a guest's life — a variant
 * of the tiny guest booted to its marker, its state and reason now or within a deadline,
 * the lifecycle events received (libvirt's default event loop), a (re)boot seen on the
 * serial console, and QMP spoken by the test itself while virtqemud is dead.
 *
 * Header-only (static functions, cmocka assertions); include after <cmocka.h>. */
#ifndef MVT_HARNESS_LIFE_H
#define MVT_HARNESS_LIFE_H

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <modvirt/modvirt.h>
#include "harness.h"
#include "harness_api.h"
#include "harness_guest.h"

/* A test's world: a fresh root and a connection to qemu:///system. */
typedef struct mvt_life {
    mvt_env env;
    virConnectPtr conn;
} mvt_life;

/* cmocka set-up and tear-down of an mvt_life in *state; the tear-down also kills every
 * qemu of the root (guests are detached and would outlive the test). */
static inline int mvt_life_setup(void **state)
{
    mvt_life *f = calloc(1, sizeof(*f));
    if (!f || mvt_setup(&f->env) < 0 || !(f->conn = virConnectOpen("qemu:///system"))) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static inline int mvt_life_teardown(void **state)
{
    mvt_life *f = *state;
    virConnectClose(f->conn);
    mvt_guest_kill_all(&f->env);
    mvt_teardown(&f->env);
    free(f);
    return 0;
}

/* A row of main()'s table run between the two. */
#define MVT_LIFE_TEST(fn) cmocka_unit_test_setup_teardown(fn, mvt_life_setup, mvt_life_teardown)

/* What a guest program's main does before its tests: the tiny guest built (or found)
 * into g; with events, libvirt's default event loop registered (before any connection, as
 * libvirt requires for events and streams); an argument taken as cmocka's test filter.
 * 0, or the status main returns: 77 (skipped) without the guest, 1. */
static inline int mvt_life_prepare(int argc, char **argv, mvt_guest *g, bool events)
{
    if (mvt_guest_prepare(g) < 0)
        return 77;
    if (events && virEventRegisterDefaultImpl() < 0)
        return 1;
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return 0;
}

/* How long a boot may take: TCG on a busy 2-core machine. */
#define MVT_LIFE_BOOT_MS 60000

/* The tiny guest's XML named `name` with `from` replaced by `to` (from may be NULL). */
static inline char *mvt_life_guest_xml(const mvt_guest *g, const char *name, const char *from,
                                       const char *to)
{
    char *xml = mvt_guest_xml(g, name);
    assert_non_null(xml);
    if (!from)
        return xml;
    assert_non_null(strstr(xml, from));
    char *out = mvt_guest_subst(xml, from, to);
    free(xml);
    assert_non_null(out);
    return out;
}

/* Starts dom (virDomainCreateWithFlags with flags; 0: virDomainCreate); the test fails
 * naming the domain and the error when the start is refused (dom is freed then). */
static inline void mvt_life_start(virDomainPtr dom, unsigned int flags)
{
    int rc = flags ? virDomainCreateWithFlags(dom, flags) : virDomainCreate(dom);
    if (rc == 0)
        return;
    mvt_api_error err;
    mvt_api_error_take(&err);
    char name[256];
    snprintf(name, sizeof(name), "%s", virDomainGetName(dom));
    virDomainFree(dom);
    fail_msg("start %s: %s", name, err.message);
}

/* Defines the tiny guest `name` and starts it (mvt_life_start): the running handle. */
static inline virDomainPtr mvt_life_start_guest(virConnectPtr conn, const mvt_guest *g,
                                                const char *name, unsigned int flags)
{
    virDomainPtr dom = mvt_guest_define(conn, g, name);
    if (!dom)
        fail_msg("define %s: %s", name, virGetLastErrorMessage());
    mvt_life_start(dom, flags);
    return dom;
}

/* Defines `xml` and starts it with the marker read: running, its pty in *pty. */
static inline virDomainPtr mvt_life_boot(virConnectPtr conn, const char *xml, char **pty)
{
    virDomainPtr dom = virDomainDefineXML(conn, xml);
    if (!dom)
        fail_msg("define: %s", virGetLastErrorMessage());
    mvt_life_start(dom, 0);
    assert_non_null(*pty = mvt_guest_pty(dom));
    assert_int_equal(mvt_guest_wait_marker(*pty, MVT_LIFE_BOOT_MS), 0);
    return dom;
}

/* Fails the test unless dom is in `state` (and `reason`, when >= 0). */
static inline void mvt_life_assert_state(virDomainPtr dom, int state, int reason)
{
    int s = -1, r = -1;
    assert_int_equal(virDomainGetState(dom, &s, &r, 0), 0);
    if (s != state || (reason >= 0 && r != reason))
        fail_msg("%s: state %d reason %d, expected %d reason %d", virDomainGetName(dom), s, r,
                 state, reason);
}

/* Fails the test unless dom reaches `state` (and `reason`) within timeout_ms. */
static inline void mvt_life_wait_state(virDomainPtr dom, int state, int reason, int timeout_ms)
{
    int s = -1, r = -1;
    if (mvt_guest_wait_state(dom, state, reason, timeout_ms, &s, &r) < 0)
        fail_msg("%s: state %d reason %d after %d ms, expected %d reason %d", virDomainGetName(dom),
                 s, r, timeout_ms, state, reason);
}

/* Lifecycle events received, in order (register mvt_life_on_event with a pointer to one). */
typedef struct mvt_life_seen {
    int n;
    int event[32];
    int detail[32];
} mvt_life_seen;

static inline int mvt_life_on_event(virConnectPtr conn, virDomainPtr dom, int event, int detail,
                                    void *opaque)
{
    mvt_life_seen *s = opaque;
    (void)conn, (void)dom;
    if (s->n < 32) {
        s->event[s->n] = event;
        s->detail[s->n] = detail;
        s->n++;
    }
    return 0;
}

/* Registers mvt_life_on_event for dom's lifecycle events on conn, recorded in s: the
 * callback id (the test fails when the registration is refused). */
static inline int mvt_life_watch(virConnectPtr conn, virDomainPtr dom, mvt_life_seen *s)
{
    int cb =
        virConnectDomainEventRegisterAny(conn, dom, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                         VIR_DOMAIN_EVENT_CALLBACK(mvt_life_on_event), s, NULL);
    if (cb < 0)
        fail_msg("lifecycle events of %s: %s", virDomainGetName(dom), virGetLastErrorMessage());
    return cb;
}

static inline void mvt_life_tick(int timer, void *opaque)
{
    (void)timer, (void)opaque;
}

/* Runs libvirt's default event loop until done(arg) holds or timeout_ms pass. 0 or -1. */
static inline int mvt_life_run_until(bool (*done)(void *arg), void *arg, int timeout_ms)
{
    /* a timer wakes the loop so the deadline is checked even when nothing arrives */
    int timer = virEventAddTimeout(50, mvt_life_tick, NULL, NULL);
    long long deadline = mvt_now_ms() + timeout_ms;
    int rc = -1;
    while (mvt_now_ms() < deadline) {
        if (done(arg)) {
            rc = 0;
            break;
        }
        if (virEventRunDefaultImpl() < 0)
            break;
    }
    virEventRemoveTimeout(timer);
    return rc;
}

/* An event waited for in an mvt_life_seen. */
typedef struct mvt_life_want {
    const mvt_life_seen *s;
    int event, detail;
} mvt_life_want;

static inline bool mvt_life_has(void *arg)
{
    const mvt_life_want *w = arg;
    for (int i = 0; i < w->s->n; i++)
        if (w->s->event[i] == w->event && w->s->detail[i] == w->detail)
            return true;
    return false;
}

/* Runs the default event loop until s holds (event, detail) or timeout_ms pass. 0 or -1. */
static inline int mvt_life_wait_event(mvt_life_seen *s, int event, int detail, int timeout_ms)
{
    mvt_life_want w = {s, event, detail};
    return mvt_life_run_until(mvt_life_has, &w, timeout_ms);
}

/* Waits for the marker the guest's init prints by itself when it (re)boots: reads the
 * console without typing anything, so the guest has no other reason to print it. 0, or
 * -1 at the deadline. */
static inline int mvt_life_wait_boot(const char *pty, int timeout_ms)
{
    return mvt_guest_read_marker(pty, timeout_ms, false);
}

/* ---- QMP, spoken by the test while virtqemud is dead ---------------------------------- */

/* Reads from the monitor until what came holds needle. 0, or -1 at the deadline. */
static inline int mvt_life_qmp_wait(int fd, const char *needle, int timeout_ms)
{
    char buf[8192];
    size_t len = 0;
    long long deadline = mvt_now_ms() + timeout_ms;
    while (mvt_now_ms() < deadline) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, (int)(deadline - mvt_now_ms())) <= 0)
            return -1;
        ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
        if (n <= 0)
            return -1;
        len += (size_t)n;
        buf[len] = '\0';
        if (strstr(buf, needle))
            return 0;
        if (len > sizeof(buf) / 2) {
            memmove(buf, buf + len - 256, 256);
            len = 256;
        }
    }
    return -1;
}

/* Connects to guest name's QMP socket (QEMU takes one client: free once virtqemud is
 * dead) and negotiates capabilities. fd, or -1. */
static inline int mvt_life_qmp_open(const mvt_env *e, const char *name)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    char path[256];
    snprintf(path, sizeof(path), "%s/qemu/%s.monitor", e->run_dir, name);
    if (strlen(path) >= sizeof(sa.sun_path))
        return -1;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const char *caps = "{\"execute\": \"qmp_capabilities\"}\n";
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        mvt_life_qmp_wait(fd, "\"QMP\"", 10000) < 0 || write(fd, caps, strlen(caps)) < 0 ||
        mvt_life_qmp_wait(fd, "\"return\"", 10000) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* kill -9 of the root's virtqemud; the next call starts another, which re-attaches. */
static inline void mvt_life_kill_virtqemud(const mvt_env *e)
{
    pid_t qemud = mvt_daemon_pid(e, "virtqemud");
    assert_true(qemud > 0);
    assert_int_equal(mvt_kill_wait(qemud, SIGKILL, 5000), 0);
}

#endif
