/* qemu_command_devices.c: <devices> as QEMU 7.2 -device/-netdev arguments — controllers,
 * NICs, inputs, displays, video, sound, watchdog, balloon, rng, USB redirection, hubs,
 * panic, IOMMU, vsock; disks and filesystems are in qemu_command_disk.c. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include "virtqemud/qemu_command_internal.h"
#include "common/str.h"

#define ADDR_LEN 128

/* The second of the {name, value} pair whose first is key; NULL when none is. */
static const char *lookup(const char *const (*map)[2], size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (mv_streq(key, map[i][0]))
            return map[i][1];
    return NULL;
}
#define LOOKUP(map, key) lookup(map, sizeof(map) / sizeof(map[0]), key)

/* Appends printf-style to the string in buf (size bytes), cutting at the end. */
static void __attribute__((format(printf, 3, 4)))
append(char *buf, size_t size, const char *fmt, ...)
{
    size_t len = strlen(buf);
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf + len, size - len, fmt, ap);
    va_end(ap);
}

/* ---- models as QEMU devices: {libvirt's model, QEMU's device} ---------------------------- */

/* PCI controllers; the implicit roots have none. */
static const char *const pci_devices[][2] = {
    {"pci-bridge", "pci-bridge"},
    {"dmi-to-pci-bridge", "i82801b11-bridge"},
    {"pcie-root-port", "pcie-root-port"},
    {"pcie-switch-upstream-port", "x3130-upstream"},
    {"pcie-switch-downstream-port", "xio3130-downstream"},
    {"pci-expander-bus", "pxb"},
    {"pcie-expander-bus", "pxb-pcie"},
    {"pcie-to-pci-bridge", "pcie-pci-bridge"},
};

/* USB controllers (no model: the machine's default, see controller()). */
static const char *const usb_devices[][2] = {
    {"piix3-uhci", "piix3-usb-uhci"},
    {"piix4-uhci", "piix4-usb-uhci"},
    {"ich9-ehci1", "ich9-usb-ehci1"},
    {"ich9-uhci1", "ich9-usb-uhci1"},
    {"ich9-uhci2", "ich9-usb-uhci2"},
    {"ich9-uhci3", "ich9-usb-uhci3"},
    {"nec-xhci", "nec-usb-xhci"},
    {"qemu-xhci", "qemu-xhci"},
    {"vt82c686b-uhci", "vt82c686b-usb-uhci"},
    {"pci-ohci", "pci-ohci"},
    {"usb-ehci", "usb-ehci"},
};

/* SCSI controllers (no model: lsilogic, as libvirt); ibmvscsi is not x86's. */
static const char *const scsi_devices[][2] = {
    {"lsilogic", "lsi53c895a"},
    {"auto", "lsi53c895a"},
    {"virtio-scsi", "virtio-scsi-pci"},
    {"virtio-transitional", "virtio-scsi-pci-transitional"},
    {"virtio-non-transitional", "virtio-scsi-pci-non-transitional"},
    {"lsisas1068", "mptsas1068"},
    {"lsisas1078", "megasas-gen2"},
    {"vmpvscsi", "pvscsi"},
};

/* NICs whose device is not named as the model (any other model is QEMU's own name). */
static const char *const nic_devices[][2] = {
    {"virtio", "virtio-net-pci"},
    {"virtio-transitional", "virtio-net-pci-transitional"},
    {"virtio-non-transitional", "virtio-net-pci-non-transitional"},
    {"e1000-82540em", "e1000"},
};

/* Video of the primary head; qxl and virtio differ on the others (see video()). */
static const char *const video_devices[][2] = {
    {"vga", "VGA"},     {"cirrus", "cirrus-vga"}, {"vmvga", "vmware-svga"},
    {"qxl", "qxl-vga"}, {"virtio", "virtio-vga"}, {"bochs", "bochs-display"},
    {"ramfb", "ramfb"},
};

static const char *const sound_devices[][2] = {
    {"ich6", "intel-hda"}, {"ich9", "ich9-intel-hda"}, {"ich7", "intel-hda"}, {"ac97", "AC97"},
    {"es1370", "ES1370"},  {"sb16", "sb16"},           {"usb", "usb-audio"},
};

static const char *const balloon_devices[][2] = {
    {"virtio", "virtio-balloon-pci"},
    {"virtio-transitional", "virtio-balloon-pci-transitional"},
    {"virtio-non-transitional", "virtio-balloon-pci-non-transitional"},
};

/* RNGs (any other model: virtio-rng-pci). */
static const char *const rng_devices[][2] = {
    {"virtio-transitional", "virtio-rng-pci-transitional"},
    {"virtio-non-transitional", "virtio-rng-pci-non-transitional"},
};

/* ---- controllers ------------------------------------------------------------------------ */

