/* test_client_events.c: libmodvirt's domain events with libvirt's callback types — a test
 * driver (the daemon runtime on a thread, named virtproxyd so the library connects to it)
 * emits every event of proto/domain_events.def and a lifecycle one; each registration's
 * callback runs once with its event's values and only for its own event id; a replayed
 * registration gets the backlog's events of its id; vmctl event prints each as virsh does,
 * and as JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/vmctl.h"
#include "common/daemon/daemon.h"
#include "common/proc.h"
#include "fixture_daemon.h"
#include "libclient/client.h"

/* What the driver says about the domain it is asked to define. */
#define T_RTC_OFFSET 7200
#define T_BALLOON_KIB 98304ULL

/* ---- the test driver ---- */

/* Emits one event of domain_events.def about the domain, whose field 2 is dom. */
static int emit(mv_call *call, Modvirt__Domain *dom, int event_id, uint32_t proc,
                ProtobufCMessage *msg, Modvirt__Domain **dom_field)
{
    *dom_field = dom;
    return mv_daemon_emit_event(mv_call_daemon(call), event_id, proc, dom->name, dom->uuid.data,
                                msg);
}

/* A JOB: every event about the domain named by the "xml" (REBOOT twice, as a reset often
 * is), then the domain. */
static int t_define(mv_call *call, const Modvirt__DomainDefineArgs *a, Modvirt__DomainRet *r)
{
    static uint8_t uuid[16] = {0x42};
    Modvirt__Domain dom = MODVIRT__DOMAIN__INIT;
    Modvirt__DomainEventRebootMsg reboot = MODVIRT__DOMAIN_EVENT_REBOOT_MSG__INIT;
    Modvirt__DomainEventRtcChangeMsg rtc = MODVIRT__DOMAIN_EVENT_RTC_CHANGE_MSG__INIT;
    Modvirt__DomainEventWatchdogMsg wd = MODVIRT__DOMAIN_EVENT_WATCHDOG_MSG__INIT;
    Modvirt__DomainEventBalloonChangeMsg bl = MODVIRT__DOMAIN_EVENT_BALLOON_CHANGE_MSG__INIT;
    mv_daemon *d = mv_call_daemon(call);

    dom.name = a->xml;
    dom.uuid.data = uuid;
    dom.uuid.len = 16;
    dom.id = 7;
    rtc.utc_offset = T_RTC_OFFSET;
    wd.action = VIR_DOMAIN_EVENT_WATCHDOG_RESET;
    bl.actual = T_BALLOON_KIB;
    if (emit(call, &dom, VIR_DOMAIN_EVENT_ID_REBOOT, MV_PROC_DOMAIN_EVENT_REBOOT, &reboot.base,
             &reboot.dom) < 0 ||
        emit(call, &dom, VIR_DOMAIN_EVENT_ID_REBOOT, MV_PROC_DOMAIN_EVENT_REBOOT, &reboot.base,
             &reboot.dom) < 0 ||
        emit(call, &dom, VIR_DOMAIN_EVENT_ID_RTC_CHANGE, MV_PROC_DOMAIN_EVENT_RTC_CHANGE, &rtc.base,
             &rtc.dom) < 0 ||
        emit(call, &dom, VIR_DOMAIN_EVENT_ID_WATCHDOG, MV_PROC_DOMAIN_EVENT_WATCHDOG, &wd.base,
             &wd.dom) < 0 ||
        emit(call, &dom, VIR_DOMAIN_EVENT_ID_BALLOON_CHANGE, MV_PROC_DOMAIN_EVENT_BALLOON_CHANGE,
             &bl.base, &bl.dom) < 0 ||
        mv_daemon_emit_lifecycle(d, a->xml, uuid, 7, VIR_DOMAIN_EVENT_DEFINED,
                                 VIR_DOMAIN_EVENT_DEFINED_ADDED) < 0) {
        mv_error_set(mv_call_error(call), VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU, "emit");
        return -1;
    }
    r->dom = malloc(sizeof(*r->dom));
    modvirt__domain__init(r->dom);
    r->dom->name = strdup(a->xml);
    r->dom->uuid.data = malloc(16);
    memcpy(r->dom->uuid.data, uuid, 16);
    r->dom->uuid.len = 16;
    r->dom->id = 7;
    return 0;
}

