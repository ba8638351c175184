/* test_qemu_command.c: the QEMU command line builder — golden argv files
 * (tests/data/qemu/cmdline/NAME.xml -> NAME.args; MODVIRT_UPDATE_GOLDEN=1 rewrites them),
 * refusals that name what QEMU 7.2 cannot do, allocated display ports, and the
 * virt-install fixture starting for real under TCG when QEMU is installed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fixture_qemu_command.h"

#define DATA MODVIRT_SOURCE_DIR "/tests/data/qemu"
#define QEMU_BIN "/usr/bin/qemu-system-x86_64"

static mv_domain_def *parse_str(const char *xml)
{
    mv_error err = MV_ERROR_INIT;
    mv_domain_def *def = mv_domain_def_parse(xml, strlen(xml), 0, &err);

    if (!def)
        fail_msg("parse: %s", err.message);
    return def;
}

/* Builds a dry-run command for xml; NULL + err when refused. */
static char *build_str(const char *xml, bool kvm, mv_error *err)
{
    qemu_caps *caps = fx_recorded_caps(kvm);
    mv_domain_def *def = parse_str(xml);
    qemu_command *cmd = NULL;
    char *s = NULL;

    if (fx_build_dry(def, caps, &cmd, err) == 0)
        s = qemu_command_to_string(cmd);
    qemu_command_free(cmd);
    mv_domain_def_free(def);
    qemu_caps_unref(caps);
    return s;
}

/* xml_path NULL: tests/data/qemu/cmdline/NAME.xml. */
static void golden_of(const char *name, const char *xml_path)
{
    char path[512], *xml, *want, *got;
    mv_error err = MV_ERROR_INIT;

    snprintf(path, sizeof(path), DATA "/cmdline/%s.xml", name);
    assert_non_null(xml = fx_slurp(xml_path ? xml_path : path, NULL));
    got = build_str(xml, true, &err);
    if (!got)
        fail_msg("%s: %s", name, err.message);
    snprintf(path, sizeof(path), DATA "/cmdline/%s.args", name);
    if (getenv("MODVIRT_UPDATE_GOLDEN")) {
        FILE *f = fopen(path, "w");

        assert_non_null(f);
        fputs(got, f);
        fclose(f);
    }
    want = fx_slurp(path, NULL);
    if (!want || strcmp(want, got) != 0)
        fail_msg("%s differs from the golden file:\n%s", name, got);
    free(want);
    free(got);
    free(xml);
}

static void golden(const char *name)
{
    golden_of(name, NULL);
}

static void test_golden_kernel_serial(void **state)
{
    (void)state;
    golden("kernel-serial");
}

static void test_golden_q35_devices(void **state)
{
    (void)state;
    golden("q35-devices");
}

static void test_golden_pc_classic(void **state)
{
    (void)state;
    golden("pc-classic");
}

/* Exactly what virt-install writes for a Debian guest (type kvm; built here with KVM
 * reported usable, so the golden file does not depend on the host). */
static void test_golden_virt_install(void **state)
{
    const char *corpus = getenv("MODVIRT_CORPUS");
    char path[512];

    (void)state;
    snprintf(path, sizeof(path), "%s/../fixtures/virt-install-debian11.xml",
             corpus ? corpus : MODVIRT_CORPUS_DEFAULT);
    if (access(path, R_OK) != 0)
        skip();
    golden_of("virt-install-debian11", path);
}

#define DOM_HEAD "<domain type='%s'><name>r</name><memory>65536</memory><os><type>hvm</type></os>"

/* Refusals name what is refused. */
static void refused(const char *type, const char *inner, const char *needle)
{
    char xml[4096];
    mv_error err = MV_ERROR_INIT;
    char *s;

    snprintf(xml, sizeof(xml), DOM_HEAD "%s</domain>", type, inner);
    s = build_str(xml, false, &err);
    if (s)
        fail_msg("accepted: %s\n%s", inner, s);
    assert_int_equal(err.code, VIR_ERR_CONFIG_UNSUPPORTED);
    if (!strstr(err.message, needle))
        fail_msg("'%s' does not name '%s'", err.message, needle);
    mv_error_clear(&err);
}