static int controller_pci(qcmd *c, const mv_domain_controller *ctl, int index)
{
    const char *dev;
    char addr[ADDR_LEN];

    if (!ctl->model || mv_streq(ctl->model, "pci-root") || mv_streq(ctl->model, "pcie-root")) {
        if (mv_streq(ctl->model, "pcie-root") && !c->q35)
            return qcmd_refuse(c, "controller pcie-root needs a q35 machine");
        if (mv_streq(ctl->model, "pci-root") && c->q35)
            return qcmd_refuse(c, "controller pci-root needs an i440fx machine");
        return 0;
    }
    if (!(dev = LOOKUP(pci_devices, ctl->model)))
        return qcmd_refuse(c, "PCI controller model '%s' is not supported", ctl->model);
    if (qcmd_need_device(c, dev, "controller type='pci'") < 0 ||
        qcmd_pci_addr(c, &ctl->info, "PCI controller", addr, sizeof(addr)) < 0)
        return -1;
    if (mv_streq(dev, "pcie-root-port") || mv_streq(dev, "xio3130-downstream"))
        qcmd_opt(c, "-device", "%s,port=0x%x,chassis=%d,id=pci.%d%s", dev,
                 ctl->target_port >= 0 ? (unsigned)ctl->target_port : (unsigned)(7 + index),
                 ctl->target_chassis >= 0 ? ctl->target_chassis : index, index, addr);
    else if (mv_streq(dev, "pci-bridge"))
        qcmd_opt(c, "-device", "pci-bridge,chassis_nr=%d,id=pci.%d%s",
                 ctl->target_chassis_nr >= 0 ? ctl->target_chassis_nr : index, index, addr);
    else if (mv_streq(dev, "pxb") || mv_streq(dev, "pxb-pcie"))
        qcmd_opt(c, "-device", "%s,bus_nr=%d,id=pci.%d%s", dev,
                 ctl->target_bus_nr >= 0 ? ctl->target_bus_nr : 254 - index, index, addr);
    else
        qcmd_opt(c, "-device", "%s,id=pci.%d%s", dev, index, addr);
    return 0;
}

static int controller(qcmd *c, const mv_domain_controller *ctl, int index)
{
    char addr[ADDR_LEN];
    const char *t = ctl->type;

    if (mv_streq(t, "pci"))
        return controller_pci(c, ctl, index);
    if (mv_streq(t, "ide") || mv_streq(t, "fdc") || mv_streq(t, "isa"))
        return 0; /* built into the pc and q35 machines */
    if (qcmd_pci_addr(c, &ctl->info, "controller", addr, sizeof(addr)) < 0)
        return -1;
    if (mv_streq(t, "usb")) {
        const char *m = ctl->model;
        const char *dev;

        if (mv_streq(m, "none"))
            return 0;
        dev = !m ? (c->q35 ? "qemu-xhci" : "piix3-usb-uhci") : LOOKUP(usb_devices, m);
        if (!dev)
            return qcmd_refuse(c, "USB controller model '%s' is not supported", m);
        if (qcmd_need_device(c, dev, "controller type='usb'") < 0)
            return -1;
        char id[32];

        c->has_usb |= index == 0 && ctl->master_startport < 0;
        /* PIIX3's own USB function, where libvirt and real hardware have it. */
        if (mv_streq(dev, "piix3-usb-uhci") && !c->q35 && !ctl->info.address)
            snprintf(addr, sizeof(addr), ",bus=pci.0,addr=0x1.0x2");
        /* Controller 0 is "usb" (devices name bus usb.0), others usbN, as libvirt. */
        snprintf(id, sizeof(id), index ? "usb%d" : "usb", index);
        if (ctl->master_startport >= 0)
            /* A UHCI companion of the EHCI controller with the same index. */
            qcmd_opt(c, "-device", "%s,masterbus=%s.0,firstport=%d%s", dev, id,
                     ctl->master_startport, addr);
        else if (strstr(dev, "xhci") && ctl->ports > 0)
            qcmd_opt(c, "-device", "%s,p2=%d,p3=%d,id=%s%s", dev, ctl->ports, ctl->ports, id, addr);
        else
            qcmd_opt(c, "-device", "%s,id=%s%s", dev, id, addr);
        return 0;
    }
    if (mv_streq(t, "scsi")) {
        const char *m = ctl->model;
        const char *dev = LOOKUP(scsi_devices, m ? m : "lsilogic");
        if (!dev)
            return qcmd_refuse(c, "SCSI controller model '%s' is not supported", m);
        if (qcmd_need_device(c, dev, "controller type='scsi'") < 0)
            return -1;
        qcmd_opt(c, "-device", "%s,id=scsi%d%s", dev, index, addr);
        return 0;
    }
    if (mv_streq(t, "sata")) {
        if (c->q35 && index == 0)
            return 0; /* q35's ICH9 AHCI is built in (bus "ide") */
        qcmd_opt(c, "-device", "ahci,id=sata%d%s", index, addr);
        return 0;
    }
    if (mv_streq(t, "virtio-serial")) {
        c->has_virtio_serial = true;
        qcmd_opt(c, "-device", "virtio-serial-pci,id=virtio-serial%d%s%s", index, addr,
                 ctl->ports > 0 ? "" : "");
        if (ctl->ports > 0)
            qcmd_addf(c, "-global"), qcmd_addf(c, "virtio-serial-pci.max_ports=%d", ctl->ports);
        return 0;
    }
    if (mv_streq(t, "ccid")) {
        qcmd_opt(c, "-device", "usb-ccid,id=ccid%d", index);
        return 0;
    }
    return qcmd_refuse(c, "controller type '%s' is not supported", t);
}

