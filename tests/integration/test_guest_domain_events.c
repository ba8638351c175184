/* test_guest_domain_events.c: libvirt's domain events beside lifecycle on a real tiny
 * guest — REBOOT for every reset (virDomainReset, virDomainReboot's fake reboot, the
 * guest's own reboot), BALLOON_CHANGE with GetInfo's memory following the balloon,
 * RTC_CHANGE and WATCHDOG from the guest, through the C API and `vmctl event`. The balloon is moved
 * through a second QMP socket the test asks QEMU for. Skipped (77) when the tiny guest cannot be
 * built. */
#include <setjmp.h>
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
#include "harness_guest.h"
#include "harness_life.h"

static mvt_guest guest;

/* What one registration saw: how many events, and per balloon event its actual and
 * GetInfo's memory read inside the callback (libvirt publishes before it tells). */
typedef struct seen {
    int n;
    unsigned long long actual[64];
    unsigned long long info_mem[64];
    char domain[64];
} seen;

static void on_reboot(virConnectPtr conn, virDomainPtr dom, void *opaque)
{
    seen *s = opaque;
    (void)conn;
    snprintf(s->domain, sizeof(s->domain), "%s", virDomainGetName(dom));
    s->n++;
}

static void on_balloon(virConnectPtr conn, virDomainPtr dom, unsigned long long actual,
                       void *opaque)
{
    seen *s = opaque;
    virDomainInfo info = {0};
    (void)conn;
    if (s->n >= 64)
        return;
    virDomainGetInfo(dom, &info);
    s->actual[s->n] = actual;
    s->info_mem[s->n] = info.memory;
    s->n++;
}

/* What wait_seen waits for: at least n events, and, when want > 0, the last balloon event
 * saying want. */
typedef struct seen_want {
    const seen *s;
    int n;
    unsigned long long want;
} seen_want;

static bool has_seen(void *arg)
{
    const seen_want *w = arg;
    return w->s->n >= w->n && (!w->want || w->s->actual[w->s->n - 1] == w->want);
}

/* Runs the event loop until s has at least n events (and, when want > 0, the last balloon
 * event says want), or timeout_ms pass. 0 or -1. */
static int wait_seen(seen *s, int n, unsigned long long want, int timeout_ms)
{
    seen_want w = {s, n, want};
    return mvt_life_run_until(has_seen, &w, timeout_ms);
}

/* `vmctl [--json] event --domain NAME --event EVENT` (ends after the first event), with
 * poke() done again until it has: the moment vmctl has registered is not visible from
 * here, so the cause is repeated instead of waited out. Its output (malloc'd). */
static char *vmctl_first_event(mvt_life *f, bool json, const char *name, const char *event,
                               void (*poke)(void *arg), void *arg)
{
    char *log = mvt_path(&f->env, "event.log");
    const char *text[] = {"vmctl", "event", "--domain", name, "--event", event, NULL};
    const char *js[] = {"vmctl", "--json", "event", "--domain", name, "--event", event, NULL};
    assert_non_null(log);
    unlink(log);
    pid_t pid = mvt_spawn(json ? js : text, log);
    assert_true(pid > 0);
    int status = -1;
    for (int i = 0; i < 20 && status < 0; i++) {
        poke(arg);
        status = mvt_wait_exit(pid, 2000);
    }
    if (status < 0) {
        mvt_kill_wait(pid, SIGKILL, 5000);
        mvt_wait_exit(pid, 5000);
        fail_msg("vmctl event --event %s saw nothing in 20 tries", event);
    }
    assert_int_equal(status, 0);
    char *out = mvt_read_file(log);
    assert_non_null(out);
    free(log);
    return out;
}

/* ---- REBOOT ---------------------------------------------------------------------------- */

static void reset(void *dom)
{
    assert_int_equal(virDomainReset(dom, 0), 0);
}

/* The guest booted again after an action (its marker printed unasked), and the REBOOT
 * events of that action's resets have all been run: they were sent before the reply of a
 * call made after the boot, on the same connection. How many came. */
