/* test_guest_reboot.c: libvirt's reboot and power-off semantics on a real tiny guest —
 * the ACPI reboot (a power-off turned into a reset in place: same process, same id, no
 * lifecycle event), reset, guest-initiated reboots with on_reboot restart and destroy,
 * on_poweroff restart, on_crash restart, and the actions refused at start. (Power-offs
 * while virtqemud is dead, and auto-destroy: test_guest_host.c.) A reboot is seen as
 * the boot marker the guest prints unasked once its init starts again. Skipped (77)
 * when the tiny guest cannot be built. */
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
#include "harness_life.h"

static mvt_guest guest;

typedef mvt_life fixture;

/* The tiny guest named `name`, `from` replaced by `to` (from may be NULL). */
static char *guest_xml(const char *name, const char *from, const char *to)
{
    return mvt_life_guest_xml(&guest, name, from, to);
}

/* ---- the tests -------------------------------------------------------------------------- */

/* virDomainReboot: the ACPI button, then the guest's power-off becomes a reset in place —
 * it boots again in the same qemu, same id, running (booted), and no lifecycle event is
 * emitted for it (libvirt's fake reboot). virDomainReset resets too. Modes the QEMU
 * driver has not are refused with libvirt's errors. */
static void test_reboot_in_place(void **state)
{
    fixture *f = *state;
    mvt_life_seen s = {0};
    char *pty = NULL, *xml = guest_xml("rb", NULL, NULL);
    virDomainPtr dom = mvt_life_boot(f->conn, xml, &pty);
    free(xml);
    int id = (int)virDomainGetID(dom);
    pid_t pid = mvt_guest_qemu_pid(&f->env, "rb");
    assert_true(pid > 0);
    int cb = mvt_life_watch(f->conn, dom, &s);

    assert_int_equal(virDomainReboot(dom, 0), 0);
    assert_int_equal(mvt_life_wait_boot(pty, MVT_LIFE_BOOT_MS), 0);
    mvt_life_assert_state(dom, VIR_DOMAIN_RUNNING, VIR_DOMAIN_RUNNING_BOOTED);
    assert_int_equal((int)virDomainGetID(dom), id);
    assert_int_equal(mvt_guest_qemu_pid(&f->env, "rb"), pid);

    /* the ACPI mode is the same, also as the fallback of an agent that is not there */
    assert_int_equal(
        virDomainReboot(dom, VIR_DOMAIN_REBOOT_ACPI_POWER_BTN | VIR_DOMAIN_REBOOT_GUEST_AGENT), 0);
    assert_int_equal(mvt_life_wait_boot(pty, MVT_LIFE_BOOT_MS), 0);
    assert_int_equal(virDomainReset(dom, 0), 0);
    assert_int_equal(mvt_life_wait_boot(pty, MVT_LIFE_BOOT_MS), 0);
    mvt_life_assert_state(dom, VIR_DOMAIN_RUNNING, -1);
    assert_int_equal(mvt_guest_qemu_pid(&f->env, "rb"), pid);

    /* no event came of the reboots: the first is this suspend's */
    assert_int_equal(virDomainSuspend(dom), 0);
    assert_int_equal(mvt_life_wait_event(&s, VIR_DOMAIN_EVENT_SUSPENDED,
                                         VIR_DOMAIN_EVENT_SUSPENDED_PAUSED, 10000),
                     0);
    if (s.n != 1)
        fail_msg("%d events, the first %d/%d; expected only suspended/paused", s.n, s.event[0],
                 s.detail[0]);
    assert_int_equal(virDomainResume(dom), 0);

    mvt_api_error err;
    assert_int_equal(virDomainReboot(dom, VIR_DOMAIN_REBOOT_GUEST_AGENT), -1);
    mvt_api_error_take(&err);
    assert_int_equal(err.code, VIR_ERR_ARGUMENT_UNSUPPORTED);
    assert_non_null(strstr(err.message, "QEMU guest agent is not configured"));
    assert_int_equal(virDomainShutdownFlags(dom, VIR_DOMAIN_SHUTDOWN_GUEST_AGENT), -1);
    mvt_api_error_take(&err);
    assert_int_equal(err.code, VIR_ERR_ARGUMENT_UNSUPPORTED);
    assert_int_equal(virDomainReboot(dom, VIR_DOMAIN_REBOOT_INITCTL), -1);
    mvt_api_error_take(&err);
    assert_int_equal(err.code, VIR_ERR_INVALID_ARG);
    assert_non_null(strstr(err.message, "unsupported flags"));

    assert_int_equal(virConnectDomainEventDeregisterAny(f->conn, cb), 0);
    assert_int_equal(virDomainDestroy(dom), 0);
    free(pty);
    virDomainFree(dom);
}

