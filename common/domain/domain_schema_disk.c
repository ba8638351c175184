/* domain_schema_disk.c: what every device carries (boot order, alias, address) and the
 * storage side of <devices>: disks, controllers, filesystems. */
#include "common/domain/domain_schema.h"

#include <ctype.h>
#include <string.h>
#include "common/str.h"

const char *const mv_values_virtio_models[] = {"virtio", "virtio-transitional",
                                               "virtio-non-transitional", NULL};

static const char *const address_types[] = {"pci", "drive", "virtio-serial", "ccid", "usb",
                                            "isa", "unassigned", NULL};
static const char *const disk_types[] = {"file", "block", "network", NULL};
static const char *const disk_devices[] = {"disk", "cdrom", "floppy", "lun", NULL};
static const char *const disk_snapshots[] = {"no", "internal", "external", "manual", NULL};
static const char *const disk_formats[] = {"raw", "qcow2", "qcow", "qed", "vmdk", "vpc", "vdi",
                                           "vhdx", "cloop", "dmg", "bochs", "iso", "luks",
                                           "ploop", "cow", NULL};
static const char *const disk_caches[] = {"default", "none", "writethrough", "writeback",
                                          "directsync", "unsafe", NULL};
static const char *const error_policies[] = {"stop", "report", "ignore", "enospace", NULL};
static const char *const rerror_policies[] = {"stop", "report", "ignore", NULL};
static const char *const disk_ios[] = {"threads", "native", "io_uring", NULL};
static const char *const disk_discards[] = {"unmap", "ignore", NULL};
static const char *const detect_zeroes[] = {"off", "on", "unmap", NULL};
static const char *const protocols[] = {"nbd", "rbd", "sheepdog", "gluster", "iscsi", "http",
                                        "https", "ftp", "ftps", "tftp", "ssh", "vxhs", "nfs",
                                        NULL};
static const char *const startup_policies[] = {"mandatory", "requisite", "optional", NULL};
static const char *const transports[] = {"tcp", "unix", "rdma", NULL};
static const char *const geometry_trans[] = {"none", "lba", "auto", NULL};
static const char *const disk_buses[] = {"ide", "fdc", "scsi", "virtio", "xen", "usb", "sata",
                                         "sd", NULL};
static const char *const trays[] = {"open", "closed", NULL};

/* ---- <address>, <alias>, <boot>, virtio <driver> ---- */
#define A mv_domain_address

static bool is_pci(const void *obj)
{
    const char *t = ((const A *)obj)->type;

    return t && strcmp(t, "pci") == 0;
}
static bool omit_unless_pci(const void *obj, unsigned int flags)
{
    return !is_pci(obj);
}
static bool omit_if_pci(const void *obj, unsigned int flags)
{
    return is_pci(obj);
}

/* Which attributes each address type takes, in the order of the attribute table. */
static const struct {
    const char *type;
    const char *attrs;
} address_attrs[] = {
    {"pci", " domain bus slot function multifunction "},
    {"drive", " controller bus target unit "},
    {"virtio-serial", " controller bus port "},
    {"ccid", " controller slot "},
    {"usb", " bus port "},
    {"isa", " iobase irq "},
    {"unassigned", " "},
};

static bool usb_port_ok(const char *p)
{
    /* "1", "1.2", "1.2.3": up to 4 levels of hubs as libvirt allows. */
    int parts = 0;

    while (*p) {
        if (!isdigit((unsigned char)*p))
            return false;
        while (isdigit((unsigned char)*p))
            p++;
        parts++;
        if (*p == '.' && p[1])
            p++;
        else if (*p)
            return false;
    }
    return parts >= 1 && parts <= 5;
}