static void test_refusals(void **state)
{
    (void)state;
    refused("kvm", "", "KVM");
    refused("qemu", "<seclabel type='dynamic' model='selinux'/>", "selinux");
    refused("qemu", "<seclabel type='dynamic' model='apparmor'/>", "apparmor");
    refused("qemu",
            "<devices><interface type='network'><source network='default'/></interface>"
            "</devices>",
            "network");
    refused("qemu",
            "<devices><disk type='file'><source file='/a'/><target dev='vda' bus='virtio'/>"
            "<iotune><total_bytes_sec>1</total_bytes_sec></iotune></disk></devices>",
            "iotune");
    refused("qemu", "<devices><video><model type='xen'/></video></devices>", "xen");
    refused("qemu", "<devices><serial type='stdio'/></devices>", "stdio");
    refused("qemu", "<devices><watchdog model='diag288'/></devices>", "diag288");
    refused("qemu",
            "<devices><interface type='user'><model type='nosuchnic'/></interface>"
            "</devices>",
            "nosuchnic");
    refused("qemu", "<clock offset='timezone' timezone='Europe/Paris'/>", "timezone");
    refused("qemu", "<features><async-teardown enabled='yes'/></features>", "async-teardown");
    refused("qemu",
            "<cpu mode='custom'><model>Icelake-Server</model>"
            "<feature policy='disable' name='pconfig'/></cpu>",
            "pconfig");
}

static void test_machine_refusal(void **state)
{
    mv_error err = MV_ERROR_INIT;
    const char *xml = "<domain type='qemu'><name>m</name><memory>65536</memory>"
                      "<os><type machine='virt'>hvm</type></os></domain>";

    (void)state;
    assert_null(build_str(xml, false, &err));
    assert_non_null(strstr(err.message, "'virt'"));
    mv_error_clear(&err);
}

/* KVM when usable; host-passthrough under TCG becomes "max". */
static void test_accel(void **state)
{
    mv_error err = MV_ERROR_INIT;
    const char *kvm = "<domain type='kvm'><name>k</name><memory>65536</memory>"
                      "<os><type>hvm</type></os><cpu mode='host-passthrough'/></domain>";
    const char *tcg = "<domain type='qemu'><name>k</name><memory>65536</memory>"
                      "<os><type>hvm</type></os><cpu mode='host-passthrough'/></domain>";
    char *s;

    (void)state;
    assert_non_null(s = build_str(kvm, true, &err));
    assert_non_null(strstr(s, "-accel kvm"));
    assert_non_null(strstr(s, "-cpu host"));
    free(s);
    assert_non_null(s = build_str(tcg, true, &err));
    assert_non_null(strstr(s, "-accel tcg"));
    assert_non_null(strstr(s, "-cpu max"));
    free(s);
}

/* memoryBacking: the backend of the guest's RAM (or of each NUMA cell) as libvirt
 * would ask QEMU for it. */
static void test_memory_backing(void **state)
{
    mv_error err = MV_ERROR_INIT;
    char *s;

    (void)state;
    assert_non_null(s = build_str("<domain type='qemu'><name>m</name><memory>1048576</memory>"
                                  "<memoryBacking><source type='memfd'/><access mode='shared'/>"
                                  "<allocation mode='immediate'/></memoryBacking>"
                                  "<os><type>hvm</type></os></domain>",
                                  false, &err));
    assert_non_null(strstr(s, "-object memory-backend-memfd,id=pc.ram,share=on,prealloc=on,"
                              "size=1073741824"));
    assert_non_null(strstr(s, "-machine memory-backend=pc.ram"));
    free(s);
    assert_non_null(s = build_str("<domain type='qemu'><name>m</name><memory>1000</memory>"
                                  "<memoryBacking><source type='file'/></memoryBacking>"
                                  "<cpu><numa><cell id='0' cpus='0' memory='1000'/></numa></cpu>"
                                  "<os><type>hvm</type></os></domain>",
                                  false, &err));
    /* Cells are aligned to MiB, and -m is their sum. */
    assert_non_null(strstr(s, "-m size=1024k"));
    assert_non_null(strstr(s, "-object memory-backend-file,id=ram-node0,mem-path=/run/g1,"
                              "size=1048576"));
    assert_non_null(strstr(s, "-numa node,nodeid=0,cpus=0,memdev=ram-node0"));
    assert_null(strstr(s, "memory-backend=pc.ram"));
    free(s);
    assert_non_null(s = build_str("<domain type='qemu'><name>m</name><memory>1048576</memory>"
                                  "<memoryBacking><hugepages/></memoryBacking>"
                                  "<os><type>hvm</type></os></domain>",
                                  false, &err));
    assert_non_null(strstr(s, "-object memory-backend-file,id=pc.ram,mem-path="));
    assert_non_null(strstr(s, ",prealloc=on,size=1073741824"));
    free(s);
    refused("qemu", "<memoryBacking><discard/></memoryBacking>", "discard");
}

