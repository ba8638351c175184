/* test_guest_life.c: one real tiny guest at a time, through the C API and vmctl — boot to
 * running with the marker on its serial console, suspend/resume, ACPI shutdown, a
 * guest-initiated poweroff, destroy, reset, kill -9 of qemu, transient guests. Skipped
 * (77) when the tiny guest cannot be built. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "harness.h"
#include "harness_api.h"
#include "harness_guest.h"
#include "harness_life.h"
#include "harness_vmctl.h"

static mvt_guest guest;

typedef mvt_life fixture;

/* Defines and starts `name`; returns the running handle. */
static virDomainPtr start_guest(fixture *f, const char *name, unsigned int flags)
{
    virDomainPtr dom = mvt_guest_define(f->conn, &guest, name);
    assert_non_null(dom);
    assert_int_equal((int)virDomainGetID(dom), -1);
    mvt_life_start(dom, flags);
    assert_true((int)virDomainGetID(dom) > 0);
    return dom;
}

/* start_guest, then the marker read on its serial console: booted, its pty in *pty. */
static virDomainPtr boot_guest(fixture *f, const char *name, char **pty)
{
    virDomainPtr dom = start_guest(f, name, 0);
    assert_non_null(*pty = mvt_guest_pty(dom));
    assert_int_equal(mvt_guest_wait_marker(*pty, MVT_LIFE_BOOT_MS), 0);
    return dom;
}

/* The guest boots: running (booted) at once, the marker on its serial console, a live
 * XML with the id and the pty; destroy ends it (destroyed) and the handle's id is -1. */
static void test_boot_and_destroy(void **state)
{
    fixture *f = *state;
    long long t0 = mvt_now_ms();
    virDomainPtr dom = start_guest(f, "boot", 0);
    mvt_life_assert_state(dom, VIR_DOMAIN_RUNNING, VIR_DOMAIN_RUNNING_BOOTED);
    assert_int_equal(virDomainIsActive(dom), 1);
    char *pty = mvt_guest_pty(dom);
    assert_non_null(pty);
    assert_int_equal(mvt_guest_wait_marker(pty, MVT_LIFE_BOOT_MS), 0);
    printf("boot: marker after %lld ms\n", mvt_now_ms() - t0);
    free(pty);

    virDomainInfo info;
    assert_int_equal(virDomainGetInfo(dom, &info), 0);
    assert_int_equal(info.state, VIR_DOMAIN_RUNNING);
    assert_int_equal(info.nrVirtCpu, 1);
    assert_true(info.cpuTime > 0);

    virDomainPtr byid = virDomainLookupByID(f->conn, (int)virDomainGetID(dom));
    assert_non_null(byid);
    assert_string_equal(virDomainGetName(byid), "boot");
    virDomainFree(byid);

    assert_int_equal(virDomainDestroy(dom), 0);
    assert_int_equal((int)virDomainGetID(dom), -1);
    mvt_life_assert_state(dom, VIR_DOMAIN_SHUTOFF, VIR_DOMAIN_SHUTOFF_DESTROYED);
    assert_int_equal(virDomainIsActive(dom), 0);
    /* a second destroy is refused: the domain is not running */
    assert_int_equal(virDomainDestroy(dom), -1);
    assert_int_equal(virGetLastErrorCode(), VIR_ERR_OPERATION_INVALID);
    virDomainFree(dom);
}

static void test_suspend_resume(void **state)
{
    fixture *f = *state;
    virDomainPtr dom = start_guest(f, "pause", 0);
    assert_int_equal(virDomainSuspend(dom), 0);
    mvt_life_assert_state(dom, VIR_DOMAIN_PAUSED, VIR_DOMAIN_PAUSED_USER);
    assert_int_equal(virDomainResume(dom), 0);
    mvt_life_assert_state(dom, VIR_DOMAIN_RUNNING, VIR_DOMAIN_RUNNING_UNPAUSED);
    char *pty = mvt_guest_pty(dom);
    assert_non_null(pty);
    assert_int_equal(mvt_guest_wait_marker(pty, MVT_LIFE_BOOT_MS), 0);
    free(pty);
    assert_int_equal(virDomainDestroy(dom), 0);
    virDomainFree(dom);
}

