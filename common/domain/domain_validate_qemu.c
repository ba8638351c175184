/* domain_validate_qemu.c: MV_DOMAIN_DEF_PARSE_VALIDATE — what libvirt's QEMU driver
 * refuses before it would start a guest, so that a definition which would never boot is
 * refused when it is defined. Messages follow libvirt's where it has one. */
#include "common/domain/domain_validate.h"

#include "common/hash.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/str.h"

#define fail mv_validate_fail
#define UNLIMITED_KIB 9007199254740991ULL /* libvirt's VIR_DOMAIN_MEMORY_PARAM_UNLIMITED */
#define MAX_ROOT_PORTS (30 * 8) /* slots 1-0x1e of pcie-root, 8 functions each */
#define USB_HUB_PORTS 8

static bool has_prefix(const char *s, const char *p)
{
    return s && strncmp(s, p, strlen(p)) == 0;
}

static bool is_q35(const mv_domain_def *def)
{
    return mv_streq(def->os.machine, "q35") || has_prefix(def->os.machine, "pc-q35");
}

static bool is_i440fx(const mv_domain_def *def)
{
    const char *m = def->os.machine;

    return mv_streq(m, "pc") || has_prefix(m, "pc-i440fx") || has_prefix(m, "pc-0.") ||
           has_prefix(m, "pc-1.");
}

static bool is_x86(const mv_domain_def *def)
{
    return !def->os.arch || mv_streq(def->os.arch, "x86_64") || mv_streq(def->os.arch, "i686");
}

static size_t numa_cells(const mv_domain_def *def)
{
    return def->cpu ? def->cpu->ncells : 0;
}

/* ---- PCI addresses ---- */

static unsigned int pci_key(const mv_domain_address *a)
{
    unsigned int dom = a->domain == MV_UNSET ? 0 : (unsigned int)a->domain;
    unsigned int bus = a->bus == MV_UNSET ? 0 : (unsigned int)a->bus;
    unsigned int slot = a->slot == MV_UNSET ? 0 : (unsigned int)a->slot;
    unsigned int fn = a->function == MV_UNSET ? 0 : (unsigned int)a->function;

    return dom << 16 | bus << 8 | slot << 3 | fn;
}

static int double_use(unsigned int key, mv_error *err)
{
    return fail(err, VIR_ERR_XML_ERROR, "Attempted double use of PCI Address %04x:%02x:%02x.%x",
                key >> 16, (key >> 8) & 0xff, (key >> 3) & 0x1f, key & 7);
}

/* Slots the machine itself occupies: the host bridge everywhere, the PIIX3 functions of
 * i440fx (IDE and USB may sit there: they are those functions), the LPC/SMBus functions
 * of q35 (whose SATA function is the first SATA controller). */
static int pci_reserved(const mv_domain_def *def, const device_ref *d, unsigned int key,
                        mv_error *err)
{
    unsigned int bus = (key >> 8) & 0xff, slot = (key >> 3) & 0x1f, fn = key & 7;
    const mv_domain_controller *c = d->controller;

    if ((key >> 16) != 0 || bus != 0)
        return 0;
    if (slot == 0 && fn == 0 && def->os.machine && (is_i440fx(def) || is_q35(def)))
        return double_use(key, err);
    if (is_i440fx(def) && slot == 1) {
        if (fn == 1 && c && mv_streq(c->type, "ide"))
            return 0;
        if (fn == 2 && c && mv_streq(c->type, "usb"))
            return 0;
        if (fn <= 3)
            return double_use(key, err);
    }
    if (is_q35(def) && slot == 0x1f) {
        if (fn == 2 && c && mv_streq(c->type, "sata"))
            return 0;
        if (fn == 0 || fn == 2 || fn == 3)
            return double_use(key, err);
    }
    return 0;
}

