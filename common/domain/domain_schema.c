/* domain_schema.c: <domain> itself and everything outside <devices> — memory, vcpus, os,
 * features, cpu, clock, lifecycle actions, pm, seclabels — as xml_bind tables. */
#include "common/domain/domain_schema.h"

#include <ctype.h>
#include <string.h>

#include "common/names.h"
#include "common/uuid.h"

#define D mv_domain_def

static const char *const virt_types[] = {"qemu", "kvm", NULL};
/* libvirt's architecture names (virArch). */
static const char *const arches[] = {
    "i686",    "x86_64",  "aarch64", "armv6l",  "armv7l",   "armv7b",  "alpha",
    "cris",    "loongarch64", "m68k", "microblaze", "microblazeel", "mips", "mipsel",
    "mips64",  "mips64el", "openrisc", "parisc", "parisc64", "ppc", "ppcle", "ppc64",
    "ppc64le", "ppcemb", "riscv32", "riscv64", "s390", "s390x", "sh4", "sh4eb", "sparc",
    "sparc64", "unicore32", "xtensa", "xtensaeb", NULL};
static const char *const os_types[] = {"hvm", NULL};
static const char *const firmwares[] = {"bios", "efi", NULL};
static const char *const boot_devs[] = {"fd", "cdrom", "hd", "network", NULL};
static const char *const loader_types[] = {"rom", "pflash", NULL};
static const char *const image_formats[] = {"raw", "qcow2", NULL};
static const char *const smbios_modes[] = {"emulate", "host", "sysinfo", NULL};
static const char *const placements[] = {"static", "auto", NULL};
static const char *const poweroff_actions[] = {"destroy", "restart", "preserve",
                                               "rename-restart", NULL};
static const char *const crash_actions[] = {"destroy", "restart", "preserve", "rename-restart",
                                            "coredump-destroy", "coredump-restart", NULL};
static const char *const cpu_modes[] = {"custom", "host-model", "host-passthrough", "maximum",
                                        NULL};
static const char *const cpu_matches[] = {"minimum", "exact", "strict", NULL};
static const char *const cpu_checks[] = {"none", "partial", "full", NULL};
static const char *const cpu_fallbacks[] = {"allow", "forbid", NULL};
static const char *const cpu_policies[] = {"force", "require", "optional", "disable", "forbid",
                                           NULL};
static const char *const cache_modes[] = {"emulate", "passthrough", "disable", NULL};
static const char *const mem_access[] = {"shared", "private", NULL};
static const char *const clock_offsets[] = {"utc", "localtime", "timezone", "variable",
                                            "absolute", NULL};
static const char *const clock_bases[] = {"utc", "localtime", NULL};
static const char *const timer_names[] = {"platform", "pit", "rtc", "hpet", "tsc", "kvmclock",
                                          "hypervclock", "armvtimer", NULL};
static const char *const tick_policies[] = {"delay", "catchup", "merge", "discard", NULL};
static const char *const timer_tracks[] = {"boot", "guest", "wall", "realtime", NULL};
static const char *const timer_modes[] = {"auto", "native", "emulate", "paravirt", "smpsafe",
                                          NULL};
static const char *const ioapic_drivers[] = {"qemu", "kvm", NULL};
static const char *const mem_sources[] = {"file", "anonymous", "memfd", NULL};
static const char *const mem_allocations[] = {"immediate", "ondemand", NULL};
static const char *const seclabel_types[] = {"none", "dynamic", "static", NULL};

/* ---- memory and vcpus ---- */
static const mv_xml_elem max_memory = {
    .attrs = (const mv_xml_attr[]){A_INTR(D, "slots", max_memory_slots, 0, INT_MAX), A_UNIT,
                                   A_END},
    .text = A_SCALED(D, NULL, max_memory_kib)};

static const mv_xml_elem memory = {
    .attrs = (const mv_xml_attr[]){A_UNIT, A_ONOFF(D, "dumpCore", memory_dump_core), A_END},
    .text = A_SCALED(D, NULL, memory_kib)};

