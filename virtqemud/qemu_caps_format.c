/* qemu_caps_format.c: capabilities and domain capabilities XML in libvirt's layout,
 * listing only what the probed binary has and the command line builder can express. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "virtqemud/qemu_caps.h"
#include "common/str.h"

/* Closes the memstream f writing into *buf (only valid after the close). */
static char *finish(FILE *f, char **buf, mv_error *err)
{
    if (fclose(f) != 0) {
        free(*buf);
        mv_error_set_errno(err, ENOMEM, VIR_FROM_QEMU, "cannot format capabilities");
        return NULL;
    }
    return *buf;
}

/* Writes s with XML's five special characters escaped. */
static void put_esc(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '&':
            fputs("&amp;", f);
            break;
        case '\'':
            fputs("&apos;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        default:
            fputc(*s, f);
        }
    }
}

char *qemu_caps_format_capabilities(const qemu_caps *caps, const char *host_arch, mv_error *err)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    if (!f) {
        mv_error_set_errno(err, ENOMEM, VIR_FROM_QEMU, "cannot format capabilities");
        return NULL;
    }
    fputs("<capabilities>\n\n  <host>\n    <cpu>\n", f);
    fprintf(f, "      <arch>%s</arch>\n", host_arch ? host_arch : caps->arch);
    fputs("    </cpu>\n"
          "    <power_management/>\n"
          "    <iommu support='no'/>\n"
          "    <migration_features>\n"
          "      <live/>\n"
          "    </migration_features>\n"
          "    <secmodel>\n"
          "      <model>none</model>\n"
          "      <doi>0</doi>\n"
          "    </secmodel>\n"
          "    <secmodel>\n"
          "      <model>dac</model>\n"
          "      <doi>0</doi>\n"
          "    </secmodel>\n"
          "  </host>\n\n",
          f);
    fputs("  <guest>\n    <os_type>hvm</os_type>\n", f);
    fprintf(f, "    <arch name='%s'>\n", caps->arch);
    fprintf(f, "      <wordsize>%d</wordsize>\n",
            mv_streq(caps->arch, "i686") || mv_streq(caps->arch, "arm") ? 32 : 64);
    fputs("      <emulator>", f);
    put_esc(f, caps->binary);
    fputs("</emulator>\n", f);
    /* libvirt lists each machine by its name, then its alias pointing at it; the
     * default machine first. */
    for (size_t k = 0; k <= caps->nmachines; k++) {
        const qemu_caps_machine *m =
            k == 0 ? qemu_caps_machine_find(caps, NULL) : &caps->machines[k - 1];

        if (!m || mv_streq(m->name, "none") || (k > 0 && m->is_default))
            continue;
        fprintf(f, "      <machine maxCpus='%d'%s>%s</machine>\n", m->max_cpus,
                m->deprecated ? " deprecated='yes'" : "", m->name);
        if (m->alias)
            fprintf(f, "      <machine canonical='%s' maxCpus='%d'%s>%s</machine>\n", m->name,
                    m->max_cpus, m->deprecated ? " deprecated='yes'" : "", m->alias);
    }
    fputs("      <domain type='qemu'/>\n", f);
    if (caps->kvm_usable)
        fputs("      <domain type='kvm'/>\n", f);
    fputs("    </arch>\n"
          "    <features>\n"
          "      <acpi default='on' toggle='yes'/>\n"
          "      <apic default='on' toggle='no'/>\n"
          "      <cpuselection/>\n"
          "      <deviceboot/>\n"
          "      <disksnapshot default='on' toggle='no'/>\n"
          "    </features>\n"
          "  </guest>\n\n"
          "</capabilities>\n",
          f);
    return finish(f, &buf, err);
}

/* <enum name='NAME'> with the values QEMU has a device for (dev NULL: always). */
static void put_enum(FILE *f, const qemu_caps *caps, const char *indent, const char *name,
                     const char *const (*vals)[2])
{
    fprintf(f, "%s<enum name='%s'>\n", indent, name);
    for (size_t i = 0; vals[i][0]; i++)
        if (!vals[i][1] || qemu_caps_has_device(caps, vals[i][1]))
            fprintf(f, "%s  <value>%s</value>\n", indent, vals[i][0]);
    fprintf(f, "%s</enum>\n", indent);
}

static const char *const disk_devices[][2] = {
    {"disk", NULL}, {"cdrom", NULL}, {"floppy", "floppy"}, {NULL, NULL}};