static int pci_check(const mv_domain_def *def, const device_ref *d, void *opaque, mv_error *err)
{
    mv_hash *seen = opaque;
    const mv_domain_address *a = d->info->address;
    unsigned int key;
    char text[16];
    int rc;

    if (!a || !mv_streq(a->type, "pci"))
        return 0;
    /* a console on a serial target is that serial device, not another one */
    if (mv_streq(d->kind, "console") && d->index == 0 && def->nserials &&
        (!def->consoles[0].target_type || mv_streq(def->consoles[0].target_type, "serial")))
        return 0;
    if (mv_streq(def->os.machine, "isapc"))
        return fail(err, VIR_ERR_XML_ERROR, "No PCI buses available");
    key = pci_key(a);
    if (key == 0 && a->slot == MV_UNSET)
        return 0; /* no slot yet: the driver places it */
    if (pci_reserved(def, d, key, err) < 0)
        return -1;
    snprintf(text, sizeof(text), "%08x", key);
    rc = mv_keyset_add(seen, text, "", NULL);
    if (rc > 0)
        return double_use(key, err);
    return rc < 0 ? fail(err, VIR_ERR_NO_MEMORY, "checking PCI addresses") : 0;
}

/* ---- disks ---- */
static int disk_rules(const mv_domain_disk *d, mv_error *err)
{
    const char *t = d->target_dev;
    const char *bus = d->target_bus;
    const mv_domain_address *a = d->info.address;
    size_t n = 0;

    while (t[n] && isalpha((unsigned char)t[n]))
        n++;
    if (t[n])
        return fail(err, VIR_ERR_CONFIG_UNSUPPORTED,
                    "invalid disk target '%s', partitions can't appear in disk targets", t);
    if (a && bus) {
        bool drive_bus = mv_streq(bus, "ide") || mv_streq(bus, "fdc") || mv_streq(bus, "scsi") ||
                         mv_streq(bus, "sata");

        if (drive_bus && !mv_streq(a->type, "drive"))
            return fail(err, VIR_ERR_CONFIG_UNSUPPORTED,
                        "Invalid address type '%s' for the disk '%s' with the bus type '%s'",
                        a->type, t, bus);
        if (mv_streq(bus, "usb") && !mv_streq(a->type, "usb"))
            return fail(err, VIR_ERR_INTERNAL_ERROR, "unexpected address type for usb disk");
        if (mv_streq(bus, "virtio") && !mv_streq(a->type, "pci"))
            return fail(err, VIR_ERR_CONFIG_UNSUPPORTED,
                        "Invalid address type '%s' for the disk '%s' with the bus type '%s'",
                        a->type, t, bus);
    }
    if (mv_streq(bus, "virtio") && (mv_streq(d->device, "cdrom") || mv_streq(d->device, "floppy")))
        return fail(err, VIR_ERR_CONFIG_UNSUPPORTED,
                    "disk type 'virtio' of '%s' does not support ejectable media", t);
    if (d->src_protocol) {
        static const char *const single_host[] = {"iscsi", "http", "https", "ftp", "ftps",
                                                  "tftp", "ssh", "nfs", NULL};

        for (size_t i = 0; single_host[i]; i++)
            if (mv_streq(d->src_protocol, single_host[i]) && d->nsrc_hosts != 1)
                return fail(err, VIR_ERR_INTERNAL_ERROR, "%s protocol accepts only one host",
                            d->src_protocol);
        if (mv_streq(d->src_protocol, "nbd") && d->nsrc_hosts > 1)
            return fail(err, VIR_ERR_INTERNAL_ERROR, "nbd protocol accepts only one host");
    }
    if (d->shareable && !d->readonly && d->driver_format && !mv_streq(d->driver_format, "raw"))
        return fail(err, VIR_ERR_CONFIG_UNSUPPORTED,
                    "shared access for disk '%s' requires use of supported storage format", t);
    return 0;
}

/* ---- USB ---- */
static int usb_ports(const mv_domain_controller *c)
{
    static const struct {
        const char *model;
        int ports;
    } table[] = {{"piix3-uhci", 2}, {"piix4-uhci", 2}, {"ich9-uhci1", 2}, {"ich9-uhci2", 2},
                 {"ich9-uhci3", 2}, {"vt82c686b-uhci", 2}, {"ehci", 6}, {"ich9-ehci1", 6},
                 {"pci-ohci", 3}, {"nec-xhci", 4}, {"qemu-xhci", 4}, {"qusb1", 4},
                 {"qusb2", 4}};

    if (c->ports != MV_UNSET)
        return c->ports;
    for (size_t i = 0; c->model && i < sizeof(table) / sizeof(table[0]); i++)
        if (mv_streq(c->model, table[i].model))
            return table[i].ports;
    return -1; /* the driver's default model: not known here */
}

typedef struct usb_state {
    mv_hash *ports; /* "bus port" of every device with a USB address */
    mv_hash *hubs;  /* "bus port" of every hub */
    const mv_domain_address **addrs;
    size_t n, cap;
    bool disabled; /* a USB controller with model='none' */
} usb_state;