static const mv_xml_elem current_memory = {.attrs = (const mv_xml_attr[]){A_UNIT, A_END},
                                           .text = A_SCALED(D, NULL, current_memory_kib)};

#define MB mv_domain_memory_backing
static const mv_xml_elem hugepage = {
    .size = sizeof(mv_domain_hugepage),
    .attrs = (const mv_xml_attr[]){A_SCALED(mv_domain_hugepage, "size", size_kib), A_UNIT,
                                   A_STR(mv_domain_hugepage, "nodeset", nodeset), A_END}};
static const mv_xml_elem hugepages = {
    .children = (const mv_xml_child[]){C_LIST(MB, "page", hugepage, pages, npages), C_END}};
static const mv_xml_elem mb_source = {
    .attrs = (const mv_xml_attr[]){A_ENUM(MB, "type", source_type, mem_sources), A_END}};
static const mv_xml_elem mb_access = {
    .attrs = (const mv_xml_attr[]){A_ENUM(MB, "mode", access_mode, mem_access), A_END}};
static const mv_xml_elem mb_allocation = {
    .attrs = (const mv_xml_attr[]){A_ENUM(MB, "mode", allocation_mode, mem_allocations),
                                   A_INTR(MB, "threads", allocation_threads, 1, INT_MAX), A_END}};
static const mv_xml_elem memory_backing = {
    .size = sizeof(MB),
    .children = (const mv_xml_child[]){C_FLATP(MB, "hugepages", hugepages, hugepages),
                                       C_FLAG(MB, "nosharepages", nosharepages),
                                       C_FLAG(MB, "locked", locked),
                                       C_FLAT("source", mb_source),
                                       C_FLAT("access", mb_access),
                                       C_FLAT("allocation", mb_allocation),
                                       C_FLAG(MB, "discard", discard), C_END}};
#undef MB

static const mv_xml_elem vcpu = {
    .attrs = (const mv_xml_attr[]){A_ENUM(D, "placement", vcpu_placement, placements),
                                   A_STR(D, "cpuset", vcpu_cpuset),
                                   A_INTR(D, "current", vcpus_current, 1, INT_MAX), A_END},
    .text = A_INTR(D, NULL, vcpus, 1, INT_MAX)};

static const mv_xml_elem iothreads = {.text = A_INTR(D, NULL, iothreads, 0, INT_MAX)};

#define IT mv_domain_iothread
static const mv_xml_elem iothread_poll = {
    .attrs = (const mv_xml_attr[]){A_LL(IT, "max", poll_max), A_LL(IT, "grow", poll_grow),
                                   A_LL(IT, "shrink", poll_shrink), A_END}};
static const mv_xml_elem iothread = {
    .size = sizeof(IT),
    .attrs = (const mv_xml_attr[]){A_INTR(IT, "id", id, 1, INT_MAX),
                                   A_INT(IT, "thread_pool_min", thread_pool_min),
                                   A_INT(IT, "thread_pool_max", thread_pool_max), A_END},
    .children = (const mv_xml_child[]){C_FLATP(IT, "poll", iothread_poll, has_poll), C_END}};
#undef IT
static const mv_xml_elem iothreadids = {
    .children = (const mv_xml_child[]){C_LIST(D, "iothread", iothread, iothread_ids,
                                              niothread_ids),
                                       C_END}};

#define NT mv_domain_numatune
static const char *const numa_modes[] = {"strict", "preferred", "interleave", "restrictive",
                                         NULL};
static const mv_xml_elem numatune_memory = {
    .attrs = (const mv_xml_attr[]){A_ENUM(NT, "mode", memory_mode, numa_modes),
                                   A_STR(NT, "nodeset", memory_nodeset),
                                   A_ENUM(NT, "placement", memory_placement, placements),
                                   A_END}};