/* A guest that ignores the power button (its kernel runs without ACPI): the reboot still
 * succeeds, as in libvirt, and the guest runs on in the same qemu, answering on its
 * console; a reset then reboots it. */
static void test_reboot_ignored(void **state)
{
    fixture *f = *state;
    char *pty = NULL, *xml = guest_xml("deaf", "quiet panic=-1", "quiet panic=-1 acpi=off");
    virDomainPtr dom = mvt_life_boot(f->conn, xml, &pty);
    free(xml);
    pid_t pid = mvt_guest_qemu_pid(&f->env, "deaf");
    assert_int_equal(virDomainReboot(dom, 0), 0);
    assert_int_equal(mvt_guest_send(pty, "still-here"), 0);
    mvt_life_assert_state(dom, VIR_DOMAIN_RUNNING, VIR_DOMAIN_RUNNING_BOOTED);
    assert_int_equal(mvt_guest_qemu_pid(&f->env, "deaf"), pid);
    assert_int_equal(virDomainReset(dom, 0), 0);
    assert_int_equal(mvt_life_wait_boot(pty, MVT_LIFE_BOOT_MS), 0);
    assert_int_equal(virDomainDestroy(dom), 0);
    free(pty);
    virDomainFree(dom);
}

/* A reboot the guest does itself: on_reboot restart resets it in place; on_reboot
 * destroy (-no-reboot) ends it, shut off with reason shutdown as in libvirt. */
static void test_guest_reboot(void **state)
{
    fixture *f = *state;
    char *pty = NULL, *xml = guest_xml("grb", NULL, NULL);
    virDomainPtr dom = mvt_life_boot(f->conn, xml, &pty);
    free(xml);
    pid_t pid = mvt_guest_qemu_pid(&f->env, "grb");
    assert_int_equal(mvt_guest_send(pty, "reboot"), 0);
    assert_int_equal(mvt_life_wait_boot(pty, MVT_LIFE_BOOT_MS), 0);
    mvt_life_assert_state(dom, VIR_DOMAIN_RUNNING, -1);
    assert_int_equal(mvt_guest_qemu_pid(&f->env, "grb"), pid);
    assert_int_equal(virDomainDestroy(dom), 0);
    free(pty);
    virDomainFree(dom);

    xml = guest_xml("gdes", "<on_reboot>restart</on_reboot>", "<on_reboot>destroy</on_reboot>");
    dom = mvt_life_boot(f->conn, xml, &pty);
    free(xml);
    /* virDomainReboot of such a guest is a shutdown (libvirt) */
    assert_int_equal(virDomainReboot(dom, 0), 0);
    mvt_life_wait_state(dom, VIR_DOMAIN_SHUTOFF, VIR_DOMAIN_SHUTOFF_SHUTDOWN, 30000);
    assert_int_equal(virDomainCreate(dom), 0);
    free(pty);
    assert_non_null(pty = mvt_guest_pty(dom));
    assert_int_equal(mvt_guest_wait_marker(pty, MVT_LIFE_BOOT_MS), 0);
    assert_int_equal(mvt_guest_send(pty, "reboot"), 0);
    mvt_life_wait_state(dom, VIR_DOMAIN_SHUTOFF, VIR_DOMAIN_SHUTOFF_SHUTDOWN, 30000);
    free(pty);
    virDomainFree(dom);
}

