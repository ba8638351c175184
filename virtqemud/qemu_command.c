/* qemu_command.c: the QEMU 7.2 command line of a domain — the machine-wide options
 * (machine, accelerator, memory, cpus, firmware, boot, clock, features, security label)
 * and the result object; devices are in qemu_command_devices.c / _chardev.c. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>
#include "virtqemud/qemu_command_internal.h"

/* ---- argv helpers ---------------------------------------------------------------------- */

void qcmd_add(qcmd *c, const char *arg)
{
    qemu_command *cmd = c->cmd;
    char *copy;

    if (c->oom)
        return;
    if (c->nargv + 2 > c->capargv) {
        size_t cap = c->capargv ? c->capargv * 2 : 64;
        char **v = realloc(cmd->argv, cap * sizeof(char *));

        if (!v) {
            c->oom = true;
            return;
        }
        cmd->argv = v;
        c->capargv = cap;
    }
    if (!(copy = strdup(arg))) {
        c->oom = true;
        return;
    }
    cmd->argv[c->nargv++] = copy;
    cmd->argv[c->nargv] = NULL;
}

static void qcmd_vaddf(qcmd *c, const char *fmt, va_list ap)
{
    char *s = NULL;

    if (vasprintf(&s, fmt, ap) < 0) {
        c->oom = true;
        return;
    }
    qcmd_add(c, s);
    free(s);
}

void qcmd_addf(qcmd *c, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    qcmd_vaddf(c, fmt, ap);
    va_end(ap);
}

void qcmd_opt(qcmd *c, const char *opt, const char *fmt, ...)
{
    va_list ap;

    qcmd_add(c, opt);
    va_start(ap, fmt);
    qcmd_vaddf(c, fmt, ap);
    va_end(ap);
}

char *qcmd_escape(qcmd *c, const char *value)
{
    size_t n = 0;
    char *out, *o;

    for (const char *s = value; *s; s++)
        n += *s == ',' ? 2 : 1;
    if (!(out = malloc(n + 1))) {
        c->oom = true;
        return NULL;
    }
    for (o = out; *value; value++) {
        *o++ = *value;
        if (*value == ',')
            *o++ = ',';
    }
    *o = '\0';
    return out;
}

int qcmd_refuse(qcmd *c, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    mv_error_setv(c->err, VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, fmt, ap);
    va_end(ap);
    return -1;
}

int qcmd_pci_addr(qcmd *c, const mv_domain_device_info *info, const char *what, char *buf, size_t n)
{
    const mv_domain_address *a = info ? info->address : NULL;

    buf[0] = '\0';
    if (!a || !a->type) {
        /* Placed by us, not by QEMU: QEMU would put it in the first free slot at the time,
         * which a device with an explicit address later on the line may need. The primary
         * video of i440fx sits in slot 2, as in libvirt. */
        int slot = -1, bus = 0;

        if (!c->q35 && strcmp(what, "video") == 0 && !c->slot_used[0][2])
            slot = 2;
        /* Bus 0 first, then bridges and root ports in index order. */
        for (int b = 0; slot < 0 && b < QCMD_MAX_BUS; b++)
            for (int s = c->bus_first[b]; slot < 0 && s >= 0 && s <= c->bus_last[b]; s++)
                if (!c->slot_used[b][s]) {
                    slot = s;
                    bus = b;
                }
        if (slot < 0)
            return qcmd_refuse(c,
                               "%s: no free PCI slot left (add a pci-bridge or "
                               "pcie-root-port)",
                               what);
        c->slot_used[bus][slot] = true;
        if (bus == 0)
            snprintf(buf, n, ",bus=%s.0,addr=0x%x", c->q35 ? "pcie" : "pci", (unsigned)slot);
        else
            snprintf(buf, n, ",bus=pci.%d,addr=0x%x", bus, (unsigned)slot);
        return 0;
    }
    if (strcmp(a->type, "pci") != 0)
        return qcmd_refuse(c, "%s cannot sit at a '%s' address", what, a->type);
    if (a->domain > 0)
        return qcmd_refuse(c, "%s: PCI domain %d is not supported", what, a->domain);
    if (a->slot < 0)
        return 0;
    if (a->bus > 0 && (a->bus >= QCMD_MAX_BUS || !c->ctl_bus[a->bus]))
        return qcmd_refuse(c,
                           "%s sits on PCI bus %d, which no <controller type='pci' "
                           "index='%d'> makes",
                           what, a->bus, a->bus);
    snprintf(buf, n, ",bus=%s.%d,addr=0x%x%s%s",
             a->bus > 0 ? "pci"
             : c->q35   ? "pcie"
                        : "pci",
             a->bus > 0 ? a->bus : 0, (unsigned)a->slot, "", "");
    if (a->function > 0)
        snprintf(buf + strlen(buf), n - strlen(buf), ".0x%x", (unsigned)a->function);
    if (a->multifunction == MV_TRISTATE_NO && a->function <= 0 &&
        c->slot_multi[a->bus > 0 ? a->bus : 0][a->slot])
        return qcmd_refuse(c,
                           "%s: slot 0x%x says multifunction='off' but other functions "
                           "of it are used, which QEMU 7.2 refuses",
                           what, (unsigned)a->slot);
    /* Function 0 of a slot whose other functions are used must say so, as libvirt
     * adds when the XML does not. */
    if (a->multifunction == MV_TRISTATE_YES ||
        (a->multifunction == MV_TRISTATE_ABSENT && a->function <= 0 &&
         c->slot_multi[a->bus > 0 ? a->bus : 0][a->slot]))
        snprintf(buf + strlen(buf), n - strlen(buf), ",multifunction=on");
    return 0;
}

