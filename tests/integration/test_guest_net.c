/* test_guest_net.c: a tiny guest's NIC carries traffic. The whole program runs in a
 * private network namespace (unshare -n), so the bridge, its address and the guests'
 * taps never touch the host's networking. Skipped (77) when not root, when namespaces
 * or bridges are unavailable, or when the tiny guest cannot be built. Needs iproute2's
 * /bin/ip (scripts/run installs it). */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "harness.h"
#include "harness_api.h"
#include "harness_guest.h"
#include "harness_life.h"

#define BRIDGE "mvtbr0"
#define BRIDGE_ADDR "10.77.0.1"
#define GUEST_ADDR "10.77.0.2/24"
/* How long the guest's 'net' command may take: ping waits up to 10 s for a reply. */
#define NET_MS 30000

static mvt_guest guest;

/* ---- the namespace's links (ioctls: nothing to install) -------------------------------- */

static int set_up(int sock, const char *name)
{
    struct ifreq ifr = {0};
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0)
        return -1;
    ifr.ifr_flags |= IFF_UP;
    return ioctl(sock, SIOCSIFFLAGS, &ifr);
}

static int set_addr(int sock, const char *name, unsigned long req, const char *addr)
{
    struct ifreq ifr = {0};
    struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    sin->sin_family = AF_INET;
    inet_pton(AF_INET, addr, &sin->sin_addr);
    return ioctl(sock, req, &ifr);
}

/* A private namespace with lo up and BRIDGE at BRIDGE_ADDR/24, up. 0, or 77 to skip. */
static int make_namespace(void)
{
    int sock, rc = 77;

    if (geteuid() != 0 || unshare(CLONE_NEWNET) < 0) {
        fprintf(stderr, "no private network namespace here: skipped\n");
        return 77;
    }
    if ((sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
        return 77;
    if (set_up(sock, "lo") < 0 || ioctl(sock, SIOCBRADDBR, BRIDGE) < 0)
        fprintf(stderr, "no bridge in the namespace (%s): skipped\n", strerror(errno));
    else if (set_addr(sock, BRIDGE, SIOCSIFADDR, BRIDGE_ADDR) < 0 ||
             set_addr(sock, BRIDGE, SIOCSIFNETMASK, "255.255.255.0") < 0 || set_up(sock, BRIDGE) < 0)
        fprintf(stderr, "cannot set up %s: %s\n", BRIDGE, strerror(errno));
    else
        rc = 0;
    close(sock);
    return rc;
}

/* Whether link `name` is up and enslaved to `master`, as iproute2 shows it (netlink sees
 * this namespace; /sys/class/net would still show the host's). */
static bool link_is(const char *name, const char *master)
{
    const char *argv[] = {"/bin/ip", "-o", "link", "show", "dev", name, NULL};
    char want[64];
    mvt_result r;
    bool ok;

    snprintf(want, sizeof(want), " master %s ", master);
    ok = mvt_run(&r, argv, NULL, 10000) == 0 && r.status == 0 && strstr(r.out, want) &&
         strstr(r.out, ",UP");
    if (!ok)
        fprintf(stderr, "ip link show dev %s: %s%s", name, r.out ? r.out : "", r.err ? r.err : "");
    mvt_result_free(&r);
    return ok;
}

/* The <target dev='...'/> of the live XML's first interface (malloc'd), or NULL. */
static char *live_tap(virDomainPtr dom)
{
    char *xml = virDomainGetXMLDesc(dom, 0), *nic, *at, *end, *dev = NULL;

    /* the interface's own target, not that of a device listed before it */
    if (xml && (nic = strstr(xml, "<interface ")) && (at = strstr(nic, "<target dev='")) &&
        (end = strchr(at + 13, '\'')))
        dev = strndup(at + 13, (size_t)(end - at - 13));
    free(xml);
    return dev;
}

/* ---- tests ------------------------------------------------------------------------------ */

/* <interface type='bridge'>: the daemon makes the guest's tap, enslaves it to the bridge
 * and brings it up; the guest's virtio NIC reaches the bridge's address (and an address
 * nobody has stays unanswered, so the check can fail); destroy takes the tap away. */
static void test_bridge(void **state)
{
    mvt_life *f = *state;
    char *pty = NULL;
    char *xml = mvt_life_guest_xml(&guest, "br", "</devices>",
                                   "<interface type='bridge'><source bridge='" BRIDGE "'/>"
                                   "<model type='virtio'/></interface>\n  </devices>");
    virDomainPtr dom = mvt_life_boot(f->conn, xml, &pty);
    char *tap = live_tap(dom);

    assert_non_null(tap);
    if (!link_is(tap, BRIDGE))
        fail_msg("tap '%s' is not up on %s", tap, BRIDGE);
    if (mvt_guest_send_expect(pty, "net " GUEST_ADDR " " BRIDGE_ADDR, "NET-OK " BRIDGE_ADDR,
                              NET_MS) < 0)
        fail_msg("the guest did not reach %s through %s", BRIDGE_ADDR, tap);
    assert_int_equal(mvt_guest_send_expect(pty, "net " GUEST_ADDR " 10.77.0.99",
                                           "NET-FAILED 10.77.0.99", NET_MS),
                     0);
    assert_int_equal(virDomainDestroy(dom), 0);
    if (if_nametoindex(tap))
        fail_msg("tap '%s' outlived its guest", tap);
    free(tap);
    free(pty);
    free(xml);
    virDomainFree(dom);
}

/* <interface type='user'>: QEMU's own network; the guest reaches its gateway. */
static void test_user(void **state)
{
    mvt_life *f = *state;
    char *pty = NULL;
    char *xml = mvt_life_guest_xml(&guest, "usr", "</devices>",
                                   "<interface type='user'><model type='virtio'/></interface>\n"
                                   "  </devices>");
    virDomainPtr dom = mvt_life_boot(f->conn, xml, &pty);

    if (mvt_guest_send_expect(pty, "net 10.0.2.15/24 10.0.2.2", "NET-OK 10.0.2.2", NET_MS) < 0)
        fail_msg("the guest did not reach QEMU's user-network gateway");
    assert_int_equal(virDomainDestroy(dom), 0);
    free(pty);
    free(xml);
    virDomainFree(dom);
}

int main(void)
{
    int rc = make_namespace();

    if (rc != 0 || mvt_guest_prepare(&guest) < 0)
        return 77;
    const struct CMUnitTest tests[] = {
        MVT_LIFE_TEST(test_bridge),
        MVT_LIFE_TEST(test_user),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