/* <os firmware='efi'>: the host's UEFI build by its descriptors, the guest's variable
 * store in nvram_dir (copied once from the template), Secure Boot with SMM. */
static void test_firmware_efi(void **state)
{
    const char *plain = "<domain type='qemu'><name>u</name><memory>65536</memory>"
                        "<os firmware='efi'><type machine='q35'>hvm</type><firmware>"
                        "<feature enabled='no' name='secure-boot'/></firmware></os></domain>";
    const char *secure = "<domain type='qemu'><name>u</name><memory>65536</memory>"
                         "<os firmware='efi'><type machine='q35'>hvm</type><firmware>"
                         "<feature enabled='yes' name='secure-boot'/>"
                         "<feature enabled='yes' name='enrolled-keys'/></firmware></os>"
                         "<features><acpi/></features></domain>";
    char dir[64], nvram[128], tmpl[128];
    qemu_caps *caps = fx_recorded_caps(false);
    mv_domain_def *def;
    qemu_command *cmd = NULL;
    mv_error err = MV_ERROR_INIT;
    char *s;
    FILE *f;

    (void)state;
    if (access("/usr/share/qemu/firmware", R_OK) != 0)
        skip();
    snprintf(dir, sizeof(dir), "/tmp/mvfw.XXXXXX");
    assert_non_null(mkdtemp(dir));
    {
        qemu_command_params p = {caps, "/run/mon.sock",      1,  "/run/g1",
                                 NULL, QEMU_COMMAND_DRY_RUN, dir};

        def = parse_str(plain);
        if (qemu_command_build(def, &p, &cmd, &err) < 0)
            fail_msg("%s", err.message);
        s = qemu_command_to_string(cmd);
        assert_non_null(strstr(s, "-drive if=pflash,format=raw,unit=0,file=/usr/share/OVMF/"));
        assert_non_null(strstr(s, ",readonly=on"));
        snprintf(nvram, sizeof(nvram), "unit=1,file=%s/u_VARS.fd", dir);
        assert_non_null(strstr(s, nvram));
        assert_null(strstr(s, "smm=on"));
        /* The live XML names what was picked. */
        assert_non_null(def->os.loader);
        assert_string_equal(def->os.loader_type, "pflash");
        assert_non_null(def->os.nvram_template);
        free(s);
        qemu_command_free(cmd);
        mv_domain_def_free(def);

        def = parse_str(secure);
        assert_int_equal(qemu_command_build(def, &p, &cmd, &err), 0);
        s = qemu_command_to_string(cmd);
        assert_non_null(strstr(s, "-machine smm=on"));
        assert_non_null(strstr(s, "driver=cfi.pflash01,property=secure,value=on"));
        assert_int_equal(def->os.loader_secure, MV_TRISTATE_YES);
        free(s);
        qemu_command_free(cmd);
        mv_domain_def_free(def);
    }
    /* The store is made once and then kept: it holds the guest's UEFI settings. */
    snprintf(tmpl, sizeof(tmpl), "%s/template", dir);
    snprintf(nvram, sizeof(nvram), "%s/sub/g_VARS.fd", dir);
    f = fopen(tmpl, "w");
    fputs("vars", f);
    fclose(f);
    assert_int_equal(qemu_firmware_copy_vars(tmpl, nvram, &err), 0);
    f = fopen(nvram, "a");
    fputs("+changed", f);
    fclose(f);
    assert_int_equal(qemu_firmware_copy_vars(tmpl, nvram, &err), 0);
    s = fx_slurp(nvram, NULL);
    assert_string_equal(s, "vars+changed");
    free(s);
    unlink(nvram);
    snprintf(nvram, sizeof(nvram), "%s/sub", dir);
    rmdir(nvram);
    unlink(tmpl);
    rmdir(dir);
    qemu_caps_unref(caps);
}

