/* test_guest_config.c: what a guest's definition asks for, honoured on a real tiny guest
 * — virt-manager's devices (spice, its channel, USB redirection, sound, watchdog, qxl,
 * seclabel none) boot, displays get ports that vncdisplay reads, on_reboot='destroy'
 * ends the guest, on_crash is honoured for a pvpanic panic, autostart starts it once
 * per host boot, list shows ids. Skipped (77)
 * without the guest. */
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "harness.h"
#include "harness_api.h"
#include "harness_guest.h"
#include "harness_life.h"

static mvt_guest guest;

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

/* Defines guest_with(name, extra, tail) on f's connection; the test fails when it is
 * refused. */
static virDomainPtr define_with(mvt_life *f, const char *name, const char *extra, const char *tail)
{
    char *xml = guest_with(name, extra, tail);
    assert_non_null(xml);
    virDomainPtr dom = virDomainDefineXML(f->conn, xml);
    free(xml);
    if (!dom)
        fail_msg("define %s: %s", name, virGetLastErrorMessage());
    return dom;
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
    mvt_life *f = *state;
    char *xml = guest_with("vm", virt_manager_devices, "  <seclabel type='none' model='none'/>\n");
    assert_non_null(xml);
    assert_int_equal(mvt_write(&f->env, "vm.xml", xml), 0);
    virDomainPtr dom = virDomainDefineXML(f->conn, xml);
    free(xml);
    if (!dom)
        fail_msg("define: %s", virGetLastErrorMessage());
    mvt_life_start(dom, 0);
    char *pty = mvt_guest_pty(dom);
    assert_non_null(pty);
    assert_int_equal(mvt_guest_wait_marker(pty, MVT_LIFE_BOOT_MS), 0);
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

/* The defined tiny guest `name` with `from` replaced by `to` in its XML; NULL + the
 * define's error left for the caller when it is refused. */
static virDomainPtr define_subst(mvt_life *f, const char *name, const char *from, const char *to)
{
    char *xml = mvt_guest_xml(&guest, name);
    char *x2 = xml ? mvt_guest_subst(xml, from, to) : NULL;
    virDomainPtr dom = x2 ? virDomainDefineXML(f->conn, x2) : NULL;
    free(xml);
    free(x2);
    return dom;
}

/* How many threads of process pid have exactly `want` as Cpus_allowed_list; -1 when
 * one has something else (or /proc cannot be read). */
static int threads_allowed(pid_t pid, const char *want)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    struct dirent *de;
    int n = 0;
    while (d && n >= 0 && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char spath[400];
        snprintf(spath, sizeof(spath), "%s/%s/status", path, de->d_name);
        char *st = mvt_read_file(spath);
        const char *l = st ? strstr(st, "Cpus_allowed_list:") : NULL;
        char got[64] = "";
        if (l)
            sscanf(l, "Cpus_allowed_list: %63s", got);
        if (st && strcmp(got, want) != 0) {
            fprintf(stderr, "thread %s of %d may run on '%s', not '%s'\n", de->d_name, (int)pid,
                    got, want);
            n = -1;
        } else if (st) {
            n++;
        }
        free(st);
    }
    if (d)
        closedir(d);
    return d ? n : -1;
}

/* <vcpu cpuset='0'>: every thread of the guest's QEMU may run on host CPU 0 only. */
static void test_vcpu_cpuset(void **state)
{
    mvt_life *f = *state;
    virDomainPtr dom = define_subst(f, "pinned", "<vcpu>1</vcpu>", "<vcpu cpuset='0'>1</vcpu>");
    if (!dom)
        fail_msg("define: %s", virGetLastErrorMessage());
    mvt_life_start(dom, 0);
    pid_t qemu = mvt_guest_qemu_pid(&f->env, "pinned");
    assert_true(qemu > 0);
    /* QEMU runs a main thread, an RCU thread and a vCPU thread at least. */
    assert_true(threads_allowed(qemu, "0") >= 3);
    assert_int_equal(virDomainDestroy(dom), 0);
    virDomainFree(dom);
}