/* The first port an ICH9 UHCI companion covers on its EHCI master (libvirt fills
 * this in when <master> is absent): uhci1 0, uhci2 2, uhci3 4; -1 when not one. */
static int companion_startport(const mv_domain_controller *ctl)
{
    if (!mv_streq(ctl->type, "usb") || !ctl->model || strncmp(ctl->model, "ich9-uhci", 9) != 0)
        return -1;
    if (ctl->master_startport >= 0)
        return ctl->master_startport;
    return (ctl->model[9] - '1') * 2;
}

int qcmd_controller_indexes(qcmd *c)
{
    int next[16] = {0};
    const char *types[16] = {NULL};
    size_t n = c->def->ncontrollers;
    int *index = calloc(n ? n : 1, sizeof(int));

    if (!index) {
        c->oom = true;
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const mv_domain_controller *ctl = &c->def->controllers[i];
        size_t k = 0;

        /* Unnumbered controllers take the next index of their type, as libvirt assigns. */
        while (k < 15 && types[k] && !mv_streq(types[k], ctl->type))
            k++;
        types[k] = ctl->type;
        index[i] = ctl->index >= 0 ? ctl->index : next[k];
        if (index[i] >= next[k])
            next[k] = index[i] + 1;
        if (!mv_streq(ctl->type, "pci") || index[i] <= 0 || index[i] >= QCMD_MAX_BUS)
            continue;
        c->ctl_bus[index[i]] = true;
        /* What plugs into the bus this controller makes. */
        if (mv_streq(ctl->model, "pci-bridge") || mv_streq(ctl->model, "pcie-to-pci-bridge") ||
            mv_streq(ctl->model, "dmi-to-pci-bridge") || mv_streq(ctl->model, "pci-expander-bus")) {
            c->bus_first[index[i]] = mv_streq(ctl->model, "pci-expander-bus") ? 0 : 1;
            c->bus_last[index[i]] = 31;
        } else if (mv_streq(ctl->model, "pcie-root-port") ||
                   mv_streq(ctl->model, "pcie-switch-downstream-port")) {
            c->bus_first[index[i]] = 0;
            c->bus_last[index[i]] = 0;
        }
    }
    c->ctl_index = index;
    return 0;
}

static int controllers(qcmd *c)
{
    size_t n = c->def->ncontrollers;
    int *index = c->ctl_index;

    /* USB companions after every master: QEMU needs the master's bus to exist. */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < n; i++) {
            mv_domain_controller ctl = c->def->controllers[i];
            int start = companion_startport(&ctl);

            if ((start >= 0) != (pass == 1))
                continue;
            ctl.master_startport = start;
            if (controller(c, &ctl, index[i]) < 0)
                return -1;
        }
    return 0;
}

/* ---- network interfaces ----------------------------------------------------------------- */

static const char *nic_device(const char *model)
{
    const char *dev = LOOKUP(nic_devices, model);

    if (!model)
        return "rtl8139"; /* libvirt's default for x86 */
    return dev ? dev : model;
}

/* The tap netdev of NIC i. name: the tap's name is the driver's to choose (mvtapIDnI,
 * written into the live definition); create: the tap is made (or reused) and added to
 * bridge (NULL: none), unless on a dry run — else it is the user's, made beforehand. */
static int tap_netdev(qcmd *c, mv_domain_net *n, size_t i, bool name, bool create,
                      const char *bridge)
{
    char *ifn;

    if (name) {
        free(n->target_dev);
        if (asprintf(&n->target_dev, "mvtap%dn%zu", c->p->id < 0 ? 0 : c->p->id, i) < 0) {
            n->target_dev = NULL;
            c->oom = true;
            return -1;
        }
    }
    if (create && !(c->p->flags & QEMU_COMMAND_DRY_RUN)) {
        if (qemu_tap_create(n->target_dev, bridge, n->mtu, c->err) < 0)
            return -1;
        c->taps_made = i + 1;
    }
    ifn = qcmd_escape(c, n->target_dev);
    qcmd_opt(c, "-netdev", "tap,id=hostnet%zu,ifname=%s,script=no,downscript=no%s", i,
             ifn ? ifn : "", mv_streq(n->driver_name, "vhost") ? ",vhost=on" : "");
    free(ifn);
    return 0;
}