static const mv_xml_elem memnode = {
    .size = sizeof(mv_domain_memnode),
    .attrs = (const mv_xml_attr[]){A_INT(mv_domain_memnode, "cellid", cellid),
                                   A_ENUM(mv_domain_memnode, "mode", mode, numa_modes),
                                   A_STR(mv_domain_memnode, "nodeset", nodeset), A_END}};
static const mv_xml_elem numatune = {
    .size = sizeof(NT),
    .children = (const mv_xml_child[]){C_FLAT("memory", numatune_memory),
                                       C_LIST(NT, "memnode", memnode, memnodes, nmemnodes),
                                       C_END}};
#undef NT

/* ---- <os> ---- */
#define O mv_domain_os
static const mv_xml_elem os_type = {
    .attrs = (const mv_xml_attr[]){A_ENUM(O, "arch", arch, arches),
                                   A_STR(O, "machine", machine), A_END},
    .text = A_ENUM(O, NULL, type, os_types)};
static const char *const fw_features[] = {"enrolled-keys", "secure-boot", NULL};
static const mv_xml_elem os_fw_feature = {
    .size = sizeof(mv_domain_firmware_feature),
    .attrs = (const mv_xml_attr[]){A_YESNO(mv_domain_firmware_feature, "enabled", enabled),
                                   A_ENUM(mv_domain_firmware_feature, "name", name, fw_features),
                                   A_END}};
static const mv_xml_elem os_firmware = {
    .children = (const mv_xml_child[]){C_LIST(O, "feature", os_fw_feature, firmware_features,
                                              nfirmware_features),
                                       C_END}};
static const mv_xml_elem os_loader = {
    .attrs = (const mv_xml_attr[]){A_YESNO(O, "readonly", loader_readonly),
                                   A_YESNO(O, "secure", loader_secure),
                                   A_ENUM(O, "type", loader_type, loader_types),
                                   A_ENUM(O, "format", loader_format, image_formats),
                                   A_YESNO(O, "stateless", loader_stateless), A_END},
    .text = A_STR(O, NULL, loader)};
static const mv_xml_elem os_nvram = {
    .attrs = (const mv_xml_attr[]){A_STR(O, "template", nvram_template),
                                   A_ENUM(O, "format", nvram_format, image_formats), A_END},
    .text = A_STR(O, NULL, nvram)};
static const mv_xml_elem os_boot = {
    .size = sizeof(const char *),
    .attrs = (const mv_xml_attr[]){{.name = "dev", .kind = MV_XK_ENUM, .offset = 0,
                                    .values = boot_devs},
                                   A_END}};
static const mv_xml_elem os_bootmenu = {
    .attrs = (const mv_xml_attr[]){A_YESNO(O, "enable", bootmenu_enable),
                                   A_INTR(O, "timeout", bootmenu_timeout, 0, 65535), A_END}};
static const mv_xml_elem os_smbios = {
    .attrs = (const mv_xml_attr[]){A_ENUM(O, "mode", smbios_mode, smbios_modes), A_END}};
static const mv_xml_elem os_bios = {
    .attrs = (const mv_xml_attr[]){A_YESNO(O, "useserial", bios_useserial),
                                   A_SINT(O, "rebootTimeout", bios_reboot_timeout, -1, 65535),
                                   A_END}};

static int os_check(void *obj, const xmlNode *node, unsigned int flags, mv_error *err)
{
    mv_domain_os *os = obj;

    if (!os->type) {
        mv_xml_error(err, VIR_ERR_XML_ERROR, node, "missing <type> in <os>");
        return -1;
    }
    return 0;
}

static const mv_xml_elem os = {
    .attrs = (const mv_xml_attr[]){A_ENUM(O, "firmware", firmware, firmwares), A_END},
    .children = (const mv_xml_child[]){C_FLAT("type", os_type), C_FLAT("firmware", os_firmware),
                                       C_FLAT("loader", os_loader),
                                       C_FLAT("nvram", os_nvram), C_TEXT(O, "kernel", kernel),
                                       C_TEXT(O, "initrd", initrd),
                                       C_TEXT(O, "cmdline", cmdline), C_TEXT(O, "dtb", dtb),
                                       C_LIST(O, "boot", os_boot, boot_devs, nboot_devs),
                                       C_FLAT("bootmenu", os_bootmenu),
                                       C_FLAT("smbios", os_smbios), C_FLAT("bios", os_bios),
                                       C_END},
    .check = os_check};