/* Defines the tiny guest `name` with `from` replaced by `to`, and checks that its start
 * fails naming `needle` and leaves it shut off with no QEMU behind. */
static void start_fails_naming(mvt_life *f, const char *name, const char *from, const char *to,
                               const char *needle)
{
    virDomainPtr dom = define_subst(f, name, from, to);
    if (!dom)
        fail_msg("define: %s", virGetLastErrorMessage());
    assert_int_equal(virDomainCreate(dom), -1);
    mvt_api_error err;
    mvt_api_error_take(&err);
    if (!strstr(err.message, needle))
        fail_msg("start of %s: %s", name, err.message);
    int s = -1, r = -1;
    assert_int_equal(virDomainGetState(dom, &s, &r, 0), 0);
    assert_int_equal(s, VIR_DOMAIN_SHUTOFF);
    assert_int_equal(mvt_guest_qemu_pid(&f->env, name), -1);
    virDomainFree(dom);
}

/* A cpuset that is not one is refused at define naming it; one naming CPUs the host
 * lacks fails the start naming it, and leaves no QEMU behind. */
static void test_vcpu_cpuset_invalid(void **state)
{
    mvt_life *f = *state;
    virDomainPtr dom = define_subst(f, "badset", "<vcpu>1</vcpu>", "<vcpu cpuset='0-x'>1</vcpu>");
    assert_null(dom);
    assert_non_null(strstr(virGetLastErrorMessage(), "'0-x'"));

    start_fails_naming(f, "nocpu", "<vcpu>1</vcpu>", "<vcpu cpuset='1000'>1</vcpu>",
                       "cpuset '1000'");
}

/* <os firmware='efi'> without <nvram>: the guest gets its own variable store under the
 * state folder, copied from OVMF's template, and the live XML names it. */
static void test_efi_nvram(void **state)
{
    mvt_life *f = *state;
    if (access("/usr/share/qemu/firmware/60-edk2-x86_64.json", R_OK) < 0)
        skip(); /* Debian's ovmf package is not installed */
    virDomainPtr dom = define_subst(f, "uefi", "<os>", "<os firmware='efi'>");
    if (!dom)
        fail_msg("define: %s", virGetLastErrorMessage());
    mvt_life_start(dom, 0);
    char *vars = mvt_path(&f->env, "var/lib/modvirt/qemu/nvram/uefi_VARS.fd");
    struct stat st;
    assert_int_equal(stat(vars, &st), 0);
    assert_true(st.st_size > 0);
    char *live = virDomainGetXMLDesc(dom, 0);
    assert_non_null(live);
    char want[512];
    snprintf(want, sizeof(want), ">%s</nvram>", vars);
    if (!strstr(live, want))
        fail_msg("the live XML does not name %s:\n%s", vars, live);
    free(live);
    /* Nor does the inactive XML of the running domain take the runtime value: it is the
     * definition the next boot starts from. */
    char *inactive = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE);
    assert_non_null(inactive);
    if (strstr(inactive, "<nvram"))
        fail_msg("the inactive XML of the running domain has the live <nvram>:\n%s", inactive);
    free(inactive);
    /* The definition on disk stays as written (libvirt 9.0 picks firmware at start). */
    char *file = mvt_path(&f->env, "etc/modvirt/qemu/uefi.xml");
    char *stored = mvt_read_file(file);
    assert_non_null(stored);
    assert_non_null(strstr(stored, "firmware='efi'"));
    assert_null(strstr(stored, "<nvram"));
    free(stored);
    free(file);
    assert_int_equal(virDomainDestroy(dom), 0);
    free(vars);
    virDomainFree(dom);
}

/* The VNC port of dom's live XML, or -1. */
static int vnc_port(virDomainPtr dom)
{
    char *xml = virDomainGetXMLDesc(dom, 0);
    const char *g = xml ? strstr(xml, "<graphics type='vnc' port='") : NULL;
    int port = -1;
    if (g)
        sscanf(g, "<graphics type='vnc' port='%d'", &port);
    free(xml);
    return port;
}