static int address_check(void *obj, const xmlNode *node, unsigned int flags, mv_error *err)
{
    A *a = obj;
    const char *allowed = NULL;

    if (!a->type) {
        mv_xml_error(err, VIR_ERR_XML_ERROR, node, "<address> needs a type");
        return -1;
    }
    for (size_t i = 0; i < sizeof(address_attrs) / sizeof(address_attrs[0]); i++)
        if (strcmp(address_attrs[i].type, a->type) == 0)
            allowed = address_attrs[i].attrs;
    for (const xmlAttr *p = node->properties; p; p = p->next) {
        char word[64];

        if (strcmp((const char *)p->name, "type") == 0)
            continue;
        snprintf(word, sizeof(word), " %s ", (const char *)p->name);
        if (!allowed || !strstr(allowed, word)) {
            mv_xml_error(err, VIR_ERR_XML_ERROR, node,
                         "unsupported attribute '%s' for <address type='%s'>",
                         (const char *)p->name, a->type);
            return -1;
        }
    }
    if (is_pci(a)) {
        /* libvirt's limits and wording for PCI addresses */
        if (a->bus > 0xff) {
            mv_xml_error(err, VIR_ERR_XML_ERROR, node,
                         "invalid PCI address bus='0x%x', must be <= 0xFF", (unsigned)a->bus);
            return -1;
        }
        if (a->slot > 0x1f) {
            mv_xml_error(err, VIR_ERR_XML_ERROR, node,
                         "invalid PCI address slot='0x%x', must be <= 0x1F", (unsigned)a->slot);
            return -1;
        }
        if (a->function > 7) {
            mv_xml_error(err, VIR_ERR_XML_ERROR, node,
                         "invalid PCI address function='0x%x', must be <= 7",
                         (unsigned)a->function);
            return -1;
        }
    }
    if (a->port) {
        long long v;
        bool ok = strcmp(a->type, "usb") == 0 ? usb_port_ok(a->port)
                                               : mv_xml_parse_ll(a->port, 10, &v) == 0 && v >= 0;

        if (!ok) {
            mv_xml_error(err, VIR_ERR_XML_ERROR, node,
                         "invalid value '%s' for attribute 'port' of <address type='%s'>",
                         a->port, a->type);
            return -1;
        }
    }
    return 0;
}

/* 'bus' and 'slot' are hexadecimal for PCI and decimal elsewhere, as libvirt writes them:
 * the first entry of a name parses (any base), the two entries take turns formatting. */
const mv_xml_elem mv_schema_address = {
    .name = "address",
    .size = sizeof(A),
    .attrs =
        (const mv_xml_attr[]){
            A_ENUM(A, "type", type, address_types),
            {.name = "domain", .kind = MV_XK_HEX, .offset = offsetof(A, domain), .width = 4,
             .max = 0xffff},
            A_INT(A, "controller", controller),
            {.name = "bus", .kind = MV_XK_HEX, .offset = offsetof(A, bus), .width = 2,
             .max = INT_MAX, .omit = omit_unless_pci},
            {.name = "bus", .kind = MV_XK_INT, .offset = offsetof(A, bus),
             .omit = omit_if_pci},
            {.name = "slot", .kind = MV_XK_HEX, .offset = offsetof(A, slot), .width = 2,
             .max = INT_MAX, .omit = omit_unless_pci},
            {.name = "slot", .kind = MV_XK_INT, .offset = offsetof(A, slot),
             .omit = omit_if_pci},
            {.name = "function", .kind = MV_XK_HEX, .offset = offsetof(A, function),
             .width = 1, .max = INT_MAX},
            A_ONOFF(A, "multifunction", multifunction),
            A_INT(A, "target", target),
            A_INT(A, "unit", unit),
            A_STR(A, "port", port),
            {.name = "iobase", .kind = MV_XK_HEX, .offset = offsetof(A, iobase), .width = 1,
             .max = 0xffff},
            {.name = "irq", .kind = MV_XK_HEX, .offset = offsetof(A, irq), .width = 1,
             .max = 0xff},
            A_END},
    .check = address_check};
#undef A

#define I mv_domain_device_info
static bool is_user_alias(const char *a)
{
    return a && strncmp(a, "ua-", 3) == 0;
}

/* Aliases the driver gave a running guest are runtime state; "ua-" ones are the user's. */
static bool omit_runtime_alias(const void *obj, unsigned int flags)
{
    return mv_schema_inactive(flags) && !is_user_alias(((const I *)obj)->alias);
}

static int alias_check(void *obj, const xmlNode *node, unsigned int flags, mv_error *err)
{
    I *info = obj;

    if (!info->alias || !*info->alias) {
        mv_xml_error(err, VIR_ERR_XML_ERROR, node, "<alias> needs a name");
        return -1;
    }
    for (const char *p = info->alias; *p; p++) {
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.') {
            mv_xml_error(err, VIR_ERR_XML_ERROR, node, "invalid alias name '%s'", info->alias);
            return -1;
        }
    }
    if (!(flags & MV_DOMAIN_DEF_PARSE_LIVE) && !is_user_alias(info->alias)) {
        free(info->alias); /* as libvirt does on define: only "ua-" aliases persist */
        info->alias = NULL;
    }
    return 0;
}