/* <vcpu cpuset>: parsed as libvirt writes it, refused unless the caller applies it, and
 * applied to every thread of a process. */
static void test_affinity(void **state)
{
    const char *xml = "<domain type='qemu'><name>a</name><memory>65536</memory>"
                      "<vcpu cpuset='0'>1</vcpu><os><type>hvm</type></os></domain>";
    mv_error err = MV_ERROR_INIT;
    qemu_caps *caps = fx_recorded_caps(false);
    qemu_ports *ports = qemu_ports_new(47500, 47509, &err);
    mv_domain_def *def = parse_str(xml);
    qemu_command_params p = {caps, "/run/mon.sock", 1, "/run/g1", ports, 0, NULL};
    qemu_command *cmd = NULL;
    cpu_set_t set;
    pid_t pid;
    int status;

    (void)state;
    assert_int_equal(qemu_cpuset_parse("0-3,8,^2", &set, &err), 0);
    assert_true(CPU_ISSET(0, &set) && CPU_ISSET(3, &set) && CPU_ISSET(8, &set));
    assert_false(CPU_ISSET(2, &set) || CPU_ISSET(4, &set));
    assert_int_equal(qemu_cpuset_parse("0-x", &set, &err), -1);
    mv_error_clear(&err);
    assert_int_equal(qemu_cpuset_parse("^0", &set, &err), -1);
    mv_error_clear(&err);
    /* Not silently dropped: a caller that does not pin cannot run it. */
    assert_int_equal(qemu_command_build(def, &p, &cmd, &err), -1);
    assert_non_null(strstr(err.message, "cpuset"));
    mv_error_clear(&err);
    p.flags = QEMU_COMMAND_APPLIES_AFFINITY;
    assert_int_equal(qemu_command_build(def, &p, &cmd, &err), 0);
    /* A child that waits to be told to exit stands in for QEMU. */
    if ((pid = fork()) == 0) {
        pause();
        _exit(0);
    }
    assert_int_equal(qemu_command_apply_affinity(def, pid, &err), 0);
    assert_int_equal(sched_getaffinity(pid, sizeof(set), &set), 0);
    assert_int_equal(CPU_COUNT(&set), 1);
    assert_true(CPU_ISSET(0, &set));
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    qemu_command_free(cmd);
    mv_domain_def_free(def);
    qemu_ports_free(ports);
    qemu_caps_unref(caps);
}

/* Autoport displays take ports from the allocator, write them into the live
 * definition, and give them back on release; a failed build leaks none. */