static int net(qcmd *c, mv_domain_net *n, size_t i)
{
    const char *dev = nic_device(n->model);
    char addr[ADDR_LEN], boot[32], extra[256] = "";

    if (!n->mac) {
        unsigned char r[3] = {0, 0, 0};

        if (getrandom(r, sizeof(r), 0) != sizeof(r) ||
            asprintf(&n->mac, "52:54:00:%02x:%02x:%02x", r[0], r[1], r[2]) < 0) {
            n->mac = NULL;
            c->oom = true;
            return -1;
        }
    }
    if (qcmd_need_device(c, dev, "interface model") < 0)
        return -1;
    /* usb-net is a USB device: no PCI slot. */
    addr[0] = '\0';
    if (strncmp(dev, "usb-", 4) != 0 &&
        qcmd_pci_addr(c, &n->info, "interface", addr, sizeof(addr)) < 0)
        return -1;
    qcmd_bootindex(&n->info, boot, sizeof(boot));
    if (mv_streq(n->type, "user")) {
        qcmd_opt(c, "-netdev", "user,id=hostnet%zu", i);
    } else if (mv_streq(n->type, "bridge")) {
        if (!n->source_bridge)
            return qcmd_refuse(c, "interface type='bridge' needs <source bridge='...'/>");
        /* libvirt's rule: a vnet* name is the driver's to choose, so is none. */
        if (tap_netdev(c, n, i, !n->target_dev || strncmp(n->target_dev, "vnet", 4) == 0, true,
                       n->source_bridge) < 0)
            return -1;
    } else if (mv_streq(n->type, "ethernet")) {
        /* With no name given, a tap of our own (no bridge), removed at stop; a named one
         * is the user's, prepared beforehand. */
        if (tap_netdev(c, n, i, !n->target_dev, !n->target_dev, NULL) < 0)
            return -1;
    } else {
        return qcmd_refuse(c, "interface type '%s' is not supported by modvirt yet", n->type);
    }
    if (n->driver_queues > 1 && strncmp(dev, "virtio", 6) == 0)
        snprintf(extra, sizeof(extra), ",mq=on,vectors=%d", 2 * n->driver_queues + 2);
    if (n->driver_rx_queue_size > 0)
        append(extra, sizeof(extra), ",rx_queue_size=%d", n->driver_rx_queue_size);
    if (n->driver_tx_queue_size > 0)
        append(extra, sizeof(extra), ",tx_queue_size=%d", n->driver_tx_queue_size);
    if (n->mtu > 0 && strncmp(dev, "virtio", 6) == 0)
        append(extra, sizeof(extra), ",host_mtu=%d", n->mtu);
    if (n->rom_bar == MV_TRISTATE_NO)
        strcat(extra, ",rombar=0");
    if (n->rom_enabled == MV_TRISTATE_NO)
        strcat(extra, ",romfile=");
    else if (n->rom_file)
        append(extra, sizeof(extra), ",romfile=%s", n->rom_file);
    qcmd_opt(c, "-device", "%s,netdev=hostnet%zu,id=net%zu,mac=%s%s%s%s", dev, i, i, n->mac, addr,
             boot, extra);
    return 0;
}

/* ---- input, graphics, video, sound ------------------------------------------------------ */

static int input(qcmd *c, const mv_domain_input *in, size_t i)
{
    const char *bus = in->bus ? in->bus : "ps2";
    char addr[ADDR_LEN];

    if (mv_streq(bus, "ps2"))
        return 0; /* the i8042 of pc and q35 already provides them */
    if (mv_streq(bus, "usb")) {
        const char *dev = mv_streq(in->type, "tablet")     ? "usb-tablet"
                          : mv_streq(in->type, "keyboard") ? "usb-kbd"
                                                     : "usb-mouse";
        if (!c->has_usb)
            return qcmd_refuse(c, "input bus='usb' needs a USB controller");
        char usb[64];

        qcmd_opt(c, "-device", "%s,id=input%zu%s", dev, i,
                 qcmd_usb_addr(&in->info, usb, sizeof(usb)));
        return 0;
    }
    if (qcmd_pci_addr(c, &in->info, "input", addr, sizeof(addr)) < 0)
        return -1;
    if (mv_streq(bus, "virtio")) {
        if (mv_streq(in->type, "passthrough"))
            qcmd_opt(c, "-device", "virtio-input-host-pci,id=input%zu,evdev=%s%s", i,
                     in->source_evdev ? in->source_evdev : "", addr);
        else
            qcmd_opt(c, "-device", "virtio-%s-pci,id=input%zu%s",
                     mv_streq(in->type, "tablet")     ? "tablet"
                     : mv_streq(in->type, "keyboard") ? "keyboard"
                                                : "mouse",
                     i, addr);
        return 0;
    }
    if (mv_streq(in->type, "evdev") && in->source_dev) {
        qcmd_opt(c, "-object", "input-linux,id=input%zu,evdev=%s%s%s", i, in->source_dev,
                 mv_streq(in->source_grab, "all") ? ",grab_all=on" : "",
                 in->source_repeat == MV_TRISTATE_YES ? ",repeat=on" : "");
        return 0;
    }
    return qcmd_refuse(c, "input type '%s' bus '%s' is not supported", in->type, bus);
}