static int usb_collect(const mv_domain_def *def, const device_ref *d, void *opaque,
                       mv_error *err)
{
    usb_state *st = opaque;
    const mv_domain_address *a = d->info->address;

    if (d->on_usb) {
        if (st->disabled) {
            if (mv_streq(d->kind, "hub"))
                return fail(err, VIR_ERR_CONFIG_UNSUPPORTED,
                            "Can't add USB hub: USB is disabled for this domain");
            return fail(err, VIR_ERR_CONFIG_UNSUPPORTED,
                        "Can't add USB %s device. USB bus is disabled", d->kind);
        }
    }
    if (a && mv_streq(a->type, "usb")) {
        char key[96];
        int bus = a->bus == MV_UNSET ? 0 : a->bus;

        if (st->n == st->cap) {
            size_t cap = st->cap ? st->cap * 2 : 16;
            const mv_domain_address **grown = realloc(st->addrs, cap * sizeof(*grown));

            if (!grown)
                return fail(err, VIR_ERR_NO_MEMORY, "checking USB addresses");
            st->addrs = grown;
            st->cap = cap;
        }
        st->addrs[st->n++] = a;
        if (a->port) {
            int rc;

            snprintf(key, sizeof(key), "%d %s", bus, a->port);
            rc = mv_keyset_add(st->ports, key, "", NULL);
            if (rc > 0)
                return fail(err, VIR_ERR_XML_ERROR, "Duplicate USB address bus %d port %s", bus,
                            a->port);
            if (rc < 0 || (mv_streq(d->kind, "hub") && mv_keyset_add(st->hubs, key, "", NULL) < 0))
                return fail(err, VIR_ERR_NO_MEMORY, "checking USB addresses");
        }
    }
    return 0;
}

static const mv_domain_controller *usb_controller(const mv_domain_def *def, int index)
{
    for (size_t i = 0; i < def->ncontrollers; i++) {
        const mv_domain_controller *c = &def->controllers[i];

        if (mv_streq(c->type, "usb") && (c->index == index || (c->index == MV_UNSET && index == 0)))
            return c;
    }
    return NULL;
}

/* One device's USB address against the controllers and hubs. */
static int usb_address_rules(const mv_domain_def *def, const usb_state *st,
                             const mv_domain_address *a, bool any_usb, mv_error *err)
{
    int bus = a->bus == MV_UNSET ? 0 : a->bus;
    const mv_domain_controller *c = usb_controller(def, bus);
    char key[96];
    long first;

    if (!c && (bus != 0 || any_usb))
        return fail(err, VIR_ERR_XML_ERROR,
                    "USB bus %d requested but no controller with that index is present", bus);
    if (!a->port)
        return 0;
    first = strtol(a->port, NULL, 10);
    if (c && usb_ports(c) >= 0 && (first < 1 || first > usb_ports(c)))
        return fail(err, VIR_ERR_XML_ERROR, "requested USB port %s not present on USB bus %d",
                    a->port, bus);
    /* every a.b prefix of a.b.c must be a hub, whose ports are 1-8 */
    for (const char *p = strchr(a->port, '.'); p; p = strchr(p + 1, '.')) {
        long n = strtol(p + 1, NULL, 10);

        snprintf(key, sizeof(key), "%d %.*s", bus, (int)(p - a->port), a->port);
        if (!mv_hash_get(st->hubs, key))
            return fail(err, VIR_ERR_XML_ERROR,
                        "there is no hub at port %.*s in USB address bus: %d port: %s",
                        (int)(p - a->port), a->port, bus, a->port);
        if (n < 1 || n > USB_HUB_PORTS)
            return fail(err, VIR_ERR_XML_ERROR,
                        "requested USB port %s not present on USB bus %d", a->port, bus);
    }
    return 0;
}

