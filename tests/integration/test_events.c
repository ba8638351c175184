/* test_events.c: domain events end to end — numbered frames from virtqemud, replay from a
 * backlog that survives kill -9 after resume_seq, CONNECT_EVENTS_LOST when the backlog
 * cannot reach back, libvirt's event API in a program, and vmctl event. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <modvirt/modvirt.h>
#include "common/proc.h"
#include "harness.h"
#include "harness_raw.h"
#include "harness_sockets.h"
#include "harness_vmctl.h"

#define URI "qemu:///system"

/* Defines (or, the second time, updates: the UUID follows from the name) a domain. */
static void define_named(mvt_env *e, const char *name)
{
    char uuid[40];
    unsigned h = 0;
    for (const char *p = name; *p; p++)
        h = h * 31 + (unsigned char)*p;
    snprintf(uuid, sizeof(uuid), "%08x-1111-2222-3333-444455556666", h);
    char *xml = mvt_domain_xml(name, uuid);
    assert_non_null(xml);
    mvt_vmctl_define(e, URI, name, xml);
    free(xml);
}

/* A raw connection to the socket named sock (virtqemud's or the proxy's), opened. */
static void raw_open(const mvt_env *e, const char *sock, mvt_raw *r)
{
    mvt_sockets_connect_in(e, sock, r);
    mvt_sockets_open_uri(r, sock, URI, 1, 10000);
}

/* Registers callback id for lifecycle events, resuming after resume; returns the reply's
 * seq (the daemon's last number). */
static uint64_t raw_register(mvt_raw *r, uint32_t serial, int id, uint64_t resume)
{
    Modvirt__EventRegisterArgs a = MODVIRT__EVENT_REGISTER_ARGS__INIT;
    a.event_id = VIR_DOMAIN_EVENT_ID_LIFECYCLE;
    a.callback_id = id;
    mv_frame_spec spec = {.serial = serial,
                          .kind = MODVIRT__FRAME_KIND__FRAME_CALL,
                          .proc = MV_PROC_CONNECT_DOMAIN_EVENT_REGISTER_ANY,
                          .body = &a.base,
                          .resume_seq = resume};
    uint8_t *frame = NULL;
    size_t len = 0;
    assert_int_equal(mv_frame_build(&spec, &frame, &len, NULL), 0);
    assert_int_equal(mvt_raw_write(r, frame, len), 0);
    free(frame);
    Modvirt__Envelope *env = mvt_sockets_reply(r, "the registration", serial, 10000);
    uint64_t seq = env->seq;
    mv_envelope_free(env);
    return seq;
}

/* The next frame must be a lifecycle event for callback id about name. Returns its seq. */
static uint64_t expect_event(mvt_raw *r, int id, const char *name, int event, int detail)
{
    Modvirt__Envelope *env = NULL;
    assert_int_equal(mvt_raw_read(r, &env, 10000), 1);
    assert_int_equal(env->kind, MODVIRT__FRAME_KIND__FRAME_EVENT);
    assert_int_equal(env->proc, MV_PROC_DOMAIN_EVENT_LIFECYCLE);
    Modvirt__DomainEventLifecycleMsg *m = (Modvirt__DomainEventLifecycleMsg *)mv_body_unpack(
        &modvirt__domain_event_lifecycle_msg__descriptor, env->body.data, env->body.len, NULL);
    assert_non_null(m);
    assert_int_equal(m->callback_id, id);
    assert_string_equal(m->dom->name, name);
    assert_int_equal(m->dom->uuid.len, 16);
    assert_int_equal(m->event, event);
    assert_int_equal(m->detail, detail);
    uint64_t seq = env->seq;
    protobuf_c_message_free_unpacked(&m->base, NULL);
    mv_envelope_free(env);
    return seq;
}