static const char *const disk_buses[][2] = {
    {"ide", "ide-hd"},      {"fdc", "floppy"}, {"scsi", "scsi-hd"}, {"virtio", "virtio-blk-pci"},
    {"usb", "usb-storage"}, {"sata", "ahci"},  {NULL, NULL}};
static const char *const graphics_types[][2] = {
    {"sdl", NULL}, {"vnc", NULL}, {"spice", "qxl-vga"}, {"egl-headless", NULL}, {NULL, NULL}};
static const char *const video_models[][2] = {
    {"vga", "VGA"},     {"cirrus", "cirrus-vga"}, {"vmvga", "vmware-svga"},
    {"qxl", "qxl-vga"}, {"virtio", "virtio-vga"}, {"bochs", "bochs-display"},
    {"ramfb", "ramfb"}, {"none", NULL},           {NULL, NULL}};
static const char *const rng_models[][2] = {
    {"virtio", "virtio-rng-pci"},
    {"virtio-transitional", "virtio-rng-pci-transitional"},
    {"virtio-non-transitional", "virtio-rng-pci-non-transitional"},
    {NULL, NULL}};
static const char *const rng_backends[][2] = {
    {"random", NULL}, {"egd", NULL}, {"builtin", NULL}, {NULL, NULL}};
static const char *const chr_types[][2] = {{"pty", NULL},           {"file", NULL},
                                           {"null", NULL},          {"unix", NULL},
                                           {"tcp", NULL},           {"udp", NULL},
                                           {"pipe", NULL},          {"dev", NULL},
                                           {"spicevmc", "qxl-vga"}, {"spiceport", "qxl-vga"},
                                           {"qemu-vdagent", NULL},  {NULL, NULL}};
static const char *const panic_models[][2] = {
    {"isa", "pvpanic"}, {"pvpanic", "pvpanic-pci"}, {NULL, NULL}};
static const char *const fs_drivers[][2] = {{"path", "virtio-9p-pci"}, {NULL, NULL}};
static const char *const sound_models[][2] = {
    {"sb16", "sb16"},           {"es1370", "ES1370"}, {"ac97", "AC97"},      {"ich6", "intel-hda"},
    {"ich9", "ich9-intel-hda"}, {"usb", "usb-audio"}, {"ich7", "intel-hda"}, {NULL, NULL}};

static void put_cpu(FILE *f, const qemu_caps *caps, bool kvm)
{
    const char *suffix = "-x86_64-cpu";
    size_t slen = strlen(suffix);

    fputs("  <cpu>\n", f);
    fputs("    <mode name='host-passthrough' supported='yes'>\n"
          "      <enum name='hostPassthroughMigratable'>\n"
          "        <value>on</value>\n"
          "        <value>off</value>\n"
          "      </enum>\n"
          "    </mode>\n"
          "    <mode name='maximum' supported='yes'>\n"
          "      <enum name='maximumMigratable'>\n"
          "        <value>on</value>\n"
          "        <value>off</value>\n"
          "      </enum>\n"
          "    </mode>\n",
          f);
    fprintf(f, "    <mode name='host-model' supported='%s'/>\n", kvm ? "yes" : "no");
    fputs("    <mode name='custom' supported='yes'>\n", f);
    for (size_t i = 0; i < caps->ndevices; i++) {
        const char *d = caps->devices[i];
        size_t n = strlen(d);

        if (n > slen && strcmp(d + n - slen, suffix) == 0 && strncmp(d, "base", 4) != 0 &&
            strncmp(d, "host", 4) != 0 && strncmp(d, "max", 3) != 0)
            fprintf(f, "      <model usable='unknown'>%.*s</model>\n", (int)(n - slen), d);
    }
    fputs("    </mode>\n  </cpu>\n", f);
}

