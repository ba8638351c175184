/* test_guest_config.c: what a guest's definition asks for, honoured on a real tiny guest
 * — virt-manager's devices (spice, its channel, USB redirection, sound, watchdog, qxl,
 * seclabel none) boot, displays get ports that vncdisplay reads, on_reboot='destroy'
 * ends the guest, on_crash is honoured for a pvpanic panic, autostart starts it once
 * per host boot, list shows ids. Skipped (77)
 * without the guest. */
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
#include "harness_guest.h"

#define URI "qemu:///system"
#define BOOT_MS 60000

static mvt_guest guest;

typedef struct fixture {
    mvt_env env;
    virConnectPtr conn;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    if (!f || mvt_setup(&f->env) < 0 || !(f->conn = virConnectOpen(URI))) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    virConnectClose(f->conn);
    mvt_guest_kill_all(&f->env);
    mvt_teardown(&f->env);
    free(f);
    return 0;
}

/* The tiny guest's XML with `extra` added to its devices and `tail` after them. */
static char *guest_with(const char *name, const char *extra, const char *tail)
{
    char *xml = mvt_guest_xml(&guest, name);
    char *with = NULL;
    if (xml && asprintf(&with, "%s%s  </devices>\n%s", "", extra, tail) > 0) {
        char *out = mvt_guest_subst(xml, "  </devices>\n", with);
        free(with);
        free(xml);
        return out;
    }
    free(xml);
    return NULL;
}

static void start_or_skip(virDomainPtr dom)
{
    if (virDomainCreate(dom) == 0)
        return;
    mvt_api_error err;
    mvt_api_error_take(&err);
    virDomainFree(dom);
    if (err.code == VIR_ERR_NO_SUPPORT)
        skip();
    fail_msg("start: %s", err.message);
}

static const char virt_manager_devices[] =
    "    <controller type='usb' model='qemu-xhci' ports='15'/>\n"
    "    <interface type='user'>\n"
    "      <mac address='52:54:00:00:00:01'/>\n"
    "      <model type='virtio'/>\n"
    "    </interface>\n"
    "    <channel type='spicevmc'>\n"
    "      <target type='virtio' name='com.redhat.spice.0'/>\n"
    "    </channel>\n"
    "    <graphics type='spice' autoport='yes'>\n"
    "      <listen type='address'/>\n"
    "      <image compression='off'/>\n"
    "    </graphics>\n"
    "    <graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'/>\n"
    "    <sound model='ich9'/>\n"
    "    <video><model type='qxl'/></video>\n"
    "    <redirdev bus='usb' type='spicevmc'/>\n"
    "    <watchdog model='i6300esb' action='reset'/>\n"
    "    <rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>\n";

/* virt-manager's devices boot; the displays get ports, vncdisplay and domiflist read
 * the live XML, and the guest still answers on its serial console. */
static void test_virt_manager_devices(void **state)
{
    fixture *f = *state;
    char *xml = guest_with("vm", virt_manager_devices, "  <seclabel type='none' model='none'/>\n");
    assert_non_null(xml);
    assert_int_equal(mvt_write(&f->env, "vm.xml", xml), 0);
    virDomainPtr dom = virDomainDefineXML(f->conn, xml);
    free(xml);
    if (!dom)
        fail_msg("define: %s", virGetLastErrorMessage());
    start_or_skip(dom);
    char *pty = mvt_guest_pty(dom);
    assert_non_null(pty);
    assert_int_equal(mvt_guest_wait_marker(pty, BOOT_MS), 0);
    free(pty);
    char *live = virDomainGetXMLDesc(dom, 0);
    assert_non_null(live);
    assert_null(strstr(live, "port='-1'")); /* both displays got real ports */
    free(live);

    mvt_result r;
    assert_int_equal(mvt_vmctl(&r, "-q", "vncdisplay", "vm", NULL), 0);
    int display = -1;
    if (r.status != 0 || sscanf(r.out, "127.0.0.1:%d\n", &display) != 1 || display < 0)
        fail_msg("vncdisplay: %d '%s' '%s'", r.status, r.out, r.err);
    mvt_result_free(&r);
    assert_int_equal(mvt_vmctl(&r, "-q", "domiflist", "vm", NULL), 0);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, " user "));
    assert_non_null(strstr(r.out, "52:54:00:00:00:01"));
    mvt_result_free(&r);
    assert_int_equal(virDomainDestroy(dom), 0);
    virDomainFree(dom);
}