#undef O

/* ---- <features> ---- */
#define F mv_domain_features
static const mv_xml_elem feat_apic = {
    .attrs = (const mv_xml_attr[]){A_ONOFF(F, "eoi", apic_eoi), A_END}};
static const mv_xml_elem feat_hap = {
    .attrs = (const mv_xml_attr[]){A_ONOFF(F, "state", hap), A_END}};
static const mv_xml_elem feat_pmu = {
    .attrs = (const mv_xml_attr[]){A_ONOFF(F, "state", pmu), A_END}};
static const mv_xml_elem feat_vmport = {
    .attrs = (const mv_xml_attr[]){A_ONOFF(F, "state", vmport), A_END}};
static const mv_xml_elem feat_tseg = {.attrs = (const mv_xml_attr[]){A_UNIT, A_END},
                                      .text = {.kind = MV_XK_SCALED,
                                               .offset = offsetof(F, smm_tseg_kib),
                                               .unit = "MiB"}};
static const mv_xml_elem feat_smm = {
    .attrs = (const mv_xml_attr[]){A_ONOFF(F, "state", smm), A_END},
    .children = (const mv_xml_child[]){C_FLAT("tseg", feat_tseg), C_END}};
static const mv_xml_elem feat_ioapic = {
    .attrs = (const mv_xml_attr[]){A_ENUM(F, "driver", ioapic_driver, ioapic_drivers), A_END}};
static const mv_xml_elem feat_vmcoreinfo = {
    .attrs = (const mv_xml_attr[]){A_ONOFF(F, "state", vmcoreinfo), A_END}};
static const mv_xml_elem feat_async_teardown = {
    .attrs = (const mv_xml_attr[]){A_YESNO(F, "enabled", async_teardown), A_END}};
static const mv_xml_elem feat_ps2 = {
    .attrs = (const mv_xml_attr[]){A_ONOFF(F, "state", ps2), A_END}};

static const mv_xml_elem features = {
    .size = sizeof(F),
    .children = (const mv_xml_child[]){
        C_FLAG(F, "acpi", acpi), C_FLATP(F, "apic", feat_apic, apic), C_FLAG(F, "pae", pae),
        C_FLATP(F, "hap", feat_hap, hap_present), C_FLAG(F, "privnet", privnet),
        C_FLATP(F, "pmu", feat_pmu, pmu_present),
        C_FLATP(F, "vmport", feat_vmport, vmport_present),
        C_FLATP(F, "smm", feat_smm, smm_present), C_FLAT("ioapic", feat_ioapic),
        C_FLATP(F, "vmcoreinfo", feat_vmcoreinfo, vmcoreinfo_present),
        C_FLAT("async-teardown", feat_async_teardown), C_FLAT("ps2", feat_ps2), C_END}};
#undef F

/* ---- <cpu> ---- */
#define CPU mv_domain_cpu
static const mv_xml_elem cpu_model = {
    .attrs = (const mv_xml_attr[]){A_ENUM(CPU, "fallback", model_fallback, cpu_fallbacks),
                                   A_STR(CPU, "vendor_id", model_vendor_id), A_END},
    .text = A_STR(CPU, NULL, model)};
static const mv_xml_elem cpu_topology = {
    .attrs = (const mv_xml_attr[]){A_INTR(CPU, "sockets", sockets, 1, INT_MAX),
                                   A_INTR(CPU, "dies", dies, 1, INT_MAX),
                                   A_INTR(CPU, "clusters", clusters, 1, INT_MAX),
                                   A_INTR(CPU, "cores", cores, 1, INT_MAX),
                                   A_INTR(CPU, "threads", threads, 1, INT_MAX), A_END}};