char *qemu_caps_format_domain_caps(const qemu_caps *caps, const char *arch, const char *machine,
                                   const char *virttype, mv_error *err)
{
    const qemu_caps_machine *m;
    bool kvm;
    char *buf = NULL;
    size_t len = 0;
    FILE *f;

    if (arch && *arch && !mv_streq(arch, caps->arch)) {
        mv_error_set(err, VIR_ERR_INVALID_ARG, VIR_FROM_QEMU,
                     "the emulator '%s' does not support arch '%s'", caps->binary, arch);
        return NULL;
    }
    if (!(m = qemu_caps_machine_find(caps, machine && *machine ? machine : NULL))) {
        mv_error_set(err, VIR_ERR_INVALID_ARG, VIR_FROM_QEMU,
                     "the machine '%s' is not supported by emulator '%s'",
                     machine && *machine ? machine : "(default)", caps->binary);
        return NULL;
    }
    if (virttype && *virttype && !mv_streq(virttype, "qemu") && !mv_streq(virttype, "kvm")) {
        mv_error_set(err, VIR_ERR_INVALID_ARG, VIR_FROM_QEMU, "unknown virttype: %s", virttype);
        return NULL;
    }
    kvm = virttype && *virttype ? mv_streq(virttype, "kvm") : caps->kvm_usable;
    if (kvm && !caps->kvm_usable) {
        mv_error_set(err, VIR_ERR_INVALID_ARG, VIR_FROM_QEMU,
                     "KVM is not supported by '%s' on this host", caps->binary);
        return NULL;
    }
    if (!(f = open_memstream(&buf, &len))) {
        mv_error_set_errno(err, ENOMEM, VIR_FROM_QEMU, "cannot format domain capabilities");
        return NULL;
    }
    fputs("<domainCapabilities>\n  <path>", f);
    put_esc(f, caps->binary);
    fprintf(f, "</path>\n  <domain>%s</domain>\n  <machine>%s</machine>\n  <arch>%s</arch>\n",
            kvm ? "kvm" : "qemu", m->name, caps->arch);
    fprintf(f, "  <vcpu max='%d'/>\n  <iothreads supported='yes'/>\n", m->max_cpus);
    fputs("  <os supported='yes'>\n"
          "    <loader supported='yes'>\n"
          "      <enum name='type'>\n"
          "        <value>rom</value>\n"
          "        <value>pflash</value>\n"
          "      </enum>\n"
          "      <enum name='readonly'>\n"
          "        <value>yes</value>\n"
          "        <value>no</value>\n"
          "      </enum>\n"
          "    </loader>\n"
          "  </os>\n",
          f);
    put_cpu(f, caps, kvm);
    fputs("  <memoryBacking supported='yes'>\n"
          "    <enum name='sourceType'>\n"
          "      <value>anonymous</value>\n"
          "    </enum>\n"
          "  </memoryBacking>\n"
          "  <devices>\n"
          "    <disk supported='yes'>\n",
          f);
    put_enum(f, caps, "      ", "diskDevice", disk_devices);
    put_enum(f, caps, "      ", "bus", disk_buses);
    fputs("    </disk>\n    <graphics supported='yes'>\n", f);
    put_enum(f, caps, "      ", "type", graphics_types);
    fputs("    </graphics>\n    <video supported='yes'>\n", f);
    put_enum(f, caps, "      ", "modelType", video_models);
    fputs("    </video>\n    <hostdev supported='no'/>\n    <rng supported='yes'>\n", f);
    put_enum(f, caps, "      ", "model", rng_models);
    put_enum(f, caps, "      ", "backendModel", rng_backends);
    fputs("    </rng>\n    <filesystem supported='yes'>\n", f);
    put_enum(f, caps, "      ", "driverType", fs_drivers);
    fputs("    </filesystem>\n    <tpm supported='no'/>\n", f);
    fputs("    <redirdev supported='yes'>\n"
          "      <enum name='bus'>\n"
          "        <value>usb</value>\n"
          "      </enum>\n"
          "    </redirdev>\n"
          "    <channel supported='yes'>\n",
          f);
    put_enum(f, caps, "      ", "type", chr_types);
    fputs("    </channel>\n    <crypto supported='no'/>\n"
          "    <interface supported='yes'>\n"
          "      <enum name='backendType'>\n"
          "        <value>default</value>\n"
          "      </enum>\n"
          "    </interface>\n"
          "    <panic supported='yes'>\n",
          f);
    put_enum(f, caps, "      ", "model", panic_models);
    fputs("    </panic>\n    <console supported='yes'>\n", f);
    put_enum(f, caps, "      ", "type", chr_types);
    fputs("    </console>\n    <sound supported='yes'>\n", f);
    put_enum(f, caps, "      ", "model", sound_models);
    fputs("    </sound>\n  </devices>\n", f);
    fputs("  <features>\n"
          "    <gic supported='no'/>\n"
          "    <vmcoreinfo supported='yes'/>\n"
          "    <genid supported='no'/>\n"
          "    <backingStoreInput supported='no'/>\n"
          "    <backup supported='no'/>\n"
          "    <async-teardown supported='no'/>\n"
          "    <sev supported='no'/>\n"
          "    <sgx supported='no'/>\n"
          "    <hyperv supported='no'/>\n"
          "  </features>\n"
          "</domainCapabilities>\n",
          f);
    return finish(f, &buf, err);
}