static void test_autoport(void **state)
{
    const char *xml = "<domain type='qemu'><name>v</name><memory>65536</memory>"
                      "<os><type>hvm</type></os><devices>"
                      "<graphics type='vnc' autoport='yes'/>"
                      "<graphics type='spice' autoport='yes'/></devices></domain>";
    const char *bad = "<domain type='qemu'><name>v</name><memory>65536</memory>"
                      "<os><type>hvm</type></os><devices>"
                      "<graphics type='vnc' autoport='yes'/>"
                      "<video><model type='xen'/></video></devices></domain>";
    mv_error err = MV_ERROR_INIT;
    qemu_caps *caps = fx_recorded_caps(false);
    qemu_ports *ports = qemu_ports_new(47300, 47309, &err);
    mv_domain_def *def = parse_str(xml), *def2 = parse_str(bad);
    qemu_command_params p = {caps, "/run/mon.sock", 3, "/run/g3", ports, 0, NULL};
    qemu_command *cmd = NULL, *cmd2 = NULL;
    char *s;

    (void)state;
    assert_int_equal(qemu_command_build(def, &p, &cmd, &err), 0);
    assert_int_equal(cmd->nports, 2);
    assert_int_equal(def->graphics[0].port, 47300);
    assert_int_equal(def->graphics[1].port, 47301);
    /* The live definition names the machine QEMU runs. */
    assert_string_equal(def->os.machine, "pc-i440fx-7.2");
    s = qemu_command_to_string(cmd);
    assert_non_null(strstr(s, "-vnc 127.0.0.1:41400"));
    assert_non_null(strstr(s, "port=47301"));
    free(s);
    assert_int_equal(qemu_command_build(def2, &p, &cmd2, &err), -1);
    mv_error_clear(&err);
    /* The failed build gave 47302 back. */
    assert_int_equal(qemu_ports_acquire(ports, &err), 47302);
    qemu_ports_release(ports, 47302);
    qemu_command_release_ports(cmd);
    assert_int_equal(qemu_ports_acquire(ports, &err), 47300);
    qemu_command_free(cmd);
    mv_domain_def_free(def);
    mv_domain_def_free(def2);
    qemu_ports_free(ports);
    qemu_caps_unref(caps);
}

/* Pty chardevs are reported with the device they belong to; qemu:commandline comes
 * last and qemu:env in env. */
static void test_ptys_and_passthrough(void **state)
{
    const char *xml = "<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>"
                      "<name>p</name><memory>65536</memory><os><type>hvm</type></os><devices>"
                      "<serial type='pty'/><console type='pty'><target type='virtio'/></console>"
                      "</devices><qemu:commandline><qemu:arg value='-trace'/><qemu:arg value='x'/>"
                      "<qemu:env name='A' value='b c'/></qemu:commandline></domain>";
    mv_error err = MV_ERROR_INIT;
    qemu_caps *caps = fx_recorded_caps(false);
    mv_domain_def *def = parse_str(xml);
    qemu_command *cmd = NULL;
    size_t n = 0, found = 0;
    char *s;

    (void)state;
    assert_int_equal(fx_build_dry(def, caps, &cmd, &err), 0);
    assert_int_equal(cmd->nptys, 2);
    assert_string_equal(cmd->ptys[0].chardev_id, "charserial0");
    assert_int_equal(cmd->ptys[0].kind, QEMU_CHR_SERIAL);
    assert_string_equal(cmd->ptys[1].chardev_id, "charconsole0");
    assert_int_equal(cmd->ptys[1].kind, QEMU_CHR_CONSOLE);
    while (cmd->argv[n])
        n++;
    assert_string_equal(cmd->argv[n - 2], "-trace");
    assert_string_equal(cmd->argv[n - 1], "x");
    assert_string_equal(cmd->env[0], "A=b c");
    assert_null(cmd->env[1]);
    for (size_t i = 0; i < n; i++)
        if (strcmp(cmd->argv[i], "-S") == 0 || strcmp(cmd->argv[i], "-nodefaults") == 0 ||
            strcmp(cmd->argv[i], "-no-user-config") == 0)
            found++;
    assert_int_equal(found, 3);
    s = qemu_command_to_string(cmd);
    assert_non_null(strstr(s, "A='b c' \\\n"));
    free(s);
    qemu_command_free(cmd);
    mv_domain_def_free(def);
    qemu_caps_unref(caps);
}