static const mv_xml_elem cpu_cache = {
    .attrs = (const mv_xml_attr[]){A_INTR(CPU, "level", cache_level, 1, 3),
                                   A_ENUM(CPU, "mode", cache_mode, cache_modes), A_END}};
static const char *const physaddr_modes[] = {"passthrough", "emulate", NULL};
static const mv_xml_elem cpu_maxphysaddr = {
    .attrs = (const mv_xml_attr[]){A_ENUM(CPU, "mode", maxphysaddr_mode, physaddr_modes),
                                   A_INTR(CPU, "bits", maxphysaddr_bits, 1, 255),
                                   A_INTR(CPU, "limit", maxphysaddr_limit, 1, 255), A_END}};
static const mv_xml_elem cpu_feature = {
    .size = sizeof(mv_domain_cpu_feature),
    .attrs = (const mv_xml_attr[]){A_ENUM(mv_domain_cpu_feature, "policy", policy, cpu_policies),
                                   A_STR(mv_domain_cpu_feature, "name", name), A_END}};
#define CELL mv_domain_numa_cell
static const mv_xml_elem numa_cell = {
    .size = sizeof(CELL),
    .attrs = (const mv_xml_attr[]){A_INTR(CELL, "id", id, 0, INT_MAX),
                                   A_STR(CELL, "cpus", cpus),
                                   A_SCALED(CELL, "memory", memory_kib), A_UNIT,
                                   A_YESNO(CELL, "discard", discard),
                                   A_ENUM(CELL, "memAccess", mem_access, mem_access), A_END}};
#undef CELL
static const mv_xml_elem cpu_numa = {
    .children = (const mv_xml_child[]){C_LIST(CPU, "cell", numa_cell, cells, ncells), C_END}};

static int cpu_check(void *obj, const xmlNode *node, unsigned int flags, mv_error *err)
{
    mv_domain_cpu *cpu = obj;

    for (size_t i = 0; i < cpu->nfeatures; i++) {
        if (!cpu->features[i].name) {
            mv_xml_error(err, VIR_ERR_XML_ERROR, node, "<feature> in <cpu> needs a name");
            return -1;
        }
    }
    for (size_t i = 0; i < cpu->ncells; i++) {
        if (!cpu->cells[i].memory_kib) { /* cpus may be absent: a memory-only node */
            mv_xml_error(err, VIR_ERR_XML_ERROR, node, "NUMA <cell> needs a 'memory' attribute");
            return -1;
        }
    }
    return 0;
}

static const mv_xml_elem cpu = {
    .size = sizeof(CPU),
    .attrs = (const mv_xml_attr[]){A_ENUM(CPU, "mode", mode, cpu_modes),
                                   A_ENUM(CPU, "match", match, cpu_matches),
                                   A_ENUM(CPU, "check", check, cpu_checks),
                                   A_ONOFF(CPU, "migratable", migratable), A_END},
    .children = (const mv_xml_child[]){C_FLAT("model", cpu_model), C_TEXT(CPU, "vendor", vendor),
                                       C_FLATP(CPU, "topology", cpu_topology, has_topology),
                                       C_FLAT("cache", cpu_cache),
                                       C_FLAT("maxphysaddr", cpu_maxphysaddr),
                                       C_LIST(CPU, "feature", cpu_feature, features, nfeatures),
                                       C_FLAT("numa", cpu_numa), C_END},
    .check = cpu_check};
#undef CPU

/* ---- <clock> ---- */
#define T mv_domain_timer
static const mv_xml_elem timer = {
    .size = sizeof(T),
    .attrs = (const mv_xml_attr[]){A_ENUM(T, "name", name, timer_names),
                                   A_YESNO(T, "present", present),
                                   A_ENUM(T, "tickpolicy", tickpolicy, tick_policies),
                                   A_ENUM(T, "track", track, timer_tracks),
                                   A_LL(T, "frequency", frequency),
                                   A_ENUM(T, "mode", mode, timer_modes), A_END}};