const char *qcmd_usb_addr(const mv_domain_device_info *info, char *buf, size_t n)
{
    const mv_domain_address *a = info ? info->address : NULL;

    buf[0] = '\0';
    if (a && a->type && strcmp(a->type, "usb") == 0 && a->port) {
        if (a->bus > 0)
            snprintf(buf, n, ",bus=usb%d.0,port=%s", a->bus, a->port);
        else
            snprintf(buf, n, ",bus=usb.0,port=%s", a->port);
    }
    return buf;
}

void qcmd_bootindex(const mv_domain_device_info *info, char *buf, size_t n)
{
    buf[0] = '\0';
    if (info && info->boot_order > 0)
        snprintf(buf, n, ",bootindex=%d", info->boot_order);
}

int qcmd_need_device(qcmd *c, const char *type, const char *element)
{
    if (qemu_caps_has_device(c->p->caps, type))
        return 0;
    return qcmd_refuse(c, "%s needs QEMU device '%s', which %s does not have", element, type,
                       c->p->caps->binary);
}

/* Marks the bus-0 slot an explicit PCI address takes. */
static void mark_slot(qcmd *c, const mv_domain_device_info *info)
{
    const mv_domain_address *a = info->address;

    if (a && a->type && strcmp(a->type, "pci") == 0 && a->bus < QCMD_MAX_BUS && a->slot >= 0 &&
        a->slot < 32) {
        c->slot_used[a->bus > 0 ? a->bus : 0][a->slot] = true;
        if (a->function > 0)
            c->slot_multi[a->bus > 0 ? a->bus : 0][a->slot] = true;
    }
}

/* Every explicit PCI slot, before anything is placed automatically. */
static int scan_slots(qcmd *c)
{
    const mv_domain_def *d = c->def;

    for (int b = 0; b < QCMD_MAX_BUS; b++)
        c->bus_last[b] = -1;
    c->bus_first[0] = c->q35 ? 1 : 3;
    c->bus_last[0] = c->q35 ? 0x1e : 31; /* q35's 0x1f is the ICH9 itself */
    if (qcmd_controller_indexes(c) < 0)
        return -1;

    c->slot_used[0][0] = true; /* host bridge */
    if (!c->q35)
        c->slot_used[0][1] = true; /* PIIX3: ISA, IDE, USB, PM */
    for (size_t i = 0; i < d->ndisks; i++)
        mark_slot(c, &d->disks[i].info);
    for (size_t i = 0; i < d->ncontrollers; i++)
        mark_slot(c, &d->controllers[i].info);
    for (size_t i = 0; i < d->nfilesystems; i++)
        mark_slot(c, &d->filesystems[i].info);
    for (size_t i = 0; i < d->nnets; i++)
        mark_slot(c, &d->nets[i].info);
    for (size_t i = 0; i < d->ninputs; i++)
        mark_slot(c, &d->inputs[i].info);
    for (size_t i = 0; i < d->nsounds; i++)
        mark_slot(c, &d->sounds[i].info);
    for (size_t i = 0; i < d->nvideos; i++)
        mark_slot(c, &d->videos[i].info);
    for (size_t i = 0; i < d->nwatchdogs; i++)
        mark_slot(c, &d->watchdogs[i].info);
    for (size_t i = 0; i < d->nrngs; i++)
        mark_slot(c, &d->rngs[i].info);
    for (size_t i = 0; i < d->npanics; i++)
        mark_slot(c, &d->panics[i].info);
    for (size_t i = 0; i < d->nserials; i++)
        mark_slot(c, &d->serials[i].info);
    if (d->memballoon)
        mark_slot(c, &d->memballoon->info);
    if (d->iommu)
        mark_slot(c, &d->iommu->info);
    if (d->vsock)
        mark_slot(c, &d->vsock->info);
    return 0;
}