/* Runs `ip -o link show DEV` and tells whether its output holds `needle`. */
static bool ip_link_has(const char *dev, const char *needle)
{
    int fds[2];
    char buf[4096] = "";
    size_t len = 0;
    ssize_t n;
    pid_t pid;
    int status;

    if (pipe(fds) < 0)
        return false;
    if ((pid = fork()) == 0) {
        char *argv[] = {"ip", "-o", "link", "show", (char *)dev, NULL};

        dup2(fds[1], 1);
        execvp("ip", argv);
        _exit(127);
    }
    close(fds[1]);
    while (len < sizeof(buf) - 1 && (n = read(fds[0], buf + len, sizeof(buf) - 1 - len)) > 0)
        len += (size_t)n;
    close(fds[0]);
    waitpid(pid, &status, 0);
    return strstr(buf, needle) != NULL;
}

/* In a private network namespace: a bridge interface gets a tap named after the domain
 * id, enslaved to the bridge and up; a failed build and cleanup_host remove it. Exit
 * codes: 0 ok, 77 no namespaces here, other: the step that failed. */
static int bridge_child(void)
{
    const char *xml = "<domain type='qemu'><name>b</name><memory>65536</memory>"
                      "<os><type>hvm</type></os><devices><interface type='bridge'>"
                      "<source bridge='mvbr0'/><mac address='52:54:00:01:02:03'/>"
                      "<model type='virtio'/></interface>%s</devices></domain>";
    char text[1024];
    qemu_caps *caps = fx_recorded_caps(false);
    qemu_ports *ports = qemu_ports_new(47400, 47409, NULL);
    qemu_command_params p = {caps, "/run/mon.sock", 5, "/run/g5", ports, 0, NULL};
    qemu_command *cmd = NULL;
    mv_domain_def *def;
    struct ifreq ifr;
    int sock;

    if (unshare(CLONE_NEWNET) < 0)
        return 77;
    sock = socket(AF_INET, SOCK_DGRAM, 0);
    if (ioctl(sock, SIOCBRADDBR, "mvbr0") < 0)
        return 77; /* no bridge module */
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "mvbr0");
    snprintf(text, sizeof(text), xml, "");
    def = mv_domain_def_parse(text, strlen(text), 0, NULL);
    if (!def || qemu_command_build(def, &p, &cmd, NULL) < 0)
        return 1;
    if (strcmp(def->nets[0].target_dev, "mvtap5n0") != 0 || !if_nametoindex("mvtap5n0"))
        return 2;
    if (!ip_link_has("mvtap5n0", "master mvbr0") || !ip_link_has("mvtap5n0", "UP"))
        return 3;
    {
        char *s = qemu_command_to_string(cmd);
        bool ok = strstr(s, "-netdev tap,id=hostnet0,ifname=mvtap5n0,script=no,downscript=no");

        free(s);
        if (!ok)
            return 4;
    }
    qemu_command_cleanup_host(def);
    if (if_nametoindex("mvtap5n0"))
        return 5;
    qemu_command_free(cmd);
    mv_domain_def_free(def);
    /* A build that fails after the tap was made takes it away again. */
    snprintf(text, sizeof(text), xml, "<video><model type='xen'/></video>");
    def = mv_domain_def_parse(text, strlen(text), 0, NULL);
    if (!def || qemu_command_build(def, &p, &cmd, NULL) == 0)
        return 6;
    if (if_nametoindex("mvtap5n0"))
        return 7;
    mv_domain_def_free(def);
    qemu_ports_free(ports);
    qemu_caps_unref(caps);
    close(sock);
    return 0;
}

static void test_bridge_tap(void **state)
{
    pid_t pid;
    int status;

    (void)state;
    if (geteuid() != 0)
        skip();
    if ((pid = fork()) == 0)
        _exit(bridge_child());
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) == 77)
        skip();
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* Sends one QMP command on fd and waits for a line holding `want`. */
static bool qmp_expect(int fd, const char *cmd, const char *want)
{
    char buf[65536];
    size_t len = 0;

    if (cmd && write(fd, cmd, strlen(cmd)) < 0)
        return false;
    for (;;) {
        struct pollfd pfd = {fd, POLLIN, 0};
        ssize_t n;

        if (poll(&pfd, 1, 20000) <= 0)
            return false;
        if ((n = read(fd, buf + len, sizeof(buf) - 1 - len)) <= 0)
            return false;
        len += (size_t)n;
        buf[len] = '\0';
        if (strstr(buf, want))
            return true;
        if (len > sizeof(buf) - 2)
            len = 0;
    }
}