/* on_poweroff restart: an ACPI shutdown becomes a reboot in place. */
static void test_poweroff_restart(void **state)
{
    fixture *f = *state;
    char *pty = NULL;
    char *xml =
        guest_xml("pr", "<on_poweroff>destroy</on_poweroff>", "<on_poweroff>restart</on_poweroff>");
    virDomainPtr dom = mvt_life_boot(f->conn, xml, &pty);
    free(xml);
    pid_t pid = mvt_guest_qemu_pid(&f->env, "pr");
    int id = (int)virDomainGetID(dom);
    assert_int_equal(virDomainShutdown(dom), 0);
    assert_int_equal(mvt_life_wait_boot(pty, MVT_LIFE_BOOT_MS), 0);
    mvt_life_assert_state(dom, VIR_DOMAIN_RUNNING, VIR_DOMAIN_RUNNING_BOOTED);
    assert_int_equal(mvt_guest_qemu_pid(&f->env, "pr"), pid);
    assert_int_equal((int)virDomainGetID(dom), id);
    assert_int_equal(virDomainDestroy(dom), 0);
    free(pty);
    virDomainFree(dom);
}

/* on_crash restart: a panic (pvpanic) is reported crashed, then the guest is reset in
 * place and runs again with reason crashed, as libvirt does. */
static void test_panic_restart(void **state)
{
    fixture *f = *state;
    char *pty = NULL;
    char *xml = guest_xml("prs", "<on_crash>destroy</on_crash>", "<on_crash>restart</on_crash>");
    char *xml2 = mvt_guest_subst(xml, "</devices>", "  <panic model='isa'/>\n  </devices>");
    free(xml);
    assert_non_null(xml2);
    virDomainPtr dom = mvt_life_boot(f->conn, xml2, &pty);
    free(xml2);
    pid_t pid = mvt_guest_qemu_pid(&f->env, "prs");
    assert_int_equal(mvt_guest_send(pty, "panic"), 0);
    assert_int_equal(mvt_life_wait_boot(pty, MVT_LIFE_BOOT_MS), 0);
    mvt_life_wait_state(dom, VIR_DOMAIN_RUNNING, VIR_DOMAIN_RUNNING_CRASHED, 10000);
    assert_int_equal(mvt_guest_qemu_pid(&f->env, "prs"), pid);
    assert_int_equal(virDomainDestroy(dom), 0);
    free(pty);
    virDomainFree(dom);
}

/* on_poweroff/on_reboot 'preserve' have no meaning in libvirt's QEMU driver: define and
 * virDomainCreateXML refuse it with its message. */
static void test_preserve_refused(void **state)
{
    fixture *f = *state;
    const char *cases[][2] = {
        {"<on_poweroff>destroy</on_poweroff>", "<on_poweroff>preserve</on_poweroff>"},
        {"<on_reboot>restart</on_reboot>", "<on_reboot>preserve</on_reboot>"},
    };
    for (size_t i = 0; i < 2; i++) {
        char *xml = guest_xml("keep", cases[i][0], cases[i][1]);
        mvt_api_error err;
        virDomainPtr dom = virDomainCreateXML(f->conn, xml, 0);
        assert_null(dom);
        mvt_api_error_take(&err);
        assert_int_equal(err.code, VIR_ERR_CONFIG_UNSUPPORTED);
        assert_non_null(strstr(err.message, "doesn't support the 'preserve' action for "
                                            "'on_reboot'/'on_poweroff'"));
        /* libvirt validates this at define already. */
        dom = virDomainDefineXML(f->conn, xml);
        free(xml);
        assert_null(dom);
        mvt_api_error_take(&err);
        assert_int_equal(err.code, VIR_ERR_CONFIG_UNSUPPORTED);
        assert_non_null(strstr(err.message, "'preserve' action"));
    }
}

int main(int argc, char **argv)
{
    int rc = mvt_life_prepare(argc, argv, &guest, true);
    const struct CMUnitTest tests[] = {
        MVT_LIFE_TEST(test_reboot_in_place), MVT_LIFE_TEST(test_reboot_ignored),
        MVT_LIFE_TEST(test_guest_reboot),    MVT_LIFE_TEST(test_poweroff_restart),
        MVT_LIFE_TEST(test_panic_restart),   MVT_LIFE_TEST(test_preserve_refused),
    };
    return rc ? rc : cmocka_run_group_tests(tests, NULL, NULL);
}