static int rebooted(mvt_life *f, virDomainPtr dom, const char *pty, seen *s)
{
    int before = s->n, st = -1, reason = -1;
    (void)f;
    assert_int_equal(mvt_life_wait_boot(pty, MVT_LIFE_BOOT_MS), 0);
    assert_int_equal(virDomainGetState(dom, &st, &reason, 0), 0);
    assert_int_equal(wait_seen(s, before + 1, 0, 10000), 0);
    return s->n - before;
}

/* Every QEMU RESET is a REBOOT event, as in libvirt — after virDomainReset, virDomainReboot
 * (the guest's power-off that becomes a reset in place) and a reboot the guest does itself.
 * (SeaBIOS answers a warm reset with resets of its own, each an event too, so an action
 * gives one or more.) None of them is a lifecycle event. vmctl prints virsh's line, or its
 * JSON object. */
static void test_reboot_events(void **state)
{
    mvt_life *f = *state;
    seen s = {0};
    mvt_life_seen life = {0};
    char *pty = NULL, *xml = mvt_life_guest_xml(&guest, "rbev", NULL, NULL);
    virDomainPtr dom = mvt_life_boot(f->conn, xml, &pty);
    free(xml);
    int cb = virConnectDomainEventRegisterAny(f->conn, dom, VIR_DOMAIN_EVENT_ID_REBOOT, on_reboot,
                                              &s, NULL);
    assert_true(cb >= 0);
    int lcb = mvt_life_watch(f->conn, dom, &life);

    assert_int_equal(virDomainReset(dom, 0), 0);
    assert_true(rebooted(f, dom, pty, &s) >= 1);
    assert_string_equal(s.domain, "rbev");
    assert_int_equal(virDomainReboot(dom, 0), 0);
    assert_true(rebooted(f, dom, pty, &s) >= 1);
    assert_int_equal(mvt_guest_send(pty, "reboot"), 0);
    assert_true(rebooted(f, dom, pty, &s) >= 1);
    /* a suspend's event is the first lifecycle event there is */
    assert_int_equal(virDomainSuspend(dom), 0);
    assert_int_equal(mvt_life_wait_event(&life, VIR_DOMAIN_EVENT_SUSPENDED,
                                         VIR_DOMAIN_EVENT_SUSPENDED_PAUSED, 10000),
                     0);
    assert_int_equal(life.n, 1);
    assert_int_equal(virDomainResume(dom), 0);
    assert_int_equal(virConnectDomainEventDeregisterAny(f->conn, cb), 0);
    assert_int_equal(virConnectDomainEventDeregisterAny(f->conn, lcb), 0);

    char *out = vmctl_first_event(f, false, "rbev", "reboot", reset, dom);
    assert_string_equal(out, "event 'reboot' for domain 'rbev'\nevents received: 1\n\n");
    free(out);
    out = vmctl_first_event(f, true, "rbev", "reboot", reset, dom);
    assert_string_equal(out, "{\"event\":\"reboot\",\"domain\":\"rbev\"}\n"
                             "{\"events_received\":1,\"end\":\"done\"}\n");
    free(out);
    assert_int_equal(virDomainDestroy(dom), 0);
    free(pty);
    virDomainFree(dom);
}

/* ---- RTC_CHANGE and WATCHDOG --------------------------------------------------------------- */

typedef struct guest_line {
    const char *pty;
    const char *line;
} guest_line;

static void type_line(void *arg)
{
    guest_line *g = arg;
    assert_int_equal(mvt_guest_send(g->pty, g->line), 0);
}

static void on_rtc(virConnectPtr conn, virDomainPtr dom, long long utcoffset, void *opaque)
{
    seen *s = opaque;
    (void)conn, (void)dom;
    if (s->n < 64)
        s->actual[s->n++] = (unsigned long long)utcoffset;
}

static void on_watchdog(virConnectPtr conn, virDomainPtr dom, int action, void *opaque)
{
    seen *s = opaque;
    (void)conn, (void)dom;
    if (s->n < 64)
        s->actual[s->n++] = (unsigned long long)action;
}