static const char *const t_schemes[] = {"qemu", NULL};
static const mv_driver t_driver = {
    .name = "TEST",
    .daemon_name = "virtproxyd",
    .schemes = t_schemes,
    .error_domain = VIR_FROM_QEMU,
    .connect_open = fx_driver_connect_open,
    .domain_define_xml = t_define,
};

static fx_daemon proxyd;

static int setup(void **state)
{
    (void)state;
    return fx_daemon_start_driver(&proxyd, "test_client_events", &t_driver);
}

static int teardown(void **state)
{
    (void)state;
    return fx_daemon_stop(&proxyd);
}

/* ---- callbacks of each type ---- */

typedef struct got {
    int reboot, rtc, watchdog, balloon, lifecycle;
    long long offset;
    int action;
    unsigned long long actual;
    int event, detail;
    char names[5][32];
} got;

static void on_reboot(virConnectPtr c, virDomainPtr dom, void *opaque)
{
    got *g = opaque;
    (void)c;
    snprintf(g->names[0], sizeof(g->names[0]), "%s", virDomainGetName(dom));
    g->reboot++;
}

static void on_rtc(virConnectPtr c, virDomainPtr dom, long long utcoffset, void *opaque)
{
    got *g = opaque;
    (void)c;
    snprintf(g->names[1], sizeof(g->names[1]), "%s", virDomainGetName(dom));
    g->offset = utcoffset;
    g->rtc++;
}

static void on_watchdog(virConnectPtr c, virDomainPtr dom, int action, void *opaque)
{
    got *g = opaque;
    (void)c;
    snprintf(g->names[2], sizeof(g->names[2]), "%s", virDomainGetName(dom));
    g->action = action;
    g->watchdog++;
}

static void on_balloon(virConnectPtr c, virDomainPtr dom, unsigned long long actual, void *opaque)
{
    got *g = opaque;
    (void)c;
    snprintf(g->names[3], sizeof(g->names[3]), "%s", virDomainGetName(dom));
    g->actual = actual;
    g->balloon++;
}

static int on_lifecycle(virConnectPtr c, virDomainPtr dom, int event, int detail, void *opaque)
{
    got *g = opaque;
    (void)c;
    snprintf(g->names[4], sizeof(g->names[4]), "%s", virDomainGetName(dom));
    g->event = event;
    g->detail = detail;
    g->lifecycle++;
    return 0;
}

static void tick(int timer, void *opaque)
{
    (void)timer, (void)opaque;
}

/* Each callback gets its own event, once, with the values the driver gave and the
 * domain it named; none is called for another id's event. */
static void test_typed_callbacks(void **state)
{
    (void)state;
    got g = {0};
    virConnectPtr conn = virConnectOpen("qemu:///system");
    assert_non_null(conn);
    int ids[] = {
        virConnectDomainEventRegisterAny(conn, NULL, VIR_DOMAIN_EVENT_ID_REBOOT, on_reboot, &g,
                                         NULL),
        virConnectDomainEventRegisterAny(conn, NULL, VIR_DOMAIN_EVENT_ID_RTC_CHANGE,
                                         VIR_DOMAIN_EVENT_CALLBACK(on_rtc), &g, NULL),
        virConnectDomainEventRegisterAny(conn, NULL, VIR_DOMAIN_EVENT_ID_WATCHDOG,
                                         VIR_DOMAIN_EVENT_CALLBACK(on_watchdog), &g, NULL),
        virConnectDomainEventRegisterAny(conn, NULL, VIR_DOMAIN_EVENT_ID_BALLOON_CHANGE,
                                         VIR_DOMAIN_EVENT_CALLBACK(on_balloon), &g, NULL),
        virConnectDomainEventRegisterAny(conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                         VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), &g, NULL),
        /* an id no driver emits registers, and stays quiet */
        virConnectDomainEventRegisterAny(conn, NULL, VIR_DOMAIN_EVENT_ID_MEMORY_DEVICE_SIZE_CHANGE,
                                         on_reboot, &g, NULL),
    };
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
        assert_true(ids[i] >= 0);
    assert_int_equal(virConnectDomainEventRegisterAny(conn, NULL, 27, on_reboot, &g, NULL), -1);

    virDomainPtr dom = virDomainDefineXML(conn, "ev1");
    assert_non_null(dom);
    int timer = virEventAddTimeout(50, tick, NULL, NULL);
    for (int i = 0; i < 200 && g.lifecycle == 0; i++)
        assert_int_equal(virEventRunDefaultImpl(), 0);
    virEventRemoveTimeout(timer);
    /* the lifecycle event was emitted last: the others were run before it */
    assert_int_equal(g.lifecycle, 1);
    assert_int_equal(g.reboot, 2);
    assert_int_equal(g.rtc, 1);
    assert_int_equal(g.watchdog, 1);
    assert_int_equal(g.balloon, 1);
    assert_int_equal(g.offset, T_RTC_OFFSET);
    assert_int_equal(g.action, VIR_DOMAIN_EVENT_WATCHDOG_RESET);
    assert_int_equal(g.actual, T_BALLOON_KIB);
    assert_int_equal(g.event, VIR_DOMAIN_EVENT_DEFINED);
    assert_int_equal(g.detail, VIR_DOMAIN_EVENT_DEFINED_ADDED);
    for (int i = 0; i < 5; i++)
        assert_string_equal(g.names[i], "ev1");
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
        assert_int_equal(virConnectDomainEventDeregisterAny(conn, ids[i]), 0);
    virDomainFree(dom);
    assert_int_equal(virConnectClose(conn), 0);
}