const mv_xml_elem mv_schema_alias = {
    .attrs = (const mv_xml_attr[]){{.name = "name", .kind = MV_XK_STRING,
                                    .offset = offsetof(I, alias), .omit = omit_runtime_alias},
                                   A_END},
    .check = alias_check};

static int boot_check(void *obj, const xmlNode *node, unsigned int flags, mv_error *err)
{
    if (((I *)obj)->boot_order == 0) {
        mv_xml_error(err, VIR_ERR_XML_ERROR, node, "<boot> needs an 'order' attribute");
        return -1;
    }
    return 0;
}

const mv_xml_elem mv_schema_boot = {
    .attrs = (const mv_xml_attr[]){A_POS(I, "order", boot_order),
                                   A_STR(I, "loadparm", boot_loadparm), A_END},
    .check = boot_check};
#undef I

#define A_VIRTIO(T)                                                                          \
    A_ONOFF(T, "iommu", virtio.iommu), A_ONOFF(T, "ats", virtio.ats),                       \
        A_ONOFF(T, "packed", virtio.packed), A_ONOFF(T, "page_per_vq", virtio.page_per_vq)

const mv_xml_elem mv_schema_virtio_driver = {
    .attrs = (const mv_xml_attr[]){A_ONOFF(mv_domain_virtio_opts, "iommu", iommu),
                                   A_ONOFF(mv_domain_virtio_opts, "ats", ats),
                                   A_ONOFF(mv_domain_virtio_opts, "packed", packed),
                                   A_ONOFF(mv_domain_virtio_opts, "page_per_vq", page_per_vq),
                                   A_END}};

/* ---- <disk> ---- */
#define K mv_domain_disk
static const mv_xml_elem disk_driver = {
    .attrs = (const mv_xml_attr[]){
        A_STR(K, "name", driver_name), A_ENUM(K, "type", driver_format, disk_formats),
        A_ENUM(K, "cache", driver_cache, disk_caches),
        A_ENUM(K, "error_policy", driver_error_policy, error_policies),
        A_ENUM(K, "rerror_policy", driver_rerror_policy, rerror_policies),
        A_ENUM(K, "io", driver_io, disk_ios), A_ONOFF(K, "copy_on_read", driver_copy_on_read),
        A_ENUM(K, "discard", driver_discard, disk_discards),
        A_INTR(K, "iothread", driver_iothread, 1, INT_MAX),
        A_ENUM(K, "detect_zeroes", driver_detect_zeroes, detect_zeroes),
        A_INTR(K, "queues", driver_queues, 1, INT_MAX),
        A_INTR(K, "queue_size", driver_queue_size, 1, INT_MAX), A_VIRTIO(K), A_END}};

static const mv_xml_elem disk_host = {
    .size = sizeof(mv_domain_disk_host),
    .attrs = (const mv_xml_attr[]){A_STR(mv_domain_disk_host, "name", name),
                                   A_STR(mv_domain_disk_host, "port", port),
                                   A_ENUM(mv_domain_disk_host, "transport", transport, transports),
                                   A_STR(mv_domain_disk_host, "socket", socket), A_END}};

static const mv_xml_elem disk_source = {
    .attrs = (const mv_xml_attr[]){A_STR(K, "file", src_file), A_STR(K, "dev", src_dev),
                                   A_ENUM(K, "protocol", src_protocol, protocols),
                                   A_STR(K, "name", src_name), A_STR(K, "query", src_query),
                                   A_ENUM(K, "startupPolicy", src_startup_policy,
                                          startup_policies),
                                   A_END},
    .children = (const mv_xml_child[]){C_LIST(K, "host", disk_host, src_hosts, nsrc_hosts),
                                       C_END}};

static const mv_xml_elem disk_geometry = {
    .attrs = (const mv_xml_attr[]){A_INTR(K, "cyls", geometry_cyls, 0, INT_MAX),
                                   A_INTR(K, "heads", geometry_heads, 0, INT_MAX),
                                   A_INTR(K, "secs", geometry_secs, 0, INT_MAX),
                                   A_ENUM(K, "trans", geometry_trans, geometry_trans), A_END}};