static void numbered_replayed_after_kill(void **state)
{
    mvt_env *e = *state;
    mvt_raw a, b;
    mvt_result r;
    assert_int_equal(mvt_vmctl(&r, "-c", URI, "list", NULL), 0); /* starts both daemons */
    mvt_result_free(&r);

    raw_open(e, "virtqemud-sock", &a);
    uint64_t base = raw_register(&a, 2, 7, 0);
    define_named(e, "ev1");
    define_named(e, "ev2");
    assert_int_equal(
        expect_event(&a, 7, "ev1", VIR_DOMAIN_EVENT_DEFINED, VIR_DOMAIN_EVENT_DEFINED_ADDED),
        base + 1);
    assert_int_equal(
        expect_event(&a, 7, "ev2", VIR_DOMAIN_EVENT_DEFINED, VIR_DOMAIN_EVENT_DEFINED_ADDED),
        base + 2);
    /* an update is its own detail */
    define_named(e, "ev2");
    assert_int_equal(
        expect_event(&a, 7, "ev2", VIR_DOMAIN_EVENT_DEFINED, VIR_DOMAIN_EVENT_DEFINED_UPDATED),
        base + 3);
    mvt_raw_close(&a);

    /* kill -9: the backlog written in the run dir outlives the daemon */
    pid_t pid = mvt_daemon_pid(e, "virtqemud");
    assert_true(pid > 0);
    assert_int_equal(mvt_kill_wait(pid, SIGKILL, 10000), 0);
    assert_int_equal(mvt_vmctl(&r, "-c", URI, "list", NULL), 0); /* restarts virtqemud */
    mvt_result_free(&r);

    raw_open(e, "virtqemud-sock", &b);
    /* saw up to base+1: base+2 and base+3 are replayed, numbering goes on */
    assert_int_equal(raw_register(&b, 2, 9, base + 1), base + 3);
    assert_int_equal(
        expect_event(&b, 9, "ev2", VIR_DOMAIN_EVENT_DEFINED, VIR_DOMAIN_EVENT_DEFINED_ADDED),
        base + 2);
    assert_int_equal(
        expect_event(&b, 9, "ev2", VIR_DOMAIN_EVENT_DEFINED, VIR_DOMAIN_EVENT_DEFINED_UPDATED),
        base + 3);
    /* up to date: nothing replayed, the next live event comes next */
    assert_int_equal(raw_register(&b, 3, 10, base + 3), base + 3);
    assert_int_equal(mvt_vmctl(&r, "-c", URI, "undefine", "ev1", NULL), 0);
    assert_int_equal(r.status, 0);
    mvt_result_free(&r);
    /* both registrations get it, each with its own callback id */
    uint64_t s1 = 0, s2 = 0;
    for (int i = 0; i < 2; i++) {
        Modvirt__Envelope *env = NULL;
        assert_int_equal(mvt_raw_read(&b, &env, 10000), 1);
        assert_int_equal(env->kind, MODVIRT__FRAME_KIND__FRAME_EVENT);
        Modvirt__DomainEventLifecycleMsg *m = (Modvirt__DomainEventLifecycleMsg *)mv_body_unpack(
            &modvirt__domain_event_lifecycle_msg__descriptor, env->body.data, env->body.len, NULL);
        assert_non_null(m);
        assert_int_equal(m->event, VIR_DOMAIN_EVENT_UNDEFINED);
        if (m->callback_id == 9)
            s1 = env->seq;
        else if (m->callback_id == 10)
            s2 = env->seq;
        protobuf_c_message_free_unpacked(&m->base, NULL);
        mv_envelope_free(env);
    }
    assert_int_equal(s1, base + 4);
    assert_int_equal(s2, base + 4);

    /* a number from a history the daemon does not have: told plainly */
    assert_int_equal(raw_register(&b, 4, 11, base + 100), base + 100);
    Modvirt__Envelope *env = NULL;
    assert_int_equal(mvt_raw_read(&b, &env, 10000), 1);
    assert_int_equal(env->kind, MODVIRT__FRAME_KIND__FRAME_EVENT);
    assert_int_equal(env->proc, MV_PROC_CONNECT_EVENTS_LOST);
    Modvirt__EventsLostMsg *lost = (Modvirt__EventsLostMsg *)mv_body_unpack(
        &modvirt__events_lost_msg__descriptor, env->body.data, env->body.len, NULL);
    assert_non_null(lost);
    assert_int_equal(lost->callback_id, 11);
    assert_int_equal(lost->last_seq, base + 100);
    protobuf_c_message_free_unpacked(&lost->base, NULL);
    mv_envelope_free(env);
    /* the replay for 11 follows (every held event), then nothing else is owed */
    for (int i = 0; i < 4; i++) {
        assert_int_equal(mvt_raw_read(&b, &env, 10000), 1);
        assert_int_equal(env->proc, MV_PROC_DOMAIN_EVENT_LIFECYCLE);
        mv_envelope_free(env);
    }
    /* a duplicate callback id is refused, the registration stands */
    Modvirt__EventRegisterArgs dup = MODVIRT__EVENT_REGISTER_ARGS__INIT;
    dup.callback_id = 9;
    assert_int_equal(
        mvt_raw_call(&b, 5, MV_PROC_CONNECT_DOMAIN_EVENT_REGISTER_ANY, &dup.base, NULL, 0), 0);
    assert_int_equal(mvt_raw_read(&b, &env, 10000), 1);
    assert_int_equal(env->kind, MODVIRT__FRAME_KIND__FRAME_ERROR);
    mv_envelope_free(env);
    mvt_raw_close(&b);
}