/* ---- replay from the backlog ---- */

/* A registration replayed with resume_seq (as the proxy does after a daemon restart) gets
 * the held events of its id after the reply — here the two REBOOTs of every define so
 * far, each its own frame with the registration's callback id — and none of another id. */
static void test_replayed_from_backlog(void **state)
{
    (void)state;
    virConnectPtr conn = virConnectOpen("qemu:///system");
    assert_non_null(conn);
    virDomainPtr dom = virDomainDefineXML(conn, "ev3"); /* 2 REBOOTs, among others */
    assert_non_null(dom);
    virDomainFree(dom);
    assert_int_equal(virConnectClose(conn), 0);

    fx_peer p;
    fx_peer_connect(&p, proxyd.sock);
    Modvirt__ConnectOpenArgs open = MODVIRT__CONNECT_OPEN_ARGS__INIT;
    open.uri = "qemu:///system";
    fx_peer_call(&p, 1, MV_PROC_CONNECT_OPEN, &open.base);
    mv_envelope_free(fx_peer_expect_reply(&p, 1));
    Modvirt__EventRegisterArgs reg = MODVIRT__EVENT_REGISTER_ARGS__INIT;
    reg.event_id = VIR_DOMAIN_EVENT_ID_REBOOT;
    reg.callback_id = 77;
    mv_frame_spec spec = {.serial = 2,
                          .kind = MODVIRT__FRAME_KIND__FRAME_CALL,
                          .proc = MV_PROC_CONNECT_DOMAIN_EVENT_REGISTER_ANY,
                          .body = &reg.base,
                          .resume_seq = 1};
    uint8_t *frame = NULL;
    size_t len = 0;
    assert_int_equal(mv_frame_build(&spec, &frame, &len, NULL), 0);
    fx_peer_send_raw(&p, frame, len);
    free(frame);
    Modvirt__Envelope *env = fx_peer_expect_reply(&p, 2);
    uint64_t last = env->seq;
    mv_envelope_free(env);
    /* ev1's define made events 1..6 (REBOOT 1 and 2), ev3's 7..12 (REBOOT 7 and 8) */
    assert_int_equal(last, 12);
    const uint64_t want[] = {2, 7, 8};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        env = fx_peer_next(&p, 5000);
        assert_non_null(env);
        assert_int_equal(env->kind, MODVIRT__FRAME_KIND__FRAME_EVENT);
        assert_int_equal(env->proc, MV_PROC_DOMAIN_EVENT_REBOOT);
        assert_int_equal(env->seq, want[i]);
        Modvirt__DomainEventRebootMsg *m = (Modvirt__DomainEventRebootMsg *)mv_body_unpack(
            &modvirt__domain_event_reboot_msg__descriptor, env->body.data, env->body.len, NULL);
        assert_non_null(m);
        assert_int_equal(m->callback_id, 77);
        assert_non_null(m->dom);
        assert_string_equal(m->dom->name, i == 0 ? "ev1" : "ev3");
        protobuf_c_message_free_unpacked(&m->base, NULL);
        mv_envelope_free(env);
    }
    /* and nothing else: the next frame answers the next call */
    Modvirt__EventDeregisterArgs dereg = MODVIRT__EVENT_DEREGISTER_ARGS__INIT;
    dereg.callback_id = 77;
    fx_peer_call(&p, 3, MV_PROC_CONNECT_DOMAIN_EVENT_DEREGISTER_ANY, &dereg.base);
    mv_envelope_free(fx_peer_expect_reply(&p, 3));
    fx_peer_close(&p);
}