/* ---- machine-wide options --------------------------------------------------------------- */

static int build_machine(qcmd *c)
{
    mv_domain_def *def = c->def;
    const qemu_caps_machine *m;
    const mv_domain_features *f = def->features;
    char opts[512];
    bool kvm = strcmp(def->virt_type, "kvm") == 0;

    if (def->os.arch && strcmp(def->os.arch, c->p->caps->arch) != 0)
        return qcmd_refuse(c, "architecture '%s' is not served by %s (it runs %s)", def->os.arch,
                           c->p->caps->binary, c->p->caps->arch);
    if (!(m = qemu_caps_machine_find(c->p->caps, def->os.machine)))
        return qcmd_refuse(c, "machine type '%s' is not known to %s",
                           def->os.machine ? def->os.machine : "(default)", c->p->caps->binary);
    if (kvm && !c->p->caps->kvm_usable)
        return qcmd_refuse(c, "domain type 'kvm' needs KVM, which is not usable on this host "
                              "(use <domain type='qemu'> for emulation)");
    c->q35 = strstr(m->name, "q35") != NULL;
    /* The live XML names the machine QEMU really runs ("pc" -> "pc-i440fx-7.2"), as
     * libvirt's does. */
    if (!def->os.machine || strcmp(def->os.machine, m->name) != 0) {
        char *name = strdup(m->name);

        if (!name) {
            c->oom = true;
            return -1;
        }
        free(def->os.machine);
        def->os.machine = name;
    }
    if (def->vcpus > m->max_cpus)
        return qcmd_refuse(c, "%d vcpus exceed the %d machine type '%s' allows", def->vcpus,
                           m->max_cpus, m->name);
    snprintf(opts, sizeof(opts), "%s,usb=off", m->name);
    if (def->memory_dump_core != MV_TRISTATE_ABSENT)
        snprintf(opts + strlen(opts), sizeof(opts) - strlen(opts), ",dump-guest-core=%s",
                 def->memory_dump_core == MV_TRISTATE_YES ? "on" : "off");
    else
        strcat(opts, ",dump-guest-core=off");
    if (!f || !f->acpi)
        strcat(opts, ",acpi=off");
    if (f && f->smm_present)
        strcat(opts, f->smm == MV_TRISTATE_NO ? ",smm=off" : ",smm=on");
    if (f && f->vmport_present)
        strcat(opts, f->vmport == MV_TRISTATE_NO ? ",vmport=off" : ",vmport=on");
    if (def->memory_backing && def->memory_backing->nosharepages)
        strcat(opts, ",mem-merge=off");
    if (def->os.bios_useserial == MV_TRISTATE_YES)
        strcat(opts, ",graphics=off");
    if (def->clock)
        for (size_t i = 0; i < def->clock->ntimers; i++)
            if (strcmp(def->clock->timers[i].name, "hpet") == 0)
                strcat(opts,
                       def->clock->timers[i].present == MV_TRISTATE_NO ? ",hpet=off" : ",hpet=on");
    qcmd_opt(c, "-machine", "%s", opts);
    qcmd_opt(c, "-accel", "%s", kvm ? "kvm" : "tcg");
    return 0;
}

static int build_features(qcmd *c)
{
    const mv_domain_features *f = c->def->features;

    if (!f)
        return 0;
    if (f->hap_present || f->privnet)
        return qcmd_refuse(c, "features/%s is a Xen feature", f->hap_present ? "hap" : "privnet");
    if (f->ioapic_driver && strcmp(f->ioapic_driver, "qemu") == 0 && c->q35)
        qcmd_opt(c, "-global", "kvm-ioapic.disabled=on");
    if (f->async_teardown == MV_TRISTATE_YES)
        return qcmd_refuse(c, "features/async-teardown needs QEMU 8.1 (-run-with)");
    if (f->vmcoreinfo_present && f->vmcoreinfo != MV_TRISTATE_NO)
        qcmd_opt(c, "-device", "vmcoreinfo");
    if (f->ps2 == MV_TRISTATE_NO)
        return qcmd_refuse(c, "features/ps2 state='off' needs QEMU 8.0");
    return 0;
}