/* Boots the tiny guest `name` with an i6300esb watchdog whose action is `action`, its
 * WATCHDOG events recorded in wd (registration *cb). */
static virDomainPtr boot_watchdog(mvt_life *f, const char *name, const char *action, char **pty,
                                  seen *wd, int *cb)
{
    char devices[128];
    snprintf(devices, sizeof(devices),
             "    <watchdog model='i6300esb' action='%s'/>\n  </devices>\n", action);
    char *xml = mvt_life_guest_xml(&guest, name, "  </devices>\n", devices);
    virDomainPtr dom = mvt_life_boot(f->conn, xml, pty);
    free(xml);
    *cb = virConnectDomainEventRegisterAny(f->conn, dom, VIR_DOMAIN_EVENT_ID_WATCHDOG,
                                           VIR_DOMAIN_EVENT_CALLBACK(on_watchdog), wd, NULL);
    assert_true(*cb >= 0);
    return dom;
}

/* Registers for dom's RTC_CHANGE events (recorded in rtc), has the guest move its clock an
 * hour ahead, and fails unless the event says about `want` (seconds pass between the
 * guest's two reads of its clock). The registration. */
static int expect_rtc_hour(mvt_life *f, virDomainPtr dom, const char *pty, seen *rtc,
                           long long want)
{
    int cb = virConnectDomainEventRegisterAny(f->conn, dom, VIR_DOMAIN_EVENT_ID_RTC_CHANGE,
                                              VIR_DOMAIN_EVENT_CALLBACK(on_rtc), rtc, NULL);
    assert_true(cb >= 0);
    assert_int_equal(mvt_guest_send(pty, "rtc 3600"), 0);
    assert_int_equal(wait_seen(rtc, 1, 0, 10000), 0);
    long long offset = (long long)rtc->actual[0];
    if (offset < want - 10 || offset > want + 10)
        fail_msg("RTC_CHANGE offset %lld, expected about %lld", offset, want);
    return cb;
}

/* The guest sets its clock an hour ahead and writes the RTC: RTC_CHANGE with about 3600
 * (seconds pass between its two reads of the clock). Its i6300esb watchdog fires with
 * action none: WATCHDOG, none, and the guest runs on. vmctl prints both as virsh does. */
static void test_rtc_watchdog_events(void **state)
{
    mvt_life *f = *state;
    seen rtc = {0}, wd = {0};
    char *pty = NULL;
    int wcb = -1;
    virDomainPtr dom = boot_watchdog(f, "wdg", "none", &pty, &wd, &wcb);
    int rcb = expect_rtc_hour(f, dom, pty, &rtc, 3600);
    assert_int_equal(mvt_guest_send(pty, "watchdog"), 0);
    assert_int_equal(wait_seen(&wd, 1, 0, 10000), 0);
    assert_int_equal((int)wd.actual[0], VIR_DOMAIN_EVENT_WATCHDOG_NONE);
    mvt_life_assert_state(dom, VIR_DOMAIN_RUNNING, -1);
    assert_int_equal(mvt_guest_send(pty, "still-here"), 0);
    assert_int_equal(virConnectDomainEventDeregisterAny(f->conn, rcb), 0);
    assert_int_equal(virConnectDomainEventDeregisterAny(f->conn, wcb), 0);

    guest_line wdl = {pty, "watchdog"}, rtcl = {pty, "rtc 60"};
    char *out = vmctl_first_event(f, false, "wdg", "watchdog", type_line, &wdl);
    assert_string_equal(out, "event 'watchdog' for domain 'wdg': none\nevents received: 1\n\n");
    free(out);
    out = vmctl_first_event(f, true, "wdg", "watchdog", type_line, &wdl);
    assert_string_equal(out, "{\"event\":\"watchdog\",\"domain\":\"wdg\",\"action\":\"none\"}\n"
                             "{\"events_received\":1,\"end\":\"done\"}\n");
    free(out);
    /* each line moves the clock another minute ahead */
    out = vmctl_first_event(f, false, "wdg", "rtc-change", type_line, &rtcl);
    const char *head = "event 'rtc-change' for domain 'wdg': ";
    if (strncmp(out, head, strlen(head)) != 0 || atoll(out + strlen(head)) < 3600 ||
        !strstr(out, "\nevents received: 1\n"))
        fail_msg("vmctl event printed: %s", out);
    free(out);
    assert_int_equal(virDomainDestroy(dom), 0);
    free(pty);
    virDomainFree(dom);
}