/* A port for an autoport display: from the allocator, or 5900 on a dry run. */
static int take_port(qcmd *c, int *port)
{
    int p;
    int *ports;

    if (c->p->flags & QEMU_COMMAND_DRY_RUN) {
        *port = QEMU_VNC_PORT_MIN;
        return 0;
    }
    if ((p = qemu_ports_acquire(c->p->ports, c->err)) < 0)
        return -1;
    if (!(ports = realloc(c->cmd->ports, (c->cmd->nports + 1) * sizeof(int)))) {
        qemu_ports_release(c->p->ports, p);
        c->oom = true;
        return -1;
    }
    c->cmd->ports = ports;
    ports[c->cmd->nports++] = p;
    *port = p;
    return 0;
}

static int graphics(qcmd *c, mv_domain_graphics *g, bool *has_vnc_or_spice)
{
    const char *listen = mv_domain_graphics_listen_address(g);
    bool socket_listen = g->socket || (g->nlistens && mv_streq(g->listens[0].type, "socket"));

    if (g->gl_enable == MV_TRISTATE_YES)
        return qcmd_refuse(c, "graphics gl is not supported by modvirt");
    if (mv_streq(g->type, "vnc")) {
        char opts[512];

        *has_vnc_or_spice = true;
        if (socket_listen) {
            const char *s = g->socket ? g->socket : g->listens[0].socket;
            char path[256];

            if (!s) {
                snprintf(path, sizeof(path), "%s/vnc.sock", c->p->sock_dir);
                s = path;
            }
            char *esc = qcmd_escape(c, s);

            /* "vnc=" first: a bare "unix:/a=b" would be read as a key. */
            snprintf(opts, sizeof(opts), "vnc=unix:%s", esc ? esc : "");
            free(esc);
        } else if (g->nlistens && mv_streq(g->listens[0].type, "none")) {
            snprintf(opts, sizeof(opts), "none");
        } else {
            if (g->port == -1 || g->autoport == MV_TRISTATE_YES || g->port == MV_UNSET_SIGNED) {
                if (take_port(c, &g->port) < 0)
                    return -1;
                g->autoport = MV_TRISTATE_YES; /* shown in the live XML, as libvirt */
            }
            if (g->port < QEMU_VNC_PORT_MIN)
                return qcmd_refuse(c, "graphics vnc port %d is below %d", g->port,
                                   QEMU_VNC_PORT_MIN);
            snprintf(opts, sizeof(opts), "%s%s%s:%d", listen && strchr(listen, ':') ? "[" : "",
                     listen ? listen : "127.0.0.1", listen && strchr(listen, ':') ? "]" : "",
                     g->port - QEMU_VNC_PORT_MIN);
        }
        if (g->websocket != MV_UNSET_SIGNED && g->websocket != -1)
            append(opts, sizeof(opts), ",websocket=%d", g->websocket);
        if (g->share_policy)
            append(opts, sizeof(opts), ",share=%s", g->share_policy);
        if (g->passwd)
            strcat(opts, ",password=on"); /* set through QMP after start */
        qcmd_opt(c, "-vnc", "%s", opts);
        if (g->keymap)
            qcmd_opt(c, "-k", "%s", g->keymap);
        return 0;
    }
    if (mv_streq(g->type, "spice")) {
        char opts[768];

        *has_vnc_or_spice = true;
        if (qcmd_need_device(c, "qxl-vga", "graphics type='spice'") < 0)
            return -1;
        if (g->port == -1 || (g->autoport == MV_TRISTATE_YES && !socket_listen)) {
            if (take_port(c, &g->port) < 0)
                return -1;
            g->autoport = MV_TRISTATE_YES;
        }
        if (socket_listen) {
            const char *s = g->socket ? g->socket : g->listens[0].socket;
            char path[256];

            if (!s) {
                snprintf(path, sizeof(path), "%s/spice.sock", c->p->sock_dir);
                s = path;
            }
            snprintf(opts, sizeof(opts), "unix=on,addr=%s", s);
        } else {
            snprintf(opts, sizeof(opts), "port=%d,addr=%s", g->port > 0 ? g->port : 5900,
                     listen ? listen : "127.0.0.1");
        }
        /* TLS needs certificates modvirt has no configuration for yet. */
        if (g->tls_port > 0)
            return qcmd_refuse(c, "graphics spice tlsPort needs SPICE TLS certificates, "
                                  "which modvirt cannot configure yet");
        strcat(opts, g->passwd ? "" : ",disable-ticketing=on");
        if (g->image_compression)
            append(opts, sizeof(opts), ",image-compression=%s", g->image_compression);
        if (g->streaming_mode)
            append(opts, sizeof(opts), ",streaming-video=%s", g->streaming_mode);
        if (g->clipboard_copypaste == MV_TRISTATE_NO)
            strcat(opts, ",disable-copy-paste=on");
        if (g->filetransfer_enable == MV_TRISTATE_NO)
            strcat(opts, ",disable-agent-file-xfer=on");
        strcat(opts, ",seamless-migration=on");
        qcmd_opt(c, "-spice", "%s", opts);
        return 0;
    }
    if (mv_streq(g->type, "sdl")) {
        qcmd_opt(c, "-display", "sdl%s", g->gl_enable == MV_TRISTATE_YES ? ",gl=on" : "");
        return 0;
    }
    if (mv_streq(g->type, "egl-headless")) {
        qcmd_opt(c, "-display", "egl-headless");
        return 0;
    }
    return qcmd_refuse(c, "graphics type '%s' is not supported by modvirt", g->type);
}