static int build_cpu(qcmd *c)
{
    const mv_domain_def *def = c->def;
    const mv_domain_cpu *cpu = def->cpu;
    bool kvm = strcmp(def->virt_type, "kvm") == 0;
    char model[1024] = "";
    int cur = def->vcpus_current > 0 ? def->vcpus_current : def->vcpus;

    if (def->vcpu_cpuset) {
        cpu_set_t set;

        if (!(c->p->flags & (QEMU_COMMAND_DRY_RUN | QEMU_COMMAND_APPLIES_AFFINITY)))
            return qcmd_refuse(c, "vcpu cpuset (host CPU pinning) is not applied by this "
                                  "caller");
        if (qemu_cpuset_parse(def->vcpu_cpuset, &set, c->err) < 0)
            return -1;
    }
    if (def->vcpu_placement && strcmp(def->vcpu_placement, "auto") == 0)
        return qcmd_refuse(c, "vcpu placement='auto' (numad) is not supported by "
                              "modvirt yet");
    if (cpu) {
        const char *mode = cpu->mode ? cpu->mode : "custom";

        if (strcmp(mode, "host-passthrough") == 0 || strcmp(mode, "host-model") == 0)
            /* TCG has no host CPU to pass through: "max" is the closest it emulates. */
            snprintf(model, sizeof(model), "%s", kvm ? "host" : "max");
        else if (strcmp(mode, "maximum") == 0)
            snprintf(model, sizeof(model), "max");
        else if (cpu->model)
            snprintf(model, sizeof(model), "%s", cpu->model);
        if (cpu->model && strcmp(mode, "custom") == 0) {
            char type[256];

            snprintf(type, sizeof(type), "%s-x86_64-cpu", cpu->model);
            if (!qemu_caps_has_device(c->p->caps, type))
                return qcmd_refuse(c, "CPU model '%s' is not known to %s", cpu->model,
                                   c->p->caps->binary);
        }
        for (size_t i = 0; model[0] && i < cpu->nfeatures; i++) {
            const mv_domain_cpu_feature *fe = &cpu->features[i];
            bool off = fe->policy &&
                       (strcmp(fe->policy, "disable") == 0 || strcmp(fe->policy, "forbid") == 0);

            if (fe->policy && strcmp(fe->policy, "optional") == 0)
                continue;
            if (!qemu_caps_has_cpu_feature(c->p->caps, fe->name))
                return qcmd_refuse(c, "CPU feature '%s' is not known to %s", fe->name,
                                   c->p->caps->binary);
            snprintf(model + strlen(model), sizeof(model) - strlen(model), ",%s=%s", fe->name,
                     off ? "off" : "on");
        }
        if (model[0] && def->features && def->features->pmu_present)
            snprintf(model + strlen(model), sizeof(model) - strlen(model), ",pmu=%s",
                     def->features->pmu == MV_TRISTATE_NO ? "off" : "on");
    }
    if (model[0])
        qcmd_opt(c, "-cpu", "%s", model);
    if (cpu && cpu->has_topology)
        qcmd_opt(c, "-smp", "%d,maxcpus=%d,sockets=%d,dies=%d,cores=%d,threads=%d", cur, def->vcpus,
                 cpu->sockets > 0 ? cpu->sockets : 1, cpu->dies > 0 ? cpu->dies : 1,
                 cpu->cores > 0 ? cpu->cores : 1, cpu->threads > 0 ? cpu->threads : 1);
    else
        qcmd_opt(c, "-smp", "%d,maxcpus=%d,sockets=%d,cores=1,threads=1", cur, def->vcpus,
                 def->vcpus);
    if (cpu && cpu->clusters > 1)
        return qcmd_refuse(c, "cpu/topology clusters need QEMU 8.2");
    return 0;
}

/* <os firmware='efi'>: the host's matching UEFI build and the guest's own variable
 * store, written into the live definition as libvirt does (<loader>, <nvram>). */