/* Connects to a VNC server on localhost:port and does the RFB 3.8 handshake up to the
 * security types it offers, written to types as type numbers ("2" for VNC
 * authentication, "1" for none). The socket, or -1. */
static int rfb_open(int port, char *types, size_t size)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    struct timeval tv = {10, 0};
    unsigned char version[12], count = 0, list[32];
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    types[0] = '\0';
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        recv(fd, version, sizeof(version), MSG_WAITALL) != (ssize_t)sizeof(version) ||
        memcmp(version, "RFB 003.008\n", 12) != 0 || write(fd, "RFB 003.008\n", 12) != 12 ||
        recv(fd, &count, 1, MSG_WAITALL) != 1 || count == 0 || count > sizeof(list) ||
        recv(fd, list, count, MSG_WAITALL) != count) {
        close(fd);
        return -1;
    }
    for (unsigned i = 0; i < count; i++)
        snprintf(types + strlen(types), size - strlen(types), "%s%u", i ? "," : "", list[i]);
    return fd;
}

/* RFB's VNC authentication with password on an open session: the server's 16-byte
 * challenge, DES-encrypted with the password (8 bytes, each bit-reversed) as the key —
 * done by `openssl enc` (its legacy provider has DES). The server's SecurityResult (0:
 * accepted), or -1 when the exchange failed. */
static int rfb_auth(mvt_life *f, int fd, const char *password)
{
    unsigned char type = 2, challenge[16], key[8] = {0}, result[4];
    char hex[17];
    for (size_t i = 0; i < 8 && password[i]; i++) {
        unsigned char b = (unsigned char)password[i], r = 0;
        for (int k = 0; k < 8; k++)
            r |= (unsigned char)(((b >> k) & 1) << (7 - k));
        key[i] = r;
    }
    for (size_t i = 0; i < 8; i++)
        snprintf(hex + 2 * i, 3, "%02x", key[i]);
    if (write(fd, &type, 1) != 1 || recv(fd, challenge, 16, MSG_WAITALL) != 16)
        return -1;
    char *in = mvt_path(&f->env, "challenge"), *out = mvt_path(&f->env, "response");
    FILE *fp = fopen(in, "wb");
    int rc = -1;
    if (fp && fwrite(challenge, 1, 16, fp) == 16 && fclose(fp) == 0) {
        fp = NULL;
        const char *argv[] = {
            "/usr/bin/openssl", "enc",    "-des-ecb",  "-nopad",  "-K", hex, "-in", in, "-out", out,
            "-provider",        "legacy", "-provider", "default", NULL};
        mvt_result r;
        if (mvt_run(&r, argv, NULL, 10000) == 0 && r.status == 0) {
            int rfd = open(out, O_RDONLY | O_CLOEXEC);
            unsigned char response[16];
            if (rfd >= 0 && read(rfd, response, 16) == 16 && write(fd, response, 16) == 16 &&
                recv(fd, result, 4, MSG_WAITALL) == 4)
                rc = (result[0] << 24) | (result[1] << 16) | (result[2] << 8) | result[3];
            if (rfd >= 0)
                close(rfd);
        } else {
            fprintf(stderr, "openssl enc -des-ecb: %s\n", r.err ? r.err : "did not run");
        }
        mvt_result_free(&r);
    }
    if (fp)
        fclose(fp);
    free(in);
    free(out);
    return rc;
}

/* Whether process pid's command line holds needle. */
static bool cmdline_has(pid_t pid, const char *needle)
{
    char path[64], buf[16384];
    snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
    if (fd >= 0)
        close(fd);
    for (ssize_t i = 0; i < n; i++)
        if (!buf[i])
            buf[i] = ' ';
    buf[n > 0 ? n : 0] = '\0';
    return strstr(buf, needle) != NULL;
}

/* A VNC password protects the display: QEMU gets it over QMP, not on its command line;
 * the server offers VNC authentication only; the XML shows the password only to
 * VIR_DOMAIN_XML_SECURE. Without a password the server offers no authentication. */