static int video(qcmd *c, const mv_domain_video *v, size_t i)
{
    const char *m = v->model ? v->model : "vga";
    bool primary = i == 0;
    const char *dev;
    char addr[ADDR_LEN], extra[256] = "";

    if (mv_streq(m, "none"))
        return 0;
    dev = LOOKUP(video_devices, m);
    /* Only the primary head has VGA: the others are plain displays. */
    if (!primary && mv_streq(m, "qxl"))
        dev = "qxl";
    else if (!primary && mv_streq(m, "virtio"))
        dev = "virtio-gpu-pci";
    if (!dev)
        return qcmd_refuse(c, "video model '%s' is not supported on x86_64", m);
    if (qcmd_need_device(c, dev, "video model") < 0 ||
        qcmd_pci_addr(c, &v->info, "video", addr, sizeof(addr)) < 0)
        return -1;
    if (mv_streq(m, "ramfb")) {
        qcmd_opt(c, "-device", "ramfb,id=video%zu", i);
        return 0;
    }
    if (mv_streq(m, "qxl")) {
        if (v->ram_kib)
            append(extra, sizeof(extra), ",ram_size=%llu", v->ram_kib * 1024);
        if (v->vram_kib)
            append(extra, sizeof(extra), ",vram_size=%llu", v->vram_kib * 1024);
        if (v->vram64_kib)
            append(extra, sizeof(extra), ",vram64_size_mb=%llu", v->vram64_kib / 1024);
        if (v->vgamem_kib)
            append(extra, sizeof(extra), ",vgamem_mb=%llu", v->vgamem_kib / 1024);
    } else if ((mv_streq(m, "vga") || mv_streq(m, "vmvga")) && v->vram_kib) {
        snprintf(extra, sizeof(extra), ",vgamem_mb=%llu", v->vram_kib / 1024);
    }
    if (mv_streq(m, "virtio") && v->heads > 0)
        append(extra, sizeof(extra), ",max_outputs=%d", v->heads);
    qcmd_opt(c, "-device", "%s,id=video%zu%s%s", dev, i, extra, addr);
    return 0;
}

static int audios(qcmd *c)
{
    const mv_domain_def *def = c->def;

    for (size_t i = 0; i < def->naudios; i++) {
        const mv_domain_audio *a = &def->audios[i];
        const char *drv = mv_streq(a->type, "pulseaudio") ? "pa" : mv_streq(a->type, "file") ? "wav" : a->type;

        if (!(mv_streq(drv, "none") || mv_streq(drv, "alsa") || mv_streq(drv, "oss") || mv_streq(drv, "pa") ||
              mv_streq(drv, "sdl") || mv_streq(drv, "spice") || mv_streq(drv, "wav") || mv_streq(drv, "dbus")))
            return qcmd_refuse(c, "audio type '%s' is not supported by QEMU 7.2", a->type);
        qcmd_opt(c, "-audiodev", "%s,id=audio%d%s%s", drv, a->id > 0 ? a->id : (int)i + 1,
                 a->path ? ",path=" : "", a->path ? a->path : "");
    }
    if (!def->naudios && def->nsounds) {
        /* libvirt gives sound cards and VNC a silent backend unless told otherwise. */
        bool spice = false;

        for (size_t i = 0; i < def->ngraphics; i++)
            spice |= mv_streq(def->graphics[i].type, "spice");
        qcmd_opt(c, "-audiodev", "%s,id=audio1", spice ? "spice" : "none");
    }
    return 0;
}

static int sound(qcmd *c, const mv_domain_sound *s, size_t i)
{
    const char *m = s->model;
    char addr[ADDR_LEN];
    int aid = s->audio_id > 0 ? s->audio_id : 1;
    const char *dev;

    if (mv_streq(m, "pcspk")) {
        qcmd_opt(c, "-machine", "pcspk-audiodev=audio%d", aid);
        return 0;
    }
    dev = LOOKUP(sound_devices, m);
    if (!dev)
        return qcmd_refuse(c, "sound model '%s' is not supported", m);
    if (qcmd_need_device(c, dev, "sound model") < 0)
        return -1;
    /* sb16 is an ISA card, usb-audio a USB one: only the others take a PCI slot. */
    addr[0] = '\0';
    if (!mv_streq(dev, "sb16") && !mv_streq(dev, "usb-audio") &&
        qcmd_pci_addr(c, &s->info, "sound", addr, sizeof(addr)) < 0)
        return -1;
    if (mv_streq(dev, "usb-audio")) {
        char usb[64];

        qcmd_opt(c, "-device", "usb-audio,id=sound%zu,audiodev=audio%d%s", i, aid,
                 qcmd_usb_addr(&s->info, usb, sizeof(usb)));
    } else if (strstr(dev, "hda")) {
        qcmd_opt(c, "-device", "%s,id=sound%zu%s", dev, i, addr);
        if (!s->ncodecs)
            qcmd_opt(c, "-device",
                     "hda-duplex,id=sound%zu-codec0,bus=sound%zu.0,cad=0,audiodev=audio%d", i, i,
                     aid);
        for (size_t k = 0; k < s->ncodecs; k++)
            qcmd_opt(c, "-device",
                     "hda-%s,id=sound%zu-codec%zu,bus=sound%zu.0,cad=%zu,audiodev=audio%d",
                     s->codecs[k].type, i, k, i, k, aid);
    } else {
        qcmd_opt(c, "-device", "%s,id=sound%zu,audiodev=audio%d%s", dev, i, aid, addr);
    }
    return 0;
}