static int firmware_auto(qcmd *c)
{
    mv_domain_def *def = c->def;
    qemu_firmware fw;
    bool dry = c->p->flags & QEMU_COMMAND_DRY_RUN;

    if (qemu_firmware_select(def, def->os.machine, &fw, c->err) < 0)
        return -1;
    if (def->os.nvram_format && strcmp(def->os.nvram_format, fw.format) != 0)
        return qcmd_refuse(c,
                           "nvram format '%s' differs from the %s variable store of the "
                           "UEFI firmware '%s'",
                           def->os.nvram_format, fw.format, fw.code);
    if (fw.requires_smm && def->features && def->features->smm_present &&
        def->features->smm == MV_TRISTATE_NO)
        return qcmd_refuse(c,
                           "the UEFI firmware '%s' needs SMM, which <smm state='off'/> "
                           "turns off",
                           fw.code);
    if (!def->os.nvram) {
        const char *dir = c->p->nvram_dir ? c->p->nvram_dir : dry ? c->p->sock_dir : NULL;

        if (!dir)
            return qcmd_refuse(c, "os firmware='efi' needs an <nvram> path here");
        if (asprintf(&def->os.nvram, "%s/%s_VARS.fd", dir, def->name) < 0) {
            def->os.nvram = NULL;
            c->oom = true;
            return -1;
        }
    }
    if (!def->os.nvram_template && fw.vars_template[0] &&
        !(def->os.nvram_template = strdup(fw.vars_template))) {
        c->oom = true;
        return -1;
    }
    if (!(def->os.loader = strdup(fw.code))) {
        c->oom = true;
        return -1;
    }
    def->os.loader_type = "pflash";
    def->os.loader_readonly = MV_TRISTATE_YES;
    def->os.loader_secure = fw.secure_boot ? MV_TRISTATE_YES : MV_TRISTATE_NO;
    if (!dry && def->os.nvram_template &&
        qemu_firmware_copy_vars(def->os.nvram_template, def->os.nvram, c->err) < 0)
        return -1;
    if (fw.requires_smm)
        qcmd_opt(c, "-machine", "smm=on");
    if (fw.secure_boot)
        qcmd_opt(c, "-global", "driver=cfi.pflash01,property=secure,value=on");
    return 0;
}

static int build_os(qcmd *c)
{
    const mv_domain_os *os = &c->def->os;
    char boot[128] = "";
    bool per_device = false;
    const mv_domain_def *def = c->def;

    if (os->type && strcmp(os->type, "hvm") != 0)
        return qcmd_refuse(c, "os type '%s' is not run by QEMU here (hvm only)", os->type);
    /* firmware='bios' is QEMU's own default (SeaBIOS): nothing to add. */
    if (os->firmware && strcmp(os->firmware, "efi") == 0 && !os->loader && firmware_auto(c) < 0)
        return -1;
    if (os->loader) {
        if (os->loader_type && strcmp(os->loader_type, "pflash") == 0) {
            char *l = qcmd_escape(c, os->loader);

            qcmd_opt(c, "-drive", "if=pflash,format=%s,unit=0,file=%s%s",
                     os->loader_format ? os->loader_format : "raw", l ? l : "",
                     os->loader_readonly == MV_TRISTATE_YES ? ",readonly=on" : "");
            free(l);
            if (os->nvram) {
                char *n = qcmd_escape(c, os->nvram);

                qcmd_opt(c, "-drive", "if=pflash,format=%s,unit=1,file=%s",
                         os->nvram_format ? os->nvram_format : "raw", n ? n : "");
                free(n);
            }
        } else {
            qcmd_opt(c, "-bios", "%s", os->loader);
        }
    }
    if (os->kernel)
        qcmd_opt(c, "-kernel", "%s", os->kernel);
    if (os->initrd)
        qcmd_opt(c, "-initrd", "%s", os->initrd);
    if (os->cmdline)
        qcmd_opt(c, "-append", "%s", os->cmdline);
    if (os->dtb)
        qcmd_opt(c, "-dtb", "%s", os->dtb);
    if (os->smbios_mode && strcmp(os->smbios_mode, "emulate") != 0)
        return qcmd_refuse(c, "os/smbios mode='%s' is not supported by modvirt", os->smbios_mode);

    for (size_t i = 0; i < def->ndisks; i++)
        per_device |= def->disks[i].info.boot_order > 0;
    for (size_t i = 0; i < def->nnets; i++)
        per_device |= def->nets[i].info.boot_order > 0;
    /* -boot order= and bootindex= do not mix; per-device orders win, as in libvirt. */
    if (!per_device && os->nboot_devs && !os->kernel) {
        strcat(boot, "order=");
        for (size_t i = 0; i < os->nboot_devs; i++) {
            const char *d = os->boot_devs[i];

            strcat(boot, strcmp(d, "hd") == 0      ? "c"
                         : strcmp(d, "cdrom") == 0 ? "d"
                         : strcmp(d, "fd") == 0    ? "a"
                                                   : "n");
        }
    }
    if (os->bootmenu_enable != MV_TRISTATE_ABSENT)
        snprintf(boot + strlen(boot), sizeof(boot) - strlen(boot), "%smenu=%s", boot[0] ? "," : "",
                 os->bootmenu_enable == MV_TRISTATE_YES ? "on" : "off");
    if (os->bootmenu_timeout > 0)
        snprintf(boot + strlen(boot), sizeof(boot) - strlen(boot), "%ssplash-time=%d",
                 boot[0] ? "," : "", os->bootmenu_timeout);
    if (os->bios_reboot_timeout != MV_UNSET_SIGNED)
        snprintf(boot + strlen(boot), sizeof(boot) - strlen(boot), "%sreboot-timeout=%d",
                 boot[0] ? "," : "", os->bios_reboot_timeout);
    if (boot[0])
        qcmd_opt(c, "-boot", "%s", boot);
    return 0;
}