/* ---- vmctl event ---- */

typedef struct vmctl_job {
    char *argv[8];
    int argc;
    char *out;
    size_t out_len;
    int rc;
    bool done;
    pthread_mutex_t lock;
    pthread_cond_t cond;
} vmctl_job;

static void *run_vmctl(void *arg)
{
    vmctl_job *j = arg;
    FILE *out = open_memstream(&j->out, &j->out_len);
    FILE *err = fopen("/dev/null", "w");
    int rc = vmctl_run(j->argc, j->argv, out, err);
    fclose(out);
    fclose(err);
    pthread_mutex_lock(&j->lock);
    j->rc = rc;
    j->done = true;
    pthread_cond_signal(&j->cond);
    pthread_mutex_unlock(&j->lock);
    return NULL;
}

/* `vmctl [--json] event --event NAME` (ends after the first event) on a thread, with a
 * define that emits every event repeated until it has ended: when vmctl has registered is
 * not visible from here. Its output (malloc'd). */
static char *vmctl_event(bool json, const char *name)
{
    vmctl_job j = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
    j.argv[j.argc++] = "vmctl";
    if (json)
        j.argv[j.argc++] = "--json";
    j.argv[j.argc++] = "event";
    j.argv[j.argc++] = "--event";
    j.argv[j.argc++] = (char *)name;
    virConnectPtr conn = virConnectOpen("qemu:///system");
    assert_non_null(conn);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, run_vmctl, &j), 0);
    pthread_mutex_lock(&j.lock);
    for (int i = 0; i < 100 && !j.done; i++) {
        pthread_mutex_unlock(&j.lock);
        virDomainPtr dom = virDomainDefineXML(conn, "ev2");
        assert_non_null(dom);
        virDomainFree(dom);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 100 * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&j.lock);
        if (!j.done)
            pthread_cond_timedwait(&j.cond, &j.lock, &until);
    }
    bool done = j.done;
    pthread_mutex_unlock(&j.lock);
    if (!done)
        fail_msg("vmctl event --event %s saw nothing", name); /* the thread is left behind */
    pthread_join(t, NULL);
    assert_int_equal(j.rc, 0);
    assert_int_equal(virConnectClose(conn), 0);
    return j.out;
}

/* Without --loop, the first event and no other, though two come together. */
static void test_vmctl_prints(void **state)
{
    (void)state;
    static const struct {
        const char *name, *text, *json;
    } cases[] = {
        {"reboot", "event 'reboot' for domain 'ev2'\n",
         "{\"event\":\"reboot\",\"domain\":\"ev2\"}\n"},
        {"rtc-change", "event 'rtc-change' for domain 'ev2': 7200\n",
         "{\"event\":\"rtc-change\",\"domain\":\"ev2\",\"utc_offset\":7200}\n"},
        {"watchdog", "event 'watchdog' for domain 'ev2': reset\n",
         "{\"event\":\"watchdog\",\"domain\":\"ev2\",\"action\":\"reset\"}\n"},
        {"balloon-change", "event 'balloon-change' for domain 'ev2': 98304KiB\n",
         "{\"event\":\"balloon-change\",\"domain\":\"ev2\",\"actual_kib\":98304}\n"},
    };
    char want[512];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *out = vmctl_event(false, cases[i].name);
        snprintf(want, sizeof(want), "%sevents received: 1\n\n", cases[i].text);
        assert_string_equal(out, want);
        free(out);
        out = vmctl_event(true, cases[i].name);
        snprintf(want, sizeof(want), "%s{\"events_received\":1,\"end\":\"done\"}\n", cases[i].json);
        assert_string_equal(out, want);
        free(out);
    }
}

int main(void)
{
    if (virEventRegisterDefaultImpl() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_typed_callbacks),
        cmocka_unit_test(test_replayed_from_backlog),
        cmocka_unit_test(test_vmctl_prints),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