/* <clock offset='variable' adjustment='100'>: the guest starts 100 s ahead of UTC, and once
 * it moves its clock another hour RTC_CHANGE says about 3700, from UTC, as libvirt's. */
static void test_rtc_variable_clock(void **state)
{
    mvt_life *f = *state;
    seen rtc = {0};
    char *pty = NULL;
    char *xml = mvt_life_guest_xml(&guest, "rtcv", "  <devices>\n",
                                   "  <clock offset='variable' adjustment='100' basis='utc'/>\n"
                                   "  <devices>\n");
    virDomainPtr dom = mvt_life_boot(f->conn, xml, &pty);
    free(xml);
    int cb = expect_rtc_hour(f, dom, pty, &rtc, 3700);
    assert_int_equal(virConnectDomainEventDeregisterAny(f->conn, cb), 0);
    assert_int_equal(virDomainDestroy(dom), 0);
    free(pty);
    virDomainFree(dom);
}

/* A watchdog whose action is pause: WATCHDOG says pause, and the pause that follows is
 * libvirt's — paused, reason watchdog, lifecycle event suspended/watchdog. */
static void test_watchdog_pause(void **state)
{
    mvt_life *f = *state;
    seen wd = {0};
    mvt_life_seen life = {0};
    char *pty = NULL;
    int wcb = -1;
    virDomainPtr dom = boot_watchdog(f, "wdp", "pause", &pty, &wd, &wcb);
    int lcb = mvt_life_watch(f->conn, dom, &life);
    assert_int_equal(mvt_guest_send(pty, "watchdog"), 0);
    assert_int_equal(mvt_life_wait_event(&life, VIR_DOMAIN_EVENT_SUSPENDED,
                                         VIR_DOMAIN_EVENT_SUSPENDED_WATCHDOG, 10000),
                     0);
    assert_int_equal(wait_seen(&wd, 1, 0, 10000), 0);
    assert_int_equal((int)wd.actual[0], VIR_DOMAIN_EVENT_WATCHDOG_PAUSE);
    mvt_life_assert_state(dom, VIR_DOMAIN_PAUSED, VIR_DOMAIN_PAUSED_WATCHDOG);
    assert_int_equal(virConnectDomainEventDeregisterAny(f->conn, wcb), 0);
    assert_int_equal(virConnectDomainEventDeregisterAny(f->conn, lcb), 0);
    assert_int_equal(virDomainDestroy(dom), 0);
    free(pty);
    virDomainFree(dom);
}

/* ---- BALLOON_CHANGE --------------------------------------------------------------------- */

typedef struct balloon_ctl {
    int qmp;     /* the test's own QMP connection to the guest's QEMU */
    long toggle; /* which target the next poke asks for */
} balloon_ctl;

/* Asks QEMU for a balloon target of mib MiB, through the test's QMP socket. */
static void balloon_to(int qmp, long mib)
{
    char cmd[128];
    int n =
        snprintf(cmd, sizeof(cmd), "{\"execute\": \"balloon\", \"arguments\": {\"value\": %lld}}\n",
                 (long long)mib << 20);
    assert_int_equal(write(qmp, cmd, (size_t)n), n);
    assert_int_equal(mvt_life_qmp_wait(qmp, "\"return\"", 10000), 0);
}

static void balloon_toggle(void *arg)
{
    balloon_ctl *b = arg;
    balloon_to(b->qmp, b->toggle++ % 2 ? 128 : 112);
}

/* The guest gives memory back to its balloon: BALLOON_CHANGE says how much it has (KiB),
 * and by then GetInfo's memory and the live XML's currentMemory say the same; the
 * definition keeps its own. vmctl --json prints {"event":"balloon-change",...}. */