/* "-rtc base=...": libvirt computes variable and absolute offsets into a date. */
static int build_clock(qcmd *c)
{
    const mv_domain_clock *clk = c->def->clock;
    char rtc[128] = "base=utc";
    bool kvm = strcmp(c->def->virt_type, "kvm") == 0;

    if (!clk)
        goto emit;
    if (clk->offset && strcmp(clk->offset, "localtime") == 0) {
        strcpy(rtc, "base=localtime");
    } else if (clk->offset &&
               (strcmp(clk->offset, "variable") == 0 || strcmp(clk->offset, "absolute") == 0)) {
        time_t t = strcmp(clk->offset, "absolute") == 0 ? (time_t)clk->start : time(NULL);
        struct tm tm;

        if (strcmp(clk->offset, "variable") == 0 && clk->adjustment &&
            strcmp(clk->adjustment, "reset") != 0)
            t += strtoll(clk->adjustment, NULL, 10);
        gmtime_r(&t, &tm);
        strftime(rtc, sizeof(rtc), "base=%Y-%m-%dT%H:%M:%S", &tm);
    } else if (clk->offset && strcmp(clk->offset, "timezone") == 0) {
        return qcmd_refuse(c, "clock offset='timezone' is not supported by modvirt");
    }
    for (size_t i = 0; i < clk->ntimers; i++) {
        const mv_domain_timer *t = &clk->timers[i];

        if (strcmp(t->name, "rtc") == 0) {
            if (t->tickpolicy && strcmp(t->tickpolicy, "catchup") == 0)
                strcat(rtc, ",driftfix=slew");
            if (t->track && strcmp(t->track, "guest") == 0)
                strcat(rtc, ",clock=vm");
            else if (t->track && strcmp(t->track, "realtime") == 0)
                strcat(rtc, ",clock=rt");
        } else if (strcmp(t->name, "pit") == 0) {
            if (t->tickpolicy && kvm)
                qcmd_opt(c, "-global", "kvm-pit.lost_tick_policy=%s",
                         strcmp(t->tickpolicy, "catchup") == 0 ? "slew" : t->tickpolicy);
        } else if (strcmp(t->name, "hpet") == 0 || strcmp(t->name, "kvmclock") == 0 ||
                   strcmp(t->name, "hypervclock") == 0 || strcmp(t->name, "tsc") == 0) {
            /* hpet: -machine; the others are CPU flags QEMU sets by itself for these. */
        } else {
            return qcmd_refuse(c, "clock timer '%s' is not supported by modvirt", t->name);
        }
    }
emit:
    qcmd_opt(c, "-rtc", "%s", rtc);
    return 0;
}

/* One part of a DAC label ("+107", "107" or a name) as a number. */
static int dac_label_part(const char *p, size_t len, bool is_user, unsigned long *out)
{
    char buf[256];
    if (len == 0 || len >= sizeof(buf))
        return -1;
    memcpy(buf, p, len);
    buf[len] = '\0';
    const char *num = buf[0] == '+' ? buf + 1 : buf;
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(num, &end, 10);
    if (*num && !*end && !errno && v <= UINT32_MAX) {
        *out = v;
        return 0;
    }
    if (buf[0] == '+')
        return -1; /* '+' forces a number */
    if (is_user) {
        struct passwd *pw = getpwnam(buf);
        if (!pw)
            return -1;
        *out = pw->pw_uid;
    } else {
        struct group *gr = getgrnam(buf);
        if (!gr)
            return -1;
        *out = gr->gr_gid;
    }
    return 0;
}

/* libvirt's DAC label "user:group" (names or numbers, '+' marking numbers) as ids. */
static int dac_label_ids(const char *label, uid_t *uid, gid_t *gid)
{
    const char *colon = strchr(label, ':');
    unsigned long u, g;
    if (!colon || dac_label_part(label, (size_t)(colon - label), true, &u) < 0 ||
        dac_label_part(colon + 1, strlen(colon + 1), false, &g) < 0)
        return -1;
    *uid = (uid_t)u;
    *gid = (gid_t)g;
    return 0;
}