static const mv_xml_elem disk_blockio = {
    .attrs = (const mv_xml_attr[]){A_INT(K, "logical_block_size", logical_block_size),
                                   A_INT(K, "physical_block_size", physical_block_size), A_END}};

static const mv_xml_elem disk_target = {
    .attrs = (const mv_xml_attr[]){A_STR(K, "dev", target_dev),
                                   A_ENUM(K, "bus", target_bus, disk_buses),
                                   A_ENUM(K, "tray", target_tray, trays),
                                   A_ONOFF(K, "removable", target_removable),
                                   A_INTR(K, "rotation_rate", target_rotation_rate, 1, 65534),
                                   A_END}};

/* <iotune>: one element per limit, each holding a number. */
#define IOTUNE_LIMIT(F)                                                                      \
    static const mv_xml_elem iotune_##F = {.text = A_LL(K, NULL, iotune.F)}
IOTUNE_LIMIT(total_bytes_sec);
IOTUNE_LIMIT(read_bytes_sec);
IOTUNE_LIMIT(write_bytes_sec);
IOTUNE_LIMIT(total_iops_sec);
IOTUNE_LIMIT(read_iops_sec);
IOTUNE_LIMIT(write_iops_sec);
IOTUNE_LIMIT(total_bytes_sec_max);
IOTUNE_LIMIT(read_bytes_sec_max);
IOTUNE_LIMIT(write_bytes_sec_max);
IOTUNE_LIMIT(total_iops_sec_max);
IOTUNE_LIMIT(read_iops_sec_max);
IOTUNE_LIMIT(write_iops_sec_max);
IOTUNE_LIMIT(size_iops_sec);
IOTUNE_LIMIT(total_bytes_sec_max_length);
IOTUNE_LIMIT(read_bytes_sec_max_length);
IOTUNE_LIMIT(write_bytes_sec_max_length);
IOTUNE_LIMIT(total_iops_sec_max_length);
IOTUNE_LIMIT(read_iops_sec_max_length);
IOTUNE_LIMIT(write_iops_sec_max_length);
#define C_IOTUNE(F) C_FLAT(#F, iotune_##F)

static int iotune_check(void *obj, const xmlNode *node, unsigned int flags, mv_error *err)
{
    const mv_domain_disk_iotune *t = &((K *)obj)->iotune;

    /* libvirt's rule: a total limit and a read/write one exclude each other */
    if ((t->total_bytes_sec != MV_UNSET &&
         (t->read_bytes_sec != MV_UNSET || t->write_bytes_sec != MV_UNSET)) ||
        (t->total_iops_sec != MV_UNSET &&
         (t->read_iops_sec != MV_UNSET || t->write_iops_sec != MV_UNSET)) ||
        (t->total_bytes_sec_max != MV_UNSET &&
         (t->read_bytes_sec_max != MV_UNSET || t->write_bytes_sec_max != MV_UNSET)) ||
        (t->total_iops_sec_max != MV_UNSET &&
         (t->read_iops_sec_max != MV_UNSET || t->write_iops_sec_max != MV_UNSET))) {
        mv_xml_error(err, VIR_ERR_XML_ERROR, node,
                     "total and read/write limits cannot be set at the same time");
        return -1;
    }
    return 0;
}

static const mv_xml_elem disk_iotune = {
    .children =
        (const mv_xml_child[]){
            C_IOTUNE(total_bytes_sec), C_IOTUNE(read_bytes_sec), C_IOTUNE(write_bytes_sec),
            C_IOTUNE(total_iops_sec), C_IOTUNE(read_iops_sec), C_IOTUNE(write_iops_sec),
            C_IOTUNE(total_bytes_sec_max), C_IOTUNE(read_bytes_sec_max),
            C_IOTUNE(write_bytes_sec_max), C_IOTUNE(total_iops_sec_max),
            C_IOTUNE(read_iops_sec_max), C_IOTUNE(write_iops_sec_max),
            C_IOTUNE(size_iops_sec), C_TEXT(K, "group_name", iotune.group_name),
            C_IOTUNE(total_bytes_sec_max_length), C_IOTUNE(read_bytes_sec_max_length),
            C_IOTUNE(write_bytes_sec_max_length), C_IOTUNE(total_iops_sec_max_length),
            C_IOTUNE(read_iops_sec_max_length), C_IOTUNE(write_iops_sec_max_length), C_END},
    .check = iotune_check};