static void test_start_paused(void **state)
{
    fixture *f = *state;
    virDomainPtr dom = start_guest(f, "paused", VIR_DOMAIN_START_PAUSED);
    mvt_life_assert_state(dom, VIR_DOMAIN_PAUSED, -1);
    assert_int_equal(virDomainResume(dom), 0);
    mvt_life_assert_state(dom, VIR_DOMAIN_RUNNING, -1);
    assert_int_equal(virDomainDestroy(dom), 0);
    virDomainFree(dom);
}

/* The ACPI power button: the guest's init powers off; shut off, reason shutdown. */
static void test_acpi_shutdown(void **state)
{
    fixture *f = *state;
    char *pty = NULL;
    /* booted: the button only works once the guest's init listens for it */
    virDomainPtr dom = boot_guest(f, "acpi", &pty);
    free(pty);
    assert_int_equal(virDomainShutdownFlags(dom, VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN), 0);
    mvt_life_wait_state(dom, VIR_DOMAIN_SHUTOFF, VIR_DOMAIN_SHUTOFF_SHUTDOWN, 30000);
    virDomainFree(dom);
}

/* The guest powers itself off (typed on its console): seen as shut off, shutdown. */
static void test_guest_poweroff(void **state)
{
    fixture *f = *state;
    char *pty = NULL;
    virDomainPtr dom = boot_guest(f, "self", &pty);
    assert_int_equal(mvt_guest_send(pty, "poweroff"), 0);
    free(pty);
    mvt_life_wait_state(dom, VIR_DOMAIN_SHUTOFF, VIR_DOMAIN_SHUTOFF_SHUTDOWN, 30000);
    virDomainFree(dom);
}

/* kill -9 of qemu: shut off, crashed, at once; the domain starts again after. */
static void test_qemu_killed(void **state)
{
    fixture *f = *state;
    virDomainPtr dom = start_guest(f, "killed", 0);
    pid_t pid = mvt_guest_qemu_pid(&f->env, "killed");
    assert_true(pid > 0);
    assert_int_equal(mvt_kill_wait(pid, SIGKILL, 5000), 0);
    mvt_life_wait_state(dom, VIR_DOMAIN_SHUTOFF, VIR_DOMAIN_SHUTOFF_CRASHED, 5000);
    assert_int_equal(virDomainCreate(dom), 0);
    mvt_life_assert_state(dom, VIR_DOMAIN_RUNNING, VIR_DOMAIN_RUNNING_BOOTED);
    assert_int_equal(virDomainDestroy(dom), 0);
    virDomainFree(dom);
}

/* reset and reboot keep the guest running (with on_reboot restart) in the same qemu,
 * with the same id, and it boots again (the marker it prints unasked at boot). */
static void test_reset_reboot(void **state)
{
    fixture *f = *state;
    char *pty = NULL;
    virDomainPtr dom = boot_guest(f, "reset", &pty);
    int id = (int)virDomainGetID(dom);
    pid_t pid = mvt_guest_qemu_pid(&f->env, "reset");
    /* unasked, a booted guest prints nothing: the markers below are the boots' */
    assert_int_equal(mvt_life_wait_boot(pty, 2000), -1);
    assert_int_equal(virDomainReset(dom, 0), 0);
    assert_int_equal(mvt_life_wait_boot(pty, MVT_LIFE_BOOT_MS), 0);
    mvt_life_assert_state(dom, VIR_DOMAIN_RUNNING, -1);
    assert_int_equal(virDomainReboot(dom, 0), 0);
    assert_int_equal(mvt_life_wait_boot(pty, MVT_LIFE_BOOT_MS), 0);
    mvt_life_assert_state(dom, VIR_DOMAIN_RUNNING, VIR_DOMAIN_RUNNING_BOOTED);
    assert_int_equal((int)virDomainGetID(dom), id);
    assert_int_equal(mvt_guest_qemu_pid(&f->env, "reset"), pid);
    free(pty);
    assert_int_equal(virDomainDestroy(dom), 0);
    virDomainFree(dom);
}