/* The virt-install fixture as type qemu starts for real: QEMU accepts every argument,
 * answers QMP, and runs the guest after "cont". */
static void test_virt_install_fixture_runs(void **state)
{
    char *xml, dir[64], mon[96];
    mv_error err = MV_ERROR_INIT;
    qemu_caps *caps;
    mv_domain_def *def;
    qemu_ports *ports;
    qemu_command *cmd = NULL;
    pid_t pid;
    int fd = -1, status;
    struct sockaddr_un sa;
    const char *corpus_env = getenv("MODVIRT_CORPUS");
    char path[512];

    (void)state;
    snprintf(path, sizeof(path), "%s/../fixtures/virt-install-debian11.xml",
             corpus_env ? corpus_env : MODVIRT_CORPUS_DEFAULT);
    if (access(QEMU_BIN, X_OK) != 0 || !(xml = fx_slurp(path, NULL)))
        skip();
    snprintf(dir, sizeof(dir), "/tmp/mvcmd.XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(mon, sizeof(mon), "%s/mon.sock", dir);
    assert_non_null(caps = qemu_caps_get(QEMU_BIN, NULL, &err));
    def = parse_str(xml);
    def->virt_type = "qemu";
    assert_non_null(ports = qemu_ports_new(QEMU_VNC_PORT_MIN + 3000, QEMU_VNC_PORT_MAX, &err));
    {
        qemu_command_params p = {caps, mon, 1, dir, ports, 0, NULL};

        if (qemu_command_build(def, &p, &cmd, &err) < 0)
            fail_msg("%s", err.message);
    }
    if ((pid = fork()) == 0) {
        int null = open("/dev/null", O_RDWR);

        dup2(null, 0);
        dup2(null, 1);
        execv(cmd->argv[0], cmd->argv);
        _exit(127);
    }
    /* The monitor socket appears once QEMU has parsed its whole command line. */
    for (int i = 0; i < 200; i++) {
        memset(&sa, 0, sizeof(sa));
        sa.sun_family = AF_UNIX;
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", mon);
        fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
            break;
        close(fd);
        fd = -1;
        if (waitpid(pid, &status, WNOHANG) == pid)
            fail_msg("qemu exited (status %d) before its monitor appeared", status);
        {
            struct timespec ts = {0, 50 * 1000 * 1000};

            /* No event to wait on for a socket another process creates. */
            nanosleep(&ts, NULL);
        }
    }
    assert_true(fd >= 0);
    assert_true(qmp_expect(fd, NULL, "\"QMP\""));
    assert_true(qmp_expect(fd, "{\"execute\":\"qmp_capabilities\"}\n", "return"));
    assert_true(qmp_expect(fd, "{\"execute\":\"cont\"}\n", "return"));
    assert_true(qmp_expect(fd, "{\"execute\":\"query-status\"}\n", "\"running\""));
    assert_true(qmp_expect(fd, "{\"execute\":\"quit\"}\n", "return"));
    close(fd);
    waitpid(pid, &status, 0);
    qemu_command_release_ports(cmd);
    qemu_command_free(cmd);
    mv_domain_def_free(def);
    qemu_ports_free(ports);
    qemu_caps_unref(caps);
    qemu_caps_cache_clear();
    free(xml);
    fx_remove_tree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_kernel_serial),
        cmocka_unit_test(test_golden_q35_devices),
        cmocka_unit_test(test_golden_pc_classic),
        cmocka_unit_test(test_golden_virt_install),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_machine_refusal),
        cmocka_unit_test(test_accel),
        cmocka_unit_test(test_memory_backing),
        cmocka_unit_test(test_firmware_efi),
        cmocka_unit_test(test_affinity),
        cmocka_unit_test(test_autoport),
        cmocka_unit_test(test_ptys_and_passthrough),
        cmocka_unit_test(test_bridge_tap),
        cmocka_unit_test(test_virt_install_fixture_runs),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