/* DAC with a fixed label runs QEMU as that user:group; none and dynamic DAC run it as the
 * daemon. SELinux and AppArmor need a security driver modvirt does not have. */
static int build_seclabels(qcmd *c)
{
    for (size_t i = 0; i < c->def->nseclabels; i++) {
        const mv_domain_seclabel *s = &c->def->seclabels[i];

        if (s->model && (strcmp(s->model, "selinux") == 0 || strcmp(s->model, "apparmor") == 0))
            return qcmd_refuse(c,
                               "security model '%s' is not supported by modvirt (use "
                               "seclabel type='none' or model='dac')",
                               s->model);
        if (s->model && strcmp(s->model, "dac") != 0 && strcmp(s->model, "none") != 0)
            return qcmd_refuse(c, "security model '%s' is not supported by modvirt", s->model);
        if (s->model && strcmp(s->model, "dac") == 0 && s->type && strcmp(s->type, "static") == 0 &&
            s->label) {
            uid_t uid;
            gid_t gid;

            if (dac_label_ids(s->label, &uid, &gid) < 0)
                return qcmd_refuse(c, "DAC label '%s' names no user:group of this host", s->label);
            /* QEMU 7.2 refuses to "drop" to the identity it already has (it checks that
             * it cannot regain root), and there is nothing to drop then anyway. */
            if (uid != geteuid() || gid != getegid())
                qcmd_opt(c, "-runas", "%u:%u", (unsigned)uid, (unsigned)gid);
        }
    }
    return 0;
}

static void build_lifecycle(qcmd *c)
{
    const mv_domain_def *def = c->def;

    /* A guest reboot with on_reboot=destroy becomes a power-off; every power-off
     * leaves QEMU waiting (-no-shutdown, as libvirt runs it) for the driver to end it or
     * reset it in place (a reboot: libvirt's fake reboot, or on_poweroff=restart). */
    if (def->on_reboot && strcmp(def->on_reboot, "destroy") == 0)
        qcmd_add(c, "-no-reboot");
    qcmd_add(c, "-no-shutdown");
    if (def->on_crash && strcmp(def->on_crash, "preserve") == 0)
        qcmd_opt(c, "-action", "panic=pause");
}

static int build(qcmd *c)
{
    const qemu_command_params *p = c->p;
    const mv_domain_def *def = c->def;
    char *mon = NULL;
    char uuid[MV_UUID_STRING_BUFLEN];

    qcmd_add(c, p->caps->binary);
    qcmd_opt(c, "-name", "guest=%s,debug-threads=on", def->name);
    qcmd_add(c, "-S");
    qcmd_add(c, "-no-user-config");
    qcmd_add(c, "-nodefaults");
    if (!(mon = qcmd_escape(c, p->monitor_path)))
        return -1;
    qcmd_opt(c, "-chardev", "socket,id=charmonitor,path=%s,server=on,wait=off", mon);
    free(mon);
    qcmd_opt(c, "-mon", "chardev=charmonitor,id=monitor,mode=control");
    if (build_machine(c) < 0)
        return -1;
    if (scan_slots(c) < 0 || build_features(c) < 0 || build_seclabels(c) < 0 || build_cpu(c) < 0 ||
        qcmd_memory(c) < 0)
        return -1;
    if (def->iothreads > 0)
        for (int i = 1; i <= def->iothreads; i++)
            qcmd_opt(c, "-object", "iothread,id=iothread%d", i);
    mv_uuid_format(def->uuid, uuid);
    qcmd_opt(c, "-uuid", "%s", uuid);
    if (build_os(c) < 0 || build_clock(c) < 0)
        return -1;
    build_lifecycle(c);
    if (def->has_pm) {
        const char *lpc = c->q35 ? "ICH9-LPC" : "PIIX4_PM";

        if (def->pm_suspend_to_mem != MV_TRISTATE_ABSENT)
            qcmd_opt(c, "-global", "%s.disable_s3=%d", lpc,
                     def->pm_suspend_to_mem == MV_TRISTATE_NO);
        if (def->pm_suspend_to_disk != MV_TRISTATE_ABSENT)
            qcmd_opt(c, "-global", "%s.disable_s4=%d", lpc,
                     def->pm_suspend_to_disk == MV_TRISTATE_NO);
    }
    if (qcmd_devices(c) < 0)
        return -1;
    for (size_t i = 0; i < def->nqemu_args; i++)
        qcmd_add(c, def->qemu_args[i]);
    return 0;
}