/* virDomainCreateXML: a transient guest, gone once destroyed. */
static void test_transient(void **state)
{
    fixture *f = *state;
    char *xml = mvt_guest_xml(&guest, "transient");
    assert_non_null(xml);
    virDomainPtr dom = virDomainCreateXML(f->conn, xml, 0);
    free(xml);
    if (!dom)
        fail_msg("create XML: %s", virGetLastErrorMessage());
    assert_true((int)virDomainGetID(dom) > 0);
    assert_int_equal(virDomainIsPersistent(dom), 0);
    mvt_life_assert_state(dom, VIR_DOMAIN_RUNNING, VIR_DOMAIN_RUNNING_BOOTED);
    assert_int_equal(virDomainDestroy(dom), 0);
    virDomainFree(dom);
    assert_null(virDomainLookupByName(f->conn, "transient"));
    assert_int_equal(virGetLastErrorCode(), VIR_ERR_NO_DOMAIN);
}

/* vmctl's lifecycle commands print virsh's lines; a start of a running domain is
 * refused by vmctl itself, as virsh does. */
static void test_vmctl_lifecycle(void **state)
{
    fixture *f = *state;
    char *xml = mvt_guest_xml(&guest, "cli");
    assert_non_null(xml);
    mvt_vmctl_define(&f->env, NULL, "cli", xml);
    free(xml);
    static const mvt_vmctl_case steps[] = {
        {{"start", "cli"}, .out = "Domain 'cli' started\n\n"},
        {{"domstate", "cli", "--reason"}, .out = "running (booted)\n\n"},
        {{"suspend", "cli"}, .out = "Domain 'cli' suspended\n\n"},
        {{"domstate", "cli"}, .out = "paused\n\n"},
        {{"resume", "cli"}, .out = "Domain 'cli' resumed\n\n"},
        {{"reset", "cli"}, .out = "Domain 'cli' was reset\n\n"},
        {{"destroy", "cli"}, .out = "Domain 'cli' destroyed\n\n"},
        {{"domstate", "cli", "--reason"}, .out = "shut off (destroyed)\n\n"},
        {{"start", "cli", "--paused"}, .out = "Domain 'cli' started\n\n"},
        {{"domstate", "cli"}, .out = "paused\n\n"},
        {{"destroy", "cli"}, .out = "Domain 'cli' destroyed\n\n"},
        {{"start", "cli"}, .out = "Domain 'cli' started\n\n"},
        {{"start", "cli"}, .out = "\n", .err = "error: Domain is already active\n", .status = 1},
        {{"shutdown", "cli", "--mode", "acpi"}, .out = "Domain 'cli' is being shutdown\n\n"},
    };
    mvt_vmctl_cases(steps, sizeof(steps) / sizeof(steps[0]));
}

int main(int argc, char **argv)
{
    int rc = mvt_life_prepare(argc, argv, &guest, false);
    const struct CMUnitTest tests[] = {
        MVT_LIFE_TEST(test_boot_and_destroy), MVT_LIFE_TEST(test_suspend_resume),
        MVT_LIFE_TEST(test_start_paused),     MVT_LIFE_TEST(test_acpi_shutdown),
        MVT_LIFE_TEST(test_guest_poweroff),   MVT_LIFE_TEST(test_qemu_killed),
        MVT_LIFE_TEST(test_reset_reboot),     MVT_LIFE_TEST(test_transient),
        MVT_LIFE_TEST(test_vmctl_lifecycle),
    };
    return rc ? rc : cmocka_run_group_tests(tests, NULL, NULL);
}