static void test_balloon_events(void **state)
{
    mvt_life *f = *state;
    seen s = {0};
    char qmp_arg[512];
    /* beside the daemon's monitor, so mvt_life_qmp_open finds it as guest "bl-test"'s */
    snprintf(qmp_arg, sizeof(qmp_arg),
             "    <memballoon model='virtio'/>\n  </devices>\n"
             "  <qemu:commandline>\n"
             "    <qemu:arg value='-qmp'/>\n"
             "    <qemu:arg value='unix:%s/qemu/bl-test.monitor,server=on,wait=off'/>\n"
             "  </qemu:commandline>\n",
             f->env.run_dir);
    char *x1 = mvt_life_guest_xml(&guest, "bl", "  </devices>\n", qmp_arg);
    char *xml = mvt_guest_subst(x1, "<domain type='qemu'>",
                                "<domain type='qemu' "
                                "xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>");
    free(x1);
    assert_non_null(xml);
    char *pty = NULL;
    virDomainPtr dom = mvt_life_boot(f->conn, xml, &pty);
    free(xml);
    virDomainInfo info;
    assert_int_equal(virDomainGetInfo(dom, &info), 0);
    assert_int_equal(info.memory, 128 * 1024);
    int cb = virConnectDomainEventRegisterAny(f->conn, dom, VIR_DOMAIN_EVENT_ID_BALLOON_CHANGE,
                                              VIR_DOMAIN_EVENT_CALLBACK(on_balloon), &s, NULL);
    assert_true(cb >= 0);
    balloon_ctl b = {.qmp = mvt_life_qmp_open(&f->env, "bl-test")};
    assert_true(b.qmp >= 0);

    balloon_to(b.qmp, 96);
    if (wait_seen(&s, 1, 96 * 1024, MVT_LIFE_BOOT_MS) < 0)
        fail_msg("%d balloon events, the last %llu KiB; expected one of %d KiB", s.n,
                 s.n ? s.actual[s.n - 1] : 0, 96 * 1024);
    for (int i = 0; i < s.n; i++)
        if (s.info_mem[i] != s.actual[i])
            fail_msg("event %d: balloon at %llu KiB, GetInfo's memory %llu KiB", i, s.actual[i],
                     s.info_mem[i]);
    assert_int_equal(virDomainGetInfo(dom, &info), 0);
    assert_int_equal(info.memory, 96 * 1024);
    assert_int_equal(info.maxMem, 128 * 1024);
    char *live = virDomainGetXMLDesc(dom, 0);
    char *inactive = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE);
    assert_non_null(live);
    assert_non_null(inactive);
    assert_non_null(strstr(live, ">98304</currentMemory>"));
    assert_null(strstr(inactive, ">98304</currentMemory>"));
    free(live);
    free(inactive);
    assert_int_equal(virConnectDomainEventDeregisterAny(f->conn, cb), 0);

    char *out = vmctl_first_event(f, true, "bl", "balloon-change", balloon_toggle, &b);
    const char *head = "{\"event\":\"balloon-change\",\"domain\":\"bl\",\"actual_kib\":";
    if (strncmp(out, head, strlen(head)) != 0 ||
        !strstr(out, "}\n{\"events_received\":1,\"end\":\"done\"}\n"))
        fail_msg("vmctl --json event printed: %s", out);
    long long kib = atoll(out + strlen(head));
    assert_true(kib > 96 * 1024 && kib <= 128 * 1024);
    free(out);
    close(b.qmp);
    assert_int_equal(virDomainDestroy(dom), 0);
    free(pty);
    virDomainFree(dom);
}

int main(int argc, char **argv)
{
    int rc = mvt_life_prepare(argc, argv, &guest, true);
    const struct CMUnitTest tests[] = {
        MVT_LIFE_TEST(test_reboot_events),       MVT_LIFE_TEST(test_balloon_events),
        MVT_LIFE_TEST(test_rtc_watchdog_events), MVT_LIFE_TEST(test_watchdog_pause),
        MVT_LIFE_TEST(test_rtc_variable_clock),
    };
    return rc ? rc : cmocka_run_group_tests(tests, NULL, NULL);
}