/* ---- watchdog, balloon, rng, redirdev, hub, panic, iommu, vsock ------------------------- */

static int watchdog(qcmd *c, const mv_domain_watchdog *w, size_t i)
{
    char addr[ADDR_LEN];
    const char *act = w->action ? w->action : "reset";

    if (mv_streq(act, "dump"))
        return qcmd_refuse(c, "watchdog action 'dump' is not supported by modvirt");
    if (mv_streq(w->model, "itco")) {
        if (!c->q35)
            return qcmd_refuse(c, "watchdog model 'itco' needs a q35 machine");
    } else if (mv_streq(w->model, "ib700")) {
        qcmd_opt(c, "-device", "ib700,id=watchdog%zu", i);
    } else if (mv_streq(w->model, "i6300esb")) {
        if (qcmd_pci_addr(c, &w->info, "watchdog", addr, sizeof(addr)) < 0)
            return -1;
        qcmd_opt(c, "-device", "i6300esb,id=watchdog%zu%s", i, addr);
    } else {
        return qcmd_refuse(c, "watchdog model '%s' is not supported on x86_64", w->model);
    }
    if (i == 0)
        qcmd_opt(c, "-action", "watchdog=%s", mv_streq(act, "destroy") ? "poweroff" : act);
    return 0;
}

static int memballoon(qcmd *c, const mv_domain_memballoon *b)
{
    char addr[ADDR_LEN];
    const char *dev;

    if (!b || mv_streq(b->model, "none"))
        return 0;
    dev = LOOKUP(balloon_devices, b->model);
    if (!dev)
        return qcmd_refuse(c, "memballoon model '%s' is not supported", b->model);
    if (qcmd_pci_addr(c, &b->info, "memballoon", addr, sizeof(addr)) < 0)
        return -1;
    qcmd_opt(c, "-device", "%s,id=balloon0%s%s%s", dev, addr,
             b->autodeflate == MV_TRISTATE_YES ? ",deflate-on-oom=on" : "",
             b->free_page_reporting == MV_TRISTATE_YES ? ",free-page-reporting=on" : "");
    return 0;
}

static int rng(qcmd *c, mv_domain_rng *r, size_t i)
{
    char addr[ADDR_LEN], rate[96] = "";
    const char *dev = LOOKUP(rng_devices, r->model);

    if (!dev)
        dev = "virtio-rng-pci";

    if (qcmd_pci_addr(c, &r->info, "rng", addr, sizeof(addr)) < 0)
        return -1;
    if (mv_streq(r->backend_model, "random")) {
        qcmd_opt(c, "-object", "rng-random,id=objrng%zu,filename=%s", i,
                 r->backend_random ? r->backend_random : "/dev/urandom");
    } else if (mv_streq(r->backend_model, "builtin")) {
        qcmd_opt(c, "-object", "rng-builtin,id=objrng%zu", i);
    } else if (mv_streq(r->backend_model, "egd")) {
        char id[48];

        snprintf(id, sizeof(id), "charrng%zu", i);
        if (qcmd_chardev(c, &r->backend_egd, id, QEMU_CHR_CHANNEL, (size_t)-1) < 0)
            return -1;
        qcmd_opt(c, "-object", "rng-egd,id=objrng%zu,chardev=%s", i, id);
    } else {
        return qcmd_refuse(c, "rng backend '%s' is not supported", r->backend_model);
    }
    if (r->rate_bytes != MV_UNSET)
        snprintf(rate, sizeof(rate), ",max-bytes=%lld,period=%lld", r->rate_bytes,
                 r->rate_period != MV_UNSET ? r->rate_period : 1000);
    qcmd_opt(c, "-device", "%s,rng=objrng%zu,id=rng%zu%s%s", dev, i, i, rate, addr);
    return 0;
}

static int redirdev(qcmd *c, mv_domain_redirdev *r, size_t i)
{
    char id[48], usb[64];

    if (!c->has_usb)
        return qcmd_refuse(c, "redirdev needs a USB controller");
    snprintf(id, sizeof(id), "charredir%zu", i);
    if (qcmd_chardev(c, &r->chr, id, QEMU_CHR_CHANNEL, (size_t)-1) < 0)
        return -1;
    qcmd_opt(c, "-device", "usb-redir,chardev=%s,id=redir%zu%s", id, i,
             qcmd_usb_addr(&r->info, usb, sizeof(usb)));
    return 0;
}

