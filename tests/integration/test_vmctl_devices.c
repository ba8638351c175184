/* test_vmctl_devices.c: vmctl domiflist, domblklist and vncdisplay against the real
 * daemons, read from a defined domain's XML as virsh does — exact text and JSON; and
 * capabilities, domcapabilities, domxml-to-native. */
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
#include "harness_vmctl.h"

static const char devices_xml[] =
    "<domain type='qemu'>\n"
    "  <name>devs</name>\n"
    "  <memory unit='MiB'>64</memory>\n"
    "  <os><type arch='x86_64' machine='pc'>hvm</type></os>\n"
    "  <devices>\n"
    "    <emulator>/usr/bin/qemu-system-x86_64</emulator>\n"
    "    <disk type='file' device='disk'>\n"
    "      <driver name='qemu' type='qcow2'/>\n"
    "      <source file='/var/lib/images/devs.qcow2'/>\n"
    "      <target dev='vda' bus='virtio'/>\n"
    "    </disk>\n"
    "    <disk type='file' device='cdrom'>\n"
    "      <target dev='sda' bus='sata'/>\n"
    "      <readonly/>\n"
    "    </disk>\n"
    "    <interface type='network'>\n"
    "      <mac address='52:54:00:12:34:56'/>\n"
    "      <source network='default'/>\n"
    "      <model type='virtio'/>\n"
    "    </interface>\n"
    "    <interface type='user'>\n"
    "      <mac address='52:54:00:ab:cd:ef'/>\n"
    "      <model type='e1000'/>\n"
    "    </interface>\n"
    "    <graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'/>\n"
    "  </devices>\n"
    "</domain>\n";

static int setup(void **state)
{
    if (mvt_setup_state(state) < 0)
        return -1;
    mvt_env *e = *state;
    mvt_result r;
    char *path = mvt_path(e, "devs.xml");
    int rc = mvt_write(e, "devs.xml", devices_xml) == 0 && mvt_vmctl(&r, "define", path, NULL) == 0
                 ? r.status
                 : -1;
    if (rc != -1)
        mvt_result_free(&r);
    free(path);
    if (rc != 0) {
        mvt_teardown_state(state);
        return -1;
    }
    return 0;
}

static void test_domiflist(void **state)
{
    (void)state;
    mvt_result r;
    assert_int_equal(mvt_vmctl(&r, "domiflist", "devs", "--inactive", NULL), 0);
    mvt_expect(&r, 0,
               " Interface   Type      Source    Model    MAC\n"
               "-------------------------------------------------------------\n"
               " -           network   default   virtio   52:54:00:12:34:56\n"
               " -           user      -         e1000    52:54:00:ab:cd:ef\n"
               "\n",
               "");
    assert_int_equal(mvt_vmctl(&r, "--json", "domiflist", "devs", NULL), 0);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "\"mac\":\"52:54:00:ab:cd:ef\"") ?: strstr(r.out, "\"mac\": \"52:54:00:ab:cd:ef\""));
    assert_non_null(strstr(r.out, "null"));
    mvt_result_free(&r);
}

static void test_domblklist(void **state)
{
    (void)state;
    mvt_result r;
    assert_int_equal(mvt_vmctl(&r, "domblklist", "devs", NULL), 0);
    mvt_expect(&r, 0,
               " Target   Source\n"
               "--------------------------------------\n"
               " vda      /var/lib/images/devs.qcow2\n"
               " sda      -\n"
               "\n",
               "");
    assert_int_equal(mvt_vmctl(&r, "domblklist", "--details", "devs", NULL), 0);
    mvt_expect(&r, 0,
               " Type   Device   Target   Source\n"
               "------------------------------------------------------\n"
               " file   disk     vda      /var/lib/images/devs.qcow2\n"
               " file   cdrom    sda      -\n"
               "\n",
               "");
}

static void test_vncdisplay_inactive(void **state)
{
    (void)state;
    mvt_result r;
    assert_int_equal(mvt_vmctl(&r, "vncdisplay", "devs", NULL), 0);
    mvt_expect(&r, 1, "\n", "error: Domain is not running\n");
    assert_int_equal(mvt_vmctl(&r, "domiflist", "nosuch", NULL), 0);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "error: failed to get domain 'nosuch'\n"));
    mvt_result_free(&r);
}

/* capabilities, domcapabilities and domxml-to-native print what the driver answers. */
static void test_host_documents(void **state)
{
    mvt_env *e = *state;
    if (access("/usr/bin/qemu-system-x86_64", X_OK) < 0)
        skip();
    mvt_result r;
    assert_int_equal(mvt_vmctl(&r, "-q", "capabilities", NULL), 0);
    if (r.status != 0)
        fail_msg("capabilities: %s", r.err);
    assert_int_equal(strncmp(r.out, "<capabilities>", 14), 0);
    assert_non_null(strstr(r.out, "<arch>x86_64</arch>"));
    mvt_result_free(&r);
    assert_int_equal(mvt_vmctl(&r, "-q", "domcapabilities", "--virttype", "qemu", NULL), 0);
    if (r.status != 0)
        fail_msg("domcapabilities: %s", r.err);
    assert_non_null(strstr(r.out, "<domain>qemu</domain>"));
    mvt_result_free(&r);
    /* (the user-mode NIC only: type network waits for a network driver) */
    static const char native_xml[] =
        "<domain type='qemu'><name>nat</name><memory unit='MiB'>64</memory>"
        "<os><type arch='x86_64' machine='pc'>hvm</type></os><devices>"
        "<emulator>/usr/bin/qemu-system-x86_64</emulator>"
        "<interface type='user'><mac address='52:54:00:ab:cd:ef'/><model type='e1000'/>"
        "</interface></devices></domain>\n";
    assert_int_equal(mvt_write(e, "nat.xml", native_xml), 0);
    char *path = mvt_path(e, "nat.xml");
    assert_int_equal(mvt_vmctl(&r, "-q", "domxml-to-native", "qemu-argv", path, NULL), 0);
    if (r.status != 0)
        fail_msg("domxml-to-native: %s", r.err);
    assert_int_equal(strncmp(r.out, "/usr/bin/qemu-system-x86_64", 27), 0);
    assert_non_null(strstr(r.out, "52:54:00:ab:cd:ef"));
    mvt_result_free(&r);
    /* the same from a defined domain */
    assert_int_equal(mvt_vmctl(&r, "-q", "define", path, NULL), 0);
    mvt_result_free(&r);
    assert_int_equal(mvt_vmctl(&r, "-q", "domxml-to-native", "qemu-argv", "--domain", "nat",
                               NULL), 0);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "52:54:00:ab:cd:ef"));
    mvt_result_free(&r);
    assert_int_equal(mvt_vmctl(&r, "domxml-to-native", "qemu-argv", NULL), 0);
    mvt_expect(&r, 1, "\n", "error: Exactly one of --xml and --domain is required\n");
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_domiflist, setup, mvt_teardown_state),
        cmocka_unit_test_setup_teardown(test_domblklist, setup, mvt_teardown_state),
        cmocka_unit_test_setup_teardown(test_vncdisplay_inactive, setup, mvt_teardown_state),
        cmocka_unit_test_setup_teardown(test_host_documents, setup, mvt_teardown_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