#undef T

static int clock_check(void *obj, const xmlNode *node, unsigned int flags, mv_error *err)
{
    mv_domain_clock *c = obj;
    long long v;

    for (size_t i = 0; i < c->ntimers; i++) {
        if (!c->timers[i].name) {
            mv_xml_error(err, VIR_ERR_XML_ERROR, node, "<timer> needs a name");
            return -1;
        }
    }
    if (c->adjustment && strcmp(c->adjustment, "reset") != 0 &&
        mv_xml_parse_ll(c->adjustment, 10, &v) < 0) {
        mv_xml_error(err, VIR_ERR_XML_ERROR, node,
                     "invalid value '%s' for attribute 'adjustment' of <clock>: expected "
                     "'reset' or a number of seconds",
                     c->adjustment);
        return -1;
    }
    if (c->offset && strcmp(c->offset, "timezone") == 0 && !c->timezone) {
        mv_xml_error(err, VIR_ERR_XML_ERROR, node,
                     "<clock offset='timezone'> needs a 'timezone' attribute");
        return -1;
    }
    return 0;
}

static const mv_xml_elem clock = {
    .size = sizeof(mv_domain_clock),
    .attrs = (const mv_xml_attr[]){A_ENUM(mv_domain_clock, "offset", offset, clock_offsets),
                                   A_STR(mv_domain_clock, "adjustment", adjustment),
                                   A_STR(mv_domain_clock, "timezone", timezone),
                                   A_ENUM(mv_domain_clock, "basis", basis, clock_bases),
                                   A_LL(mv_domain_clock, "start", start), A_END},
    .children = (const mv_xml_child[]){C_LIST(mv_domain_clock, "timer", timer, timers, ntimers),
                                       C_END},
    .check = clock_check};

/* ---- lifecycle, pm, seclabel ---- */
static const mv_xml_elem on_poweroff = {.text = A_ENUM(D, NULL, on_poweroff, poweroff_actions)};
static const mv_xml_elem on_reboot = {.text = A_ENUM(D, NULL, on_reboot, poweroff_actions)};
static const mv_xml_elem on_crash = {.text = A_ENUM(D, NULL, on_crash, crash_actions)};

static const mv_xml_elem pm_mem = {
    .attrs = (const mv_xml_attr[]){A_YESNO(D, "enabled", pm_suspend_to_mem), A_END}};
static const mv_xml_elem pm_disk = {
    .attrs = (const mv_xml_attr[]){A_YESNO(D, "enabled", pm_suspend_to_disk), A_END}};
static const mv_xml_elem pm = {
    .children = (const mv_xml_child[]){C_FLAT("suspend-to-mem", pm_mem),
                                       C_FLAT("suspend-to-disk", pm_disk), C_END}};

#define S mv_domain_seclabel
static const mv_xml_elem seclabel = {
    .size = sizeof(S),
    .attrs = (const mv_xml_attr[]){A_ENUM(S, "type", type, seclabel_types),
                                   A_STR(S, "model", model), A_YESNO(S, "relabel", relabel),
                                   A_END},
    .children = (const mv_xml_child[]){C_TEXT(S, "label", label),
                                       C_TEXT(S, "imagelabel", imagelabel),
                                       C_TEXT(S, "baselabel", baselabel), C_END}};
#undef S