static int build_env(qcmd *c)
{
    const mv_domain_def *def = c->def;

    if (!(c->cmd->env = calloc(def->nqemu_envs + 1, sizeof(char *))))
        return -1;
    for (size_t i = 0; i < def->nqemu_envs; i++) {
        const mv_domain_qemu_env *e = &def->qemu_envs[i];

        if (asprintf(&c->cmd->env[i], "%s=%s", e->name, e->value ? e->value : "") < 0) {
            c->cmd->env[i] = NULL;
            return -1;
        }
    }
    return 0;
}

int qemu_command_build(mv_domain_def *def, const qemu_command_params *params, qemu_command **out,
                       mv_error *err)
{
    qcmd c;
    int ret = -1;

    memset(&c, 0, sizeof(c)); /* ~10 KiB: the slot map */
    c.def = def;
    c.p = params;
    c.err = err;
    if (!params->caps || !params->monitor_path ||
        (!params->ports && !(params->flags & QEMU_COMMAND_DRY_RUN))) {
        mv_error_set(err, VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU,
                     "command line of '%s' built without caps, monitor or port allocator",
                     def->name);
        return -1;
    }
    if (!(c.cmd = calloc(1, sizeof(*c.cmd)))) {
        c.oom = true;
        goto cleanup;
    }
    c.cmd->port_owner = params->ports;
    if (build(&c) < 0 || build_env(&c) < 0)
        goto cleanup;
    if (!c.oom) {
        *out = c.cmd;
        c.cmd = NULL;
        ret = 0;
    }

cleanup:
    if (c.oom || (ret < 0 && !mv_error_is_set(err)))
        mv_error_set_errno(err, ENOMEM, VIR_FROM_QEMU, "cannot build the command line of '%s'",
                           def->name);
    free(c.ctl_index);
    if (c.cmd) {
        for (size_t i = 0; i < c.taps_made; i++)
            if (strcmp(def->nets[i].type, "bridge") == 0 ||
                strncmp(def->nets[i].target_dev, "mvtap", 5) == 0)
                qemu_tap_delete(def->nets[i].target_dev, NULL);
        qemu_command_release_ports(c.cmd);
        qemu_command_free(c.cmd);
    }
    return ret;
}

void qemu_command_release_ports(qemu_command *cmd)
{
    if (!cmd)
        return;
    for (size_t i = 0; i < cmd->nports; i++)
        if (cmd->port_owner)
            qemu_ports_release(cmd->port_owner, cmd->ports[i]);
    cmd->nports = 0;
}

void qemu_command_free(qemu_command *cmd)
{
    if (!cmd)
        return;
    for (size_t i = 0; cmd->argv && cmd->argv[i]; i++)
        free(cmd->argv[i]);
    free(cmd->argv);
    for (size_t i = 0; cmd->env && cmd->env[i]; i++)
        free(cmd->env[i]);
    free(cmd->env);
    for (size_t i = 0; i < cmd->nptys; i++)
        free(cmd->ptys[i].chardev_id);
    free(cmd->ptys);
    free(cmd->ports);
    free(cmd);
}

/* Appends s to the memstream, quoted for a POSIX shell when it needs to be. */
static void put_quoted(FILE *f, const char *s)
{
    bool plain = *s != '\0';

    for (const char *p = s; *p; p++)
        if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_,.:/=+@%-", *p))
            plain = false;
    if (plain) {
        fputs(s, f);
        return;
    }
    fputc('\'', f);
    for (const char *p = s; *p; p++) {
        if (*p == '\'')
            fputs("'\\''", f);
        else
            fputc(*p, f);
    }
    fputc('\'', f);
}

char *qemu_command_to_string(const qemu_command *cmd)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    if (!f)
        return NULL;
    for (size_t i = 0; cmd->env && cmd->env[i]; i++) {
        const char *eq = strchr(cmd->env[i], '=');

        fprintf(f, "%.*s=", (int)(eq - cmd->env[i]), cmd->env[i]);
        put_quoted(f, eq + 1);
        fputs(" \\\n", f);
    }
    for (size_t i = 0; cmd->argv && cmd->argv[i]; i++) {
        /* One option and its value per line, like libvirt's .args files. */
        if (i > 0)
            fputs(cmd->argv[i][0] == '-' ? " \\\n" : " ", f);
        put_quoted(f, cmd->argv[i]);
    }
    fputc('\n', f);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}