static int disk_check(void *obj, const xmlNode *node, unsigned int flags, mv_error *err)
{
    K *d = obj;
    static const char *const prefixes[] = {"hd", "sd", "vd", "xvd", "ubd", "fd", NULL};
    bool prefix_ok = false;
    const char *t = d->type ? d->type : "file";

    if (!d->target_dev) {
        mv_xml_error(err, VIR_ERR_XML_ERROR, node, "<disk> needs <target dev='...'/>");
        return -1;
    }
    for (size_t i = 0; prefixes[i]; i++)
        if (strncmp(d->target_dev, prefixes[i], strlen(prefixes[i])) == 0)
            prefix_ok = true;
    if (!prefix_ok) {
        mv_xml_error(err, VIR_ERR_XML_ERROR, node, "invalid disk target device name '%s'",
                     d->target_dev);
        return -1;
    }
    if ((d->src_file && !mv_streq(t, "file")) || (d->src_dev && !mv_streq(t, "block")) ||
        ((d->src_protocol || d->src_name || d->nsrc_hosts) && !mv_streq(t, "network"))) {
        mv_xml_error(err, VIR_ERR_XML_ERROR, node,
                     "<source> attributes do not match disk type '%s' (file: 'file', block: "
                     "'dev', network: 'protocol', 'name', <host>)",
                     t);
        return -1;
    }
    if (mv_streq(t, "network") && d->has_source && !d->src_protocol) {
        mv_xml_error(err, VIR_ERR_XML_ERROR, node, "network disk '%s' needs a source protocol",
                     d->target_dev);
        return -1;
    }
    if (mv_streq(d->device, "lun") && !mv_streq(t, "block") && !mv_streq(t, "network")) {
        mv_xml_error(err, VIR_ERR_CONFIG_UNSUPPORTED, node,
                     "disk device='lun' is only valid for block type disk source");
        return -1;
    }
    return 0;
}

const mv_xml_elem mv_schema_disk = {
    .name = "disk",
    .size = sizeof(K),
    .attrs = (const mv_xml_attr[]){A_ENUM(K, "type", type, disk_types),
                                   A_ENUM(K, "device", device, disk_devices),
                                   A_ENUM(K, "snapshot", snapshot, disk_snapshots), A_END},
    .children = (const mv_xml_child[]){C_FLAT("driver", disk_driver),
                                       C_FLATP(K, "source", disk_source, has_source),
                                       C_FLAT("geometry", disk_geometry),
                                       C_FLAT("blockio", disk_blockio),
                                       C_FLAT("target", disk_target),
                                       C_FLATP(K, "iotune", disk_iotune, has_iotune),
                                       C_FLAG(K, "readonly", readonly),
                                       C_FLAG(K, "shareable", shareable),
                                       C_FLAG(K, "transient", transient),
                                       C_TEXT(K, "serial", serial), C_TEXT(K, "wwn", wwn),
                                       C_TEXT(K, "vendor", vendor), C_TEXT(K, "product", product),
                                       C_DEVICE_INFO(K), C_END},
    .check = disk_check};
#undef K

/* ---- <controller> ---- */
#define C mv_domain_controller
static const char *const controller_types[] = {"ide", "fdc", "scsi", "sata", "usb", "pci",
                                               "virtio-serial", "ccid", "isa", NULL};
static const char *const scsi_models[] = {
    "auto", "buslogic", "lsilogic", "lsisas1068", "vmpvscsi", "ibmvscsi", "virtio-scsi",
    "lsisas1078", "virtio-transitional", "virtio-non-transitional", "ncr53c90", "dc390",
    "am53c974", NULL};
static const char *const usb_models[] = {
    "piix3-uhci", "piix4-uhci", "ehci", "ich9-ehci1", "ich9-uhci1", "ich9-uhci2", "ich9-uhci3",
    "vt82c686b-uhci", "pci-ohci", "nec-xhci", "qusb1", "qusb2", "qemu-xhci", "none", NULL};
static const char *const ide_models[] = {"piix3", "piix4", "ich6", NULL};
static const char *const pci_models[] = {
    "pci-root", "pcie-root", "pci-bridge", "dmi-to-pci-bridge", "pcie-to-pci-bridge",
    "pcie-root-port", "pcie-switch-upstream-port", "pcie-switch-downstream-port",
    "pci-expander-bus", "pcie-expander-bus", NULL};