/* The proxy's part, made deterministic: the client's upstream is dead and events happen
 * while the proxy is stopped; once it runs again it reconnects on its own and replays the
 * registration with resume_seq, and the daemon sends exactly what the client missed. */
static void proxy_replays_with_resume(void **state)
{
    mvt_env *e = *state;
    mvt_raw c, d;
    mvt_result r;
    assert_int_equal(mvt_vmctl(&r, "-c", URI, "list", NULL), 0);
    mvt_result_free(&r);

    raw_open(e, "virtproxyd-sock", &c);
    uint64_t base = raw_register(&c, 2, 3, 0);
    define_named(e, "px1");
    assert_int_equal(
        expect_event(&c, 3, "px1", VIR_DOMAIN_EVENT_DEFINED, VIR_DOMAIN_EVENT_DEFINED_ADDED),
        base + 1);

    pid_t proxy = mvt_daemon_pid(e, "virtproxyd");
    pid_t qemud = mvt_daemon_pid(e, "virtqemud");
    assert_true(proxy > 0 && qemud > 0);
    assert_int_equal(mvt_stop_wait(proxy, 10000), 0);
    assert_int_equal(mvt_kill_wait(qemud, SIGKILL, 10000), 0);

    /* a new virtqemud, started by hand, gets an event while the proxy sleeps */
    const char *argv[] = {"virtqemud", NULL};
    pid_t child = mvt_spawn_ready(e, argv, NULL, 20000);
    assert_true(child > 0);
    raw_open(e, "virtqemud-sock", &d);
    Modvirt__DomainDefineArgs def = MODVIRT__DOMAIN_DEFINE_ARGS__INIT;
    def.xml = "<domain type='qemu'><name>px2</name><memory unit='MiB'>64</memory>"
              "<os><type arch='x86_64'>hvm</type></os></domain>";
    assert_int_equal(mvt_raw_call(&d, 2, MV_PROC_DOMAIN_DEFINE_XML, &def.base, NULL, 0), 0);
    mv_envelope_free(mvt_sockets_reply(&d, "virtqemud-sock", 2, 10000));
    mvt_raw_close(&d);

    /* the proxy wakes: the client receives the missed event, numbered on, exactly once */
    assert_int_equal(kill(proxy, SIGCONT), 0);
    assert_int_equal(
        expect_event(&c, 3, "px2", VIR_DOMAIN_EVENT_DEFINED, VIR_DOMAIN_EVENT_DEFINED_ADDED),
        base + 2);
    define_named(e, "px3");
    assert_int_equal(
        expect_event(&c, 3, "px3", VIR_DOMAIN_EVENT_DEFINED, VIR_DOMAIN_EVENT_DEFINED_ADDED),
        base + 3);
    mvt_raw_close(&c);
    kill(child, SIGTERM);
    assert_true(mvt_wait_exit(child, 20000) >= 0);
}