/* ---- <devices> ---- */
static const mv_xml_elem devices = {
    .children = (const mv_xml_child[]){
        C_TEXT(D, "emulator", emulator),
        C_LIST(D, "disk", mv_schema_disk, disks, ndisks),
        C_LIST(D, "controller", mv_schema_controller, controllers, ncontrollers),
        C_LIST(D, "filesystem", mv_schema_filesystem, filesystems, nfilesystems),
        C_LIST(D, "interface", mv_schema_interface, nets, nnets),
        C_LIST(D, "serial", mv_schema_serial, serials, nserials),
        C_LIST(D, "parallel", mv_schema_parallel, parallels, nparallels),
        C_LIST(D, "console", mv_schema_console, consoles, nconsoles),
        C_LIST(D, "channel", mv_schema_channel, channels, nchannels),
        C_LIST(D, "input", mv_schema_input, inputs, ninputs),
        C_LIST(D, "graphics", mv_schema_graphics, graphics, ngraphics),
        C_LIST(D, "sound", mv_schema_sound, sounds, nsounds),
        C_LIST(D, "audio", mv_schema_audio, audios, naudios),
        C_LIST(D, "video", mv_schema_video, videos, nvideos),
        C_LIST(D, "redirdev", mv_schema_redirdev, redirdevs, nredirdevs),
        C_LIST(D, "hub", mv_schema_hub, hubs, nhubs),
        C_LIST(D, "watchdog", mv_schema_watchdog, watchdogs, nwatchdogs),
        C_PTR(D, "memballoon", mv_schema_memballoon, memballoon),
        C_LIST(D, "rng", mv_schema_rng, rngs, nrngs),
        C_LIST(D, "panic", mv_schema_panic, panics, npanics),
        C_PTR(D, "iommu", mv_schema_iommu, iommu),
        C_PTR(D, "vsock", mv_schema_vsock, vsock), C_END}};

/* ---- <qemu:commandline> ---- */
static int qemu_arg_check(void *obj, const xmlNode *node, unsigned int flags, mv_error *err)
{
    if (!*(char **)obj) {
        mv_xml_error(err, VIR_ERR_XML_ERROR, node, "no qemu command-line argument specified");
        return -1;
    }
    return 0;
}

static const mv_xml_elem qemu_arg = {
    .size = sizeof(char *),
    .attrs = (const mv_xml_attr[]){{.name = "value", .kind = MV_XK_STRING, .offset = 0}, A_END},
    .check = qemu_arg_check};

static int qemu_env_check(void *obj, const xmlNode *node, unsigned int flags, mv_error *err)
{
    const char *name = ((mv_domain_qemu_env *)obj)->name;

    if (!name || !*name || !(isalpha((unsigned char)*name) || *name == '_')) {
        mv_xml_error(err, VIR_ERR_XML_ERROR, node,
                     "invalid environment name '%s': it must begin with a letter or '_'",
                     name ? name : "");
        return -1;
    }
    for (const char *p = name; *p; p++) {
        if (!isalnum((unsigned char)*p) && *p != '_') {
            mv_xml_error(err, VIR_ERR_XML_ERROR, node,
                         "invalid environment name '%s': only letters, digits and '_'", name);
            return -1;
        }
    }
    return 0;
}

static const mv_xml_elem qemu_env = {
    .size = sizeof(mv_domain_qemu_env),
    .attrs = (const mv_xml_attr[]){A_STR(mv_domain_qemu_env, "name", name),
                                   A_STR(mv_domain_qemu_env, "value", value), A_END},
    .check = qemu_env_check};

static const mv_xml_elem qemu_commandline = {
    .children = (const mv_xml_child[]){{.name = "arg", .kind = MV_XC_LIST, .elem = &qemu_arg,
                                        .offset = offsetof(D, qemu_args),
                                        .aux = offsetof(D, nqemu_args),
                                        .ns_href = MV_DOMAIN_QEMU_NS, .ns_prefix = "qemu"},
                                       {.name = "env", .kind = MV_XC_LIST, .elem = &qemu_env,
                                        .offset = offsetof(D, qemu_envs),
                                        .aux = offsetof(D, nqemu_envs),
                                        .ns_href = MV_DOMAIN_QEMU_NS, .ns_prefix = "qemu"},
                                       C_END}};