static void test_vnc_password(void **state)
{
    mvt_life *f = *state;
    /* name, graphics, the types offered, the result of logging in with sesame42 */
    static const struct {
        const char *name, *graphics, *types;
        int result;
    } cases[] = {
        {"locked",
         "    <graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'"
         " passwd='sesame42'/>\n",
         "2", 0},
        {"expired",
         "    <graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'"
         " passwd='sesame42' passwdValidTo='2001-01-01T00:00:00'/>\n",
         "2", 1},
        {"later",
         "    <graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'"
         " passwd='sesame42' passwdValidTo='2999-01-01T00:00:00' connected='keep'/>\n",
         "2", 0},
        {"open", "    <graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'/>\n", "1",
         -1},
    };
    if (access("/usr/bin/openssl", X_OK) < 0)
        skip(); /* nothing here computes RFB's DES response without it */
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        virDomainPtr dom = define_with(f, cases[i].name, cases[i].graphics, "");
        mvt_life_start(dom, 0);
        pid_t qemu = mvt_guest_qemu_pid(&f->env, cases[i].name);
        assert_true(qemu > 0);
        assert_false(cmdline_has(qemu, "sesame42"));
        int port = vnc_port(dom);
        assert_true(port >= 5900);
        char types[64];
        int fd = rfb_open(port, types, sizeof(types));
        if (fd < 0 || strcmp(types, cases[i].types) != 0)
            fail_msg("%s: the VNC server offers security types '%s', not '%s'", cases[i].name,
                     types, cases[i].types);
        if (cases[i].result >= 0) {
            int rc = rfb_auth(f, fd, "sesame42");
            if (rc != cases[i].result)
                fail_msg("%s: logging in with the password gave %d, not %d", cases[i].name, rc,
                         cases[i].result);
        }
        close(fd);
        /* A wrong password never gets in. */
        if (cases[i].result == 0) {
            fd = rfb_open(port, types, sizeof(types));
            assert_true(fd >= 0);
            assert_int_equal(rfb_auth(f, fd, "wrongpw1"), 1);
            close(fd);
        }
        char *plain = virDomainGetXMLDesc(dom, 0);
        char *secure = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_SECURE);
        char *inactive = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE);
        assert_non_null(plain);
        assert_non_null(secure);
        assert_non_null(inactive);
        assert_null(strstr(plain, "passwd="));
        assert_null(strstr(inactive, "passwd="));
        assert_int_equal(strstr(secure, "passwd='sesame42'") != NULL, cases[i].types[0] == '2');
        free(plain);
        free(secure);
        free(inactive);
        assert_int_equal(virDomainDestroy(dom), 0);
        virDomainFree(dom);
    }
}

/* A QMP client on a socket of its own (the daemon holds the guest's monitor). */
static int qmp_open(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct timeval tv = {10, 0};
    char buf[4096];
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    static const char caps[] = "{\"execute\":\"qmp_capabilities\"}\n";
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        recv(fd, buf, sizeof(buf), 0) <= 0 || /* the greeting */
        write(fd, caps, sizeof(caps) - 1) != (ssize_t)sizeof(caps) - 1) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* Sends query-balloon, then reads QMP lines (its reply, BALLOON_CHANGE events) until one
 * says "actual": want, up to timeout_ms. 0, or -1 with *last the last value seen. */
static int qmp_wait_balloon(int fd, long long want, int timeout_ms, long long *last)
{
    static const char q[] = "{\"execute\":\"query-balloon\"}\n";
    long long deadline = mvt_now_ms() + timeout_ms;
    char buf[8192];
    size_t len = 0;
    if (write(fd, q, sizeof(q) - 1) != (ssize_t)sizeof(q) - 1)
        return -1;
    while (mvt_now_ms() < deadline) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, (int)(deadline - mvt_now_ms())) <= 0)
            break;
        ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
        buf[len] = '\0';
        char *nl;
        while ((nl = strchr(buf, '\n'))) {
            const char *a = strstr(buf, "\"actual\":");
            if (a && a < nl) {
                *last = strtoll(a + strlen("\"actual\":"), NULL, 10);
                if (*last == want)
                    return 0;
            }
            len -= (size_t)(nl + 1 - buf);
            memmove(buf, nl + 1, len + 1);
        }
        if (len == sizeof(buf) - 1)
            len = 0; /* a line longer than any QMP answer here: drop it */
    }
    return -1;
}