/* ---- libvirt's API in this process ---- */

typedef struct seen {
    int count;
    char names[8][32];
    int events[8];
    int details[8];
    int freed;
} seen;

static int on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
    seen *s = opaque;
    (void)conn;
    if (s->count < 8) {
        snprintf(s->names[s->count], sizeof(s->names[0]), "%s", virDomainGetName(dom));
        s->events[s->count] = event;
        s->details[s->count] = detail;
    }
    s->count++;
    return 0;
}

static void on_free(void *opaque)
{
    ((seen *)opaque)->freed++;
}

static void noop_timer(int timer, void *opaque)
{
    (void)timer;
    (void)opaque;
}

static void api_events_survive_kill(void **state)
{
    mvt_env *e = *state;
    seen s = {0};
    assert_int_equal(virEventRegisterDefaultImpl(), 0);
    virConnectPtr conn = virConnectOpen(URI);
    assert_non_null(conn);
    int id = virConnectDomainEventRegisterAny(conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                              VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), &s, on_free);
    assert_true(id >= 0);
    /* a wake-up every 100 ms bounds each loop round while we wait for a deadline */
    int timer = virEventAddTimeout(100, noop_timer, NULL, NULL);
    assert_true(timer > 0);

    define_named(e, "api1");
    long long deadline = mvt_now_ms() + 10000;
    while (s.count < 1 && mvt_now_ms() < deadline)
        assert_int_equal(virEventRunDefaultImpl(), 0);
    assert_int_equal(s.count, 1);
    assert_string_equal(s.names[0], "api1");
    assert_int_equal(s.events[0], VIR_DOMAIN_EVENT_DEFINED);
    assert_int_equal(s.details[0], VIR_DOMAIN_EVENT_DEFINED_ADDED);

    /* the daemon dies; the proxy brings it back for us and replays the registration */
    pid_t pid = mvt_daemon_pid(e, "virtqemud");
    assert_true(pid > 0);
    assert_int_equal(mvt_kill_wait(pid, SIGKILL, 10000), 0);
    define_named(e, "api2");
    deadline = mvt_now_ms() + 15000;
    while (s.count < 2 && mvt_now_ms() < deadline)
        assert_int_equal(virEventRunDefaultImpl(), 0);
    assert_int_equal(s.count, 2);
    assert_string_equal(s.names[1], "api2");
    /* exactly once: whether api2's event came live or replayed, the next one is api3's */
    define_named(e, "api3");
    deadline = mvt_now_ms() + 10000;
    while (s.count < 3 && mvt_now_ms() < deadline)
        assert_int_equal(virEventRunDefaultImpl(), 0);
    assert_int_equal(s.count, 3);
    assert_string_equal(s.names[2], "api3");

    assert_int_equal(virConnectDomainEventDeregisterAny(conn, id), 0);
    assert_int_equal(s.freed, 1);
    assert_int_equal(virConnectDomainEventDeregisterAny(conn, id), -1);
    virEventRemoveTimeout(timer);
    assert_int_equal(virConnectClose(conn), 0);
}

static void on_lost(virConnectPtr conn, int id, unsigned long long first, unsigned long long last,
                    void *opaque)
{
    unsigned long long *got = opaque;
    (void)conn;
    got[0] = (unsigned long long)id;
    got[1] = first;
    got[2] = last;
}

/* The daemon's history is gone (its backlog file removed while it was down): the program
 * is told which events it lost, through modvirt's extension, instead of nothing. */