static int usb_rules(const mv_domain_def *def, mv_error *err)
{
    usb_state st = {mv_keyset_new(), mv_keyset_new(), NULL, 0, 0, false};
    bool any_usb = false;
    int ret = -1;

    if (!st.ports || !st.hubs) {
        fail(err, VIR_ERR_NO_MEMORY, "validating USB addresses");
        goto cleanup;
    }
    for (size_t i = 0; i < def->ncontrollers; i++) {
        const mv_domain_controller *c = &def->controllers[i];

        if (!mv_streq(c->type, "usb"))
            continue;
        any_usb = true;
        st.disabled = st.disabled || mv_streq(c->model, "none");
        if (mv_streq(c->model, "qemu-xhci") && c->ports > 15) {
            fail(err, VIR_ERR_CONFIG_UNSUPPORTED,
                 "'qemu-xhci' controller only supports up to '15' ports");
            goto cleanup;
        }
        if (mv_streq(def->os.machine, "isapc") && !mv_streq(c->model, "none")) {
            fail(err, VIR_ERR_XML_ERROR, "No PCI buses available");
            goto cleanup;
        }
    }
    if (mv_for_each_device(def, usb_collect, &st, err) < 0)
        goto cleanup;
    for (size_t i = 0; i < st.n; i++)
        if (usb_address_rules(def, &st, st.addrs[i], any_usb, err) < 0)
            goto cleanup;
    ret = 0;
cleanup:
    mv_hash_free(st.ports);
    mv_hash_free(st.hubs);
    free(st.addrs);
    return ret;
}

/* ---- PCI controllers, memory, firmware, IOMMU, inputs, cpu ---- */
static int controller_rules(const mv_domain_def *def, mv_error *err)
{
    int root_ports = 0;

    for (size_t i = 0; i < def->ncontrollers; i++) {
        const mv_domain_controller *c = &def->controllers[i];
        const mv_domain_address *a = c->info.address;

        if (!mv_streq(c->type, "pci"))
            continue;
        if (c->index == 0 && is_q35(def) && !mv_streq(c->model, "pcie-root"))
            return fail(err, VIR_ERR_XML_ERROR,
                        "The PCI controller with index='0' must be model='pcie-root' for this "
                        "machine type, but model='%s' was found instead",
                        c->model ? c->model : "");
        if (c->index == 0 && is_i440fx(def) && !mv_streq(c->model, "pci-root"))
            return fail(err, VIR_ERR_XML_ERROR,
                        "The PCI controller with index='0' must be model='pci-root' for this "
                        "machine type, but model='%s' was found instead",
                        c->model ? c->model : "");
        if (mv_streq(c->model, "pcie-expander-bus") && !is_q35(def))
            return fail(err, VIR_ERR_CONFIG_UNSUPPORTED,
                        "pcie-expander-bus controllers are not supported with this machine type");
        if ((mv_streq(c->model, "pci-expander-bus") || mv_streq(c->model, "pcie-expander-bus")) && a &&
            mv_streq(a->type, "pci") && a->bus > 0)
            return fail(err, VIR_ERR_XML_ERROR,
                        "a %s must be plugged into the root bus, not bus %d", c->model, a->bus);
        if (c->target_node != MV_UNSET && (size_t)c->target_node >= numa_cells(def))
            return fail(err, VIR_ERR_XML_ERROR,
                        "%s with index %d is configured for a NUMA node (%d) not present in the "
                        "domain's <cpu><numa> array (%zu)",
                        c->model ? c->model : "pci controller", c->index, c->target_node,
                        numa_cells(def));
        if ((mv_streq(c->model, "pcie-root-port") || mv_streq(c->model_name, "ioh3420")) &&
            (!a || a->bus <= 0) && ++root_ports > MAX_ROOT_PORTS)
            return fail(err, VIR_ERR_INTERNAL_ERROR,
                        "a PCI slot is needed to connect a PCI controller model='pcie-root-port', "
                        "but none is available");
    }
    return 0;
}

static void max_node(long n, void *opaque)
{
    if (n > *(long *)opaque)
        *(long *)opaque = n;
}

