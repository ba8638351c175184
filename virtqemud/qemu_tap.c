/* qemu_tap.c: tap devices for <interface type='bridge'> (and unnamed type='ethernet') —
 * created persistent, enslaved to the bridge before QEMU starts (QEMU then opens them by
 * name), deleted at stop. */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include "virtqemud/qemu_command.h"

/* Opens the tun device of ifname (creating it when absent). fd or -1 + err. */
static int tap_open(const char *ifname, mv_error *err)
{
    struct ifreq ifr;
    int fd;

    if (strlen(ifname) >= IFNAMSIZ) {
        mv_error_set(err, VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU,
                     "tap device name '%s' is longer than %d bytes", ifname, IFNAMSIZ - 1);
        return -1;
    }
    if ((fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC)) < 0) {
        mv_error_set_errno(err, errno, VIR_FROM_QEMU, "cannot open /dev/net/tun for '%s'", ifname);
        return -1;
    }
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        mv_error_set_errno(err, errno, VIR_FROM_QEMU, "cannot create tap device '%s'", ifname);
        close(fd);
        return -1;
    }
    return fd;
}

int qemu_tap_create(const char *ifname, const char *bridge, int mtu, mv_error *err)
{
    struct ifreq ifr;
    int fd = -1, sock = -1, ret = -1;
    unsigned int index;

    if ((fd = tap_open(ifname, err)) < 0)
        return -1;
    if (ioctl(fd, TUNSETPERSIST, 1) < 0) {
        mv_error_set_errno(err, errno, VIR_FROM_QEMU, "cannot make tap device '%s' persistent",
                           ifname);
        goto cleanup;
    }
    if ((sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0 ||
        !(index = if_nametoindex(ifname))) {
        mv_error_set_errno(err, errno, VIR_FROM_QEMU, "cannot set up tap device '%s'", ifname);
        goto cleanup;
    }
    if (mtu > 0) {
        memset(&ifr, 0, sizeof(ifr));
        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
        ifr.ifr_mtu = mtu;
        if (ioctl(sock, SIOCSIFMTU, &ifr) < 0) {
            mv_error_set_errno(err, errno, VIR_FROM_QEMU, "cannot set MTU %d on '%s'", mtu, ifname);
            goto cleanup;
        }
    }
    if (bridge) {
        memset(&ifr, 0, sizeof(ifr));
        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", bridge);
        ifr.ifr_ifindex = (int)index;
        if (ioctl(sock, SIOCBRADDIF, &ifr) < 0) {
            mv_error_set_errno(err, errno, VIR_FROM_QEMU,
                               "cannot add tap device '%s' to bridge '%s'", ifname, bridge);
            goto cleanup;
        }
    }
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
    if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0 ||
        (ifr.ifr_flags |= IFF_UP, ioctl(sock, SIOCSIFFLAGS, &ifr) < 0)) {
        mv_error_set_errno(err, errno, VIR_FROM_QEMU, "cannot bring up tap device '%s'", ifname);
        goto cleanup;
    }
    ret = 0;

cleanup:
    if (ret < 0 && fd >= 0)
        ioctl(fd, TUNSETPERSIST, 0);
    if (sock >= 0)
        close(sock);
    if (fd >= 0)
        close(fd);
    return ret;
}

int qemu_tap_delete(const char *ifname, mv_error *err)
{
    int fd;

    if (!if_nametoindex(ifname))
        return 0; /* already gone */
    if ((fd = tap_open(ifname, err)) < 0)
        return -1;
    if (ioctl(fd, TUNSETPERSIST, 0) < 0) {
        mv_error_set_errno(err, errno, VIR_FROM_QEMU, "cannot delete tap device '%s'", ifname);
        close(fd);
        return -1;
    }
    close(fd); /* the last close of a non-persistent tap removes it */
    return 0;
}

void qemu_command_cleanup_host(const mv_domain_def *live)
{
    for (size_t i = 0; live && i < live->nnets; i++) {
        const mv_domain_net *n = &live->nets[i];

        if (n->type && n->target_dev &&
            (strcmp(n->type, "bridge") == 0 ||
             (strcmp(n->type, "ethernet") == 0 && strncmp(n->target_dev, "mvtap", 5) == 0)))
            qemu_tap_delete(n->target_dev, NULL);
    }
}