static int misc(qcmd *c)
{
    const mv_domain_def *def = c->def;
    char addr[ADDR_LEN];

    for (size_t i = 0; i < def->npanics; i++) {
        const char *m = def->panics[i].model ? def->panics[i].model : "isa";

        if (mv_streq(m, "isa"))
            qcmd_opt(c, "-device", "pvpanic");
        else if (mv_streq(m, "pvpanic"))
            qcmd_opt(c, "-device", "pvpanic-pci,id=panic%zu", i);
        else
            return qcmd_refuse(c, "panic model '%s' is not supported on x86_64", m);
    }
    if (def->iommu) {
        const mv_domain_iommu *io = def->iommu;

        if (mv_streq(io->model, "intel")) {
            if (!c->q35)
                return qcmd_refuse(c, "iommu model 'intel' needs a q35 machine");
            qcmd_opt(c, "-device", "intel-iommu,id=iommu0%s%s%s",
                     io->intremap == MV_TRISTATE_YES ? ",intremap=on" : "",
                     io->caching_mode == MV_TRISTATE_YES ? ",caching-mode=on" : "",
                     io->eim == MV_TRISTATE_YES ? ",eim=on" : "");
        } else if (mv_streq(io->model, "virtio")) {
            qcmd_opt(c, "-device", "virtio-iommu-pci,id=iommu0");
        } else {
            return qcmd_refuse(c, "iommu model '%s' is not supported on x86_64", io->model);
        }
    }
    if (def->vsock) {
        int cid = def->vsock->cid_address > 2 ? def->vsock->cid_address : 3 + c->p->id;

        if (qcmd_pci_addr(c, &def->vsock->info, "vsock", addr, sizeof(addr)) < 0)
            return -1;
        qcmd_opt(c, "-device", "vhost-vsock-pci,id=vsock0,guest-cid=%d%s", cid, addr);
    }
    return 0;
}

int qcmd_devices(qcmd *c)
{
    mv_domain_def *def = c->def;
    bool display = false;

    if (controllers(c) < 0)
        return -1;
    /* Hubs right after the controllers, as libvirt: devices placed later may sit on
     * their ports. */
    for (size_t i = 0; i < def->nhubs; i++) {
        char usb[64];

        if (!c->has_usb)
            return qcmd_refuse(c, "hub needs a USB controller");
        qcmd_opt(c, "-device", "usb-hub,id=hub%zu%s", i,
                 qcmd_usb_addr(&def->hubs[i].info, usb, sizeof(usb)));
    }
    /* q35 has no floppy controller of its own. */
    for (size_t i = 0; c->q35 && i < def->ndisks; i++)
        if (mv_streq(def->disks[i].target_bus, "fdc")) {
            qcmd_opt(c, "-device", "isa-fdc,id=fdc0");
            break;
        }
    for (size_t i = 0; i < def->ndisks; i++)
        if (qcmd_disk(c, &def->disks[i], i) < 0)
            return -1;
    for (size_t i = 0; i < def->nfilesystems; i++)
        if (qcmd_filesystem(c, &def->filesystems[i], i) < 0)
            return -1;
    for (size_t i = 0; i < def->nnets; i++)
        if (net(c, &def->nets[i], i) < 0)
            return -1;
    if (qcmd_chardevs(c) < 0)
        return -1;
    for (size_t i = 0; i < def->ninputs; i++)
        if (input(c, &def->inputs[i], i) < 0)
            return -1;
    if (audios(c) < 0)
        return -1;
    for (size_t i = 0; i < def->ngraphics; i++)
        if (graphics(c, &def->graphics[i], &display) < 0)
            return -1;
    if (!def->ngraphics)
        qcmd_opt(c, "-display", "none");
    for (size_t i = 0; i < def->nvideos; i++)
        if (video(c, &def->videos[i], i) < 0)
            return -1;
    for (size_t i = 0; i < def->nsounds; i++)
        if (sound(c, &def->sounds[i], i) < 0)
            return -1;
    for (size_t i = 0; i < def->nwatchdogs; i++)
        if (watchdog(c, &def->watchdogs[i], i) < 0)
            return -1;
    for (size_t i = 0; i < def->nredirdevs; i++)
        if (redirdev(c, &def->redirdevs[i], i) < 0)
            return -1;
    if (memballoon(c, def->memballoon) < 0 || misc(c) < 0)
        return -1;
    for (size_t i = 0; i < def->nrngs; i++)
        if (rng(c, &def->rngs[i], i) < 0)
            return -1;
    if (display && !def->nvideos) {
        char addr[ADDR_LEN];

        if (qcmd_pci_addr(c, NULL, "video", addr, sizeof(addr)) < 0)
            return -1;
        qcmd_opt(c, "-device", "VGA,id=video0%s", addr);
    }
    qcmd_opt(c, "-msg", "timestamp=on");
    return 0;
}