/* The balloon's size in KiB, from the daemon's BALLOON_CHANGE events. */
static void on_balloon(virConnectPtr conn, virDomainPtr dom, unsigned long long actual,
                       void *opaque)
{
    (void)conn, (void)dom;
    *(unsigned long long *)opaque = actual;
}

static bool balloon_at_64(void *arg)
{
    return *(const unsigned long long *)arg == 64 * 1024;
}

/* <currentMemory> below <memory> with a virtio balloon: QEMU is told the target before
 * the guest runs, so the guest's balloon driver gives the rest back — QEMU's own count
 * (query-balloon, BALLOON_CHANGE on a second QMP socket) reaches 64 MiB — the daemon's
 * BALLOON_CHANGE event says so, and GetInfo reports 64 MiB used of 128. */
static void test_balloon(void **state)
{
    mvt_life *f = *state;
    char *qmp = mvt_path(&f->env, "qmp2.sock");
    char devices[512];
    snprintf(devices, sizeof(devices),
             "    <memballoon model='virtio'/>\n  </devices>\n"
             "  <qemu:commandline>\n"
             "    <qemu:arg value='-qmp'/>\n"
             "    <qemu:arg value='unix:%s,server=on,wait=off'/>\n"
             "  </qemu:commandline>\n",
             qmp);
    char *xml = mvt_guest_xml(&guest, "balloon");
    char *x1 = xml ? mvt_guest_subst(xml, "<currentMemory unit='MiB'>128</currentMemory>",
                                     "<currentMemory unit='MiB'>64</currentMemory>")
                   : NULL;
    char *x2 = x1 ? mvt_guest_subst(x1, "  </devices>\n", devices) : NULL;
    char *x3 = x2 ? mvt_guest_subst(x2, "<domain type='qemu'>",
                                    "<domain type='qemu' xmlns:qemu="
                                    "'http://libvirt.org/schemas/domain/qemu/1.0'>")
                  : NULL;
    assert_non_null(x3);
    virDomainPtr dom = virDomainDefineXML(f->conn, x3);
    free(xml);
    free(x1);
    free(x2);
    free(x3);
    if (!dom)
        fail_msg("define: %s", virGetLastErrorMessage());
    static unsigned long long told; /* static: the callback may outlive a failed test */
    told = 0;
    int cb = virConnectDomainEventRegisterAny(f->conn, dom, VIR_DOMAIN_EVENT_ID_BALLOON_CHANGE,
                                              VIR_DOMAIN_EVENT_CALLBACK(on_balloon), &told, NULL);
    assert_true(cb >= 0);
    mvt_life_start(dom, 0);
    int fd = qmp_open(qmp);
    assert_true(fd >= 0);
    long long actual = -1;
    if (qmp_wait_balloon(fd, 64LL << 20, MVT_LIFE_BOOT_MS, &actual) < 0)
        fail_msg("the guest's balloon stayed at %lld bytes, not %lld", actual, 64LL << 20);
    close(fd);
    /* QEMU sends BALLOON_CHANGE at most once a second: the daemon learns the last value
     * up to a second after QEMU's own count shows it */
    if (mvt_life_run_until(balloon_at_64, &told, 10000) < 0)
        fail_msg("the last BALLOON_CHANGE event said %llu KiB, not %d", told, 64 * 1024);
    assert_int_equal(virConnectDomainEventDeregisterAny(f->conn, cb), 0);
    virDomainInfo info;
    assert_int_equal(virDomainGetInfo(dom, &info), 0);
    assert_int_equal(info.maxMem, 128 * 1024);
    assert_int_equal(info.memory, 64 * 1024);
    assert_int_equal(virDomainDestroy(dom), 0);
    free(qmp);
    virDomainFree(dom);
}