/* SELinux and AppArmor labels are refused by name; DAC and none are taken. */
static void test_seclabels(void **state)
{
    fixture *f = *state;
    char *xml = guest_with("selinux", "",
                           "  <seclabel type='dynamic' model='selinux' relabel='yes'/>\n");
    assert_non_null(xml);
    virDomainPtr dom = virDomainDefineXML(f->conn, xml);
    if (dom) {
        /* refused at start at the latest */
        int rc = virDomainCreate(dom);
        mvt_api_error err;
        mvt_api_error_take(&err);
        virDomainFree(dom);
        if (rc == 0)
            fail_msg("an selinux label was accepted");
        if (err.code == VIR_ERR_NO_SUPPORT && !strstr(err.message, "selinux"))
            skip();
        assert_non_null(strstr(err.message, "selinux"));
    } else {
        assert_non_null(strstr(virGetLastErrorMessage(), "selinux"));
    }
    free(xml);
    xml = guest_with("dac", "", "  <seclabel type='static' model='dac' relabel='no'>\n"
                                "    <label>0:0</label>\n"
                                "  </seclabel>\n");
    assert_non_null(xml);
    dom = virDomainDefineXML(f->conn, xml);
    free(xml);
    if (!dom)
        fail_msg("dac: %s", virGetLastErrorMessage());
    start_or_skip(dom);
    assert_int_equal(virDomainDestroy(dom), 0);
    virDomainFree(dom);
}

/* on_reboot='destroy': a reboot the guest asks for ends it. */
static void test_on_reboot_destroy(void **state)
{
    fixture *f = *state;
    char *xml = mvt_guest_xml(&guest, "noreboot");
    assert_non_null(xml);
    char *x2 = mvt_guest_subst(xml, "<on_reboot>restart</on_reboot>",
                               "<on_reboot>destroy</on_reboot>");
    free(xml);
    assert_non_null(x2);
    virDomainPtr dom = virDomainDefineXML(f->conn, x2);
    free(x2);
    assert_non_null(dom);
    start_or_skip(dom);
    char *pty = mvt_guest_pty(dom);
    assert_non_null(pty);
    assert_int_equal(mvt_guest_wait_marker(pty, BOOT_MS), 0);
    assert_int_equal(mvt_guest_send(pty, "reboot"), 0);
    free(pty);
    int s = -1, r = -1;
    if (mvt_guest_wait_state(dom, VIR_DOMAIN_SHUTOFF, -1, 30000, &s, &r) < 0)
        fail_msg("state %d reason %d after the guest rebooted", s, r);
    virDomainFree(dom);
}

/* A guest that panics with a pvpanic device (<panic model='isa'/>): on_crash='destroy'
 * ends it as shut off (crashed), on_crash='preserve' keeps it as crashed (panicked). */
static void panic_case(fixture *f, const char *name, const char *on_crash, int state,
                       int reason)
{
    char *xml = guest_with(name, "    <panic model='isa'/>\n", "");
    assert_non_null(xml);
    char tag[64];
    snprintf(tag, sizeof(tag), "<on_crash>%s</on_crash>", on_crash);
    char *x2 = mvt_guest_subst(xml, "<on_crash>destroy</on_crash>", tag);
    free(xml);
    assert_non_null(x2);
    virDomainPtr dom = virDomainDefineXML(f->conn, x2);
    free(x2);
    if (!dom)
        fail_msg("define: %s", virGetLastErrorMessage());
    start_or_skip(dom);
    char *pty = mvt_guest_pty(dom);
    assert_non_null(pty);
    assert_int_equal(mvt_guest_wait_marker(pty, BOOT_MS), 0);
    assert_int_equal(mvt_guest_send(pty, "panic"), 0);
    free(pty);
    int s = -1, r = -1;
    if (mvt_guest_wait_state(dom, state, reason, 30000, &s, &r) < 0)
        fail_msg("%s: state %d reason %d after a panic, expected %d reason %d", on_crash, s,
                 r, state, reason);
    if (state != VIR_DOMAIN_SHUTOFF)
        assert_int_equal(virDomainDestroy(dom), 0);
    virDomainFree(dom);
}