static int memory_rules(const mv_domain_def *def, mv_error *err)
{
    const mv_domain_memory_backing *mb = def->memory_backing;

    if (def->max_memory_kib && numa_cells(def) == 0)
        return fail(err, VIR_ERR_CONFIG_UNSUPPORTED,
                    "At least one numa node has to be configured when enabling memory hotplug");
    for (size_t i = 0; i < numa_cells(def); i++)
        if (def->cpu->cells[i].memory_kib > UNLIMITED_KIB - 1023) /* QEMU aligns to 1 MiB */
            return fail(err, VIR_ERR_CONFIG_UNSUPPORTED,
                        "memory size of NUMA node '%zu' overflowed after alignment", i);
    if (def->memory_kib > UNLIMITED_KIB - 1023)
        return fail(err, VIR_ERR_CONFIG_UNSUPPORTED, "memory size overflowed after alignment");
    for (size_t i = 0; mb && i < mb->npages; i++) {
        unsigned long long size = mb->pages[i].size_kib;
        long node = -1;

        if (is_x86(def) && size != 4 && size != 2048 && size != 1048576)
            return fail(err, VIR_ERR_CONFIG_UNSUPPORTED,
                        "x86 huge pages are 4 KiB, 2 MiB or 1 GiB, not %llu KiB", size);
        if (mb->pages[i].nodeset && mv_bitmap_walk(mb->pages[i].nodeset, max_node, &node) == 0 &&
            node >= (long)numa_cells(def))
            return fail(err, VIR_ERR_XML_ERROR, "hugepages: node %ld not found", node);
    }
    if (def->features && def->features->smm_tseg_kib % 1024)
        return fail(err, VIR_ERR_CONFIG_UNSUPPORTED, "SMM TSEG size must be divisible by 1 MiB");
    return 0;
}

static int firmware_rules(const mv_domain_def *def, mv_error *err)
{
    const mv_domain_os *os = &def->os;
    bool has_loader = os->loader || os->loader_type || os->loader_readonly ||
                      os->loader_secure || os->loader_stateless || os->loader_format;

    if (os->firmware && os->loader_readonly == MV_TRISTATE_NO)
        return fail(err, VIR_ERR_OPERATION_FAILED,
                    "Unable to find '%s' firmware that is compatible with the current "
                    "configuration (firmware code is read-only)",
                    os->firmware);
    if (has_loader && !os->loader && !os->firmware)
        return fail(err, VIR_ERR_CONFIG_UNSUPPORTED,
                    "no loader path specified and firmware auto selection disabled");
    return 0;
}

static int device_rules(const mv_domain_def *def, mv_error *err)
{
    const mv_domain_iommu *iommu = def->iommu;

    if (iommu && mv_streq(iommu->model, "intel") && !is_q35(def))
        return fail(err, VIR_ERR_CONFIG_UNSUPPORTED,
                    "IOMMU device: 'intel' is only supported with Q35 machines");
    if (iommu && mv_streq(iommu->model, "virtio")) {
        if (!is_q35(def))
            return fail(err, VIR_ERR_CONFIG_UNSUPPORTED,
                        "IOMMU device: 'virtio' is only supported with Q35 and ARM Virt machines");
        if (!def->features || !def->features->acpi)
            return fail(err, VIR_ERR_CONFIG_UNSUPPORTED,
                        "IOMMU device: 'virtio' requires ACPI");
    }
    for (size_t i = 0; i < def->ninputs; i++) {
        const mv_domain_input *in = &def->inputs[i];

        if (mv_streq(in->bus, "ps2") && def->features && def->features->ps2 == MV_TRISTATE_NO)
            return fail(err, VIR_ERR_CONFIG_UNSUPPORTED,
                        "ps2 bus inputs require the ps2 feature not to be disabled");
        if (in->model && !mv_streq(in->model, "virtio") && !mv_streq(in->type, "passthrough"))
            return fail(err, VIR_ERR_CONFIG_UNSUPPORTED,
                        "virtio (non-)transitional models are not supported for input type=%s",
                        in->type);
    }
    if (def->cpu && mv_streq(def->cpu->cache_mode, "emulate") && def->cpu->cache_level != 3)
        return fail(err, VIR_ERR_CONFIG_UNSUPPORTED,
                    "CPU cache mode 'emulate' can only be used with level='3'");
    for (size_t i = 0; i < def->ndisks; i++)
        if (disk_rules(&def->disks[i], err) < 0)
            return -1;
    return 0;
}

int mv_domain_def_validate(const mv_domain_def *def, mv_error *err)
{
    mv_hash *pci = mv_keyset_new();
    int ret = -1;

    if (!pci)
        return fail(err, VIR_ERR_NO_MEMORY, "validating PCI addresses");
    if (mv_for_each_device(def, pci_check, pci, err) < 0 || controller_rules(def, err) < 0 ||
        usb_rules(def, err) < 0 || memory_rules(def, err) < 0 || firmware_rules(def, err) < 0 ||
        device_rules(def, err) < 0)
        goto cleanup;
    ret = 0;
cleanup:
    mv_hash_free(pci);
    return ret;
}