/* ---- <domain> ---- */
static int name_check(void *obj, const xmlNode *node, unsigned int flags, mv_error *err)
{
    mv_error name_err = MV_ERROR_INIT;
    const char *prefix = "invalid argument: ";
    const char *msg;

    if (mv_name_check("domain name", ((mv_domain_def *)obj)->name, &name_err) == 0)
        return 0;
    msg = name_err.message ? name_err.message : "invalid domain name";
    if (strncmp(msg, prefix, strlen(prefix)) == 0) /* re-coded as an XML error */
        msg += strlen(prefix);
    mv_xml_error(err, VIR_ERR_XML_ERROR, node, "%s", msg);
    mv_error_clear(&name_err);
    return -1;
}

static const mv_xml_elem name = {
    .text = {.kind = MV_XK_STRING, .offset = offsetof(D, name), .keep_empty = true},
    .check = name_check};

static const mv_xml_elem uuid = {.text = {.kind = MV_XK_UUID, .offset = offsetof(D, uuid)}};

static int domain_check(void *obj, const xmlNode *node, unsigned int flags, mv_error *err)
{
    mv_domain_def *def = obj;

    if (!def->virt_type) {
        mv_xml_error(err, VIR_ERR_XML_ERROR, node, "missing domain type attribute");
        return -1;
    }
    if (!def->name) {
        mv_xml_error(err, VIR_ERR_XML_ERROR, node, "missing <name> in domain");
        return -1;
    }
    if (!def->os.type) {
        mv_xml_error(err, VIR_ERR_XML_ERROR, node, "missing <os> with a <type> in domain");
        return -1;
    }
    if (!def->memory_kib && !(def->cpu && def->cpu->ncells)) {
        mv_xml_error(err, VIR_ERR_XML_ERROR, node,
                     "memory size must be given in <memory> or in the <numa> cells");
        return -1;
    }
    if (def->vcpus == MV_UNSET)
        def->vcpus = 1; /* libvirt's default */
    if (def->vcpus_current != MV_UNSET && def->vcpus_current > def->vcpus) {
        mv_xml_error(err, VIR_ERR_XML_ERROR, node,
                     "vcpu current (%d) must not exceed the maximum (%d)", def->vcpus_current,
                     def->vcpus);
        return -1;
    }
    if (mv_uuid_is_null(def->uuid) && mv_uuid_generate(def->uuid) < 0) {
        mv_error_set(err, VIR_ERR_INTERNAL_ERROR, VIR_FROM_DOMAIN,
                     "cannot generate a UUID for domain '%s'", def->name);
        return -1;
    }
    return 0;
}

const mv_xml_elem mv_schema_domain = {
    .name = "domain",
    .size = sizeof(D),
    .attrs = (const mv_xml_attr[]){A_ENUM(D, "type", virt_type, virt_types), A_IGNORED("id"),
                                   A_END},
    .children = (const mv_xml_child[]){
        C_FLAT("name", name), C_FLAT("uuid", uuid), C_TEXT(D, "title", title),
        C_TEXT(D, "description", description), C_RAW(D, "metadata", metadata),
        C_FLAT("maxMemory", max_memory), C_FLAT("memory", memory),
        C_FLAT("currentMemory", current_memory),
        C_PTR(D, "memoryBacking", memory_backing, memory_backing), C_FLAT("vcpu", vcpu),
        C_FLAT("iothreads", iothreads), C_FLAT("iothreadids", iothreadids),
        C_PTR(D, "numatune", numatune, numatune), C_EMBED(D, "os", os, os),
        C_PTR(D, "features", features, features), C_PTR(D, "cpu", cpu, cpu),
        C_PTR(D, "clock", clock, clock), C_FLAT("on_poweroff", on_poweroff),
        C_FLAT("on_reboot", on_reboot), C_FLAT("on_crash", on_crash),
        C_FLATP(D, "pm", pm, has_pm), C_FLAT_ALWAYS("devices", devices),
        C_LIST(D, "seclabel", seclabel, seclabels, nseclabels),
        {.name = "commandline", .kind = MV_XC_EMBED, .elem = &qemu_commandline,
         .ns_href = MV_DOMAIN_QEMU_NS, .ns_prefix = "qemu", .ns_declare = true},
        C_END},
    .check = domain_check};