static void test_panic(void **state)
{
    fixture *f = *state;
    panic_case(f, "crash1", "destroy", VIR_DOMAIN_SHUTOFF, VIR_DOMAIN_SHUTOFF_CRASHED);
    panic_case(f, "crash2", "preserve", VIR_DOMAIN_CRASHED, VIR_DOMAIN_CRASHED_PANICKED);
}

/* Autostart: once per host boot (the run folder's marker), when virtqemud starts. */
static void test_autostart(void **state)
{
    fixture *f = *state;
    virDomainPtr dom = mvt_guest_define(f->conn, &guest, "auto");
    assert_non_null(dom);
    assert_int_equal(virDomainSetAutostart(dom, 1), 0);
    pid_t qemud = mvt_daemon_pid(&f->env, "virtqemud");
    assert_true(qemud > 0);
    assert_int_equal(mvt_kill_wait(qemud, SIGTERM, 10000), 0);
    /* a host boot empties the run folder; the marker goes with it */
    char *marker = mvt_path(&f->env, "run/modvirt/qemu/autostarted");
    assert_int_equal(access(marker, F_OK), 0);
    assert_int_equal(unlink(marker), 0);
    int s = -1, r = -1;
    /* the next call starts virtqemud, which starts the guest */
    if (mvt_guest_wait_state(dom, VIR_DOMAIN_RUNNING, VIR_DOMAIN_RUNNING_BOOTED, 30000, &s,
                             &r) < 0) {
        free(marker);
        virDomainFree(dom);
        fail_msg("state %d reason %d: not autostarted", s, r);
    }
    assert_int_equal(access(marker, F_OK), 0);
    assert_int_equal(virDomainDestroy(dom), 0);
    /* a daemon restart within the same boot starts nothing */
    qemud = mvt_daemon_pid(&f->env, "virtqemud");
    assert_int_equal(mvt_kill_wait(qemud, SIGTERM, 10000), 0);
    assert_int_equal(virDomainGetState(dom, &s, &r, 0), 0);
    assert_int_equal(s, VIR_DOMAIN_SHUTOFF);
    assert_int_equal(mvt_guest_wait_state(dom, VIR_DOMAIN_RUNNING, -1, 2000, &s, &r), -1);
    free(marker);
    virDomainFree(dom);
}

/* list shows running guests with their ids, then the rest. */
static void test_list_ids(void **state)
{
    fixture *f = *state;
    virDomainPtr a = mvt_guest_define(f->conn, &guest, "alpha");
    virDomainPtr b = mvt_guest_define(f->conn, &guest, "beta");
    assert_non_null(a);
    assert_non_null(b);
    virDomainFree(b);
    start_or_skip(a);
    char want[256];
    snprintf(want, sizeof(want),
             " Id   Name    State\n"
             "------------------------\n"
             " %-4d alpha   running\n"
             " -    beta    shut off\n\n",
             (int)virDomainGetID(a));
    mvt_result r;
    assert_int_equal(mvt_vmctl(&r, "list", "--all", NULL), 0);
    assert_string_equal(r.out, want);
    mvt_result_free(&r);
    assert_int_equal(virDomainDestroy(a), 0);
    virDomainFree(a);
}

int main(void)
{
    if (mvt_guest_prepare(&guest) < 0)
        return 77;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_virt_manager_devices, setup, teardown),
        cmocka_unit_test_setup_teardown(test_seclabels, setup, teardown),
        cmocka_unit_test_setup_teardown(test_on_reboot_destroy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_panic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_autostart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_ids, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