/* The program process pid runs as (its argv[0]), malloc'd, or NULL. */
static char *argv0_of(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
    return mvt_read_file(path); /* NUL-separated: the first string is argv[0] */
}

/* Restarts virtqemud with `conf` as its virtqemud.conf (the next call starts it). */
static void restart_qemud(mvt_life *f, const char *conf)
{
    pid_t qemud = mvt_daemon_pid(&f->env, "virtqemud");
    assert_true(qemud > 0);
    assert_int_equal(mvt_write(&f->env, "etc/modvirt/virtqemud.conf", conf), 0);
    assert_int_equal(mvt_kill_wait(qemud, SIGTERM, 10000), 0);
}

/* Starts dom and checks the qemu it runs is `binary`, then destroys it. */
static void runs_binary(mvt_life *f, virDomainPtr dom, const char *binary)
{
    mvt_life_start(dom, 0);
    pid_t qemu = mvt_guest_qemu_pid(&f->env, virDomainGetName(dom));
    assert_true(qemu > 0);
    char *argv0 = argv0_of(qemu);
    assert_non_null(argv0);
    assert_string_equal(argv0, binary);
    free(argv0);
    assert_int_equal(virDomainDestroy(dom), 0);
}

/* <emulator>: a definition without one gets the configured binary (virtqemud.conf's
 * qemu_binary) written in at define, and runs it; one that names a binary runs that one
 * whatever is configured; a path that is not an executable is refused at define naming
 * it, and one that does not probe as a QEMU fails the start naming it. */
static void test_emulator(void **state)
{
    mvt_life *f = *state;
    /* A second QEMU binary at a path of its own: a hard link, else a copy (realpath
     * would see through a symbolic link), in a bin/ next to the host's lib/ and share/,
     * where a relocated QEMU looks for its modules and firmware (../lib, ../share). */
    char *bindir = mvt_path(&f->env, "bin"), *libdir = mvt_path(&f->env, "lib");
    char *sharedir = mvt_path(&f->env, "share"), *mine = mvt_path(&f->env, "bin/qemu-mine");
    assert_int_equal(mkdir(bindir, 0755), 0);
    assert_int_equal(symlink("/usr/lib", libdir), 0);
    assert_int_equal(symlink("/usr/share", sharedir), 0);
    free(bindir);
    free(libdir);
    free(sharedir);
    if (link("/usr/bin/qemu-system-x86_64", mine) < 0) {
        char *bin = mvt_read_file("/usr/bin/qemu-system-x86_64");
        FILE *fp = fopen(mine, "wb");
        struct stat st;
        assert_int_equal(stat("/usr/bin/qemu-system-x86_64", &st), 0);
        assert_non_null(bin);
        assert_non_null(fp);
        assert_int_equal(fwrite(bin, 1, (size_t)st.st_size, fp), (size_t)st.st_size);
        assert_int_equal(fclose(fp), 0);
        assert_int_equal(chmod(mine, 0755), 0);
        free(bin);
    }
    char conf[256];
    snprintf(conf, sizeof(conf), "qemu_binary = \"%s\"\n", mine);
    restart_qemud(f, conf);

    static const char line[] = "    <emulator>/usr/bin/qemu-system-x86_64</emulator>\n";
    virDomainPtr dom = define_subst(f, "deflt", line, "");
    if (!dom)
        fail_msg("define: %s", virGetLastErrorMessage());
    char want[256];
    snprintf(want, sizeof(want), "<emulator>%s</emulator>", mine);
    char *xml = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE);
    assert_non_null(xml);
    if (!strstr(xml, want))
        fail_msg("no %s in the definition:\n%s", want, xml);
    free(xml);
    runs_binary(f, dom, mine);
    virDomainFree(dom);

    dom = mvt_guest_define(f->conn, &guest, "named");
    assert_non_null(dom);
    runs_binary(f, dom, "/usr/bin/qemu-system-x86_64");
    virDomainFree(dom);

    dom = define_subst(f, "missing", "/usr/bin/qemu-system-x86_64", "/nonexistent/qemu-x");
    assert_null(dom);
    assert_non_null(strstr(virGetLastErrorMessage(), "/nonexistent/qemu-x"));
    start_fails_naming(f, "notqemu", "/usr/bin/qemu-system-x86_64", "/bin/true", "/bin/true");
    free(mine);
}