static const char *const pci_model_names[] = {
    "pci-bridge", "i82801b11-bridge", "ioh3420", "pcie-root-port", "x3130-upstream",
    "xio3130-downstream", "pxb", "pxb-pcie", "pcie-pci-bridge", NULL};
/* Every model of every type: the per-type check below narrows it. */
static const char *const controller_models[] = {
    "auto", "buslogic", "lsilogic", "lsisas1068", "vmpvscsi", "ibmvscsi", "virtio-scsi",
    "lsisas1078", "virtio-transitional", "virtio-non-transitional", "ncr53c90", "dc390",
    "am53c974", "piix3-uhci", "piix4-uhci", "ehci", "ich9-ehci1", "ich9-uhci1", "ich9-uhci2",
    "ich9-uhci3", "vt82c686b-uhci", "pci-ohci", "nec-xhci", "qusb1", "qusb2", "qemu-xhci",
    "none", "piix3", "piix4", "ich6", "pci-root", "pcie-root", "pci-bridge",
    "dmi-to-pci-bridge", "pcie-to-pci-bridge", "pcie-root-port", "pcie-switch-upstream-port",
    "pcie-switch-downstream-port", "pci-expander-bus", "pcie-expander-bus", "virtio", NULL};

static const mv_xml_elem ctrl_model = {
    .attrs = (const mv_xml_attr[]){A_ENUM(C, "name", model_name, pci_model_names), A_END}};
static const mv_xml_elem ctrl_driver = {
    .attrs = (const mv_xml_attr[]){A_INTR(C, "queues", driver_queues, 1, INT_MAX),
                                   A_INTR(C, "cmd_per_lun", driver_cmd_per_lun, 1, INT_MAX),
                                   A_INTR(C, "max_sectors", driver_max_sectors, 1, INT_MAX),
                                   A_ONOFF(C, "ioeventfd", driver_ioeventfd),
                                   A_INTR(C, "iothread", driver_iothread, 1, INT_MAX),
                                   A_VIRTIO(C), A_END}};
static const mv_xml_elem ctrl_target_node = {.text = A_INT(C, NULL, target_node)};
static const mv_xml_elem ctrl_target = {
    .attrs = (const mv_xml_attr[]){A_INTR(C, "chassisNr", target_chassis_nr, 1, 255),
                                   A_INTR(C, "chassis", target_chassis, 0, 255),
                                   {.name = "port", .kind = MV_XK_HEX,
                                    .offset = offsetof(C, target_port), .width = 1, .max = 255},
                                   A_INTR(C, "busNr", target_bus_nr, 0, 254),
                                   A_INTR(C, "index", target_index, 0, 31),
                                   A_ONOFF(C, "hotplug", target_hotplug), A_END},
    .children = (const mv_xml_child[]){C_FLAT("node", ctrl_target_node), C_END}};
static const mv_xml_elem ctrl_pcihole64 = {.attrs = (const mv_xml_attr[]){A_UNIT, A_END},
                                           .text = A_SCALED(C, NULL, pcihole64_kib)};
static const mv_xml_elem ctrl_master = {
    .attrs = (const mv_xml_attr[]){A_INT(C, "startport", master_startport), A_END}};

static bool in_list(const char *const *list, const char *v)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(list[i], v) == 0)
            return true;
    return false;
}

static int controller_check(void *obj, const xmlNode *node, unsigned int flags, mv_error *err)
{
    C *c = obj;
    const char *const *models = NULL;

    if (!c->type) {
        mv_xml_error(err, VIR_ERR_XML_ERROR, node, "<controller> needs a type");
        return -1;
    }
    if (strcmp(c->type, "scsi") == 0)
        models = scsi_models;
    else if (strcmp(c->type, "usb") == 0)
        models = usb_models;
    else if (strcmp(c->type, "ide") == 0)
        models = ide_models;
    else if (strcmp(c->type, "pci") == 0)
        models = pci_models;
    else if (strcmp(c->type, "virtio-serial") == 0)
        models = mv_values_virtio_models;
    if (c->model && (!models || !in_list(models, c->model))) {
        mv_xml_error(err, VIR_ERR_XML_ERROR, node,
                     "unsupported value '%s' for attribute 'model' of <controller type='%s'>",
                     c->model, c->type);
        return -1;
    }
    if (c->model && strcmp(c->type, "pci") == 0 && c->index != MV_UNSET &&
        (strcmp(c->model, "pci-root") == 0 || strcmp(c->model, "pcie-root") == 0) &&
        c->index != 0) {
        mv_xml_error(err, VIR_ERR_XML_ERROR, node,
                     "pci-root and pcie-root controllers should have index 0");
        return -1;
    }
    return 0;
}