static void api_told_of_lost_events(void **state)
{
    mvt_env *e = *state;
    seen s = {0};
    unsigned long long lost[3] = {0, 0, 0};
    assert_int_equal(virEventRegisterDefaultImpl(), 0);
    virConnectPtr conn = virConnectOpen(URI);
    assert_non_null(conn);
    assert_int_equal(modvirtConnectSetEventsLostCallback(conn, on_lost, lost, NULL), 0);
    int id = virConnectDomainEventRegisterAny(conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                              VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), &s, NULL);
    assert_true(id >= 0);
    int timer = virEventAddTimeout(100, noop_timer, NULL, NULL);
    define_named(e, "lost1");
    define_named(e, "lost2");
    long long deadline = mvt_now_ms() + 10000;
    while (s.count < 2 && mvt_now_ms() < deadline)
        assert_int_equal(virEventRunDefaultImpl(), 0);
    assert_int_equal(s.count, 2);

    pid_t proxy = mvt_daemon_pid(e, "virtproxyd");
    pid_t qemud = mvt_daemon_pid(e, "virtqemud");
    assert_int_equal(mvt_stop_wait(proxy, 10000), 0);
    assert_int_equal(mvt_kill_wait(qemud, SIGKILL, 10000), 0);
    char *path = mvt_path(e, "run/modvirt/virtqemud.events");
    assert_int_equal(unlink(path), 0);
    free(path);
    assert_int_equal(kill(proxy, SIGCONT), 0);
    deadline = mvt_now_ms() + 20000;
    while (lost[2] == 0 && mvt_now_ms() < deadline)
        assert_int_equal(virEventRunDefaultImpl(), 0);
    assert_int_equal(lost[0], (unsigned long long)id);
    assert_int_equal(lost[1], 1);
    assert_true(lost[2] >= 2);
    /* and events flow on */
    define_named(e, "lost3");
    deadline = mvt_now_ms() + 10000;
    while (s.count < 3 && mvt_now_ms() < deadline)
        assert_int_equal(virEventRunDefaultImpl(), 0);
    assert_string_equal(s.names[2], "lost3");
    virEventRemoveTimeout(timer);
    assert_int_equal(virConnectDomainEventDeregisterAny(conn, id), 0);
    assert_int_equal(virConnectClose(conn), 0);
}

static void vmctl_event_prints_as_virsh(void **state)
{
    mvt_env *e = *state;
    mvt_result r;
    assert_int_equal(mvt_vmctl(&r, "event", "--list", NULL), 0);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "lifecycle\n"));
    mvt_result_free(&r);
    assert_int_equal(mvt_vmctl(&r, "-c", URI, "event", NULL), 0);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "either --list or --event <type> or --all is required"));
    mvt_result_free(&r);

    define_named(e, "vm1");
    /* a waiting vmctl sees the undefine; a timeout ends the loop */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* the child undefines once the event command is surely registered: a second
         * `event` round trip in order behind it cannot be observed from here, so this
         * one waits for the registration's visible effect instead — none exists, hence
         * a short bounded delay is the one wait in this file */
        struct timespec ts = {1, 0};
        nanosleep(&ts, NULL);
        const char *argv[] = {"vmctl", "-c", URI, "undefine", "vm1", NULL};
        mvt_result cr;
        mvt_run(&cr, argv, NULL, 20000);
        _exit(cr.status == 0 ? 0 : 1);
    }
    assert_int_equal(
        mvt_vmctl(&r, "-c", URI, "event", "--event", "lifecycle", "--loop", "--timeout", "4", NULL),
        0);
    int status = 0;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "event 'lifecycle' for domain 'vm1': Undefined Removed\n"
                               "event loop timed out\n"
                               "events received: 1\n\n");
    mvt_result_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        MVT_TEST(numbered_replayed_after_kill),
        MVT_TEST(proxy_replays_with_resume),
        MVT_TEST(api_events_survive_kill),
        MVT_TEST(api_told_of_lost_events),
        MVT_TEST(vmctl_event_prints_as_virsh),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