/* A SPICE password reaches QEMU the same way (set_password with protocol spice, and
 * what happens to connected clients); never on the command line. */
static void test_spice_password(void **state)
{
    mvt_life *f = *state;
    virDomainPtr dom = define_with(f, "spicy",
                                   "    <graphics type='spice' autoport='yes' passwd='sesame42'"
                                   " passwdValidTo='2999-01-01T00:00:00' connected='disconnect'>\n"
                                   "      <listen type='address' address='127.0.0.1'/>\n"
                                   "    </graphics>\n"
                                   "    <video><model type='qxl'/></video>\n",
                                   "");
    mvt_life_start(dom, 0);
    pid_t qemu = mvt_guest_qemu_pid(&f->env, "spicy");
    assert_true(qemu > 0);
    assert_false(cmdline_has(qemu, "sesame42"));
    assert_false(cmdline_has(qemu, "disable-ticketing"));
    assert_int_equal(virDomainDestroy(dom), 0);
    virDomainFree(dom);
}

/* The MAC of dom's first interface in its XML (flags), malloc'd, or NULL. */
static char *first_mac(virDomainPtr dom, unsigned int flags)
{
    char *xml = virDomainGetXMLDesc(dom, flags);
    const char *m = xml ? strstr(xml, "<mac address='") : NULL;
    char *mac = m ? strndup(m + strlen("<mac address='"), 17) : NULL;
    free(xml);
    return mac;
}

/* A persistent domain's interfaces get their MAC at define (libvirt's 52:54:00 prefix),
 * kept in the definition, so every boot uses the same one. */
static void test_define_mac(void **state)
{
    mvt_life *f = *state;
    virDomainPtr dom = define_with(
        f, "macs", "    <interface type='user'><model type='virtio'/></interface>\n", "");
    char *mac = first_mac(dom, VIR_DOMAIN_XML_INACTIVE);
    assert_non_null(mac);
    assert_int_equal(strncmp(mac, "52:54:00:", 9), 0);
    char *file = mvt_path(&f->env, "etc/modvirt/qemu/macs.xml");
    char *stored = mvt_read_file(file);
    assert_non_null(stored);
    assert_non_null(strstr(stored, mac));
    for (int boot = 0; boot < 2; boot++) {
        mvt_life_start(dom, 0);
        mvt_result r;
        assert_int_equal(mvt_vmctl(&r, "-q", "domiflist", "macs", NULL), 0);
        assert_int_equal(r.status, 0);
        if (!strstr(r.out, mac))
            fail_msg("boot %d: domiflist does not show %s:\n%s", boot, mac, r.out);
        mvt_result_free(&r);
        assert_int_equal(virDomainDestroy(dom), 0);
    }
    free(stored);
    free(file);
    free(mac);
    virDomainFree(dom);
}

/* SELinux and AppArmor labels are refused by name; DAC and none are taken. */
static void test_seclabels(void **state)
{
    mvt_life *f = *state;
    char *xml =
        guest_with("selinux", "", "  <seclabel type='dynamic' model='selinux' relabel='yes'/>\n");
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
    xml = guest_with("dac", "",
                     "  <seclabel type='static' model='dac' relabel='no'>\n"
                     "    <label>0:0</label>\n"
                     "  </seclabel>\n");
    assert_non_null(xml);
    dom = virDomainDefineXML(f->conn, xml);
    free(xml);
    if (!dom)
        fail_msg("dac: %s", virGetLastErrorMessage());
    mvt_life_start(dom, 0);
    assert_int_equal(virDomainDestroy(dom), 0);
    virDomainFree(dom);
}