const mv_xml_elem mv_schema_controller = {
    .name = "controller",
    .size = sizeof(C),
    .attrs = (const mv_xml_attr[]){A_ENUM(C, "type", type, controller_types),
                                   A_INT(C, "index", index),
                                   A_ENUM(C, "model", model, controller_models),
                                   A_INT(C, "ports", ports), A_INT(C, "vectors", vectors),
                                   A_END},
    .children = (const mv_xml_child[]){C_FLAT("model", ctrl_model), C_FLAT("driver", ctrl_driver),
                                       C_FLAT("target", ctrl_target),
                                       C_FLAT("pcihole64", ctrl_pcihole64),
                                       C_DEVICE_ALIAS(C), C_FLAT("master", ctrl_master),
                                       C_DEVICE_ADDRESS(C), C_END},
    .check = controller_check};
#undef C

/* ---- <filesystem> ---- */
#define FS mv_domain_fs
static const char *const fs_types[] = {"mount", NULL};
static const char *const fs_accessmodes[] = {"passthrough", "mapped", "squash", NULL};
static const char *const fs_multidevs[] = {"default", "remap", "forbid", "warn", NULL};
static const char *const fs_drivers[] = {"path", "handle", "virtiofs", NULL};
static const char *const fs_wrpolicies[] = {"immediate", NULL};

static const mv_xml_elem fs_driver = {
    .attrs = (const mv_xml_attr[]){A_ENUM(FS, "type", driver_type, fs_drivers),
                                   A_ENUM(FS, "format", driver_format, disk_formats),
                                   A_ENUM(FS, "wrpolicy", driver_wrpolicy, fs_wrpolicies),
                                   A_INTR(FS, "queue", driver_queue, 1, INT_MAX), A_VIRTIO(FS),
                                   A_END}};
static const mv_xml_elem fs_binary = {
    .attrs = (const mv_xml_attr[]){A_STR(FS, "path", binary_path),
                                   A_ONOFF(FS, "xattr", binary_xattr), A_END}};
static const mv_xml_elem fs_source = {
    .attrs = (const mv_xml_attr[]){A_STR(FS, "dir", source_dir), A_STR(FS, "socket", source_socket),
                                   A_END}};
static const mv_xml_elem fs_target = {
    .attrs = (const mv_xml_attr[]){A_STR(FS, "dir", target_dir), A_END}};

static int fs_check(void *obj, const xmlNode *node, unsigned int flags, mv_error *err)
{
    FS *fs = obj;

    if (!fs->target_dir) {
        mv_xml_error(err, VIR_ERR_XML_ERROR, node, "<filesystem> needs <target dir='...'/>");
        return -1;
    }
    if (!fs->source_dir && !fs->source_socket) {
        mv_xml_error(err, VIR_ERR_XML_ERROR, node,
                     "<filesystem> needs <source dir='...'/> or <source socket='...'/>");
        return -1;
    }
    return 0;
}

const mv_xml_elem mv_schema_filesystem = {
    .name = "filesystem",
    .size = sizeof(FS),
    .attrs = (const mv_xml_attr[]){A_ENUM(FS, "type", type, fs_types),
                                   A_ENUM(FS, "accessmode", accessmode, fs_accessmodes),
                                   A_ENUM(FS, "model", model, mv_values_virtio_models),
                                   A_ENUM(FS, "multidevs", multidevs, fs_multidevs), A_END},
    .children = (const mv_xml_child[]){C_FLAT("driver", fs_driver), C_FLAT("binary", fs_binary),
                                       C_FLAT("source", fs_source), C_FLAT("target", fs_target),
                                       C_FLAG(FS, "readonly", readonly), C_DEVICE_INFO(FS),
                                       C_END},
    .check = fs_check};
#undef FS