/* on_reboot='destroy': a reboot the guest asks for ends it. */
static void test_on_reboot_destroy(void **state)
{
    mvt_life *f = *state;
    char *xml = mvt_life_guest_xml(&guest, "noreboot", "<on_reboot>restart</on_reboot>",
                                   "<on_reboot>destroy</on_reboot>");
    char *pty = NULL;
    virDomainPtr dom = mvt_life_boot(f->conn, xml, &pty);
    free(xml);
    assert_int_equal(mvt_guest_send(pty, "reboot"), 0);
    free(pty);
    mvt_life_wait_state(dom, VIR_DOMAIN_SHUTOFF, -1, 30000);
    virDomainFree(dom);
}

/* A guest that panics with a pvpanic device (<panic model='isa'/>): on_crash='destroy'
 * ends it as shut off (crashed), on_crash='preserve' keeps it as crashed (panicked). */
static void panic_case(mvt_life *f, const char *name, const char *on_crash, int state, int reason)
{
    char *xml = guest_with(name, "    <panic model='isa'/>\n", "");
    assert_non_null(xml);
    char tag[64];
    snprintf(tag, sizeof(tag), "<on_crash>%s</on_crash>", on_crash);
    assert_non_null(strstr(xml, "<on_crash>destroy</on_crash>"));
    char *x2 = mvt_guest_subst(xml, "<on_crash>destroy</on_crash>", tag);
    free(xml);
    assert_non_null(x2);
    char *pty = NULL;
    virDomainPtr dom = mvt_life_boot(f->conn, x2, &pty);
    free(x2);
    assert_int_equal(mvt_guest_send(pty, "panic"), 0);
    free(pty);
    mvt_life_wait_state(dom, state, reason, 30000);
    if (state != VIR_DOMAIN_SHUTOFF)
        assert_int_equal(virDomainDestroy(dom), 0);
    virDomainFree(dom);
}

static void test_panic(void **state)
{
    mvt_life *f = *state;
    panic_case(f, "crash1", "destroy", VIR_DOMAIN_SHUTOFF, VIR_DOMAIN_SHUTOFF_CRASHED);
    panic_case(f, "crash2", "preserve", VIR_DOMAIN_CRASHED, VIR_DOMAIN_CRASHED_PANICKED);
}

/* Autostart: once per host boot (the run folder's marker), when virtqemud starts. */
static void test_autostart(void **state)
{
    mvt_life *f = *state;
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
    if (mvt_guest_wait_state(dom, VIR_DOMAIN_RUNNING, VIR_DOMAIN_RUNNING_BOOTED, 30000, &s, &r) <
        0) {
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
    mvt_life *f = *state;
    virDomainPtr a = mvt_guest_define(f->conn, &guest, "alpha");
    virDomainPtr b = mvt_guest_define(f->conn, &guest, "beta");
    assert_non_null(a);
    assert_non_null(b);
    virDomainFree(b);
    mvt_life_start(a, 0);
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

int main(int argc, char **argv)
{
    int rc = mvt_life_prepare(argc, argv, &guest, true);
    const struct CMUnitTest tests[] = {
        MVT_LIFE_TEST(test_virt_manager_devices),
        MVT_LIFE_TEST(test_seclabels),
        MVT_LIFE_TEST(test_on_reboot_destroy),
        MVT_LIFE_TEST(test_panic),
        MVT_LIFE_TEST(test_autostart),
        MVT_LIFE_TEST(test_list_ids),
        MVT_LIFE_TEST(test_vcpu_cpuset),
        MVT_LIFE_TEST(test_vcpu_cpuset_invalid),
        MVT_LIFE_TEST(test_efi_nvram),
        MVT_LIFE_TEST(test_vnc_password),
        MVT_LIFE_TEST(test_spice_password),
        MVT_LIFE_TEST(test_balloon),
        MVT_LIFE_TEST(test_emulator),
        MVT_LIFE_TEST(test_define_mac),
    };
    return rc ? rc : cmocka_run_group_tests(tests, NULL, NULL);
}
